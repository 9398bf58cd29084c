"""freed_busy_intervals: the time a doctor's own calendars no longer block after a sync, within working hours and
not booked, from now on."""

from __future__ import annotations

from datetime import UTC, datetime

from chalicelib.domain.waitlist import freed_busy_intervals


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2031, 3, 5, hour, minute, tzinfo=UTC)


WORKING = [(at(9), at(12)), (at(13), at(17))]
EARLY = at(0)


def test_a_removed_busy_event_is_freed():
    assert freed_busy_intervals([(at(10), at(11))], [], WORKING, [], EARLY) == [(at(10), at(11))]


def test_a_shortened_busy_event_frees_only_the_part_given_back():
    assert freed_busy_intervals([(at(10), at(11))], [(at(10), at(10, 30))], WORKING, [], EARLY) == [
        (at(10, 30), at(11))
    ]


def test_nothing_removed_frees_nothing():
    same = [(at(10), at(11))]
    assert freed_busy_intervals(same, same, WORKING, [], EARLY) == []
    assert freed_busy_intervals(same, [*same, (at(14), at(15))], WORKING, [], EARLY) == []
    assert freed_busy_intervals([], [(at(14), at(15))], WORKING, [], EARLY) == []


def test_only_working_time_is_freed():
    # an event over lunch and past closing: only the working parts
    freed = freed_busy_intervals([(at(11), at(18))], [], WORKING, [], EARLY)
    assert freed == [(at(11), at(12)), (at(13), at(17))]


def test_a_booked_visit_is_not_freed():
    freed = freed_busy_intervals([(at(10), at(12))], [], WORKING, [(at(10, 30), at(11))], EARLY)
    assert freed == [(at(10), at(10, 30)), (at(11), at(12))]


def test_a_time_already_begun_is_left_out():
    freed = freed_busy_intervals([(at(9), at(10)), (at(14), at(15))], [], WORKING, [], at(9, 30))
    assert freed == [(at(14), at(15))]
