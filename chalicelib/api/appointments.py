"""Appointment routes: book (idempotent), read, reschedule, cancel, status, lists by patient and doctor.

Each handler takes its services once (`call.services`) and hands them on; the use cases return `AppointmentView`s,
which `AppointmentOut.of` shapes without asking a service again."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import TYPE_CHECKING

from chalice import Blueprint, Response

from chalicelib.api import schemas as s
from chalicelib.api.http import Call, endpoint
from chalicelib.api.idempotent import keyed, scope
from chalicelib.domain.errors import InvalidInput
from chalicelib.domain.identity import Role
from chalicelib.domain.language import from_accept_language
from chalicelib.domain.paging import open_token, sign_token
from chalicelib.domain.timefmt import instant
from chalicelib.observability import count

if TYPE_CHECKING:
    from chalicelib.container import Container
    from chalicelib.domain.appointments import Appointment
    from chalicelib.domain.identity import Caller
    from chalicelib.domain.reminders import ReminderPreferences
    from chalicelib.services.booking import AppointmentView, ListFilter

appointments_api = Blueprint(__name__)
log = logging.getLogger("clinic.api")


def _languages(c: Container, caller: Caller, appointments: list[Appointment]) -> dict[str, str]:
    """To staff, each patient's chosen language (the console's "speaks Spanish"), in one batch read for the
    page; a failed read leaves it out rather than failing the list."""
    if caller.role is Role.PATIENT or not appointments:
        return {}
    try:
        return c.patients.languages_of([a.patient_id for a in appointments])
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
    body="BookingIn",
    response="AppointmentOut",
    status=201,
    headers=("Idempotency-Key",),
    errors=(404, 409, 422),
    tags=("appointments",),
)
def book(call: Call) -> s.AppointmentOut | Response:
    from chalicelib.domain.appointments import AppointmentType
    from chalicelib.services.booking import BookingRequest

    c = call.services
    body: s.BookingIn = call.body
    prefs = body.reminder_preferences.to_domain() if body.reminder_preferences else None
    if body.hold_id is not None:
        return _book_hold(c, call, body, prefs)
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
    # The key's scope marks the booking, so a retry that meets its own committed visit answers it (see the README)
    request = replace(request, idempotency_key=scope(call))

    def run() -> s.AppointmentOut:
        # a doctor probing a patient it has no visit with is refused and put on that id's access log by the service
        booked = c.booking.book(call.caller, request)
        _count("BookingCreated")
        return s.AppointmentOut.of(booked)

    # A retry meeting its first attempt still in progress books again: refused by the visit that attempt made,
    # it answers that visit (or, if none landed, its own new booking).
    return keyed(call, run, appointments_api.lambda_context, landed=run)


def _book_hold(
    c: Container, call: Call, body: s.BookingIn, prefs: ReminderPreferences | None
) -> s.AppointmentOut | Response:
    """The hold becomes the visit (same path as a booking: one transaction, audit, reminders, room); a retry with
    the same `Idempotency-Key` answers the first result, as for any booking."""
    from chalicelib.services.booking import HoldBooking

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
        booked = c.booking.book_hold(call.caller, request)
        _count("BookingCreated")
        return s.AppointmentOut.of(booked)

    return keyed(call, run, appointments_api.lambda_context)


@endpoint(
    appointments_api,
    "/api/appointments/{id}",
    "GET",
    "One appointment",
    response="AppointmentOut",
    errors=(404,),
    tags=("appointments",),
)
def get_appointment(call: Call) -> s.AppointmentOut:
    c = call.services
    found = c.booking_queries.view(call.caller, call.params["id"])
    visit = found.appointment
    c.access.record(call.caller, call.route, [(visit.patient_id, visit.id)])
    return s.AppointmentOut.of(found, _languages(c, call.caller, [visit]).get(visit.patient_id))


@endpoint(
    appointments_api,
    "/api/appointments/{id}/reschedule",
    "PUT",
    "Move an appointment (422 AMBIGUOUS_LOCAL_TIME: name the instant with the slot's startsAt)",
    body="RescheduleIn",
    response="AppointmentOut",
    headers=("Idempotency-Key",),
    errors=(404, 409, 422),
    tags=("appointments",),
)
def reschedule(call: Call) -> s.AppointmentOut | Response:
    c = call.services
    body: s.RescheduleIn = call.body

    def run() -> s.AppointmentOut:
        moved = c.booking.reschedule(
            call.caller, call.params["id"], body.date, body.time, body.starts_at, body.duration
        )
        _count("BookingRescheduled")
        return s.AppointmentOut.of(moved)

    return keyed(call, run, appointments_api.lambda_context)


@endpoint(
    appointments_api,
    "/api/appointments/{id}",
    "DELETE",
    "Cancel an appointment",
    response="AppointmentOut",
    headers=("Idempotency-Key",),
    errors=(404, 409, 422),
    tags=("appointments",),
)
def cancel(call: Call) -> s.AppointmentOut | Response:
    from chalicelib.domain.appointments import Status

    c = call.services

    def run() -> s.AppointmentOut:
        cancelled = c.booking.cancel(call.caller, call.params["id"])
        _count("BookingCancelled")
        return s.AppointmentOut.of(cancelled)

    def landed() -> s.AppointmentOut | None:
        """A retry meeting its own cancel still marked in progress: a cancelled visit is that cancel's answer."""
        found = c.booking_queries.view(call.caller, call.params["id"], with_room=False)
        return s.AppointmentOut.of(found) if found.appointment.status is Status.CANCELLED else None

    return keyed(call, run, appointments_api.lambda_context, landed)


