"""The adapters' one retry helper: bounded tries, exponential backoff with full jitter, a deadline."""

from __future__ import annotations

import pytest

from chalicelib.adapters.retrying import Backoff


class FakeTime:
    """A clock that moves only when slept on, and a record of every sleep."""

    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def backoff(time: FakeTime, draw: float = 1.0, **kwargs: float) -> Backoff:
    # a draw just under 1 is the top of each jitter range; 0.5 its middle
    return Backoff(sleep=time.sleep, clock=time.clock, uniform=lambda: draw * 0.999999, **kwargs)  # type: ignore[arg-type]


def test_tries_are_bounded_and_waits_grow_exponentially_up_to_the_cap():
    # GIVEN four tries, a base of 0.1 s and a cap of 0.3 s, the jitter drawing its top
    time = FakeTime()
    # WHEN every try fails
    tries = [attempt.number for attempt in backoff(time, attempts=4, base=0.1, cap=0.3).tries()]
    # THEN there are four, with a wait between each two (none after the last): 0.1, 0.2, then capped at 0.3
    assert tries == [0, 1, 2, 3]
    assert time.slept == pytest.approx([0.1, 0.2, 0.3], rel=1e-5)


def test_full_jitter_draws_each_wait_from_zero_to_the_exponential_step():
    # GIVEN a jitter drawing the middle of its range, and one drawing its bottom
    middle, bottom = FakeTime(), FakeTime()
    # WHEN three tries run under each
    list(backoff(middle, draw=0.5, attempts=3, base=0.2).tries())
    list(backoff(bottom, draw=0.0, attempts=3, base=0.2).tries())
    # THEN each wait is the draw times the step (0.2, 0.4): half of it, and nothing at all
    assert middle.slept == pytest.approx([0.1, 0.2], rel=1e-5)
    assert bottom.slept == [0.0, 0.0]


def test_the_default_jitter_stays_within_its_range():
    # GIVEN the real random draw WHEN many waits are drawn THEN each lies in [0, min(cap, base * 2**step))
    policy = Backoff(base=0.1, cap=0.5)
    for step in range(6):
        for _ in range(50):
            assert 0.0 <= policy.delay(step) < min(0.5, 0.1 * 2**step)


def test_the_deadline_cuts_the_wait_and_stops_the_tries():
    # GIVEN ten tries with long waits but a budget of 1 s, no try started with less than 0.05 s left
    time = FakeTime()
    policy = backoff(time, attempts=10, base=0.4, cap=10, budget=1.0, floor=0.05)
    # WHEN every try fails (each taking 0.1 s)
    seen = []
    for attempt in policy.tries():
        seen.append((attempt.number, round(attempt.left(), 6)))
        time.now += 0.1
    # THEN tries 0 and 1 ran (0.1 + 0.4 s wait + 0.1 s), the next wait was cut at the deadline, no third try
    assert seen == [(0, 1.0), (1, 0.5)]
    assert time.slept == pytest.approx([0.4, 0.4], rel=1e-5)
    assert time.now == pytest.approx(101.0)


def test_without_a_budget_there_is_no_deadline():
    # GIVEN no budget WHEN a try asks how long is left THEN it is unbounded
    attempt = next(iter(backoff(FakeTime()).tries()))
    assert attempt.left() == float("inf")


def test_call_returns_the_first_success_after_retrying_what_is_retryable():
    # GIVEN an action that fails twice with a retryable error, then succeeds
    time = FakeTime()
    answers: list[str | Exception] = [ConnectionError("a"), ConnectionError("b"), "done"]

    def action() -> str:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    # WHEN called with three tries THEN its answer comes back after two waits
    assert backoff(time, attempts=3).call(action, lambda exc: isinstance(exc, ConnectionError)) == "done"
    assert len(time.slept) == 2


def test_call_raises_at_once_what_is_not_retryable():
    # GIVEN an action that fails with an error the caller does not retry
    time = FakeTime()
    calls = []

    def action() -> None:
        calls.append(1)
        raise ValueError("refused")

    # WHEN called THEN that error is raised after one try and no wait
    with pytest.raises(ValueError, match="refused"):
        backoff(time, attempts=5).call(action, lambda exc: isinstance(exc, ConnectionError))
    assert calls == [1] and time.slept == []


def test_call_raises_the_last_error_once_the_tries_are_spent():
    # GIVEN an action that always fails retryably
    time = FakeTime()
    count = iter(range(10))

    def action() -> None:
        raise ConnectionError(f"failure {next(count)}")

    # WHEN called with three tries THEN the third failure is what the caller sees
    with pytest.raises(ConnectionError, match="failure 2"):
        backoff(time, attempts=3).call(action, lambda exc: True)


def test_call_with_no_time_for_a_first_try_raises_a_timeout():
    # GIVEN a budget smaller than the floor WHEN called THEN nothing runs and the caller learns why
    time = FakeTime()
    with pytest.raises(TimeoutError):
        backoff(time, budget=0.01, floor=0.05).call(lambda: "never", lambda exc: True)
