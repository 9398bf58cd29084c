"""Doctor directory and live availability (any signed-in user); doctor registration and hours (admins)."""

from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.api import schemas as s
from chalicelib.api.http import Call, endpoint
from chalicelib.domain.identity import Role

doctors_api = Blueprint(__name__)
ADMIN = (Role.ADMIN,)


@endpoint(
    doctors_api,
    "/api/doctors",
    "GET",
    "Search the doctor directory",
    query="DoctorQuery",
    response="DoctorList",
    tags=("doctors",),
)
def search_doctors(call: Call) -> s.DoctorList:
    q: s.DoctorQuery = call.query
    found = call.services.doctors.search(q.q, q.specialty, q.location, q.telehealth)
    return s.DoctorList(doctors=[s.DoctorOut.from_domain(d) for d in found])


@endpoint(
    doctors_api, "/api/doctors/{doctorId}", "GET", "One doctor", response="DoctorOut", errors=(404,), tags=("doctors",)
)
def get_doctor(call: Call) -> s.DoctorOut:
    return s.DoctorOut.from_domain(call.services.doctors.get(call.params["doctorId"]))


@endpoint(
    doctors_api,
    "/api/admin/doctors",
    "POST",
    "Register a doctor",
    body="DoctorCreate",
    response="DoctorOut",
    roles=ADMIN,
    status=201,
    tags=("admin",),
)
def create_doctor(call: Call) -> s.DoctorOut:
    body: s.DoctorCreate = call.body
    doctor = call.services.doctors.register(
        body.name, body.specialty, body.location, body.timezone, body.telehealth, body.telehealth_platform
    )
    return s.DoctorOut.from_domain(doctor)


@endpoint(
    doctors_api,
    "/api/admin/doctors/{doctorId}/availability",
    "PUT",
    "Set a doctor's availability",
    body="AvailabilityIn",
    response="AvailabilityOut",
    roles=ADMIN,
    errors=(404,),
    tags=("admin",),
)
def set_availability(call: Call) -> s.AvailabilityOut:
    from chalicelib.domain.schedule import availability_from_dict

    raw = call.body.model_dump(by_alias=True, mode="json")
    doctor = call.services.doctors.set_availability(call.params["doctorId"], availability_from_dict(raw))
    return s.AvailabilityOut.from_domain(doctor.availability)


def _opaque(tag: str) -> str:
    return tag.strip().removeprefix("W/")


@endpoint(
    doctors_api,
    "/api/admin/doctors/{doctorId}/durations",
    "PUT",
    "Set the visit lengths patients may choose (the doctor itself, or an admin); the default length stays offered",
    body="DurationsIn",
    response="AvailabilityOut",
    roles=(Role.DOCTOR, Role.ADMIN),
    errors=(403, 404),
    tags=("admin",),
)
def set_durations(call: Call) -> s.AvailabilityOut:
    body: s.DurationsIn = call.body
    doctor = call.services.doctors.set_durations(call.caller, call.params["doctorId"], body.durations)
    return s.AvailabilityOut.from_domain(doctor.schedule)


@endpoint(
    doctors_api,
    "/api/appointments/availability/{doctorId}/{date}",
    "GET",
    "A doctor's slots on a local date, 2000-2100 (strongly consistent); each slot's startsAt is the instant it books",
    query="AvailabilityQuery",
    response="DayAvailabilityOut",
    errors=(304, 404),
    headers=("If-None-Match",),
    tags=("appointments",),
)
def availability(call: Call) -> Response:
    """Carries an ETag (the doctor-day's version); `If-None-Match` with it costs one small read and gets 304."""
    q: s.AvailabilityQuery = call.query
    day = s.strict_date(call.params["date"])
    booking = call.services.booking_queries
    wanted = call.headers.get("if-none-match")
    if wanted:
        etag = booking.availability_etag(call.params["doctorId"], day)
        # If-None-Match compares weakly (RFC 9110 13.1.2): `"x"` matches `W/"x"`
        if _opaque(etag) in {_opaque(tag) for tag in wanted.split(",")} or wanted.strip() == "*":
            return Response(body="", status_code=304, headers={"ETag": etag, "Cache-Control": "no-cache"})
    result = booking.availability(call.params["doctorId"], day, q.duration)
    body = s.DayAvailabilityOut(
        doctor_id=result.doctor.id,
        date=day.isoformat(),
        timezone=result.doctor.timezone,
        duration=q.duration or result.doctor.schedule.appointment_duration,
        durations=list(result.doctor.schedule.patient_durations),
        version=result.etag,
        slots=[s.SlotOut.from_domain(x) for x in result.slots if x.available or not q.only_available],
    )
    return Response(body=body, status_code=200, headers={"ETag": result.etag, "Cache-Control": "no-cache"})
