"""Request and response models. The same models validate requests and generate the OpenAPI document.

No `from __future__ import annotations` here, unlike the rest of the code: pydantic would then compile and evaluate
each of the module's ~260 annotation strings at import, which was 40% of its import time (Lambda cold start).
So a model refers only to models defined above it, and validators return `Self`."""

import re
from datetime import date, datetime, time
from enum import StrEnum
from itertools import pairwise
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
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from chalicelib.domain.appointments import AppointmentType, Status
from chalicelib.domain.holds import Hold
from chalicelib.domain.language import LANGUAGES
from chalicelib.domain.reminders import Channel, ReminderKind, ReminderStatus
from chalicelib.domain.schedule import GRANULE_MINUTES, MAX_APPOINTMENT_MINUTES, WEEKDAYS
from chalicelib.domain.timefmt import MAX_WINDOW_DAYS, check_supported, check_window, instant
from chalicelib.domain.zones import is_canonical_zone

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
HHMM_PATTERN = r"^([01]\d|2[0-3]):[0-5]\d$"
DATE_PATTERN = r"^\d{4}-\d{2}-\d{2}$"
INSTANT_PATTERN = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$"


def _strict_date(value: Any) -> date:
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


def _canonical_zone(value: str) -> str:
    if not is_canonical_zone(value):
        raise ValueError("must be a canonical IANA time zone name, like America/New_York")
    return value


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
    BeforeValidator(_strict_date),
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


# --- requests -------------------------------------------------------------------------------------------------
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
    breaks: Annotated[list[BreakIn], Field(max_length=30)] = []
    holidays: Annotated[list[Day], Field(max_length=400)] = []
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
    ] = []

    @model_validator(mode="after")
    def _no_overlapping_hours(self) -> Self:
        for day, intervals in self.working_hours.items():
            ordered = sorted(intervals, key=lambda w: w.start)
            for first, second in pairwise(ordered):
                if second.start < first.end:
                    raise ValueError(f"working hours on {day} overlap")
        return self


class ReminderPreferences(ApiModel):
    email: bool = False
    sms: bool = False
    push: bool = False
    timing: Timing | None = None
    timings: Annotated[list[Timing], Field(min_length=1, max_length=4)] | None = None
    custom_message: Annotated[ShortText, Field(max_length=160)] | None = None

    @model_validator(mode="after")
    def _one_timing_form(self) -> Self:
        if self.timing is not None and self.timings is not None:
            raise ValueError("give either timing or timings, not both")
        if self.timings is not None and len(set(self.timings)) != len(self.timings):
            raise ValueError("timings must not repeat")
        return self


class BookingIn(ApiModel):
    """`doctorId`, `date`, `time`, `type` and `reason` are required, unless `holdId` names the caller's hold: then
    the hold's fields may be left out (any sent must be the hold's) and `reason` is optional."""

    hold_id: Annotated[Id | None, Field(description="Book this hold (POST /api/holds): its time, at once.")] = None
    doctor_id: Id | None = None
    patient_id: Id | None = None
    patient_name: Text | None = None
    date: Day | None = None
    time: Hhmm | None = None
    duration: Minutes | None = None
    type: AppointmentTypeName | None = None
    reason: Annotated[LongText, Field(min_length=1, max_length=500)] | None = None
    notes: Annotated[LongText, Field(max_length=2000)] | None = None
    reminder_preferences: ReminderPreferences | None = None
    starts_at: StartsAt | None = None


class HoldIn(ApiModel):
    """A time to hold for a patient (staff name the patient); booked with `POST /api/appointments {holdId}`."""

    doctor_id: Id
    patient_id: Id | None = None
    date: Day
    time: Hhmm
    duration: Minutes | None = None
    type: AppointmentTypeName
    starts_at: StartsAt | None = None


class ReminderScheduleIn(ReminderPreferences):
    """The booking's reminder preferences, for an appointment that exists already."""

    appointment_id: Id


class ReminderUpdateIn(ApiModel):
    timing: Timing | None = None
    scheduled_time: (
        Annotated[datetime, BeforeValidator(_strict_instant), WithJsonSchema({"type": "string", "format": "date-time"})]
        | None
    ) = None
    custom_message: Annotated[ShortText, Field(max_length=160)] | None = None

    @model_validator(mode="after")
    def _one_time_form(self) -> Self:
        if self.timing is not None and self.scheduled_time is not None:
            raise ValueError("give either timing or scheduledTime, not both")
        if self.timing is None and self.scheduled_time is None and self.custom_message is None:
            raise ValueError("nothing to change")
        return self


