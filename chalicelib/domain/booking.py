"""What one booking writes together, in one transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from chalicelib.domain.appointments import Appointment
from chalicelib.domain.audit import AuditEntry
from chalicelib.domain.patients import PatientProfile
from chalicelib.domain.reminders import Reminder
from chalicelib.domain.telehealth import Room


@dataclass(frozen=True)
class Booking:
    """What one booking writes together: a new feature adds a field here, not a parameter to every store."""

    appointment: Appointment
    audit: AuditEntry
    max_per_day: int
    """The doctor's daily limit, checked on the day's counter."""
    reminders: Sequence[Reminder] = ()
    contact: PatientProfile | None = None
    """The patient's directory record, (re)written from its own claims when it books for itself."""
    room: Room | None = None
    max_active: int | None = None
    """Active future bookings the patient may hold; None: no limit."""
    busy_version: int | None = None
    """The doctor-day's busy-times version the booking was checked against (`busy_of_day`): the transaction
    conditions on it, so a sync landing in between refuses the booking. None: no busy-times guard."""
