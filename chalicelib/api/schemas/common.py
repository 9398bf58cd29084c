"""What every resource's models share: the wire types (ids, dates, times, instants, free text), the base models
(camelCase, unknown fields refused) and the error body.

No `from __future__ import annotations` (see the package's docstring): a model refers only to models defined above
it or imported."""

import re
from datetime import date, datetime, time
from enum import StrEnum
from typing import Annotated, Any, Literal, Self, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    ValidationInfo,
    WithJsonSchema,
)
from pydantic.alias_generators import to_camel

from chalicelib.domain.appointments import AppointmentType, Status
from chalicelib.domain.reminders import Channel, ReminderKind, ReminderStatus
from chalicelib.domain.schedule import GRANULE_MINUTES, MAX_APPOINTMENT_MINUTES, WEEKDAYS
from chalicelib.domain.timefmt import MAX_WINDOW_DAYS, check_supported, check_window, instant

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"

HHMM_PATTERN = r"^([01]\d|2[0-3]):[0-5]\d$"

DATE_PATTERN = r"^\d{4}-\d{2}-\d{2}$"

INSTANT_PATTERN = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$"


def strict_date(value: Any) -> date:
    """A real calendar date YYYY-MM-DD within the supported years (2000-2100)."""
    if isinstance(value, date):
        return check_supported(value)
    if not isinstance(value, str) or not re.fullmatch(DATE_PATTERN, value):
        raise ValueError("must be a date YYYY-MM-DD")
    try:
        parsed = date.fromisoformat(value)
    except ValueError as exc:
        raise ValueError("is not a real calendar date") from exc
    return check_supported(parsed)


def _strict_time(value: Any) -> time:
    if isinstance(value, time):
        return value
    if not isinstance(value, str) or not re.fullmatch(HHMM_PATTERN, value):
        raise ValueError("must be a time HH:MM (24 h)")
    return time(int(value[:2]), int(value[3:]))


def _strict_instant(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?Z", value):
        raise ValueError("must be an ISO-8601 UTC instant like 2026-12-01T14:00:00Z")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValueError("is not a real instant") from exc
    return check_supported(parsed)


FORBIDDEN_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
"""Control characters, line separators and bidi overrides: a CR/LF in a name would later break an e-mail
subject or a header, a bidi override disguises text."""

MULTILINE_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _single_line(value: str) -> str:
    if FORBIDDEN_CONTROLS.search(value):
        raise ValueError("must not contain control characters or line breaks")
    return value


def _plain_text(value: str) -> str:
    if MULTILINE_CONTROLS.search(value):
        raise ValueError("must not contain control characters")
    return value


def _on_grid(value: time) -> time:
    if value.minute % GRANULE_MINUTES:
        raise ValueError(f"must be on a {GRANULE_MINUTES}-minute boundary")
    return value


def _duration(value: int) -> int:
    if value % GRANULE_MINUTES:
        raise ValueError(f"must be a multiple of {GRANULE_MINUTES} minutes")
    return value


Id = Annotated[str, Field(pattern=ID_PATTERN)]

Day = Annotated[
    date,
    BeforeValidator(strict_date),
    WithJsonSchema({"type": "string", "format": "date", "description": "YYYY-MM-DD, years 2000-2100"}),
]

Hhmm = Annotated[
    time,
    BeforeValidator(_strict_time),
    AfterValidator(_on_grid),
    PlainSerializer(lambda t: t.strftime("%H:%M"), return_type=str),
    WithJsonSchema({"type": "string", "pattern": HHMM_PATTERN}),
]

StartsAt = Annotated[
    datetime,
    BeforeValidator(_strict_instant),
    WithJsonSchema(
        {
            "type": "string",
            "format": "date-time",
            "description": "Optional: the UTC instant the local date and time mean, as the slot's `startsAt`. "
            "Needed only where the local time is ambiguous (both passes of a fall-back hour are offered); it must "
            "be that local date and time in the doctor's zone, else 400.",
        }
    ),
]

Minutes = Annotated[int, Field(ge=GRANULE_MINUTES, le=MAX_APPOINTMENT_MINUTES), AfterValidator(_duration)]

Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]

Platform = Literal["zoom", "teams", "custom"]

AppointmentTypeName = Literal["in-person", "telehealth"]

StatusName = Literal["scheduled", "confirmed", "completed", "cancelled", "rescheduled", "no-show"]

Timing = Literal["24h", "2h", "30m", "15m"]

Text = Annotated[str, Field(min_length=1, max_length=100), AfterValidator(_single_line)]

