"""The appointments' store: read, audit, and the transactions that book, hold, reschedule and cancel."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date, datetime
from typing import Protocol

from chalicelib.domain.appointments import Appointment
from chalicelib.domain.audit import AuditEntry
from chalicelib.domain.booking import Booking
from chalicelib.domain.doctors import Doctor
from chalicelib.domain.holds import Hold
from chalicelib.domain.patients import PatientProfile
from chalicelib.domain.schedule import DayState


class AppointmentReader(Protocol):
    """Appointments by id: what the reminder jobs read."""

    def get(self, appointment_id: str) -> Appointment | None: ...

    def get_many(self, appointment_ids: Sequence[str]) -> dict[str, Appointment]:
        """The appointments that exist among these ids, read consistently in batches (the sweep's reads)."""
        ...


class AuditRecorder(Protocol):
    def record_audit(self, entry: AuditEntry) -> None: ...


class DayStats(Protocol):
    """The analytics aggregates of doctor-days (kept apart so a fake of the booking store need not count them)."""

    def day_stats(self, doctor_id: str, days: Sequence[date]) -> dict[date, dict[str, int]]: ...


class AppointmentRecords(AppointmentReader, AuditRecorder, Protocol):
    """What telehealth needs of the appointments: read them, and audit what happens around a visit."""


class BookingReads(Protocol):
    """What a booking staff make for a patient reads before its transaction, in one call where the store can."""

    def doctor_and_patient(self, doctor_id: str, patient_id: str) -> tuple[Doctor | None, PatientProfile | None]:
        """The doctor and the patient's directory record, None for either that does not exist."""
        ...


class AppointmentStore(AppointmentRecords, Protocol):
    """Every write is one transaction: appointment, its lock granules, the day counter and the audit entry."""

    def day_state(self, doctor_id: str, day: date) -> DayState: ...

    def doctor_and_day_version(self, doctor_id: str, day: date) -> tuple[Doctor | None, int]: ...

    def day_versions(self, days: Sequence[tuple[str, date]]) -> dict[tuple[str, date], int]:
        """The availability versions of many doctor-days at once (0 for a day never written): the FHIR bulk
        publication's ETag."""
        ...

    def book(self, booking: Booking) -> None:
        """All of the booking or nothing of it, in one transaction."""
        ...

    def reschedule(
        self,
        before: Appointment,
        after: Appointment,
        audit: AuditEntry,
        max_per_day: int,
        busy_version: int | None = None,
    ) -> None: ...

    def holders_of(self, attempt: Appointment) -> set[str]:
        """The ids of the visits holding the doctor's lock items `attempt` would take, read strongly consistent
        (unlike the doctor index, which lags the table)."""
        ...

    def busy_of_day(self, doctor_id: str, day: date) -> tuple[int, tuple[tuple[datetime, datetime], ...]]:
        """The doctor-day's busy-times version and its busy intervals (all connections), strongly consistent."""
        ...

    def write_busy(
        self, doctor_id: str, day: date, connection_id: str, intervals: Sequence[tuple[datetime, datetime]]
    ) -> None:
        """Replace one connection's busy intervals of a doctor-day (none: removed), bumping the day's busy
        version and its availability version in the same transaction."""
        ...

    def cancel(self, before: Appointment, after: Appointment, audit: AuditEntry) -> None: ...

    def update_status(self, before: Appointment, after: Appointment, audit: AuditEntry) -> None: ...

    def list_for_patient(self, patient_id: str, start: datetime, end: datetime) -> list[Appointment]: ...

    def list_for_doctor(self, doctor_id: str, start: datetime, end: datetime) -> list[Appointment]: ...

    def iter_for_patient(
        self, patient_id: str, start: datetime, end: datetime, after: tuple[str, str] | None, page_size: int
    ) -> Iterator[Appointment]:
        """In start order after `after` (start instant, id), read lazily `page_size` items per query."""
        ...

    def iter_for_doctor(
        self, doctor_id: str, start: datetime, end: datetime, after: tuple[str, str] | None, page_size: int
    ) -> Iterator[Appointment]: ...

    def audit_trail(self, appointment_id: str) -> list[AuditEntry]: ...

    # --- holds (domain/holds.py): a hold is an appointment in status `held` with an expiry ---------------------
    def hold(self, booking: Booking, expires_at: datetime) -> None:
        """The held appointment with everything a booking takes (locks, day count, the patient's limits, audit)
        and the hold's expiry, in one transaction."""
        ...

    def get_hold(self, hold_id: str) -> Hold | None:
        """The hold, while it is held (a booked, released or lapsed hold is None)."""
        ...

    def holds_of_day(self, doctor_id: str, day: date) -> list[Hold]: ...

    def book_hold(self, hold: Hold, booking: Booking, now: datetime) -> None:
        """The hold becomes `booking.appointment` (same id, same locks and limits) in one transaction, only while
        it is held and `now` is before its expiry; its reminders, room and contact ride along."""
        ...

    def release_hold(self, hold: Hold, audit: AuditEntry, lapsed_at: datetime | None = None) -> None:
        """Frees the hold's locks, day count and limits and removes it, in one transaction, only while it is held;
        with `lapsed_at`, only when it has expired by then (the sweep's release)."""
        ...

    def expired_holds(self, now: datetime, limit: int) -> list[str]:
        """Ids of holds whose expiry is at or before `now` (the sweep's read: every hold not yet ended)."""
        ...
