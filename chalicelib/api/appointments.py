"""Appointment routes: book (idempotent), read, reschedule, cancel, status, lists by patient and doctor."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from chalice import Blueprint

from chalicelib import container
from chalicelib.api import schemas as s
from chalicelib.api.http import Call, endpoint
from chalicelib.api.idempotent import checked_key, keyed
from chalicelib.domain.appointments import Appointment, AppointmentType, Status
from chalicelib.domain.errors import InvalidInput
from chalicelib.domain.idempotency import scoped_key
from chalicelib.domain.identity import Caller, Role
from chalicelib.domain.language import from_accept_language
from chalicelib.domain.paging import open_token, sign_token
from chalicelib.domain.reminders import Skipped
from chalicelib.domain.timefmt import instant
from chalicelib.observability import count
from chalicelib.services.booking import BookingRequest, HoldBooking, ListFilter

appointments_api = Blueprint(__name__)
log = logging.getLogger("clinic.api")


def _shape(
    caller: Caller,
    appointment: Appointment,
    with_room: bool = False,
    skipped: list[Skipped] | None = None,
    language: str | None = None,
) -> s.AppointmentOut:
    extra: dict[str, Any] = {"can_reschedule": container.current().booking.can_reschedule(caller, appointment)}
    if language:
        extra["patient_language"] = language
    if with_room and appointment.room_id:
        try:
            extra["telehealth_room_status"] = container.current().telehealth.room_state(appointment)
        except Exception:  # a read after the commit: the answer stands without the room's live state
            log.warning("room state of appointment %s unavailable", appointment.id)
    return s.AppointmentOut.from_domain(appointment, skipped_reminders=skipped, **extra)


def _languages(caller: Caller, appointments: list[Appointment]) -> dict[str, str]:
    """To staff, each patient's chosen language (the console's "speaks Spanish"), in one batch read for the
    page; a failed read leaves it out rather than failing the list."""
    if caller.role is Role.PATIENT or not appointments:
        return {}
    try:
        return container.current().patients.languages_of([a.patient_id for a in appointments])
    except Exception:  # the visits matter more than the badge
        log.warning("patients' languages unavailable for %d appointment(s)", len(appointments))
        return {}


def _count(name: str) -> None:
    """Metrics after a commit never turn a done change into an error."""
    try:
        count(name)
    except Exception:
        log.exception("metric %s not recorded", name)


@endpoint(
    appointments_api,
    "/api/appointments",
    "POST",
    "Book an appointment, or the caller's hold with `holdId` (422 AMBIGUOUS_LOCAL_TIME: name the instant with the "
    "slot's startsAt)",
    body=s.BookingIn,
    response=s.AppointmentOut,
    status=201,
    headers=("Idempotency-Key",),
    errors=(404, 409, 422),
    tags=("appointments",),
)
def book(call: Call) -> s.AppointmentOut:
    body: s.BookingIn = call.body
    prefs = body.reminder_preferences.model_dump(by_alias=True, exclude_none=True) if body.reminder_preferences else {}
    if body.hold_id is not None:
        return _book_hold(call, body, prefs)
    needed = {"doctorId": body.doctor_id, "date": body.date, "time": body.time, "type": body.type}
    needed["reason"] = body.reason
    missing = [name for name, value in needed.items() if value is None]
    if missing or body.doctor_id is None or body.date is None or body.time is None or body.type is None:
        raise InvalidInput(
            "The request body is invalid.", {"fields": dict.fromkeys(missing, "Field required (or send holdId)")}
        )
    request = BookingRequest(
        doctor_id=body.doctor_id,
        patient_id=body.patient_id,
        patient_name=body.patient_name,
        date=body.date,
        time=body.time,
        duration=body.duration,
        type=AppointmentType(body.type),
        reason=body.reason or "",
        notes=body.notes,
        reminder_preferences=prefs,
        starts_at=body.starts_at,
        via=call.route,
        language=from_accept_language(call.headers.get("accept-language")),
    )
    c = container.current()
    key = checked_key(call)
    if key is not None:
        # Scoped per caller, so two users never share a record; the appointment id derives from it too.
        request = replace(request, idempotency_key=scoped_key(call.caller.subject, key))

    def run() -> s.AppointmentOut:
        # a doctor probing a patient it has no visit with is refused and put on that id's access log by the service
        booked, _, skipped = c.booking.book_with_reminders(call.caller, request)
        _count("BookingCreated")
        return _shape(call.caller, booked, with_room=True, skipped=skipped)

    if request.idempotency_key is None:
        return run()

    def answer() -> dict[str, Any]:
        """What the idempotency record keeps, and a retry replays (checked against the model again)."""
        return run().to_json()

    # A record left in progress (its request's answer lost) is recovered by running again: the derived id makes
    # the store refuse a second booking and hand back the caller's own.
    return s.AppointmentOut.model_validate(
        c.idempotency.run(
            request.idempotency_key, call.raw_body or {}, answer, appointments_api.lambda_context, recover=answer
        )
    )


def _book_hold(call: Call, body: s.BookingIn, prefs: dict[str, Any]) -> s.AppointmentOut:
    """The hold becomes the visit (same path as a booking: one transaction, audit, reminders, room); a retry with
    the same `Idempotency-Key` answers the first result, as for any booking."""
    if body.hold_id is None:  # the route comes here only with a holdId
        raise TypeError("a hold booking needs its holdId")
    request = HoldBooking(
        hold_id=body.hold_id,
        reason=body.reason or "",
        notes=body.notes,
        patient_name=body.patient_name,
        reminder_preferences=prefs,
        matches={
            "doctorId": body.doctor_id,
            "patientId": body.patient_id,
            "date": body.date.isoformat() if body.date else None,
            "time": body.time.strftime("%H:%M") if body.time else None,
            "duration": body.duration,
            "type": body.type,
            "startsAt": body.starts_at,
        },
        language=from_accept_language(call.headers.get("accept-language")),
    )

    def run() -> s.AppointmentOut:
        booked, _, skipped = container.current().booking.book_hold(call.caller, request)
        _count("BookingCreated")
        return _shape(call.caller, booked, with_room=True, skipped=skipped)

    return keyed(call, s.AppointmentOut, run, appointments_api.lambda_context)


@endpoint(
    appointments_api,
    "/api/appointments/{id}",
    "GET",
    "One appointment",
    response=s.AppointmentOut,
    errors=(404,),
    tags=("appointments",),
)
def get_appointment(call: Call) -> s.AppointmentOut:
    found = container.current().booking.get(call.caller, call.params["id"])
    container.current().access.record(call.caller, call.route, [(found.patient_id, found.id)])
    language = _languages(call.caller, [found]).get(found.patient_id)
    return _shape(call.caller, found, with_room=True, language=language)


@endpoint(
    appointments_api,
    "/api/appointments/{id}/reschedule",
    "PUT",
    "Move an appointment (422 AMBIGUOUS_LOCAL_TIME: name the instant with the slot's startsAt)",
    body=s.RescheduleIn,
    response=s.AppointmentOut,
    headers=("Idempotency-Key",),
    errors=(404, 409, 422),
    tags=("appointments",),
)
def reschedule(call: Call) -> s.AppointmentOut:
    body: s.RescheduleIn = call.body

    def run() -> s.AppointmentOut:
        moved = container.current().booking.reschedule(
            call.caller, call.params["id"], body.date, body.time, body.starts_at, body.duration
        )
        _count("BookingRescheduled")
        return _shape(call.caller, moved)

    return keyed(call, s.AppointmentOut, run, appointments_api.lambda_context)


@endpoint(
    appointments_api,
    "/api/appointments/{id}",
    "DELETE",
    "Cancel an appointment",
    response=s.AppointmentOut,
    headers=("Idempotency-Key",),
    errors=(404, 409, 422),
    tags=("appointments",),
)
def cancel(call: Call) -> s.AppointmentOut:
    def run() -> s.AppointmentOut:
        cancelled = container.current().booking.cancel(call.caller, call.params["id"])
        _count("BookingCancelled")
        return _shape(call.caller, cancelled)

    def landed() -> s.AppointmentOut | None:
        """A retry meeting its own cancel still marked in progress: a cancelled visit is that cancel's answer."""
        found = container.current().booking.get(call.caller, call.params["id"])
        return _shape(call.caller, found) if found.status is Status.CANCELLED else None

    return keyed(call, s.AppointmentOut, run, appointments_api.lambda_context, landed)


