"""What the booking use cases take (requests, the clinic's policy, list filters) and give back (a day's
availability, an appointment with what its answer needs)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Protocol

from chalicelib.domain.appointments import Appointment, AppointmentType, Status
from chalicelib.domain.audit import AuditEntry
from chalicelib.domain.booking import Booking
from chalicelib.domain.doctors import Doctor
from chalicelib.domain.holds import DEFAULT_HOLD_MINUTES, Hold
from chalicelib.domain.limits import DEFAULT_HORIZON_DAYS, DEFAULT_MAX_ACTIVE
from chalicelib.domain.reminders import Reminder, ReminderPreferences, Skipped
from chalicelib.domain.schedule import Slot


@dataclass(frozen=True)
class Policy:
    min_notice: timedelta = timedelta(hours=1)
    patient_change_window: timedelta = timedelta(hours=2)
    max_active_bookings: int = DEFAULT_MAX_ACTIVE
    booking_horizon_days: int = DEFAULT_HORIZON_DAYS
    hold_duration: timedelta = timedelta(minutes=DEFAULT_HOLD_MINUTES)
    """How long a hold keeps a time (per clinic: `HOLD_MINUTES`)."""


@dataclass(frozen=True)
class BookingRequest:
    doctor_id: str
    date: date
    time: time
    type: AppointmentType
    reason: str
    patient_id: str | None = None
    patient_name: str | None = None
    duration: int | None = None
    notes: str | None = None
    reminder_preferences: ReminderPreferences | None = None
    starts_at: datetime | None = None
    """Names the instant where the local time is ambiguous (a fall-back hour); must match date and time."""
    idempotency_key: str | None = None
    """The caller-scoped Idempotency-Key hash the booking is stored with (see domain/idempotency)."""
    via: str = ""
    """The route the request came by (`POST /api/appointments`, `POST /fhir/R4/Appointment/{id}`), for the
    access log's entry of a refusal."""
    language: str | None = None
    """The request's language (`Accept-Language`): its reminders' language while the patient has saved none."""


@dataclass(frozen=True)
class HoldRequest:
    """A time to hold: what a booking names of its time, and no more (the reason and reminders come with the
    booking of the hold)."""

    doctor_id: str
    date: date
    time: time
    type: AppointmentType
    patient_id: str | None = None
    duration: int | None = None
    starts_at: datetime | None = None
    via: str = ""
    """The route it came by, for the access log (see BookingRequest.via)."""


@dataclass(frozen=True)
class HoldBooking:
    """A booking of a hold: the hold's own fields may be repeated in `matches` (they must be the hold's); the
    rest completes the visit."""

    hold_id: str
    reason: str = ""
    notes: str | None = None
    patient_name: str | None = None
    reminder_preferences: ReminderPreferences | None = None
    matches: dict[str, Any] = field(default_factory=dict)
    """The request's `doctorId`, `patientId`, `date`, `time`, `duration`, `type`, `startsAt` as sent."""
    language: str | None = None
    """The request's language (`Accept-Language`): its reminders' language while the patient has saved none."""


class HoldMover(Protocol):
    """The store's one transaction of a "move me earlier": a hold booked and a later visit cancelled together."""

    def book_hold_replacing(
        self,
        hold: Hold,
        booking: Booking,
        now: datetime,
        before: Appointment,
        cancelled: Appointment,
        cancel_audit: AuditEntry,
    ) -> None: ...


@dataclass(frozen=True)
class DayAvailability:
    doctor: Doctor
    date: date
    slots: list[Slot]
    etag: str


@dataclass(frozen=True)
class ListFilter:
    status: Status | None = None
    type: AppointmentType | None = None
    date_from: date | None = None
    date_to: date | None = None


@dataclass(frozen=True)
class AppointmentView:
    """An appointment with everything its answer shows that the appointment itself does not hold, decided by
    the use case that returned it: the API shapes it without asking a service again."""

    appointment: Appointment
    can_reschedule: bool
    """May this caller move or cancel it now (the patients' change window; staff while it is active)."""
    room_status: str | None = None
    """A telehealth room's live state (`pending`, `ready`, `ended`) where the answer shows it; None otherwise."""
    skipped: Sequence[Skipped] | None = None
    """The reminders a booking could not plan (None: not a booking's answer)."""
    reminders: Sequence[Reminder] = ()
    """The reminders a booking planned."""