class DeviceIn(ApiModel):
    platform: Literal["apns", "fcm"]
    token: Annotated[str, Field(min_length=8, max_length=4096, pattern=r"^[A-Za-z0-9_:.\-]+$")]


class ReminderIdsIn(ApiModel):
    reminder_ids: Annotated[list[Id], Field(min_length=1, max_length=100)]


class ReminderRetryIn(ReminderIdsIn):
    confirm_unknown_outcome: bool = False
    """Resend reminders whose delivery outcome is unknown (they may have reached the patient already)."""


class RescheduleIn(ApiModel):
    date: Day
    time: Hhmm
    starts_at: StartsAt | None = None
    duration: (
        Annotated[
            Minutes,
            Field(
                description="Optional: a new length in minutes (patients: one of the doctor's `durations`, else 422 "
                "DURATION_NOT_OFFERED); the visit keeps its length without it."
            ),
        ]
        | None
    ) = None


class DurationsIn(ApiModel):
    durations: Annotated[
        list[Minutes],
        Field(
            max_length=12,
            description="The visit lengths patients may choose beside the doctor's default length ([] for none).",
        ),
    ]


class StatusIn(ApiModel):
    status: Literal["confirmed", "completed", "no-show"]


class QueryModel(BaseModel):
    """Query strings arrive as text: lax parsing of numbers and booleans, unknown parameters refused."""

    model_config = ConfigDict(extra="forbid", populate_by_name=False, defer_build=True)


class DoctorQuery(QueryModel):
    q: Annotated[ShortText, Field(max_length=100)] | None = None
    specialty: Annotated[ShortText, Field(max_length=100)] | None = None
    location: Annotated[ShortText, Field(max_length=200)] | None = None
    telehealth: bool | None = None


class AvailabilityQuery(QueryModel):
    duration: Minutes | None = None
    only_available: bool = Field(False, alias="onlyAvailable")


def _window_to(value: date | None, info: ValidationInfo) -> date | None:
    """`to` is not before `from`, and the window covers at most MAX_WINDOW_DAYS days (both included)."""
    check_window(info.data.get("date_from"), value)
    return value


WINDOW_NOTE = f"`from` <= `to`, at most {MAX_WINDOW_DAYS} days from `from` to `to` (both included)."


class AppointmentListQuery(QueryModel):
    status: StatusName | None = None
    type: AppointmentTypeName | None = None
    date_from: Day | None = Field(None, alias="from")
    date_to: Day | None = Field(None, alias="to", description=WINDOW_NOTE)
    limit: Annotated[int, Field(ge=1, le=100)] = 50
    next_token: Annotated[str, Field(min_length=1, max_length=512)] | None = Field(None, alias="nextToken")

    window_ok = field_validator("date_to")(_window_to)


class AdminReminderQuery(QueryModel):
    status: Literal["pending", "sending", "sent", "failed", "cancelled"] = "failed"
    date_from: Day | None = Field(None, alias="from")
    date_to: Day | None = Field(None, alias="to", description=WINDOW_NOTE)
    limit: Annotated[int, Field(ge=1, le=100)] = 50
    next_token: Annotated[str, Field(min_length=1, max_length=512)] | None = Field(None, alias="nextToken")

    window_ok = field_validator("date_to")(_window_to)


# --- responses ------------------------------------------------------------------------------------------------
def _aware_instant(value: Any) -> datetime:
    """A domain instant, or one a service has formatted already; a naive one would print the wrong hour."""
    if isinstance(value, str) and re.fullmatch(INSTANT_PATTERN, value):
        return datetime.fromisoformat(value)
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise ValueError("must be an aware instant")
    return value


def _absent(value: Any) -> bool:
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


class WorkingIntervalOut(OutModel):
    start: Annotated[WallTime, WithJsonSchema({"type": "string"})]
    end: Annotated[WallTime, WithJsonSchema({"type": "string"})]


class BreakOut(WorkingIntervalOut):
    day: Weekday | None = Field(default=None, exclude_if=_absent)


class AvailabilityOut(OutModel):
    working_hours: dict[Weekday, list[WorkingIntervalOut]]
    breaks: list[BreakOut]
    holidays: Annotated[list[Annotated[date, WithJsonSchema({"type": "string"})]], BeforeValidator(sorted)]
    max_patients_per_day: int
    appointment_duration: int
    booking_horizon_days: int | None = Field(default=None, exclude_if=_absent)
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