@endpoint(
    appointments_api,
    "/api/appointments/{id}/status",
    "PATCH",
    "Confirm (patient or staff), complete or mark no-show (doctor or admin)",
    body=s.StatusIn,
    response=s.AppointmentOut,
    headers=("Idempotency-Key",),
    errors=(404, 409, 422),
    tags=("appointments",),
)
def change_status(call: Call) -> s.AppointmentOut:
    body: s.StatusIn = call.body

    def run() -> s.AppointmentOut:
        changed = container.current().booking.change_status(call.caller, call.params["id"], Status(body.status))
        return _shape(call.caller, changed)

    return keyed(call, s.AppointmentOut, run, appointments_api.lambda_context)


def _filters(q: s.AppointmentListQuery) -> ListFilter:
    return ListFilter(
        status=Status(q.status) if q.status else None,
        type=AppointmentType(q.type) if q.type else None,
        date_from=q.date_from,
        date_to=q.date_to,
    )


@endpoint(
    appointments_api,
    "/api/appointments/patient/{patientId}",
    "GET",
    "A patient's appointments",
    query=s.AppointmentListQuery,
    response=s.AppointmentList,
    tags=("appointments",),
)
def list_for_patient(call: Call) -> s.AppointmentList:
    q: s.AppointmentListQuery = call.query
    after = _after(call)
    page, more = container.current().booking.page_for_patient(
        call.caller, call.params["patientId"], _filters(q), q.limit, after
    )
    return _page(call, page, more)