@endpoint(
    appointments_api,
    "/api/appointments/{id}/status",
    "PATCH",
    "Confirm (patient or staff), complete or mark no-show (doctor or admin)",
    body="StatusIn",
    response="AppointmentOut",
    headers=("Idempotency-Key",),
    errors=(404, 409, 422),
    tags=("appointments",),
)
def change_status(call: Call) -> s.AppointmentOut | Response:
    from chalicelib.domain.appointments import Status

    c = call.services
    body: s.StatusIn = call.body

    def run() -> s.AppointmentOut:
        return s.AppointmentOut.of(c.booking.change_status(call.caller, call.params["id"], Status(body.status)))

    return keyed(call, run, appointments_api.lambda_context)


def _filters(q: s.AppointmentListQuery) -> ListFilter:
    from chalicelib.domain.appointments import AppointmentType, Status
    from chalicelib.services.booking import ListFilter

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
    query="AppointmentListQuery",
    response="AppointmentList",
    tags=("appointments",),
)
def list_for_patient(call: Call) -> s.AppointmentList:
    c = call.services
    q: s.AppointmentListQuery = call.query
    after = _after(c, call)
    page, more = c.booking_queries.page_for_patient(call.caller, call.params["patientId"], _filters(q), q.limit, after)
    return _page(c, call, page, more)


def _scope(call: Call) -> str:
    """What a page token is good for: this route, its path id and the same filters."""
    q: s.AppointmentListQuery = call.query
    parts = (q.status, q.type, q.date_from, q.date_to)
    return "|".join([call.route, *call.params.values(), *("" if p is None else str(p) for p in parts)])


def _after(c: Container, call: Call) -> tuple[str, str] | None:
    q: s.AppointmentListQuery = call.query
    if q.next_token is None:
        return None
    return open_token(q.next_token, _scope(call), c.keys.signing_key())


def _page(c: Container, call: Call, page: list[AppointmentView], more: bool) -> s.AppointmentList:
    """`limit` per page (at most 100) in start-time order; a signed `nextToken` while more remain."""
    visits = [view.appointment for view in page]
    c.access.record(call.caller, call.route, [(a.patient_id, a.id) for a in visits])
    next_token = None
    if more and visits:
        last = visits[-1]
        next_token = sign_token((instant(last.starts_at), last.id), _scope(call), c.keys.signing_key())
    languages = _languages(c, call.caller, visits)
    shaped = [s.AppointmentOut.of(view, languages.get(view.appointment.patient_id)) for view in page]
    return s.AppointmentList(appointments=shaped, next_token=next_token)


@endpoint(
    appointments_api,
    "/api/appointments/doctor/{doctorId}",
    "GET",
    "A doctor's appointments",
    query="AppointmentListQuery",
    response="AppointmentList",
    errors=(404,),
    tags=("appointments",),
)
def list_for_doctor(call: Call) -> s.AppointmentList:
    c = call.services
    q: s.AppointmentListQuery = call.query
    after = _after(c, call)
    page, more = c.booking_queries.page_for_doctor(call.caller, call.params["doctorId"], _filters(q), q.limit, after)
    return _page(c, call, page, more)