class SlotOut(OutModel):
    """One offered start. In a fall-back hour two slots can share `time`; `startsAt` and `utcOffset` tell them
    apart, and booking such a time needs the slot's `startsAt`."""

    local_time: str = Field(alias="time")
    local_end_time: str = Field(alias="endTime")
    available: bool
    starts_at: Instant
    utc_offset: Annotated[str, Field(pattern=r"^[+-]\d{2}:\d{2}$")]


class DayAvailabilityOut(OutModel):
    doctor_id: str
    date: LocalDate
    timezone: str
    duration: int
    durations: list[int] = Field(
        description="The visit lengths (minutes) a patient may book: the doctor's default length and the ones it "
        "offers; ask for a length's slots with `?duration=`. Staff may book other lengths."
    )
    version: str
    slots: list[SlotOut]


class SkippedReminderOut(OutModel):
    channel: ChannelOut = Field(alias="type")
    timing: str
    reason: str


class AppointmentOut(OutModel):
    id: str
    doctor_id: str
    patient_id: str
    doctor_name: str
    patient_name: str
    specialty: str
    date: LocalDate
    time: str
    timezone: str
    duration: int
    starts_at: Instant
    ends_at: Instant
    type: AppointmentTypeOut
    status: StatusOut
    location: str
    telehealth_url: str | None = None
    reason: str
    notes: str | None = None
    room_id: str | None = None
    telehealth_room_status: Literal["pending", "ready", "ended"] | None = Field(default=None, exclude_if=_absent)
    reminder_sent: bool
    reminder_preferences: dict[str, Any]
    can_reschedule: bool
    created_at: Instant
    updated_at: Instant
    skipped_reminders: list[SkippedReminderOut] | None = Field(default=None, exclude_if=lambda skipped: not skipped)
    patient_language: str | None = Field(
        default=None,
        exclude_if=_absent,
        description="To staff only (lists and one appointment): the language the patient chose (`en`, `es`), so the "
        "desk knows to call with an interpreter; absent until the patient chooses one",
    )


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


class AppointmentList(OutModel):
    appointments: list[AppointmentOut]
    next_token: str | None = Field(default=None, exclude_if=_absent)
    """Present while more remain: pass it as `nextToken` for the next page."""


class AuditEntryOut(OutModel):
    id: str
    appointment_id: str
    at: Instant
    actor_id: str
    actor_role: str
    action: str
    status_before: StatusOut | None
    status_after: StatusOut
    changes: dict[str, Any]
    seq: int = Field(
        0,
        alias="sequence",
        description="The appointment version the entry wrote; entries are listed in the order they happened.",
    )


class AuditTrail(OutModel):
    entries: list[AuditEntryOut]


class ReminderOut(OutModel):
    id: str
    appointment_id: str
    channel: ChannelOut = Field(alias="type")
    kind: ReminderKindOut = Field(
        description="`video-link`: a telehealth visit's reminder carrying the secure link, 10 minutes before the "
        "start (timing `10m`; it can be cancelled or given a message, not moved); `reminder`: any other"
    )
    timing: str | None
    scheduled_time: Instant
    status: ReminderStatusOut
    recipient_email: str | None = None
    recipient_phone: str | None = None
    message: str
    custom_message: str | None = None
    sent_at: Instant | None = None
    attempts: int
    last_error: str | None = None
    outcome_unknown: bool = False


class ReminderList(OutModel):
    reminders: list[ReminderOut]
    skipped: list[SkippedReminderOut] | None = Field(default=None, exclude_if=_absent)
    next_token: str | None = Field(default=None, exclude_if=_absent)


class DeviceOut(OutModel):
    endpoint: str
    platform: Literal["apns", "fcm"]
    registered_at: Instant


class BulkOutcome(OutModel):
    outcomes: dict[str, str]


class RoomQuery(QueryModel):
    token: Annotated[str, Field(min_length=1, max_length=2048)] | None = None


class RequirementsIn(ApiModel):
    platform: Platform
    browser: Annotated[str, Field(min_length=1, max_length=40)]
    browser_version: Annotated[int, Field(ge=0, le=1000)]
    camera: bool
    microphone: bool
    bandwidth_mbps: Annotated[float, Field(ge=0, le=100_000)]


class RequirementsOut(OutModel):
    pass_: bool = Field(alias="pass")
    failures: list[str]


class ConsentIn(ApiModel):
    recording: bool


class ConsentOut(OutModel):
    appointment_id: str
    recording_consent: bool


class RoomLinkOut(OutModel):
    room_id: str
    url: str
    token: str
    platform: Platform
    valid_from: Instant
    expires_at: Instant


class WaitingPatientOut(OutModel):
    patient_id: str
    since: Instant


