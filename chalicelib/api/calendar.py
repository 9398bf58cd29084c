"""Calendar routes: an appointment as .ics, and a doctor's subscribable feed behind a revocable token."""

from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.api import schemas as s
from chalicelib.api.errors import NO_STORE
from chalicelib.api.http import Call, endpoint
from chalicelib.api.language import patient_language
from chalicelib.domain.identity import Role

calendar_api = Blueprint(__name__)
ICS = "text/calendar; charset=utf-8"


def _ics(body: bytes) -> Response:
    return Response(body=body.decode(), status_code=200, headers={"Content-Type": ICS, **NO_STORE})


@endpoint(
    calendar_api,
    "/api/appointments/{id}/calendar.ics",
    "GET",
    "The appointment as an iCalendar event (stable UID: a reschedule updates it, a cancel removes it), in the "
    "patient's language (its profile's, else `Accept-Language`; `Content-Language` says which)",
    errors=(404,),
    tags=("calendar",),
    media_type="text/calendar",
)
def appointment_calendar(call: Call) -> Response:
    found = call.services.booking_queries.get(call.caller, call.params["id"])
    language = patient_language(found.patient_id, call.headers.get("accept-language"), call.services.patients)
    ics = call.services.calendar.appointment(call.caller, call.params["id"], language)
    call.services.access.record(call.caller, call.route, [(found.patient_id, found.id)])
    answer = _ics(ics)
    answer.headers["Content-Language"] = language
    return answer


@endpoint(
    calendar_api,
    "/api/doctors/{doctorId}/calendar-token",
    "POST",
    "Enable (or rotate) the doctor's calendar feed; earlier feed links stop working",
    response="FeedLinkOut",
    status=201,
    roles=(Role.DOCTOR, Role.ADMIN),
    errors=(404,),
    tags=("calendar",),
)
def enable_feed(call: Call) -> s.FeedLinkOut:
    token = call.services.calendar.enable_feed(call.caller, call.params["doctorId"])
    return s.FeedLinkOut(token=token, path=f"/api/doctors/{call.params['doctorId']}/calendar.ics?token={token}")


@endpoint(
    calendar_api,
    "/api/doctors/{doctorId}/calendar-token",
    "DELETE",
    "Revoke the doctor's calendar feed",
    response="FeedRevokedOut",
    roles=(Role.DOCTOR, Role.ADMIN),
    errors=(404,),
    tags=("calendar",),
)
def revoke_feed(call: Call) -> s.FeedRevokedOut:
    call.services.calendar.revoke_feed(call.caller, call.params["doctorId"])
    return s.FeedRevokedOut(revoked=True)


@endpoint(
    calendar_api,
    "/api/doctors/{doctorId}/calendar.ics",
    "GET",
    "The doctor's appointments as a subscribable feed (time, type and reference only), by feed token; a missing, "
    "wrong or revoked token and an unknown doctor get the same 401",
    query="FeedQuery",
    public=True,
    errors=(401,),
    tags=("calendar",),
    media_type="text/calendar",
)
def doctor_feed(call: Call) -> Response:
    q: s.FeedQuery = call.query
    return _ics(call.services.calendar.feed(call.params["doctorId"], q.token))
