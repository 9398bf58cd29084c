"""Slot hold routes: hold a time for a few minutes, read it, release it, and the doctor-day's holds for staff.
A hold is booked with `POST /api/appointments {holdId}` (api/appointments.py)."""

from __future__ import annotations

import logging

from chalice import Blueprint, Response

from chalicelib.api import schemas as s
from chalicelib.api.errors import no_content
from chalicelib.api.http import Call, endpoint
from chalicelib.domain.identity import Role
from chalicelib.observability import count

holds_api = Blueprint(__name__)
log = logging.getLogger("clinic.api")
STAFF = (Role.DOCTOR, Role.ADMIN)
TAGS = ("holds",)


@endpoint(
    holds_api,
    "/api/holds",
    "POST",
    "Hold a time for a patient for a few minutes (others get 409 SLOT_UNAVAILABLE meanwhile)",
    body="HoldIn",
    response="HoldOut",
    status=201,
    errors=(404, 409, 422),
    tags=TAGS,
)
def hold(call: Call) -> s.HoldOut:
    from chalicelib.domain.appointments import AppointmentType
    from chalicelib.services.booking import HoldRequest

    body: s.HoldIn = call.body
    held = call.services.booking.hold(
        call.caller,
        HoldRequest(
            doctor_id=body.doctor_id,
            date=body.date,
            time=body.time,
            type=AppointmentType(body.type),
            patient_id=body.patient_id,
            duration=body.duration,
            starts_at=body.starts_at,
            via=call.route,
        ),
    )
    try:
        count("HoldCreated")
    except Exception:  # committed means done: a metric never turns the hold into an error
        log.exception("metric HoldCreated not recorded")
    return s.HoldOut.of(held)


@endpoint(
    holds_api,
    "/api/holds",
    "GET",
    "A doctor-day's live holds (the doctor and admins)",
    query="HoldListQuery",
    response="HoldList",
    roles=STAFF,
    errors=(404,),
    tags=TAGS,
)
def list_holds(call: Call) -> s.HoldList:
    q: s.HoldListQuery = call.query
    holds = call.services.booking_queries.holds_of_day(call.caller, q.doctor_id, q.date)
    return s.HoldList(holds=[s.HoldOut.of(h) for h in holds])


@endpoint(holds_api, "/api/holds/{id}", "GET", "One live hold", response="HoldOut", errors=(404,), tags=TAGS)
def get_hold(call: Call) -> s.HoldOut:
    return s.HoldOut.of(call.services.booking_queries.get_hold(call.caller, call.params["id"]))


@endpoint(holds_api, "/api/holds/{id}", "DELETE", "Release a hold: its time is free at once", status=204,
          errors=(404,), tags=TAGS)  # fmt: skip
def release_hold(call: Call) -> Response:
    call.services.booking.release_hold(call.caller, call.params["id"])
    return no_content()
