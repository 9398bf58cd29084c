"""Appointments: statuses and their allowed transitions, who may change what, and the change window."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from chalicelib.domain.errors import Forbidden, InvalidState, NotStartedYet, TooLateToChange
from chalicelib.domain.identity import Caller, Role


class Status(StrEnum):
    SCHEDULED = "scheduled"
    CONFIRMED = "confirmed"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    RESCHEDULED = "rescheduled"
    NO_SHOW = "no-show"
    HELD = "held"
    """A slot hold (domain/holds.py): a booking with an expiry, not yet a visit; never shown as an appointment."""


ACTIVE = frozenset({Status.SCHEDULED, Status.CONFIRMED, Status.RESCHEDULED})

TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.SCHEDULED: frozenset(
        {Status.CONFIRMED, Status.RESCHEDULED, Status.CANCELLED, Status.COMPLETED, Status.NO_SHOW}
    ),
    Status.CONFIRMED: frozenset({Status.RESCHEDULED, Status.CANCELLED, Status.COMPLETED, Status.NO_SHOW}),
    Status.RESCHEDULED: frozenset(
        {Status.CONFIRMED, Status.RESCHEDULED, Status.CANCELLED, Status.COMPLETED, Status.NO_SHOW}
    ),
    Status.COMPLETED: frozenset(),
    Status.CANCELLED: frozenset(),
    Status.NO_SHOW: frozenset(),
    Status.HELD: frozenset(),
}
"""Terminal statuses allow nothing. A rescheduled appointment may be rescheduled again. A hold changes only by
being booked, released or lapsing (services/booking/commands.py), never through these transitions."""

SETTABLE_BY: dict[Status, frozenset[Role]] = {
    Status.CONFIRMED: frozenset({Role.PATIENT, Role.DOCTOR, Role.ADMIN}),
    Status.COMPLETED: frozenset({Role.DOCTOR, Role.ADMIN}),
    Status.NO_SHOW: frozenset({Role.DOCTOR, Role.ADMIN}),
}
"""Statuses that `PATCH /status` may set, and the roles that may set each."""


class AppointmentType(StrEnum):
    IN_PERSON = "in-person"
    TELEHEALTH = "telehealth"


@dataclass(frozen=True)
class Appointment:
    id: str
    doctor_id: str
    patient_id: str
    doctor_name: str
    patient_name: str
    specialty: str
    date: str
    time: str
    duration: int
    starts_at: datetime
    ends_at: datetime
    type: AppointmentType
    status: Status
    location: str
    reason: str
    created_at: datetime
    updated_at: datetime
    timezone: str
    notes: str | None = None
    telehealth_url: str | None = None
    room_id: str | None = None
    reminder_sent: bool = False
    reminder_preferences: dict[str, Any] = field(default_factory=dict)
    version: int | None = None
    idempotency_key: str | None = None
    """The caller-scoped hash of the Idempotency-Key it was booked with: a retry recognises its own booking."""

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    def with_status(self, status: Status, at: datetime) -> Appointment:
        return replace(self, status=status, updated_at=at)


def check_transition(current: Status, target: Status) -> None:
    if target not in TRANSITIONS[current]:
        raise InvalidState(
            f"An appointment that is {current.value} cannot become {target.value}.",
            {"status": current.value, "requested": target.value},
        )


def may_access(caller: Caller, appointment: Appointment) -> bool:
    """Patients their own, doctors the ones booked with them, admins all."""
    if caller.role is Role.ADMIN:
        return True
    if caller.role is Role.DOCTOR:
        return appointment.doctor_id == caller.doctor_id
    return appointment.patient_id == caller.subject


def may_see_contacts(caller: Caller, appointment: Appointment) -> bool:
    """A patient's contact details in full: the patient itself and the front desk (admins). Doctors see them
    masked, even on their own visits: they never need an address to treat, and reminders are sent for them."""
    if caller.role is Role.DOCTOR:
        return False
    return may_access(caller, appointment)


def can_change(caller: Caller, appointment: Appointment, now: datetime, window: timedelta) -> bool:
    """Patients may move or cancel only up to `window` before the start; staff always while it is active."""
    if not appointment.active:
        return False
    return caller.is_staff or now <= appointment.starts_at - window


def check_change_allowed(caller: Caller, appointment: Appointment, now: datetime, window: timedelta) -> None:
    if not appointment.active:
        raise InvalidState(
            f"A {appointment.status.value} appointment cannot be changed.", {"status": appointment.status.value}
        )
    if not can_change(caller, appointment, now, window):
        raise TooLateToChange(
            "Patients can change an appointment only until shortly before it starts; please call the clinic.",
            {"windowMinutes": int(window.total_seconds() // 60)},
        )


def check_status_change(caller: Caller, appointment: Appointment, target: Status, now: datetime) -> None:
    """Who may set which status, and completion or no-show only once the visit has started."""
    allowed_roles = SETTABLE_BY.get(target)
    if allowed_roles is None:
        raise InvalidState(f"Status {target.value} cannot be set directly.", {"requested": target.value})
    if caller.role not in allowed_roles:
        raise Forbidden(f"A {caller.role.value} cannot mark an appointment {target.value}.")
    check_transition(appointment.status, target)
    if target in (Status.COMPLETED, Status.NO_SHOW) and now < appointment.starts_at:
        raise NotStartedYet("The appointment has not started yet.")