class RoomOut(OutModel):
    room_id: str
    appointment_id: str
    platform: Platform
    status: Literal["waiting", "admitted", "in-progress", "ended"]
    platform_ready: bool
    join: dict[str, Any] | None = Field(default=None, exclude_if=_absent)
    waiting: list[WaitingPatientOut] | None = Field(default=None, exclude_if=_absent)


class AnalyticsQuery(QueryModel):
    date_from: Day = Field(alias="from")
    date_to: Day = Field(alias="to", description=WINDOW_NOTE)
    doctor_id: Id | None = Field(None, alias="doctorId")

    window_ok = field_validator("date_to")(_window_to)


class FeedQuery(QueryModel):
    token: Annotated[str, Field(min_length=1, max_length=200)] | None = None


class FeedLinkOut(OutModel):
    token: str
    path: str


class FeedRevokedOut(OutModel):
    revoked: bool


class TicketOut(OutModel):
    ticket: str
    expires_at: Instant
    url: str | None = None


class PatientOut(OutModel):
    id: str
    name: str | None = None
    email: str | None = None
    email_verified: bool
    phone: str | None = None
    phone_verified: bool
    language: str | None = Field(
        default=None,
        exclude_if=_absent,
        description="The language chosen for the patient (`en`, `es`); absent until one is chosen",
    )


def _known_language(value: str) -> str:
    if value not in LANGUAGES:
        raise ValueError("must be one of " + ", ".join(LANGUAGES))
    return value


class LanguageIn(ApiModel):
    """The patient's language: the app, its reminders, its calendar files and its error messages use it."""

    language: Annotated[str, AfterValidator(_known_language), WithJsonSchema({"type": "string", "enum": [*LANGUAGES]})]


class StaffContactIn(ApiModel):
    """Contacts staff enter for a patient; an empty string clears one, an absent field keeps it."""

    email: Annotated[ShortText, Field(max_length=254)] | None = None
    phone: Annotated[ShortText, Field(max_length=32)] | None = None

    @model_validator(mode="after")
    def _names_a_contact(self) -> Self:
        if self.email is None and self.phone is None:
            raise ValueError("give email or phone")
        return self


class ContactOnFileOut(OutModel):
    email: str | None = None
    phone: str | None = None


class DirectoryPatientOut(PatientOut):
    """A directory record as staff see it: every address masked; `staffEntered` ones are never verified."""

    staff_entered: ContactOnFileOut


class PatientSearchQuery(QueryModel):
    query: Annotated[ShortText, Field(min_length=2, max_length=100)]
    limit: Annotated[int, Field(ge=1, le=50)] = 20
    next_token: Annotated[str, Field(min_length=1, max_length=512)] | None = Field(None, alias="nextToken")


class PatientMatch(OutModel):
    id: str
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    language: str | None = Field(default=None, exclude_if=_absent)


class PatientSearchOut(OutModel):
    patients: list[PatientMatch]
    next_token: str | None = Field(default=None, exclude_if=_absent)


class AccessEntryOut(OutModel):
    id: str
    at: Instant
    actor_id: str
    actor_role: str
    action: str
    route: str
    appointment_ids: list[str]


class AccessHistory(OutModel):
    entries: list[AccessEntryOut]


class ErrorBody(OutModel):
    code: str
    message: str
    details: dict[str, Any] | None = Field(default=None, exclude_if=lambda details: not details)


class ErrorOut(OutModel):
    error: ErrorBody


class HealthOut(OutModel):
    status: Literal["ok"]
    version: str = Field(description='The release serving the request (`git describe` at packaging; "dev" unpackaged).')


class DevUserOut(OutModel):
    label: str
    token: str


class SignInOut(OutModel):
    """`none`; `development` (make run: the demo patients' unsigned tokens); `cognito` (the Hosted UI, PKCE)."""

    mode: Literal["none", "development", "cognito"]
    users: list[DevUserOut] | None = Field(default=None, exclude_if=_absent)
    domain: str | None = Field(default=None, exclude_if=_absent)
    client_id: str | None = Field(default=None, exclude_if=_absent)
    scopes: list[str] | None = Field(default=None, exclude_if=_absent)


class WebConfigOut(OutModel):
    """Where the patient web app runs; a deployment that serves the page from S3 writes the same shape."""

    api_base: str
    change_window_minutes: int
    sign_in: SignInOut
    websocket_url: str | None = Field(
        default=None, exclude_if=_absent, description="The slot-updates WebSocket (deployed stacks)"
    )


# --- analytics ------------------------------------------------------------------------------------------------
class AnalyticsDayOut(OutModel):
    date: Day
    bookings: int
    cancellations: int
    reschedules: int
    completions: int
    no_shows: int