def _scope(call: Call) -> str:
    """What a page token is good for: this route, its path id and the same filters."""
    q: s.AppointmentListQuery = call.query
    parts = (q.status, q.type, q.date_from, q.date_to)
    return "|".join([call.route, *call.params.values(), *("" if p is None else str(p) for p in parts)])


def _after(call: Call) -> tuple[str, str] | None:
    q: s.AppointmentListQuery = call.query
    if q.next_token is None:
        return None
    return open_token(q.next_token, _scope(call), container.current().keys.signing_key())


def _page(call: Call, page: list[Appointment], more: bool) -> s.AppointmentList:
    """`limit` per page (at most 100) in start-time order; a signed `nextToken` while more remain."""
    container.current().access.record(call.caller, call.route, [(a.patient_id, a.id) for a in page])
    next_token = None
    if more and page:
        last = page[-1]
        key = container.current().keys.signing_key()
        next_token = sign_token((instant(last.starts_at), last.id), _scope(call), key)
    languages = _languages(call.caller, page)
    shaped = [_shape(call.caller, a, language=languages.get(a.patient_id)) for a in page]
    return s.AppointmentList(appointments=shaped, next_token=next_token)


@endpoint(
    appointments_api,
    "/api/appointments/doctor/{doctorId}",
    "GET",
    "A doctor's appointments",
    query=s.AppointmentListQuery,
    response=s.AppointmentList,
    errors=(404,),
    tags=("appointments",),
)
def list_for_doctor(call: Call) -> s.AppointmentList:
    q: s.AppointmentListQuery = call.query
    after = _after(call)
    page, more = container.current().booking.page_for_doctor(
        call.caller, call.params["doctorId"], _filters(q), q.limit, after
    )
    return _page(call, page, more)
