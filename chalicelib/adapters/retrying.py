"""The one retry helper of the adapters, for the few loops botocore's standard mode cannot run for us (each caller
says why in a comment): bounded attempts, exponential backoff with full jitter, an optional deadline, and the
sleep, clock and randomness injectable so tests never wait.

    for attempt in Backoff(attempts=3, base=0.2).tries():
        try:
            return call()
        except Retryable:
            continue
    raise GaveUp()

The loop body decides what is retried; the helper only decides when the next try starts and when none is left.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")
_RANDOM = random.SystemRandom()


@dataclass(frozen=True)
class Attempt:
    """One try: its number (0 for the first) and how long is left before the deadline."""

    number: int
    deadline: float | None
    clock: Callable[[], float]

    def left(self) -> float:
        """Seconds until the deadline (infinity without one): what a call's own timeout may use at most."""
        return float("inf") if self.deadline is None else max(0.0, self.deadline - self.clock())


@dataclass(frozen=True)
class Backoff:
    """At most `attempts` tries. The wait after try n (0-based) is drawn uniformly from
    [0, min(cap, base * 2**n)] ("full jitter": racing callers spread out instead of retrying in step), cut short
    at the deadline. With a `budget`, no try starts once fewer than `floor` seconds are left of the `budget`
    seconds counted from the first try."""

    attempts: int = 3
    base: float = 0.05
    cap: float = 2.0
    budget: float | None = None
    floor: float = 0.0
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    uniform: Callable[[], float] = _RANDOM.random
    """A number in [0, 1): the jitter's draw."""

    def delay(self, step: int) -> float:
        """The jittered wait after try `step` (0-based), before any deadline cuts it."""
        return self.uniform() * min(self.cap, self.base * 2.0**step)

    def wait(self, step: int) -> None:
        """Sleep the jittered wait after try `step`: for loops that keep their own count (no deadline)."""
        self.sleep(self.delay(step))

    def _time_left(self, deadline: float | None) -> bool:
        return deadline is None or deadline - self.clock() > self.floor

    def tries(self) -> Iterator[Attempt]:
        """Yield each try in turn, sleeping between them. Ends after the last try, or when the deadline leaves
        no time for another; the caller's loop then falls through to its own "gave up" answer."""
        deadline = None if self.budget is None else self.clock() + self.budget
        for number in range(self.attempts):
            if number:
                pause = self.delay(number - 1)
                if deadline is not None:
                    pause = min(pause, max(0.0, deadline - self.clock()))
                self.sleep(pause)
            if not self._time_left(deadline):
                return
            yield Attempt(number, deadline, self.clock)

    def call(self, action: Callable[[], T], retryable: Callable[[Exception], bool]) -> T:
        """`action()` until it returns, retrying the errors `retryable` accepts; the last error is raised once
        the tries are spent (a TimeoutError if the deadline left no time for any)."""
        last: Exception | None = None
        for _ in self.tries():
            try:
                return action()
            except Exception as exc:
                if not retryable(exc):
                    raise
                last = exc
        if last is None:
            raise TimeoutError("no time left for a first try")
        raise last
