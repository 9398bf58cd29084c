"""A doctor's own calendars (`/api/admin/doctors/{doctorId}/calendars...`, admin or that doctor): connect an ICS
feed or a CalDAV calendar, list, pause/resume, sync now, disconnect; the conflicts list; the scheduled sync
sweep (busy times in, and the retries of visits out); and the appointments stream's visits-out consumer. Its request
and response models are in `api/schemas/calendars.py`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice import Blueprint, Response

from chalicelib import container
from chalicelib.api.errors import no_content
from chalicelib.api.http import Call, endpoint
from chalicelib.api.realtime import slot_change
from chalicelib.api.stream_batch import each_record
from chalicelib.domain.identity import Role

if TYPE_CHECKING:
    from chalicelib.api.schemas.calendars import CalendarCreate, CalendarList, CalendarOut, CalendarPatch, ConflictList
    from chalicelib.services.calendar_visits import VisitChange

own_calendars_api = Blueprint(__name__)
STAFF = (Role.ADMIN, Role.DOCTOR)
TAGS = ("calendars",)
BASE = "/api/admin/doctors/{doctorId}/calendars"
EVENT_FIELDS = ("starts_at", "ends_at", "status", "type", "location", "telehealth_url", "doctor_name")
"""What a visit's event in a doctor's calendar shows: a change to anything else writes nothing."""


def _out(connection: Any, wired: container.Container) -> CalendarOut:
    from chalicelib.api.schemas.calendars import CalendarOut, VisitCopyOut

    visits = [
        VisitCopyOut(
            appointment_id=c.appointment_id,
            state=c.state.value,
            error=c.error,
            retry_at=c.retry_at,
            attempts=c.attempts if c.state.value == "failed" else 0,
            updated_at=c.updated_at,
            starts_at=c.starts_at,
        )
        for c in wired.calendar_visits.copies_of(connection)
    ]
    return CalendarOut.from_domain(connection, kind=connection.kind.value, state=connection.state.value, visits=visits)


@endpoint(own_calendars_api, BASE, "POST",
          "Connect one of the doctor's own calendars (its busy times block slots); syncs it once at once",
          body="calendars.CalendarCreate", response="calendars.CalendarOut", roles=STAFF, status=201,
          errors=(403, 404), tags=TAGS)  # fmt: skip
def connect_calendar(call: Call) -> CalendarOut:
    from chalicelib.domain.calendar_connections import Kind

    b: CalendarCreate = call.body
    created = call.services.calendars.create(
        call.caller, call.params["doctorId"], Kind(b.kind), b.url, b.username, b.password, b.write_visits
    )
    return _out(created, call.services)


@endpoint(own_calendars_api, BASE, "GET", "The doctor's connected calendars and their sync state",
          response="calendars.CalendarList", roles=STAFF, errors=(403, 404), tags=TAGS)  # fmt: skip
def list_calendars(call: Call) -> CalendarList:
    from chalicelib.api.schemas.calendars import CalendarList

    return CalendarList(
        calendars=[
            _out(c, call.services) for c in call.services.calendars.of_doctor(call.caller, call.params["doctorId"])
        ]
    )


@endpoint(own_calendars_api, BASE + "/{id}/sync", "POST", "Sync this calendar now",
          response="calendars.CalendarOut", roles=STAFF, errors=(403, 404), tags=TAGS)  # fmt: skip
def sync_calendar(call: Call) -> CalendarOut:
    return _out(
        call.services.calendars.sync_now(call.caller, call.params["doctorId"], call.params["id"]), call.services
    )


@endpoint(own_calendars_api, BASE + "/{id}", "PATCH", "Pause or resume a calendar's sync",
          body="calendars.CalendarPatch", response="calendars.CalendarOut", roles=STAFF, errors=(403, 404),
          tags=TAGS)  # fmt: skip
def change_calendar(call: Call) -> CalendarOut:
    b: CalendarPatch = call.body
    paused = b.state == "paused"
    return _out(
        call.services.calendars.set_paused(call.caller, call.params["doctorId"], call.params["id"], paused),
        call.services,
    )


@endpoint(own_calendars_api, BASE + "/{id}", "DELETE",
          "Disconnect: its busy times stop blocking at once, its credentials are destroyed",
          roles=STAFF, status=204, errors=(403, 404), tags=TAGS)  # fmt: skip
def delete_calendar(call: Call) -> Response:
    call.services.calendars.delete(call.caller, call.params["doctorId"], call.params["id"])
    return no_content()


@endpoint(own_calendars_api, "/api/admin/doctors/{doctorId}/conflicts", "GET",
          "Booked visits that a busy time of the doctor's own calendars now overlaps (nothing is moved)",
          response="calendars.ConflictList", roles=STAFF, errors=(403, 404), tags=TAGS)  # fmt: skip
def list_conflicts(call: Call) -> ConflictList:
    from chalicelib.api.schemas.calendars import ConflictList, ConflictOut

    flagged = call.services.calendars.conflicts(call.caller, call.params["doctorId"])
    return ConflictList(
        conflicts=[
            ConflictOut(
                appointment_id=f.conflict.appointment_id,
                calendar_id=f.calendar_id,
                start=f.conflict.start,
                end=f.conflict.end,
            )
            for f in flagged
        ]
    )


def run_calendar_sweep() -> dict[str, Any]:
    """The scheduled sync of every due connection (each on its own), then the retry of the visits' copies that are
    due (failed ones after their backoff, pending ones at once)."""
    wired = container.current()
    synced = wired.calendars.sweep()
    retried = wired.calendar_visits.retry_due()
    visits = {"written": retried.written, "deleted": retried.deleted, "failed": retried.failed}
    return {"synced": synced, "visits": visits}


def visit_records(records: list[Any]) -> dict[str, Any]:
    """The appointments stream's records, each on its own (Powertools' BatchProcessor): each changed visit written
    into (or deleted from) its doctor's calendars that receive visits. Only records whose copies could not be
    recorded are the partial batch response's, retried by the stream; a calendar server's refusal is not one (the
    copy says so and the sync retries it)."""
    visits = container.current().calendar_visits
    run = visits.new_run()
    answer = each_record(records, lambda record: visits.on_change(visit_change(record), run))
    report = visits.finish(run)
    return {
        **answer,
        "written": report.written,
        "deleted": report.deleted,
        "failed": report.failed,
        "pending": report.pending,
        "skipped": report.skipped,
    }


def visit_change(record: Any) -> VisitChange | str | None:
    """A stream record as the visit that changed in a way its event shows (time, place, type, status); `None` when
    the event is unchanged, the sequence number when the record cannot be read (both skipped)."""
    from chalicelib.domain.realtime import UnreadableChange
    from chalicelib.services.calendar_visits import VisitChange

    change = slot_change(record)
    if isinstance(change, UnreadableChange):
        return change.sequence
    current = change.new or change.old or {}
    if change.old and change.new and all(change.old.get(f) == change.new.get(f) for f in EVENT_FIELDS):
        return None  # a reminder sent, a note: the event is unchanged
    if not current.get("id") or not current.get("doctor_id"):
        return change.sequence
    return VisitChange(change.sequence, str(current["id"]), str(current["doctor_id"]))
