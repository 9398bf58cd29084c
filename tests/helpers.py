"""Shared test helpers: a settable clock, sequential ids, unsigned JWTs for each role."""

from __future__ import annotations

import base64
import itertools
import json
from collections.abc import Iterable
from datetime import UTC, date, datetime, time
from typing import TYPE_CHECKING, Any

from chalicelib.domain.identity import Caller, Role

if TYPE_CHECKING:
    from chalicelib.services.booking import BookingRequest
    from chalicelib.services.booking.commands import BookingCommands


class FixedClock:
    def __init__(self, now: datetime) -> None:
        self.current = now

    def now(self) -> datetime:
        return self.current


class SequentialIds:
    def __init__(self, prefix: str = "id") -> None:
        self._counter = itertools.count(1)
        self._prefix = prefix

    def new_id(self) -> str:
        return f"{self._prefix}-{next(self._counter):06d}"


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def token(claims: dict[str, Any]) -> str:
    """An unsigned JWT (alg none), as local clients send it; chalice local decodes its payload."""
    return f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}."


def patient(sub: str = "patient-1", name: str = "Pat Doe", **claims: Any) -> dict[str, str]:
    """A patient whose e-mail and phone are verified (as Cognito marks them); `claims` override any claim."""
    return {
        "Authorization": token(
            {
                "sub": sub,
                "cognito:username": sub,
                "cognito:groups": ["patients"],
                "name": name,
                "email": f"{sub}@example.org",
                "email_verified": True,
                "phone_number": "+16175550100",
                "phone_number_verified": "true",
                **claims,
            }
        )
    }


def doctor(doctor_id: str, sub: str | None = None) -> dict[str, str]:
    return {
        "Authorization": token(
            {
                "sub": sub or f"user-{doctor_id}",
                "cognito:username": f"dr-{doctor_id}",
                "cognito:groups": "[doctors]",
                "custom:doctor_id": doctor_id,
                "name": "Dr",
            }
        )
    }


def admin(sub: str = "admin-1") -> dict[str, str]:
    return {"Authorization": token({"sub": sub, "cognito:username": sub, "cognito:groups": "admins"})}


NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)  # Tuesday 03:00 in New York

WEEKDAY_HOURS = {
    day: [{"start": "09:00", "end": "17:00"}] for day in ("monday", "tuesday", "wednesday", "thursday", "friday")
}
STANDARD_AVAILABILITY = {
    "workingHours": WEEKDAY_HOURS,
    "breaks": [{"start": "12:00", "end": "13:00"}],
    "holidays": ["2026-12-25"],
    "maxPatientsPerDay": 20,
    "appointmentDuration": 30,
}


BOOKING_DAY = date(2026, 12, 2)
"""The day tests book unless they say otherwise: the Wednesday after NOW, a working day of STANDARD_AVAILABILITY."""


def booking_body(doc: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """A POST /api/appointments body: an in-person check-up at 10:00 on BOOKING_DAY with the doctor `doc`.

    `fields` (the contract's names) override or add fields; a field given as `...` is left out of the body."""
    body = {
        "doctorId": doc["id"],
        "date": BOOKING_DAY.isoformat(),
        "time": "10:00",
        "type": "in-person",
        "reason": "Check-up",
        **fields,
    }
    return {name: value for name, value in body.items() if value is not ...}


def taken_by(intervals: Iterable[tuple[datetime, datetime]]) -> frozenset[datetime]:
    """The granules the given intervals cover: a doctor-day's taken time as a `DayState` holds it."""
    from chalicelib.domain.schedule import granules

    return frozenset(g for start, end in intervals for g in granules(start, end))


def booking_request(doctor_id: str, at: time = time(10), **fields: Any) -> BookingRequest:
    """A BookingRequest as staff make it: an in-person visit of patient p1 at `at` on BOOKING_DAY; `fields`
    (the request's own names) override the rest."""
    from dataclasses import replace

    from chalicelib.domain.appointments import AppointmentType
    from chalicelib.services.booking import BookingRequest

    request = BookingRequest(doctor_id, BOOKING_DAY, at, AppointmentType.IN_PERSON, "r", patient_id="p1")
    return replace(request, **fields)


def booking_outcome(service: BookingCommands, caller: Caller, request: BookingRequest) -> str:
    """The outcome of one attempt, as racing attempts are counted: "booked", or the refusing domain error's name."""
    from chalicelib.domain.errors import DomainError

    try:
        service.book(caller, request)
    except DomainError as exc:
        return type(exc).__name__
    return "booked"


def make_appointment(**overrides: Any) -> Any:
    """A domain appointment (Wednesday 2026-12-02 10:00 in New York, 30 minutes), with fields overridden."""
    from dataclasses import replace
    from datetime import timedelta

    from chalicelib.domain.appointments import Appointment, AppointmentType, Status

    start = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)
    base = Appointment(
        id="a1",
        doctor_id="d1",
        patient_id="p1",
        doctor_name="Dr. Ada Smith",
        patient_name="Pat Doe",
        specialty="Cardiology",
        date="2026-12-02",
        time="10:00",
        duration=30,
        starts_at=start,
        ends_at=start + timedelta(minutes=30),
        type=AppointmentType.IN_PERSON,
        status=Status.SCHEDULED,
        location="Boston Heart Center, 12 Main St",
        reason="chest pain and dizziness",
        created_at=start,
        updated_at=start,
        timezone="America/New_York",
    )
    return replace(base, **overrides)


VERIFIED_PATIENT = Caller(
    "p1",
    Role.PATIENT,
    name="Pat",
    email="pat@example.org",
    phone="+16175550123",
    email_verified=True,
    phone_verified=True,
)
"""A signed-in patient whose e-mail and phone are verified, so every reminder channel has a recipient."""
