"""Loaded only by `make test-any-hour`, which puts this folder on PYTHONPATH: the suite runs under Debian's
libfaketime with only the wall clock moved (FAKETIME_DONT_FAKE_MONOTONIC=1; a faked monotonic clock makes
Python's lock and event timeouts wait for days, because glibc's sem_clockwait is not intercepted).

libfaketime 0.9.10 then turns Python 3.11's `time.sleep` (clock_nanosleep on CLOCK_MONOTONIC with TIMER_ABSTIME)
into a negative deadline and EINVAL (libfaketime issue 426). This replaces `time.sleep` in every Python process
of that run (the pytest workers and the dev servers they start) with a relative wait that libfaketime leaves
alone. It changes nothing outside a faketime run."""

from __future__ import annotations

import os
import select
import time
from typing import SupportsIndex

if os.environ.get("FAKETIME_DONT_FAKE_MONOTONIC") == "1" and "faketime" in os.environ.get("LD_PRELOAD", ""):

    def _sleep(seconds: float | SupportsIndex) -> None:
        length = float(seconds)
        if length < 0:
            raise ValueError("sleep length must be non-negative")
        deadline = time.monotonic() + length
        while (left := deadline - time.monotonic()) > 0:
            select.select([], [], [], left)

    time.sleep = _sleep
