"""The audit trail's sort key lists entries in the order they happened, within one second too."""

from __future__ import annotations

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
