"""Appointments: booking, rescheduling, status, lists and the audit trail.

No `from __future__ import annotations` (see the package's docstring): a model refers only to models defined above
it or imported."""

from typing import Annotated, Any, Literal, Self

from pydantic import Field, field_validator

from chalicelib.api.schemas.common import (
    WINDOW_NOTE,
    ApiModel,
    AppointmentTypeName,
    AppointmentTypeOut,
    Day,
    Hhmm,
    Id,
    Instant,
    LocalDate,
    LongText,
    Minutes,
    OutModel,
    QueryModel,
    StartsAt,
    StatusName,
    StatusOut,
    Text,
    _window_to,
    absent,
)
from chalicelib.api.schemas.reminders import ReminderPreferences, SkippedReminderOut
from chalicelib.services.booking.values import AppointmentView


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


class StatusIn(ApiModel):
    status: Literal["confirmed", "completed", "no-show"]


class AppointmentListQuery(QueryModel):
    status: StatusName | None = None
    type: AppointmentTypeName | None = None
    date_from: Day | None = Field(None, alias="from")
    date_to: Day | None = Field(None, alias="to", description=WINDOW_NOTE)
    limit: Annotated[int, Field(ge=1, le=100)] = 50
    next_token: Annotated[str, Field(min_length=1, max_length=512)] | None = Field(None, alias="nextToken")

    window_ok = field_validator("date_to")(_window_to)


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
    telehealth_room_status: Literal["pending", "ready", "ended"] | None = Field(default=None, exclude_if=absent)
    reminder_sent: bool
    reminder_preferences: dict[str, Any]
    can_reschedule: bool
    created_at: Instant
    updated_at: Instant
    skipped_reminders: list[SkippedReminderOut] | None = Field(default=None, exclude_if=lambda skipped: not skipped)
    patient_language: str | None = Field(
        default=None,
        exclude_if=absent,
        description="To staff only (lists and one appointment): the language the patient chose (`en`, `es`), so the "
        "desk knows to call with an interpreter; absent until the patient chooses one",
    )

    @classmethod
    def of(cls, view: AppointmentView, patient_language: str | None = None) -> Self:
        """The answer for an appointment as its use case returned it (`patient_language`: staff's reads only)."""
        return cls.from_domain(
            view.appointment,
            can_reschedule=view.can_reschedule,
            telehealth_room_status=view.room_status,
            skipped_reminders=view.skipped,
            patient_language=patient_language,
        )


class AppointmentList(OutModel):
    appointments: list[AppointmentOut]
    next_token: str | None = Field(default=None, exclude_if=absent)
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
