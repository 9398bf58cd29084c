"""The ports the use cases need; adapters implement them (DynamoDB, clock, ids, idempotency)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any, Protocol

from chalicelib.domain.appointments import Appointment
from chalicelib.domain.audit import AuditEntry
from chalicelib.domain.doctors import Doctor
from chalicelib.domain.schedule import Availability, DayState


class Clock(Protocol):
    def now(self) -> datetime: ...


class IdGenerator(Protocol):
    def new_id(self) -> str: ...


class DoctorRepository(Protocol):
    def add(self, doctor: Doctor) -> None: ...

    def get(self, doctor_id: str) -> Doctor | None: ...

    def list_all(self) -> list[Doctor]: ...

    def set_availability(self, doctor_id: str, availability: Availability) -> None: ...


class AppointmentStore(Protocol):
    """Every write is one transaction: appointment, its lock granules, the day counter and the audit entry."""

    def get(self, appointment_id: str) -> Appointment | None: ...

    def day_state(self, doctor_id: str, day: date) -> DayState: ...

    def book(self, appointment: Appointment, audit: AuditEntry, max_per_day: int) -> None: ...

    def reschedule(self, before: Appointment, after: Appointment, audit: AuditEntry, max_per_day: int) -> None: ...

    def cancel(self, before: Appointment, after: Appointment, audit: AuditEntry) -> None: ...

    def update_status(self, before: Appointment, after: Appointment, audit: AuditEntry) -> None: ...

    def list_for_patient(self, patient_id: str, start: datetime, end: datetime) -> list[Appointment]: ...

    def list_for_doctor(self, doctor_id: str, start: datetime, end: datetime) -> list[Appointment]: ...

    def audit_trail(self, appointment_id: str) -> list[AuditEntry]: ...


class Idempotency(Protocol):
    def run(
        self,
        key: str,
        payload: dict[str, Any],
        action: Callable[[], dict[str, Any]],
        lambda_context: Any = None,
    ) -> dict[str, Any]:
        """Run `action` once per key; a repeat with the same payload returns the stored result."""
        ...
