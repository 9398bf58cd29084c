"""Debian's headless Chromium for the browser tests, launched one way for the web app's and the console's."""

from __future__ import annotations

import shutil
from typing import Any

from infra.local.dynamodb_local import real_clock_env

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
LAUNCH_FLAGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def launch_chromium(playwright: Any, *extra_flags: str) -> Any:
    """Chromium keeps the machine's real clock under `make test-any-hour` (it stalls under libfaketime); the
    pages' dates are weeks ahead, so its clock and the faked one agree on every date a test uses."""
    return playwright.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=[*LAUNCH_FLAGS, *extra_flags], env=real_clock_env()
    )