class AnalyticsDoctorOut(OutModel):
    doctor_id: str
    name: str
    booked_minutes: int
    available_minutes: int
    utilization: float | None = Field(description="booked / available minutes; null when nothing was available")


class LeadTimeOut(OutModel):
    bookings: int
    average_hours: float | None


class ChannelDeliveryOut(OutModel):
    sent: int
    failed: int
    delivery_rate: float | None


class AnalyticsOut(OutModel):
    """Per-day event counts, per-doctor utilization, booking lead time and reminder delivery over a range."""

    date_from: Day = Field(alias="from")
    date_to: Day = Field(alias="to")
    days: list[AnalyticsDayOut]
    doctors: list[AnalyticsDoctorOut]
    lead_time: LeadTimeOut
    reminders: dict[Literal["email", "sms", "push"], ChannelDeliveryOut]


# --- webhooks -------------------------------------------------------------------------------------------------
WebhookEvent = Literal[
    "appointment.booked",
    "appointment.rescheduled",
    "appointment.cancelled",
    "appointment.status_changed",
    "reminder.sent",
    "reminder.failed",
    "telehealth.room_ready",
    "waitlist.offered",
    "waitlist.accepted",
    "waitlist.declined",
    "waitlist.expired",
    "calendar.conflict",
]
WebhookUrl = Annotated[str, Field(min_length=8, max_length=2048), AfterValidator(_single_line)]
SinceInstant = Annotated[
    datetime, BeforeValidator(_strict_instant), WithJsonSchema({"type": "string", "format": "date-time"})
]


class WebhookCreate(ApiModel):
    url: WebhookUrl = Field(description="https; http only to loopback under `make run`")
    events: Annotated[list[WebhookEvent], Field(min_length=1, max_length=20)]
    description: Annotated[ShortText, Field(max_length=200)] | None = None
    doctor_id: Id | None = Field(None, description="Only this doctor's events")
    location: Annotated[ShortText, Field(max_length=200)] | None = Field(None, description="Only this location's")
    include_reason: bool = Field(False, description="Send the visit's reason and notes (left out by default)")


class WebhookPatch(ApiModel):
    url: WebhookUrl | None = None
    events: Annotated[list[WebhookEvent], Field(min_length=1, max_length=20)] | None = None
    description: Annotated[ShortText, Field(max_length=200)] | None = None
    doctor_id: Id | None = None
    location: Annotated[ShortText, Field(max_length=200)] | None = None
    include_reason: bool | None = None
    state: Literal["active", "paused"] | None = Field(None, description="`active` resumes and sends what waited")


class WebhookResendIn(ApiModel):
    since: SinceInstant = Field(description="Every delivery whose event happened at or after this instant")


class WebhookDeliveryQuery(QueryModel):
    since: SinceInstant | None = None
    limit: Annotated[int, Field(ge=1, le=100)] = 50


class WebhookOut(OutModel):
    id: str
    url: str
    events: list[str]
    state: Literal["active", "paused"]
    description: str | None = None
    doctor_id: str | None = None
    location: str | None = None
    include_reason: bool
    created_at: Instant
    updated_at: Instant
    paused_reason: Literal["failing", "gone", "admin"] | None = Field(default=None, exclude_if=_absent)
    failing_since: Instant | None = Field(default=None, exclude_if=_absent)
    secret: str | None = Field(
        default=None, exclude_if=_absent, description="`whsec_...`: only at creation and rotation"
    )


class WebhookList(OutModel):
    webhooks: list[WebhookOut]


class WebhookAttemptOut(OutModel):
    at: Instant
    status_code: int | None = Field(default=None, exclude_if=_absent)
    error: str | None = Field(default=None, exclude_if=_absent)
    ms: int


class WebhookDeliveryOut(OutModel):
    id: str
    event_id: str
    type: str
    status: Literal["pending", "delivered", "failing", "given_up"]
    attempts: int
    last_status_code: int | None = Field(default=None, exclude_if=_absent)
    last_error: str | None = Field(default=None, exclude_if=_absent)
    last_attempt_at: Instant | None = Field(default=None, exclude_if=_absent)
    next_attempt_at: Instant | None = Field(default=None, exclude_if=_absent)
    delivered_at: Instant | None = Field(default=None, exclude_if=_absent)
    created_at: Instant
    appointment_id: str
    sequence: int | None = Field(default=None, exclude_if=_absent)
    body: str = Field(description="The body sent (no contact details)")
    history: list[WebhookAttemptOut]


class WebhookDeliveryList(OutModel):
    deliveries: list[WebhookDeliveryOut]
