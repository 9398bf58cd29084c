"""The ports the use cases need; adapters implement them (DynamoDB, clock, ids, idempotency)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

from chalicelib.domain.appointments import Appointment
from chalicelib.domain.audit import AuditEntry
from chalicelib.domain.doctors import Doctor
from chalicelib.domain.holds import Hold
from chalicelib.domain.reminders import Reminder, ReminderStatus
from chalicelib.domain.schedule import Availability, DayState
from chalicelib.domain.telehealth import Room


class Clock(Protocol):
    def now(self) -> datetime: ...


class IdGenerator(Protocol):
    def new_id(self) -> str: ...


class DoctorRepository(Protocol):
    def add(self, doctor: Doctor) -> None: ...

    def get(self, doctor_id: str) -> Doctor | None: ...

    def list_all(self) -> list[Doctor]: ...

    def set_availability(self, doctor_id: str, availability: Availability) -> None: ...

    def set_calendar_token_hash(self, doctor_id: str, token_hash: str | None) -> None: ...


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


@dataclass
class PatientProfile:
    """A patient of the directory: contact details kept for reminders (from the patient's own claims, with
    Cognito's verified flags, or entered by staff) and its registered push devices."""

    id: str
    email: str | None = None
    phone: str | None = None
    devices: list[dict[str, Any]] = field(default_factory=list)
    email_verified: bool = False
    phone_verified: bool = False
    source: str = "self"
    """`self` (the patient's own claims) or `staff` (entered by staff: shown masked, never verified)."""
    name: str | None = None
    staff_email: str | None = None
    staff_phone: str | None = None
    """Contacts staff entered for the patient: kept beside (never over) the patient's own, shown masked, never
    verified, so no reminder ever goes to them."""
    language: str | None = None
    """The language the patient chose in the app (or staff set for it); None: not chosen yet (the browser's
    `Accept-Language` answers until then, and reminders are in the clinic's language)."""

    def verified(self, channel_address: str | None, phone: bool) -> bool:
        """True when the address is this patient's current address and it is verified."""
        if not channel_address:
            return False
        if phone:
            return self.phone == channel_address and self.phone_verified
        return self.email == channel_address and self.email_verified


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


class Idempotency(Protocol):
    def run(
        self,
        key: str,
        payload: dict[str, Any],
        action: Callable[[], dict[str, Any]],
        lambda_context: Any = None,
        recover: Callable[[], dict[str, Any] | None] | None = None,
    ) -> dict[str, Any]:
        """Run `action` once per key; a repeat with the same payload returns the stored result; a record stuck
        in progress answers `recover()` when that finds the committed result."""
        ...


class ReminderSwitch(Protocol):
    """The one write every reminder job makes: replace a reminder if it still has the status it was read with."""

    def replace(self, reminder: Reminder, expected: ReminderStatus) -> bool: ...


class ReminderPlans(ReminderSwitch, Protocol):
    """What planning reminders and following their appointment's changes read and write."""

    def get(self, reminder_id: str) -> Reminder | None: ...

    def for_appointment(self, appointment_id: str) -> list[Reminder]: ...

    def add(self, reminders: Sequence[Reminder]) -> None: ...

    def follow(self, reminder: Reminder, version: int) -> bool: ...


class ReminderQueue(ReminderSwitch, Protocol):
    """What the dispatcher and the sweep read and write: due reminders, claimed once, finished once."""

    def by_status(
        self, status: ReminderStatus, start: datetime, end: datetime, limit: int | None = None
    ) -> list[Reminder]: ...

    def claim(self, reminder_id: str, now: datetime, due_slack_seconds: int = 60) -> Reminder | None: ...

    def finish(
        self, reminder: Reminder, mark_appointment_reminded: bool, appointment: Appointment | None = None
    ) -> str: ...


class ReminderRecords(ReminderSwitch, Protocol):
    """What the admins' bulk actions read and write."""

    def get(self, reminder_id: str) -> Reminder | None: ...

    def by_status(
        self, status: ReminderStatus, start: datetime, end: datetime, limit: int | None = None
    ) -> list[Reminder]: ...


class ReminderStore(ReminderPlans, ReminderQueue, ReminderRecords, Protocol):
    """All of the reminder table's operations (the DynamoDB adapter implements them)."""


class PatientReader(Protocol):
    def get(self, patient_id: str) -> PatientProfile | None: ...

    def get_many(self, patient_ids: Sequence[str]) -> dict[str, PatientProfile]:
        """The profiles that exist among these ids, read consistently in batches (the sweep's reads)."""
        ...


class PatientInbox(PatientReader, Protocol):
    """What delivering a reminder needs of the patient: addresses, devices, the daily message cap."""

    def take_message(self, patient_id: str, day: str, cap: int) -> bool:
        """Count one message to the patient on that (UTC) day; False when the day's cap is reached."""
        ...

    def remove_device(self, patient_id: str, endpoint: str, now: datetime) -> None: ...


class PatientDevices(Protocol):
    def get(self, patient_id: str) -> PatientProfile | None: ...

    def save_devices(self, patient_id: str, devices: list[dict[str, Any]], now: datetime) -> None: ...


class PatientRepository(PatientInbox, PatientDevices, Protocol):
    def save_contact(self, contact: PatientProfile, now: datetime) -> None:
        """Write (or refresh) the patient's directory record; devices and counters stay as they are."""
        ...

    def save_language(self, patient_id: str, language: str, now: datetime) -> bool:
        """Set the patient's language; False when the patient is not in the directory."""
        ...

    def save_staff_contact(self, patient_id: str, email: str | None, phone: str | None, now: datetime) -> bool:
        """Store contacts staff entered (an empty value removes one); False when the patient is not in the
        directory."""
        ...


class ReminderScheduler(Protocol):
    """One-time schedules that invoke the reminder dispatcher with a reminder id at its time."""

    def ensure(self, reminder: Reminder) -> None: ...

    def delete(self, reminder: Reminder) -> None: ...


class TransientDeliveryError(Exception):
    """Throttled or unavailable after the sender's own retries: try again later."""


class UnknownDeliveryOutcome(Exception):
    """The provider may have accepted the message (read timeout, connection reset mid-request): never resend it
    automatically, since the patient would get it twice."""


class PermanentDeliveryError(Exception):
    """The address can never receive this (unverified, opted out, disabled endpoint): fail at once."""

    def __init__(self, message: str, disabled_endpoint: str | None = None) -> None:
        super().__init__(message)
        self.disabled_endpoint = disabled_endpoint


@dataclass(frozen=True)
class Delivery:
    message_id: str
    disabled_endpoints: tuple[str, ...] = ()
    """Push endpoints that turned out disabled while others received the message: to be cleaned up."""
    served: tuple[str, ...] = ()
    """Push endpoints that accepted the message (or may have: `unknown`): never sent to again."""
    unknown: tuple[str, ...] = ()
    """Push endpoints whose outcome is unknown (timeout after sending): not resent either."""
    pending: tuple[str, ...] = ()
    """Push endpoints that were throttled or unavailable: a retry goes to these only."""
    refused: str | None = None
    """Why the endpoints not served, not pending and not disabled refused the message (e.g. AuthorizationError)."""


class MessageSender(Protocol):
    """Sends one reminder's message by its channel."""

    def send(self, reminder: Reminder, appointment: Appointment, push_endpoints: Sequence[str]) -> Delivery: ...


class PushRegistrar(Protocol):
    def register_device(self, patient_id: str, platform: str, token: str) -> str:
        """The push endpoint of this device token (created, or the existing one)."""
        ...


class Deliverer(MessageSender, PushRegistrar, Protocol):
    """The channels' adapter: sends messages and registers push devices."""


class ConnectionGone(Exception):
    """The WebSocket connection no longer exists (API Gateway's GoneException)."""


class ConnectionSender(Protocol):
    def send(self, connection_id: str, payload: str) -> None: ...


class SubscriptionStore(Protocol):
    """WebSocket connections and the doctor-days each follows; records expire with the connection (TTL)."""

    def add_connection(self, connection_id: str, subject: str, expires_at: datetime) -> None: ...

    def use_ticket(self, ticket_id: str, expires_at: datetime) -> bool:
        """Claim a ticket for its one connection; False when it was claimed before."""
        ...

    def remove_connection(self, connection_id: str) -> None: ...

    def subscribe(self, connection_id: str, doctor_id: str, day: date, limit: int, expires_at: datetime) -> bool: ...

    def unsubscribe(self, connection_id: str, doctor_id: str, day: date) -> None: ...

    def subscribers(self, doctor_id: str, day: date) -> list[str]: ...


class KeyProvider(Protocol):
    def signing_key(self) -> bytes: ...


class RoomRepository(Protocol):
    def get(self, room_id: str) -> Room | None: ...

    def save(self, room: Room) -> None: ...

    def claim(self, room_id: str, now: datetime, until: datetime) -> Room | None: ...

    def save_claimed(self, room: Room, claimed_until: datetime) -> bool: ...

    def pending(self, limit: int) -> list[Room]: ...

    def mark_meeting_due(self, room_id: str) -> None: ...

    def meeting_synced(self, room_id: str, meeting: dict[str, Any] | None) -> None: ...

    def meeting_due(self, limit: int) -> list[Room]: ...


class PlatformError(Exception):
    """The video platform refused the request (4xx): retrying will not help."""


class TransientPlatformError(PlatformError):
    """The video platform failed (5xx, timeout) after retries: the room stays pending and is retried later."""


class VideoPlatform(Protocol):
    """Raises PlatformError (or TransientPlatformError) when the platform refuses or fails."""

    def create(self, appointment: Appointment, consent: bool = False) -> dict[str, Any]: ...

    def update(self, meeting: dict[str, Any], appointment: Appointment, consent: bool = False) -> dict[str, Any]: ...

    def delete(self, meeting: dict[str, Any]) -> None: ...

    def join(self, meeting: dict[str, Any], role: str, subject: str) -> dict[str, Any]: ...
