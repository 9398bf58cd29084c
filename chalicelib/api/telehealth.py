"""Telehealth routes: signed room links, the room (waiting room, admit, end), recording consent and the
device requirements check."""

from __future__ import annotations

from chalice import Blueprint

from chalicelib.api import schemas as s
from chalicelib.api.http import Call, endpoint
from chalicelib.domain.identity import Role
from chalicelib.observability import count

telehealth_api = Blueprint(__name__)


@endpoint(
    telehealth_api,
    "/api/telehealth/generate-url/{appointmentId}",
    "POST",
    "A signed room link for the caller, valid from 15 minutes before to 30 after the visit",
    response="RoomLinkOut",
    status=201,
    errors=(404, 409, 422),
    tags=("telehealth",),
)
def generate_url(call: Call) -> s.RoomLinkOut:
    return s.RoomLinkOut.from_domain(call.services.telehealth.generate_url(call.caller, call.params["appointmentId"]))


@endpoint(
    telehealth_api,
    "/api/telehealth/room/{roomId}",
    "GET",
    "Open the room: a patient waits until admitted, then gets the join details (an unknown room answers as a "
    "known one does to the same token: 401 without a valid one, 403 for another room's)",
    query="RoomQuery",
    response="RoomOut",
    errors=(409,),
    tags=("telehealth",),
)
def open_room(call: Call) -> s.RoomOut:
    q: s.RoomQuery = call.query
    return s.RoomOut.from_domain(call.services.telehealth.open_room(call.caller, call.params["roomId"], q.token))


@endpoint(
    telehealth_api,
    "/api/telehealth/room/{roomId}/admit",
    "POST",
    "Admit the waiting patient (its doctor)",
    response="RoomOut",
    roles=(Role.DOCTOR,),
    errors=(404, 409),
    tags=("telehealth",),
)
def admit(call: Call) -> s.RoomOut:
    room = call.services.telehealth.admit(call.caller, call.params["roomId"])
    count("RoomAdmitted")
    return s.RoomOut.from_domain(room)


@endpoint(
    telehealth_api,
    "/api/telehealth/room/{roomId}/end",
    "POST",
    "End the visit (its doctor)",
    response="RoomOut",
    roles=(Role.DOCTOR,),
    errors=(404,),
    tags=("telehealth",),
)
def end(call: Call) -> s.RoomOut:
    return s.RoomOut.from_domain(call.services.telehealth.end(call.caller, call.params["roomId"]))


@endpoint(
    telehealth_api,
    "/api/telehealth/consent/{appointmentId}",
    "PUT",
    "The patient's consent to recording (off unless given)",
    body="ConsentIn",
    response="ConsentOut",
    roles=(Role.PATIENT,),
    errors=(404, 422),
    tags=("telehealth",),
)
def consent(call: Call) -> s.ConsentOut:
    body: s.ConsentIn = call.body
    room = call.services.telehealth.consent(call.caller, call.params["appointmentId"], body.recording)
    return s.ConsentOut.from_domain(room)


@endpoint(
    telehealth_api,
    "/api/telehealth/requirements-check",
    "POST",
    "Is this device ready for a video visit? Pass, or the failures in plain words",
    body="RequirementsIn",
    response="RequirementsOut",
    tags=("telehealth",),
)
def requirements_check(call: Call) -> s.RequirementsOut:
    from chalicelib.domain.telehealth import ClientReport

    b: s.RequirementsIn = call.body
    report = ClientReport(b.platform, b.browser, b.browser_version, b.camera, b.microphone, b.bandwidth_mbps)
    check = call.services.telehealth.requirements(report)
    return s.RequirementsOut.from_domain(check, pass_=check.passed)
