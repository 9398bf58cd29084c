"""The audit trail's sort key lists entries in the order they happened: by the appointment's versions, whatever
the clocks of their writers say."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from chalicelib.domain.audit import AuditEntry, audit_of, audit_sort_key
from chalicelib.domain.identity import Caller, Role
from tests.helpers import make_appointment

AT = datetime(2027, 3, 1, 10, 0, 0, tzinfo=UTC)
ADMIN = Caller(subject="admin-1", role=Role.ADMIN)


def entry(entry_id: str, at: datetime, seq: int) -> AuditEntry:
    return AuditEntry(entry_id, "a1", at, "admin-1", "admin", "x", None, "scheduled", seq=seq)


def test_changes_within_one_second_sort_by_their_sub_second_instant_not_their_random_id():
    # GIVEN three entries 100 ms apart whose random ids sort the other way
    written = [entry("zz", AT + timedelta(milliseconds=100), 1), entry("mm", AT + timedelta(milliseconds=200), 2)]
    written.append(entry("aa", AT + timedelta(milliseconds=300), 3))
    # THEN the sort key keeps their order
    assert sorted(written, key=audit_sort_key) == written


def test_changes_at_one_clock_reading_sort_by_their_sequence():
    written = [entry("zz", AT, 1), entry("mm", AT, 2), entry("aa", AT, 10)]
    assert sorted(written, key=audit_sort_key) == written


def test_each_change_carries_the_version_it_writes():
    booked = make_appointment()
    first = audit_of("e1", ADMIN, "booked", None, booked, AT)
    again = audit_of("e2", ADMIN, "rescheduled", make_appointment(version=1), make_appointment(version=1), AT)
    later = audit_of("e3", ADMIN, "cancelled", make_appointment(version=2), make_appointment(version=2), AT)
    assert (first.seq, again.seq, later.seq) == (1, 2, 3)


def test_an_appointments_trail_follows_its_versions_when_the_clocks_of_its_writers_disagree():
    # GIVEN a booking, then a reschedule and a confirmation written by processes whose clocks run 300 ms and 600 ms
    # behind the first one's, and a room join seen at version 2 by a process 900 ms behind
    booked = entry("b", AT, 1)
    rescheduled = replace(entry("r", AT - timedelta(milliseconds=300), 2), action="rescheduled")
    joined = replace(entry("j", AT - timedelta(milliseconds=900), 2), action="room-joined")
    confirmed = replace(entry("c", AT - timedelta(milliseconds=600), 3), action="confirmed")
    written = [booked, rescheduled, joined, confirmed]
    # THEN the sort key lists them by version: booked, rescheduled, the join seen after it, confirmed
    shuffled = [confirmed, joined, booked, rescheduled]
    assert sorted(shuffled, key=audit_sort_key) == written
    # AND the old instant-first key would have listed them by clock
    assert [e.id for e in sorted(written, key=lambda e: e.at)] == ["j", "c", "r", "b"]


def test_an_event_seen_at_a_version_sorts_after_the_change_that_wrote_it_whatever_the_ids():
    change = replace(entry("zz", AT, 4), action="cancelled")
    seen = replace(entry("aa", AT - timedelta(seconds=5), 4), action="reminder-cancelled")
    assert sorted([seen, change], key=audit_sort_key) == [change, seen]
