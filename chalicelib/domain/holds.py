"""Slot holds: a time kept for one patient for a few minutes, as a booking with an expiry.

A hold is stored as an appointment whose status is `held` (same item, same lock items, same limits); these rules
say who may see or end one, when it has lapsed, whether a booking request matches the hold it names, and what the
audit trail records when a hold ends without becoming a visit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from chalicelib.domain.appointments import Appointment, Status
from chalicelib.domain.audit import AuditEntry
from chalicelib.domain.errors import InvalidInput, InvalidState
from chalicelib.domain.identity import Caller, Role

DEFAULT_HOLD_MINUTES = 5
MAX_HOLD_MINUTES = 60
"""The longest a clinic may configure: a hold keeps a time from everyone else, so it stays short."""


@dataclass(frozen=True)
class Hold:
    """A held time: the appointment it will become (status `held`) and when it lapses."""

    appointment: Appointment
    expires_at: datetime

    @property
    def id(self) -> str:
        return self.appointment.id

    def expired(self, now: datetime) -> bool:
        """A hold lapses at `expires_at` exactly: from then on it cannot be booked, and the sweep releases it."""
        return now >= self.expires_at


def hold_duration(minutes: int) -> timedelta:
    """A clinic's configured hold length, checked: 1 to MAX_HOLD_MINUTES minutes."""
    if not 1 <= minutes <= MAX_HOLD_MINUTES:
        raise ValueError(f"a hold lasts 1 to {MAX_HOLD_MINUTES} minutes, not {minutes}")
    return timedelta(minutes=minutes)


def may_access_hold(caller: Caller, hold: Hold) -> bool:
    """The patient it is held for, the doctor it is held with, and admins; no one else learns it exists."""
    if caller.role is Role.ADMIN:
        return True
    if caller.role is Role.DOCTOR:
        return hold.appointment.doctor_id == caller.doctor_id
    return hold.appointment.patient_id == caller.subject


def check_bookable_hold(hold: Hold, now: datetime) -> None:
    """A hold is booked only while it is held and has not lapsed."""
    if hold.appointment.status is not Status.HELD:
        raise InvalidState("This hold was booked already.", {"reason": "hold_booked", "holdId": hold.id})
    if hold.expired(now):
        raise hold_lapsed(hold.id)


def check_matches(hold: Hold, given: dict[str, Any]) -> None:
    """A booking that names a hold may leave out the hold's fields; any it sends must be the hold's own."""
    a = hold.appointment
    own = {
        "doctorId": a.doctor_id,
        "patientId": a.patient_id,
        "date": a.date,
        "time": a.time,
        "duration": a.duration,
        "type": a.type.value,
        "startsAt": a.starts_at,
    }
    wrong = {
        name: "does not match the hold"
        for name, value in given.items()
        if value is not None and name in own and value != own[name]
    }
    if wrong:
        raise InvalidInput("The booking does not match the hold it names.", {"fields": wrong, "holdId": hold.id})


def end_of_hold(entry_id: str, hold: Hold, actor: Caller | None, action: str, at: datetime) -> AuditEntry:
    """The audit entry of a hold that ends without a visit: `released` (by its patient or staff) or `lapsed`
    (by the sweep, `actor` None). It writes the hold's last version; the hold is gone after it, which the trail's
    status vocabulary says as `cancelled` (the action says how)."""
    a = hold.appointment
    return AuditEntry(
        id=entry_id,
        appointment_id=a.id,
        at=at,
        actor_id=actor.subject if actor else "system:hold-sweep",
        actor_role=actor.role.value if actor else "system",
        action=action,
        status_before=Status.HELD.value,
        status_after=Status.CANCELLED.value,
        changes={"status": {"from": Status.HELD.value, "to": Status.CANCELLED.value}},
        seq=(a.version or 0) + 1,
    )


def hold_lapsed(hold_id: str | None = None) -> InvalidState:
    """The refusal of a hold that is no longer held (it lapsed, or was released or booked meanwhile)."""
    return InvalidState(
        "This hold has expired; hold the time again if it is still free.",
        {"reason": "hold_expired", **({"holdId": hold_id} if hold_id else {})},
    )