ShortText = Annotated[str, AfterValidator(_single_line)]

LongText = Annotated[str, AfterValidator(_plain_text)]
"""Reasons and notes may span lines; nothing else below a space."""

if get_args(Weekday) != WEEKDAYS:  # a check that `python -O` keeps: the wire and the domain name one week
    raise ImportError("schemas.Weekday and domain.schedule.WEEKDAYS disagree")


class ApiModel(BaseModel):
    """camelCase on the wire; unknown fields refused."""

    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=False, defer_build=True)


class QueryModel(BaseModel):
    """Query strings arrive as text: lax parsing of numbers and booleans, unknown parameters refused."""

    model_config = ConfigDict(extra="forbid", populate_by_name=False, defer_build=True)


def _window_to(value: date | None, info: ValidationInfo) -> date | None:
    """`to` is not before `from`, and the window covers at most MAX_WINDOW_DAYS days (both included)."""
    check_window(info.data.get("date_from"), value)
    return value


WINDOW_NOTE = f"`from` <= `to`, at most {MAX_WINDOW_DAYS} days from `from` to `to` (both included)."


def _aware_instant(value: Any) -> datetime:
    """A domain instant, or one a service has formatted already; a naive one would print the wrong hour."""
    if isinstance(value, str) and re.fullmatch(INSTANT_PATTERN, value):
        return datetime.fromisoformat(value)
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise ValueError("must be an aware instant")
    return value


def absent(value: Any) -> bool:
    """For fields the JSON leaves out rather than send as null (a next page token when none remains)."""
    return value is None


Instant = Annotated[
    datetime,
    BeforeValidator(_aware_instant),
    PlainSerializer(instant, return_type=str),
    WithJsonSchema({"pattern": INSTANT_PATTERN, "type": "string", "format": "date-time"}),
]
"""An instant in a response: ISO-8601 UTC with a `Z`, formatted here and nowhere else (`format: date-time`, so
generated clients read it as a date-time)."""

LocalDate = Annotated[str, WithJsonSchema({"type": "string", "format": "date", "description": "YYYY-MM-DD"})]
"""A local date in a response (the doctor's zone), documented as `format: date` for generated clients."""

WallTime = Annotated[
    time, BeforeValidator(_strict_time), PlainSerializer(lambda t: t.strftime("%H:%M"), return_type=str)
]


def _wire_enum(enum: type[StrEnum]) -> tuple[PlainValidator, PlainSerializer, WithJsonSchema]:
    """A domain enum on the wire: its value, documented inline as a string enum (as a Literal would be)."""
    return (
        PlainValidator(enum),
        PlainSerializer(lambda member: member.value, return_type=str),
        WithJsonSchema({"enum": [m.value for m in enum], "type": "string"}),
    )


AppointmentTypeOut = Annotated[AppointmentType, *_wire_enum(AppointmentType)]

StatusOut = Annotated[Status, *_wire_enum(Status)]

ChannelOut = Annotated[Channel, *_wire_enum(Channel)]

ReminderStatusOut = Annotated[ReminderStatus, *_wire_enum(ReminderStatus)]

ReminderKindOut = Annotated[ReminderKind, *_wire_enum(ReminderKind)]


class _With:
    """A domain object seen with a few more attributes: the values a response adds that the object lacks."""

    def __init__(self, obj: object, extra: dict[str, Any]) -> None:
        self._obj = obj
        self._extra = extra

    def __getattr__(self, name: str) -> Any:
        if name in self._extra:
            return self._extra[name]
        return getattr(self._obj, name)


class OutModel(ApiModel):
    """A response. Its fields are read from the domain object (by field name) or a service's camelCase dict (by
    alias), so a value that does not fit the documented schema fails here, loudly, instead of reaching a client.
    `to_json` is the one place a response is serialized."""

    model_config = ConfigDict(from_attributes=True, validate_by_name=True, validate_by_alias=True)

    @classmethod
    def from_domain(cls, obj: object, **extra: Any) -> Self:
        """`extra`: fields the domain object does not hold (e.g. `can_reschedule`), by field name."""
        return cls.model_validate(_With(obj, extra) if extra else obj, from_attributes=True)

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)


class BulkOutcome(OutModel):
    outcomes: dict[str, str]


class ErrorBody(OutModel):
    code: str
    message: str
    details: dict[str, Any] | None = Field(default=None, exclude_if=lambda details: not details)


class ErrorOut(OutModel):
    error: ErrorBody
