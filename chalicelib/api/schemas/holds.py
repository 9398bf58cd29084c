"""Holds: a time held for a patient, booked with `POST /api/appointments {holdId}`.

No `from __future__ import annotations` (see the package's docstring): a model refers only to models defined above
it or imported."""

from typing import Literal, Self

from pydantic import Field

from chalicelib.api.schemas.common import (
    ApiModel,
    AppointmentTypeName,
    AppointmentTypeOut,
    Day,
    Hhmm,
    Id,
    Instant,
    LocalDate,
    Minutes,
    OutModel,
    QueryModel,
    StartsAt,
)
from chalicelib.domain.holds import Hold


class HoldIn(ApiModel):
    """A time to hold for a patient (staff name the patient); booked with `POST /api/appointments {holdId}`."""

    doctor_id: Id
    patient_id: Id | None = None
    date: Day
    time: Hhmm
    duration: Minutes | None = None
    type: AppointmentTypeName
    starts_at: StartsAt | None = None


class HoldOut(OutModel):
    id: str
    doctor_id: str
    patient_id: str
    date: LocalDate
    time: str
    duration: int
    type: AppointmentTypeOut
    starts_at: Instant
    ends_at: Instant
    expires_at: Instant = Field(description="The hold lapses by itself at this instant.")
    status: Literal["held"]

    @classmethod
    def of(cls, hold: Hold) -> Self:
        a = hold.appointment
        fields = ("id", "doctor_id", "patient_id", "date", "time", "duration", "type", "starts_at", "ends_at")
        values = {name: getattr(a, name) for name in fields}
        return cls.model_validate({**values, "expires_at": hold.expires_at, "status": "held"})


class HoldList(OutModel):
    holds: list[HoldOut]


class HoldListQuery(QueryModel):
    doctor_id: Id = Field(alias="doctorId")
    date: Day
