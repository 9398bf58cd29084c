"""Doctors and their working hours: the admin's requests and the directory's answers.

No `from __future__ import annotations` (see the package's docstring): a model refers only to models defined above
it or imported."""

from datetime import date
from itertools import pairwise
from typing import Annotated, Self

from pydantic import AfterValidator, BeforeValidator, Field, WithJsonSchema, model_validator

from chalicelib.api.schemas.common import (
    ApiModel,
    Day,
    Hhmm,
    Instant,
    Minutes,
    OutModel,
    Platform,
    QueryModel,
    ShortText,
    Text,
    WallTime,
    Weekday,
    absent,
)
from chalicelib.domain.zones import is_canonical_zone


def _canonical_zone(value: str) -> str:
    if not is_canonical_zone(value):
        raise ValueError("must be a canonical IANA time zone name, like America/New_York")
    return value


class DoctorCreate(ApiModel):
    name: Text
    specialty: Text
    location: Annotated[ShortText, Field(min_length=1, max_length=200)]
    timezone: Annotated[
        ShortText,
        Field(
            min_length=1,
            max_length=64,
            description="A canonical IANA zone name (zoneinfo's list without localtime, Factory, posix/, right/).",
        ),
        AfterValidator(_canonical_zone),
    ]
    telehealth: bool
    telehealth_platform: Platform | None = None


class WorkingInterval(ApiModel):
    start: Hhmm
    end: Hhmm

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class BreakIn(WorkingInterval):
    day: Weekday | None = None


class AvailabilityIn(ApiModel):
    working_hours: dict[Weekday, Annotated[list[WorkingInterval], Field(max_length=6)]]
    breaks: Annotated[list[BreakIn], Field(max_length=30)] = []  # noqa: RUF012 (pydantic copies defaults; ruff cannot tell ApiModel is pydantic's)
    holidays: Annotated[list[Day], Field(max_length=400)] = []  # noqa: RUF012
    max_patients_per_day: Annotated[int, Field(ge=1, le=500)] = 20
    appointment_duration: Minutes = 30
    booking_horizon_days: Annotated[int, Field(ge=1, le=730)] | None = None
    durations: Annotated[
        list[Minutes],
        Field(
            max_length=12,
            description="Further visit lengths patients may choose beside appointmentDuration (e.g. [15, 60]); "
            "staff may book any length.",
        ),
    ] = []  # noqa: RUF012

    @model_validator(mode="after")
    def _no_overlapping_hours(self) -> Self:
        for day, intervals in self.working_hours.items():
            ordered = sorted(intervals, key=lambda w: w.start)
            for first, second in pairwise(ordered):
                if second.start < first.end:
                    raise ValueError(f"working hours on {day} overlap")
        return self


class DurationsIn(ApiModel):
    durations: Annotated[
        list[Minutes],
        Field(
            max_length=12,
            description="The visit lengths patients may choose beside the doctor's default length ([] for none).",
        ),
    ]


class DoctorQuery(QueryModel):
    q: Annotated[ShortText, Field(max_length=100)] | None = None
    specialty: Annotated[ShortText, Field(max_length=100)] | None = None
    location: Annotated[ShortText, Field(max_length=200)] | None = None
    telehealth: bool | None = None


class WorkingIntervalOut(OutModel):
    start: Annotated[WallTime, WithJsonSchema({"type": "string"})]
    end: Annotated[WallTime, WithJsonSchema({"type": "string"})]


class BreakOut(WorkingIntervalOut):
    day: Weekday | None = Field(default=None, exclude_if=absent)


class AvailabilityOut(OutModel):
    working_hours: dict[Weekday, list[WorkingIntervalOut]]
    breaks: list[BreakOut]
    holidays: Annotated[list[Annotated[date, WithJsonSchema({"type": "string"})]], BeforeValidator(sorted)]
    max_patients_per_day: int
    appointment_duration: int
    booking_horizon_days: int | None = Field(default=None, exclude_if=absent)
    durations: list[int] = Field(
        default_factory=list,
        exclude_if=lambda durations: not durations,
        description="Further visit lengths patients may choose beside appointmentDuration (absent: none).",
    )


class DoctorOut(OutModel):
    id: str
    name: str
    specialty: str
    location: str
    timezone: str
    telehealth: bool
    telehealth_platform: Platform | None = None
    availability: AvailabilityOut | None = None
    created_at: Instant


class DoctorList(OutModel):
    doctors: list[DoctorOut]
