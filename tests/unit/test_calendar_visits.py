"""Visits out, pure rules and the use case on in-memory fakes: what a visit's copy needs, the backoff, one event per
visit whatever is redelivered, failures recorded with their reason and retried only when due."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.domain.appointments import Status
from chalicelib.domain.calendar_connections import (
    Connection,
    CopyState,
    Kind,
    VisitCopy,
    copy_action,
    copy_from_record,
    copy_record,
    retry_delay,
)
from chalicelib.services.calendar_visits import VisitChange, VisitsOut, VisitsReport
from tests.fakes.calendars import InMemoryConnections, InMemoryCopyStore, InMemoryVisits, NoVault, RecordingCalDav
from tests.helpers import FixedClock, make_appointment

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
UID = "a1@clinic-booking"


def copy(state: CopyState, version: int = 1, **fields: Any) -> VisitCopy:
    return VisitCopy("d1", "c1", "a1", version, state, NOW, **fields)


def caldav(**fields: Any) -> Connection:
    base = Connection("c1", "d1", Kind.CALDAV, "https://cal.example/dr/rounds/", False, True, NOW, "dr", True)
    return replace(base, **fields)


# --- rules -----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("visit", "known", "action"),
    [
        (make_appointment(version=1), None, "put"),
        (make_appointment(version=1), copy(CopyState.WRITTEN, 1), "none"),
        (make_appointment(version=2), copy(CopyState.WRITTEN, 1), "put"),  # rescheduled: rewritten
        (make_appointment(version=1), copy(CopyState.FAILED, 1), "put"),
        (make_appointment(version=1), copy(CopyState.PENDING, 1), "put"),
        (make_appointment(version=3, status=Status.CANCELLED), copy(CopyState.WRITTEN, 2), "delete"),
        (make_appointment(version=3, status=Status.CANCELLED), copy(CopyState.FAILED, 2), "delete"),
        (make_appointment(version=3, status=Status.CANCELLED), copy(CopyState.DELETED, 3), "none"),
        (make_appointment(version=2, status=Status.CANCELLED), None, "none"),  # never written: nothing to delete
        (make_appointment(status=Status.HELD), None, "none"),  # a hold is not a visit
        (make_appointment(version=4, status=Status.COMPLETED), copy(CopyState.WRITTEN, 3), "none"),  # stays
        (None, copy(CopyState.WRITTEN, 1), "delete"),
        (None, None, "none"),
    ],
)
def test_what_a_visits_copy_needs(visit: Any, known: Any, action: str) -> None:
    assert copy_action(visit, known) == action


def test_retries_back_off_from_five_minutes_doubling_up_to_six_hours() -> None:
    waits = [retry_delay(n) for n in (1, 2, 3, 4, 10, 50)]
    assert waits[:4] == [timedelta(minutes=5), timedelta(minutes=10), timedelta(minutes=20), timedelta(minutes=40)]
    assert waits[4:] == [timedelta(hours=6), timedelta(hours=6)]


def test_a_copy_is_stored_and_read_back_whole() -> None:
    failed = copy(CopyState.FAILED, 3, ends_at=NOW, error="403", attempts=2, retry_at=NOW, starts_at=NOW)
    assert copy_from_record(copy_record(failed)) == failed
    assert failed.due_again and not copy(CopyState.WRITTEN).due_again
    assert not replace(failed, retry_at=None).due_again


# --- the use case --------------------------------------------------------------------------------------------------
class World:
    def __init__(self, *visits: Any, connection: Connection | None = None) -> None:
        self.clock = FixedClock(NOW)
        self.copies = InMemoryCopyStore()
        self.connections = InMemoryConnections(connection or caldav())
        self.visits = InMemoryVisits(*visits)
        self.server = RecordingCalDav()
        self.failed_metric: list[int] = []
        self.service = VisitsOut(
            self.copies,
            self.connections,
            self.visits,
            NoVault(),
            lambda: self.server,
            self.clock,
            on_failed=self.failed_metric.append,
        )

    def change(self, appointment_id: str = "a1", sequence: str = "1") -> Any:
        return self.batch(VisitChange(sequence, appointment_id, "d1"))[0]

    def batch(self, *changes: VisitChange | str) -> tuple[VisitsReport, list[str]]:
        """One stream batch as the Lambda hands it over (each record on its own): its report, and the sequence
        numbers of the records whose handling raised (the partial batch response's)."""
        run, raised = self.service.new_run(), []
        for change in changes:
            try:
                self.service.on_change(change, run)
            except Exception:
                raised.append(change if isinstance(change, str) else change.sequence)
        return self.service.finish(run), raised

    def copy(self, appointment_id: str = "a1") -> VisitCopy:
        found = self.copies.get("d1", "c1", appointment_id)
        assert found is not None, appointment_id
        return found

    def event(self, uid: str = UID) -> str:
        return self.server.events[("https://cal.example/dr/rounds/", uid)].decode()


def test_a_booked_visit_is_written_once_and_a_redelivered_record_writes_nothing() -> None:
    world = World(make_appointment(version=1))
    report, raised = world.batch(VisitChange("1", "a1", "d1"))
    assert report.written == 1 and raised == []
    assert world.copy().state is CopyState.WRITTEN
    assert f"UID:{UID}" in world.event() and "chest pain" not in world.event() and "Pat Doe" not in world.event()
    # WHEN the stream hands the same record again THEN nothing is sent
    world.change()
    assert world.server.requests == [("PUT", UID)]


def test_a_reschedule_rewrites_the_same_uid_with_a_higher_sequence_and_a_cancel_deletes_it() -> None:
    world = World(make_appointment(version=1))
    world.change()
    first = world.event()
    world.visits.by_id["a1"] = make_appointment(version=2, starts_at=NOW + timedelta(days=3))
    world.change(sequence="2")
    assert len(world.server.events) == 1
    assert "SEQUENCE:1" in world.event() and "SEQUENCE:0" in first
    world.visits.by_id["a1"] = make_appointment(version=3, status=Status.CANCELLED)
    world.change(sequence="3")
    assert world.server.events == {} and world.copy().state is CopyState.DELETED


def test_a_refused_write_is_recorded_with_its_reason_and_retried_only_when_due_then_written_once() -> None:
    world = World(make_appointment(version=1))
    world.server.failure = "the calendar server refused us (403)"
    report, raised = world.batch(VisitChange("1", "a1", "d1"))
    # THEN the copy says why and when it is tried again; the record is not a batch failure
    assert (report.failed, raised, world.failed_metric) == (1, [], [1])
    failed = world.copy()
    assert failed is not None and failed.state is CopyState.FAILED and "403" in (failed.error or "")
    assert failed.retry_at == NOW + timedelta(minutes=5) and failed.attempts == 1
    # WHEN the retry runs before it is due THEN nothing is tried
    world.server.failure = None
    world.service.retry_due()
    assert world.server.requests == [("PUT", UID)]
    # WHEN it runs once due, the server still refusing THEN the wait doubles
    world.server.failure = "the calendar server refused us (403)"
    world.clock.current = NOW + timedelta(minutes=5)
    world.service.retry_due()
    again = world.copy()
    assert again is not None and again.attempts == 2 and again.retry_at == NOW + timedelta(minutes=15)
    # WHEN the server recovers and the retry is due THEN one event, written, out of the retry list
    world.server.failure = None
    world.clock.current = NOW + timedelta(minutes=15)
    world.service.retry_due()
    assert world.copy().state is CopyState.WRITTEN and list(world.server.events) == [
        ("https://cal.example/dr/rounds/", UID)
    ]
    assert world.copies.due_list == {}


def test_once_a_calendar_fails_in_a_batch_its_other_visits_are_recorded_failed_without_another_wait() -> None:
    world = World(make_appointment(id="a1", version=1), make_appointment(id="a2", version=1))
    world.server.failure = "the calendar server did not answer in time"
    report, _ = world.batch(VisitChange("1", "a1", "d1"), VisitChange("2", "a2", "d1"))
    assert report.failed == 2 and world.server.requests == [("PUT", UID)]
    second = world.copy("a2")
    assert second is not None and second.state is CopyState.FAILED and "in time" in (second.error or "")


def test_a_paused_calendar_keeps_the_visit_pending_and_writes_it_once_resumed() -> None:
    world = World(make_appointment(version=1), connection=caldav(paused=True))
    assert world.change().pending == 1 and world.server.requests == []
    world.service.retry_due()
    assert world.server.requests == [] and world.copy().state is CopyState.PENDING
    world.connections.set(caldav())
    world.service.retry_due()
    assert world.copy().state is CopyState.WRITTEN and len(world.server.events) == 1


def test_only_calendars_that_receive_visits_get_them() -> None:
    world = World(make_appointment(version=1), connection=caldav(write_visits=False))
    assert world.change().skipped == 1 and world.server.requests == []
    ics = World(make_appointment(version=1), connection=caldav(kind=Kind.ICS))
    assert ics.change().skipped == 1 and ics.server.requests == []


def test_a_store_failure_fails_only_that_record() -> None:
    world = World(make_appointment(id="a1", version=1), make_appointment(id="a2", version=1))
    real = world.copies.save

    def broken(copy: VisitCopy) -> bool:
        if copy.appointment_id == "a1":
            raise RuntimeError("the table is down")
        return real(copy)

    world.copies.save = broken  # type: ignore[method-assign]
    report, raised = world.batch(VisitChange("1", "a1", "d1"), VisitChange("2", "a2", "d1"), "3")
    assert raised == ["1"] and report.written == 2 and report.skipped == 1
    assert world.copy("a2") is not None


def test_a_stale_retry_never_records_over_a_newer_copy_and_sends_the_visit_again_as_it_is_now() -> None:
    # GIVEN a retry that read the failed copy and version 1 of the visit, and the stream then writing version 2
    world = World(make_appointment(version=2, starts_at=NOW + timedelta(days=2)))
    world.copies.save(copy(CopyState.FAILED, 1, retry_at=NOW))
    stale_visit, stale_copy = make_appointment(version=1), world.copy()
    visit_reads, copy_reads = iter([stale_visit]), iter([stale_copy])
    real_visit, real_copy = world.visits.get, world.copies.get

    def visit_get(appointment_id: str) -> Any:
        return next(visit_reads, None) or real_visit(appointment_id)

    def copy_get(*key: str) -> Any:
        found = next(copy_reads, None)
        if found is not None:
            world.copies.copies[("d1", "c1", "a1")] = copy(CopyState.WRITTEN, 2)  # the stream lands meanwhile
            return found
        return real_copy(*key)

    world.visits.get = visit_get  # type: ignore[method-assign]
    world.copies.get = copy_get  # type: ignore[method-assign,assignment]
    # WHEN the retry runs
    world.service.retry_due()
    # THEN its record of version 1 is refused, and the event is sent again as version 2 (SEQUENCE 1), recorded
    assert world.server.requests == [("PUT", UID), ("PUT", UID)]
    assert "SEQUENCE:1" in world.event()
    recorded = real_copy("d1", "c1", "a1")
    assert recorded is not None and (recorded.state, recorded.version) == (CopyState.WRITTEN, 2)
    assert world.copies.due_list == {}


def test_visits_booked_before_the_calendar_was_connected_are_queued_and_written_by_the_next_run() -> None:
    world = World(make_appointment(id="a1", version=1), make_appointment(id="a2", status=Status.HELD))
    queued = world.service.queue_booked(caldav(), NOW, NOW + timedelta(days=30))
    assert queued == 1 and world.copy().state is CopyState.PENDING and world.server.requests == []
    world.service.retry_due()
    assert world.copy().state is CopyState.WRITTEN and world.server.requests == [("PUT", UID)]


def test_staff_see_copies_of_visits_not_over_and_every_failed_one() -> None:
    world = World()
    over = NOW - timedelta(days=3)
    world.copies.save(replace(copy(CopyState.WRITTEN, 1), appointment_id="old", ends_at=over))
    world.copies.save(replace(copy(CopyState.WRITTEN, 1), appointment_id="soon", ends_at=NOW + timedelta(days=1)))
    world.copies.save(
        replace(copy(CopyState.FAILED, 1), appointment_id="stuck", ends_at=over, retry_at=NOW, error="403")
    )
    shown = [c.appointment_id for c in world.service.copies_of(caldav())]
    assert shown == ["stuck", "soon"]


def test_an_earlier_releases_visits_in_the_connection_record_become_copies_once() -> None:
    # GIVEN a connection record as an earlier release stored it, with the visits it wrote inside
    from chalicelib.domain.calendar_connections import from_record, to_record

    raw = to_record(caldav())
    raw["visits"] = {
        "a1": [3, "written", None, 0, None],
        "a2": [1, "failed", "down", 2, "2026-11-30T12:05:00Z"],
        "a3": [2, "deleted", None, 0, None],
    }
    legacy = from_record(raw)
    assert legacy.legacy_visits == {"a1": (3, "written"), "a2": (1, "failed"), "a3": (2, "deleted")}
    assert "visits" not in to_record(legacy)  # saved again, they are gone from the record
    # WHEN they are adopted THEN a written one is known at its version (a cancel will delete its event), a failed
    # one is pending (the next run writes it); a visit that already has a copy keeps it
    world = World(make_appointment(id="a1", version=4, status=Status.CANCELLED))
    world.copies.save(replace(copy(CopyState.WRITTEN, 2), appointment_id="a3"))
    assert world.service.adopt(legacy) == 2
    assert world.copy("a1").state is CopyState.WRITTEN and world.copy("a1").version == 3
    assert world.copy("a2").state is CopyState.PENDING and world.copy("a2").due_again
    assert world.copy("a3").version == 2
    world.change("a1")
    assert world.server.requests == [("DELETE", UID)]
