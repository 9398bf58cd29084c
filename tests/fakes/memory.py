"""In-memory implementations of the doctor, appointment, reminder, room and patient ports, with the same
conditional semantics as the DynamoDB adapters (tests/integration/test_store_contracts.py runs one contract suite
against both).

Each write that DynamoDB conditions is conditioned here too, under one lock: the granule locks, the day counter
and the patient's limits of a booking, the version-conditioned appointment writes, `pending -> sending` claims,
the status-conditioned replace, the version-guarded follow, the room lease, the per-day message counter.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any

from chalicelib.domain import errors
from chalicelib.domain.appointments import Appointment, Status
from chalicelib.domain.audit import AccessEntry, AuditEntry, audit_sort_key
from chalicelib.domain.booking import Booking
from chalicelib.domain.busy import BusyTimesChanged, merge
from chalicelib.domain.doctors import Doctor
from chalicelib.domain.holds import Hold, hold_lapsed
from chalicelib.domain.patients import Device, PatientProfile
from chalicelib.domain.reminders import NO_ROOM, Claim, MessageSlot, Reminder, ReminderStatus
from chalicelib.domain.schedule import Availability, DayState, granules
from chalicelib.domain.telehealth import MEETING_DUE, Room, RoomStatus
from chalicelib.domain.timefmt import instant


class InMemoryReminderStore:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: dict[str, Reminder] = {}
        self._messages: dict[tuple[str, str], int] = {}
        """(patient, UTC day) -> messages reserved: the patients table's day count items."""
        self.appointment_versions: dict[str, int] = {}
        """The current version of each appointment `finish` may flag as reminded (the appointments table's)."""
        self.reminded: set[str] = set()
        self.delivery_counts: dict[tuple[str, str], int] = {}
        """(outcome, channel) -> how many, the doctor-day aggregate `finish` counts into."""

    def get(self, reminder_id: str) -> Reminder | None:
        return self._items.get(reminder_id)

    def for_appointment(self, appointment_id: str) -> list[Reminder]:
        return sorted((r for r in self._items.values() if r.appointment_id == appointment_id), key=lambda r: r.id)

    def by_status(
        self, status: ReminderStatus, start: datetime, end: datetime, limit: int | None = None
    ) -> list[Reminder]:
        found = sorted(
            (r for r in self._items.values() if r.status is status and start <= r.scheduled_time <= end),
            key=lambda r: (r.scheduled_time, r.id),
        )
        return found[:limit] if limit is not None else found

    def add(self, reminders: Iterable[Reminder]) -> None:
        with self._lock:
            for r in reminders:
                if r.id in self._items:
                    raise errors.reminder_exists(r.id)
                self._items[r.id] = r

    def replace(self, reminder: Reminder, expected: ReminderStatus, give_back: MessageSlot | None = None) -> bool:
        with self._lock:
            current = self._items.get(reminder.id)
            if current is None or current.status is not expected:
                return False
            self._items[reminder.id] = reminder
            self._give_back(give_back)
            return True

    def _give_back(self, slot: MessageSlot | None) -> None:
        if slot is not None:
            key = (slot.patient_id, slot.day)
            self._messages[key] = self._messages.get(key, 0) - 1

    def follow(self, reminder: Reminder, version: int) -> bool:
        with self._lock:
            current = self._items.get(reminder.id)
            if current is None:
                return False
            follows = current.status is ReminderStatus.PENDING or (
                current.status is ReminderStatus.CANCELLED and current.last_error == NO_ROOM
            )
            newer = current.for_version is None or current.for_version < version
            if not (follows and newer):
                return False
            self._items[reminder.id] = reminder
            return True

    def claim(self, reminder_id: str, now: datetime, due_slack_seconds: int = 60) -> Reminder | None:
        with self._lock:
            current = self._items.get(reminder_id)
            due = current is not None and current.scheduled_time <= now + timedelta(seconds=due_slack_seconds)
            if current is None or current.status is not ReminderStatus.PENDING or not due:
                return None
            claimed = replace(current, status=ReminderStatus.SENDING, attempts=current.attempts + 1, updated_at=now)
            self._items[reminder_id] = claimed
            return claimed

    def claim_with_message(
        self,
        reminder_id: str,
        slot: MessageSlot,
        now: datetime,
        seen: Reminder | None = None,
        due_slack_seconds: int = 60,
    ) -> Claim:
        if not slot.open:
            return Claim.CAPPED
        with self._lock:
            current = self._items.get(reminder_id)
            due = current is not None and current.scheduled_time <= now + timedelta(seconds=due_slack_seconds)
            if current is None or current.status is not ReminderStatus.PENDING or not due:
                return Claim.NOT_CLAIMED
            if current.patient_id != slot.patient_id:
                return Claim.NOT_CLAIMED
            if seen is not None and (seen.attempts, seen.updated_at) != (current.attempts, current.updated_at):
                return Claim.NOT_CLAIMED
            key = (slot.patient_id, slot.day)
            if self._messages.get(key, 0) >= slot.cap:
                return Claim.CAPPED
            self._messages[key] = self._messages.get(key, 0) + 1
            self._items[reminder_id] = replace(
                current, status=ReminderStatus.SENDING, attempts=current.attempts + 1, updated_at=now
            )
            return Claim.CLAIMED

    def finish(
        self,
        reminder: Reminder,
        mark_appointment_reminded: bool,
        appointment: Appointment | None = None,
        give_back: MessageSlot | None = None,
    ) -> str:
        with self._lock:
            current = self._items.get(reminder.id)
            if current is None or current.status is not ReminderStatus.SENDING:
                return "not-sending"
            self._give_back(give_back)
            check = mark_appointment_reminded and appointment is not None and appointment.version is not None
            moved = (
                check
                and appointment is not None
                and (self.appointment_versions.get(appointment.id) != appointment.version)
            )
            self._items[reminder.id] = reminder
            outcome = {ReminderStatus.SENT: "sent", ReminderStatus.FAILED: "failed"}.get(reminder.status)
            if appointment is not None and outcome:
                key = (outcome, reminder.channel.value)
                self.delivery_counts[key] = self.delivery_counts.get(key, 0) + 1
            if moved:
                return "appointment-changed"
            if check and appointment is not None and not appointment.reminder_sent:
                self.reminded.add(appointment.id)
                self.appointment_versions[appointment.id] = (appointment.version or 0) + 1
            return "recorded"


class InMemoryRoomRepository:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rooms: dict[str, Room] = {}

    def get(self, room_id: str) -> Room | None:
        return self._rooms.get(room_id)

    def save(self, room: Room) -> None:
        self._rooms[room.id] = room

    def claim(self, room_id: str, now: datetime, until: datetime) -> Room | None:
        with self._lock:
            room = self._rooms.get(room_id)
            free = room is not None and (room.claimed_until is None or room.claimed_until < now)
            if room is None or room.status is not RoomStatus.PENDING or not free:
                return None
            claimed = replace(room, claimed_until=until)
            self._rooms[room_id] = claimed
            return claimed

    def save_claimed(self, room: Room, claimed_until: datetime) -> bool:
        with self._lock:
            current = self._rooms.get(room.id)
            if current is None or current.status is not RoomStatus.PENDING or current.claimed_until != claimed_until:
                return False
            self._rooms[room.id] = room
            return True

    def pending(self, limit: int) -> list[Room]:
        return [r for r in self._rooms.values() if r.status is RoomStatus.PENDING][:limit]

    def mark_meeting_due(self, room_id: str) -> None:
        with self._lock:
            if room_id in self._rooms:
                self._rooms[room_id] = replace(self._rooms[room_id], meeting_sync=MEETING_DUE)

    def meeting_synced(self, room_id: str, meeting: dict[str, Any] | None) -> None:
        with self._lock:
            room = self._rooms.get(room_id)
            if room is not None:
                synced = replace(room, meeting_sync=None)
                self._rooms[room_id] = synced if meeting is None else replace(synced, meeting=meeting)

    def meeting_due(self, limit: int) -> list[Room]:
        return sorted((r for r in self._rooms.values() if r.meeting_sync), key=lambda r: r.created_at)[:limit]


class InMemoryPatientRepository:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._patients: dict[str, PatientProfile] = {}

    def get(self, patient_id: str) -> PatientProfile | None:
        return self._patients.get(patient_id)

    def get_many(self, patient_ids: Sequence[str]) -> dict[str, PatientProfile]:
        return {i: self._patients[i] for i in set(patient_ids) if i in self._patients}

    def save_contact(self, contact: PatientProfile, now: datetime) -> None:
        with self._lock:
            kept = self._patients.get(contact.id)
            staff = (kept.staff_email, kept.staff_phone) if kept else (None, None)
            devices = kept.devices if kept else []
            self._patients[contact.id] = replace(
                contact,
                devices=contact.devices or devices,
                staff_email=staff[0],
                staff_phone=staff[1],
                language=kept.language if kept else None,
            )

    def save_language(self, patient_id: str, language: str, now: datetime) -> bool:
        with self._lock:
            kept = self._patients.get(patient_id)
            if kept is None:
                return False
            self._patients[patient_id] = replace(kept, language=language)
            return True

    def save_staff_contact(self, patient_id: str, email: str | None, phone: str | None, now: datetime) -> bool:
        with self._lock:
            kept = self._patients.get(patient_id)
            if kept is None:
                return False
            self._patients[patient_id] = replace(kept, staff_email=email, staff_phone=phone)
            return True

    def save_devices(self, patient_id: str, devices: list[Device], now: datetime) -> None:
        with self._lock:
            kept = self._patients.get(patient_id) or PatientProfile(id=patient_id)
            self._patients[patient_id] = replace(kept, devices=list(devices))

    def remove_device(self, patient_id: str, endpoint: str, now: datetime) -> None:
        kept = self.get(patient_id)
        if kept is not None:
            remaining = [d for d in kept.devices if d.endpoint != endpoint]
            self.save_devices(patient_id, remaining, now)


class InMemoryDoctorRepository:
    def __init__(self) -> None:
        self._doctors: dict[str, Doctor] = {}

    def add(self, doctor: Doctor) -> None:
        if doctor.id in self._doctors:
            raise ValueError(f"doctor {doctor.id} exists")  # DynamoDB's conditional put fails (a PutError)
        self._doctors[doctor.id] = doctor

    def get(self, doctor_id: str) -> Doctor | None:
        return self._doctors.get(doctor_id)

    def list_all(self) -> list[Doctor]:
        """In the directory index's order: the name's case fold, then the id."""
        return sorted(self._doctors.values(), key=lambda d: f"{d.name.casefold()}#{d.id}")

    def set_availability(self, doctor_id: str, availability: Availability) -> None:
        self._doctors[doctor_id] = replace(self._doctors[doctor_id], availability=availability)

    def set_calendar_token_hash(self, doctor_id: str, token_hash: str | None) -> None:
        self._doctors[doctor_id] = replace(self._doctors[doctor_id], calendar_token_hash=token_hash)

    def set_has_busy_times(self, doctor_id: str) -> None:
        """What a write of busy times sets on the doctor's item in its transaction (the fake store's `write_busy`)."""
        self._doctors[doctor_id] = replace(self._doctors[doctor_id], has_busy_times=True)


class InMemoryAppointmentStore:
    """The booking store as the DynamoDB adapter keeps it: every write first checks all of its conditions against
    the state before it, in the order the adapter maps a cancelled transaction's reasons to domain errors (the
    appointment's version and status, doctor granules, patient granules, the day counter, the patient's one
    visit a day with a doctor), and only then changes anything: a refused write changes nothing. The busy-times
    guard, then a booking's active-bookings limit, are checked first, as the adapter maps those refusals first.
    A write of busy times sets the doctor's `has_busy_times`, as the adapter's transaction does.

    A booking writes its reminders, room and contact into the fakes given here, as the transaction does. Patients'
    access records are kept as the audit table keeps them (each entry put once). Not kept: the analytics
    aggregates (`DayStats`) and the directory's search entries."""

    def __init__(
        self,
        doctors: InMemoryDoctorRepository | None = None,
        reminders: InMemoryReminderStore | None = None,
        rooms: InMemoryRoomRepository | None = None,
        patients: InMemoryPatientRepository | None = None,
    ) -> None:
        self._lock = threading.RLock()
        self.doctors = doctors or InMemoryDoctorRepository()
        self.reminders = reminders or InMemoryReminderStore()
        self.rooms = rooms or InMemoryRoomRepository()
        self.patients = patients or InMemoryPatientRepository()
        self._appointments: dict[str, Appointment] = {}
        self._audit: dict[tuple[str, str], AuditEntry] = {}
        self._access: dict[tuple[str, datetime, str], AccessEntry] = {}
        """(patient, instant, entry id) -> the entry: the audit table's `PATIENT#<id>` partition and sort key."""
        self._doctor_locks: dict[tuple[str, str, datetime], str] = {}
        """(doctor, local date, granule) -> the appointment holding it."""
        self._patient_locks: dict[tuple[str, datetime], str] = {}
        self._days: dict[tuple[str, str], tuple[int, int]] = {}
        """(doctor, local date) -> (booked, version): the day counter."""
        self._patient_days: dict[tuple[str, str, str], int] = {}
        """(doctor, local date, patient) -> the patient's active bookings with that doctor that day."""
        self._active: dict[str, dict[int, tuple[str, datetime]]] = {}
        """patient -> {item k: (appointment, its end)}: the items of the active-bookings limit."""
        self._holds: dict[str, datetime] = {}
        """hold id -> its expiry: the live holds (not yet booked, released or lapsed)."""
        self._busy: dict[tuple[str, str], tuple[int, dict[str, tuple[tuple[datetime, datetime], ...]]]] = {}
        """(doctor, local date) -> (busy version, {connection: its busy intervals that day})."""

    # --- reads -------------------------------------------------------------------------------------------------
    def get(self, appointment_id: str) -> Appointment | None:
        return self._appointments.get(appointment_id)

    def get_many(self, appointment_ids: Sequence[str]) -> dict[str, Appointment]:
        with self._lock:
            return {i: self._appointments[i] for i in set(appointment_ids) if i in self._appointments}

    def day_state(self, doctor_id: str, day: date) -> DayState:
        with self._lock:
            taken = frozenset(g for (d, on, g) in self._doctor_locks if (d, on) == (doctor_id, day.isoformat()))
            booked, version = self._days.get((doctor_id, day.isoformat()), (0, 0))
            holds = tuple(sorted((h.id, h.expires_at) for h in self._holds_of(doctor_id, day.isoformat())))
            busy_version, busy = self.busy_of_day(doctor_id, day)
        return DayState(taken, booked, version, holds, busy, busy_version)

    def holders_of(self, attempt: Appointment) -> set[str]:
        with self._lock:
            return {owner for k in self._doctor_keys(attempt) if (owner := self._doctor_locks.get(k))}

    def busy_of_day(self, doctor_id: str, day: date) -> tuple[int, tuple[tuple[datetime, datetime], ...]]:
        with self._lock:
            version, by_connection = self._busy.get((doctor_id, day.isoformat()), (0, {}))
            return version, tuple(merge([i for pieces in by_connection.values() for i in pieces]))

    def write_busy(
        self, doctor_id: str, day: date, connection_id: str, intervals: Sequence[tuple[datetime, datetime]]
    ) -> None:
        with self._lock:
            doctor = self.doctors.get(doctor_id)
            if doctor is None:  # the adapter's transaction conditions its doctor item on existing
                raise errors.NotFound("No such doctor.")
            self.doctors.set_has_busy_times(doctor_id)
            version, by_connection = self._busy.get((doctor_id, day.isoformat()), (0, {}))
            by_connection = {**by_connection, connection_id: tuple(intervals)}
            if not intervals:
                del by_connection[connection_id]
            self._busy[(doctor_id, day.isoformat())] = (version + 1, by_connection)
            booked, day_version = self._days.get((doctor_id, day.isoformat()), (0, 0))
            self._days[(doctor_id, day.isoformat())] = (booked, day_version + 1)

    def _check_busy(self, a: Appointment, expected: int | None) -> None:
        """The busy-times guard of the adapter's transaction (`busy_guard`)."""
        if expected is not None and self._busy.get((a.doctor_id, a.date), (0, {}))[0] != expected:
            raise BusyTimesChanged("The doctor's busy times changed; please retry.")

    def doctor_and_day_version(self, doctor_id: str, day: date) -> tuple[Doctor | None, int]:
        return self.doctors.get(doctor_id), self.day_state(doctor_id, day).version

    def day_versions(self, days: Sequence[tuple[str, date]]) -> dict[tuple[str, date], int]:
        with self._lock:
            return {(d, on): self._days.get((d, on.isoformat()), (0, 0))[1] for d, on in days}

    def list_for_patient(self, patient_id: str, start: datetime, end: datetime) -> list[Appointment]:
        return list(self.iter_for_patient(patient_id, start, end, None, 0))

    def list_for_doctor(self, doctor_id: str, start: datetime, end: datetime) -> list[Appointment]:
        return list(self.iter_for_doctor(doctor_id, start, end, None, 0))

    def iter_for_patient(
        self, patient_id: str, start: datetime, end: datetime, after: tuple[str, str] | None, page_size: int
    ) -> Iterator[Appointment]:
        return self._window(lambda a: a.patient_id == patient_id, start, end, after)

    def iter_for_doctor(
        self, doctor_id: str, start: datetime, end: datetime, after: tuple[str, str] | None, page_size: int
    ) -> Iterator[Appointment]:
        return self._window(lambda a: a.doctor_id == doctor_id, start, end, after)

    def _window(
        self, whose: Callable[[Appointment], bool], start: datetime, end: datetime, after: tuple[str, str] | None
    ) -> Iterator[Appointment]:
        """In start order (then id, the index's tie-break here), after the (start instant, id) shown last."""
        with self._lock:
            found = sorted(
                (a for a in self._appointments.values() if whose(a) and start <= a.starts_at <= end),
                key=lambda a: (instant(a.starts_at), a.id),
            )
        return iter([a for a in found if after is None or (instant(a.starts_at), a.id) > after])

    def audit_trail(self, appointment_id: str) -> list[AuditEntry]:
        with self._lock:
            return [e for (appointment, _), e in sorted(self._audit.items()) if appointment == appointment_id]

    def record_access(self, entries: list[AccessEntry]) -> None:
        """Each entry put where no other is (the API's role may only put into the audit table): another entry under
        its key is refused and nothing is written; the very same entry again (a lost answer's resend) adds nothing."""
        with self._lock:
            keyed = {(e.patient_id, e.at, e.id): e for e in entries}
            if any(key in self._access and self._access[key] != e for key, e in keyed.items()):
                raise errors.audit_entry_exists()
            self._access.update(keyed)

    def access_history(self, patient_id: str) -> list[AccessEntry]:
        """Oldest first."""
        with self._lock:
            return [e for (patient, _, _), e in sorted(self._access.items()) if patient == patient_id]

    def record_audit(self, entry: AuditEntry) -> None:
        """Written once, as the adapter's `attribute_not_exists` put: another entry under its key is refused;
        this very entry again is done already (a resend whose first answer was lost)."""
        with self._lock:
            key = (entry.appointment_id, audit_sort_key(entry))
            if key in self._audit and self._audit[key] != entry:
                raise errors.audit_entry_exists()
            self._audit[key] = entry

    def _audit_taken(self, entry: AuditEntry) -> bool:
        """A transaction's audit entry is conditioned on its key being free, whatever is stored there."""
        return (entry.appointment_id, audit_sort_key(entry)) in self._audit

    # --- writes ------------------------------------------------------------------------------------------------
    def book(self, booking: Booking) -> None:
        self._book(booking, None)

    def _book(self, booking: Booking, hold_expires: datetime | None) -> None:
        a, limit = booking.appointment, booking.max_active
        with self._lock:
            self._check_busy(a, booking.busy_version)  # first, as the adapter maps a failed busy guard first
            held = self._active.get(a.patient_id, {})
            free = [k for k in range(limit or 0) if k not in held or held[k][1] <= a.created_at]
            if limit is not None and not free:
                raise errors.too_many_active(limit)
            self._check(
                changed=a.id in self._appointments,
                doctor_taken=self._doctor_keys(a),
                patient_taken=self._patient_keys(a),
                day_full=(a, booking.max_per_day),
                patient_day=a if booking.audit.actor_role == "patient" else None,
                audit=booking.audit,
                raced=any(self.reminders.get(r.id) for r in booking.reminders)
                or (booking.room is not None and self.rooms.get(booking.room.id) is not None),
            )
            self._appointments[a.id] = replace(a, version=1)
            self._take_locks(a)
            self._count_day(a, +1)
            self._count_patient_day(a, +1)
            if limit is not None:
                self._active.setdefault(a.patient_id, {})[free[0]] = (a.id, a.ends_at)
            self.reminders.add(booking.reminders)
            if booking.room is not None:
                self.rooms.save(booking.room)
            if booking.contact is not None:
                self.patients.save_contact(booking.contact, booking.audit.at)
            if hold_expires is not None:
                self._holds[a.id] = hold_expires
            self.record_audit(booking.audit)

    # --- holds: the booking's conditions, plus the live-hold item's (held, and expired or not) ---------------------
    def hold(self, booking: Booking, expires_at: datetime) -> None:
        self._book(booking, expires_at)

    def get_hold(self, hold_id: str) -> Hold | None:
        with self._lock:
            a = self._appointments.get(hold_id)
            if a is None or a.status is not Status.HELD or hold_id not in self._holds:
                return None
            return Hold(a, self._holds[hold_id])

    def _holds_of(self, doctor_id: str, day: str) -> list[Hold]:
        found = [Hold(self._appointments[i], at) for i, at in self._holds.items()]
        return [h for h in found if (h.appointment.doctor_id, h.appointment.date) == (doctor_id, day)]

    def holds_of_day(self, doctor_id: str, day: date) -> list[Hold]:
        with self._lock:
            held = self._holds_of(doctor_id, day.isoformat())
        return sorted(held, key=lambda h: (h.appointment.starts_at, h.id))

    def _check_busy_then_held(self, hold: Hold, booking: Booking, now: datetime) -> None:
        """A hold's booking (plain or a move) is refused first by a stale busy guard, then by a hold that is gone or
        expired at `now`: the adapter's order of cancellation reasons."""
        self._check_busy(booking.appointment, booking.busy_version)
        expiry = self._holds.get(hold.id)
        if expiry is None or expiry <= now:
            raise hold_lapsed()

    def book_hold(self, hold: Hold, booking: Booking, now: datetime) -> None:
        after = booking.appointment
        with self._lock:
            self._check_busy_then_held(hold, booking, now)
            self._check(
                changed=self._stale(hold.appointment),
                audit=booking.audit,
                raced=any(self.reminders.get(r.id) for r in booking.reminders)
                or (booking.room is not None and self.rooms.get(booking.room.id) is not None),
            )
            self._store(hold.appointment, after)
            del self._holds[hold.id]
            self.reminders.add(booking.reminders)
            if booking.room is not None:
                self.rooms.save(booking.room)
            if booking.contact is not None:
                self.patients.save_contact(booking.contact, booking.audit.at)
            self.record_audit(booking.audit)

    def book_hold_replacing(
        self,
        hold: Hold,
        booking: Booking,
        now: datetime,
        before: Appointment,
        cancelled: Appointment,
        cancel_audit: AuditEntry,
    ) -> None:
        """A waitlist "move me earlier" (the `HoldMover` port), as the adapter's one transaction: the hold becomes
        the new visit, keeping its locks, count and limits (`book_hold`), and the patient's visit `before` is
        cancelled, giving back its locks, day count and limits (`cancel`); both audit entries. The busy guard of
        the new visit's day answers first, then the hold's (still held, not expired at `now`), then either
        appointment's version and status; a refused move changes nothing."""
        after = booking.appointment
        with self._lock:
            self._check_busy_then_held(hold, booking, now)
            self._check(
                changed=self._stale(hold.appointment) or self._stale(before),
                audit=cancel_audit if self._audit_taken(cancel_audit) else booking.audit,
                raced=not self._owns(before, self._doctor_keys(before), self._patient_keys(before))
                or self._days.get((before.doctor_id, before.date), (0, 0))[0] <= 0
                or any(self.reminders.get(r.id) for r in booking.reminders)
                or (booking.room is not None and self.rooms.get(booking.room.id) is not None),
            )
            self._store(hold.appointment, after)
            del self._holds[hold.id]
            self._store(before, cancelled)
            self._release_locks(before)
            self._count_day(before, -1)  # the new visit's day is only touched (its version stays), as book_hold's
            self._release_limits(before)  # the hold's own counts stay, for the new visit
            self.reminders.add(booking.reminders)
            if booking.room is not None:
                self.rooms.save(booking.room)
            self.record_audit(booking.audit)
            self.record_audit(cancel_audit)

    def release_hold(self, hold: Hold, audit: AuditEntry, lapsed_at: datetime | None = None) -> None:
        a = hold.appointment
        with self._lock:
            expiry = self._holds.get(hold.id)
            if expiry is None or (lapsed_at is not None and expiry > lapsed_at):
                raise hold_lapsed()
            self._check(changed=self._stale(a), audit=audit)
            del self._appointments[a.id]
            del self._holds[a.id]
            self._release_locks(a)
            self._count_day(a, -1)
            self._release_limits(a)
            self.record_audit(audit)

    def expired_holds(self, now: datetime, limit: int) -> list[str]:
        with self._lock:
            return sorted(i for i, at in self._holds.items() if at <= now)[:limit]

    def reschedule(
        self,
        before: Appointment,
        after: Appointment,
        audit: AuditEntry,
        max_per_day: int,
        busy_version: int | None = None,
    ) -> None:
        with self._lock:
            self._check_busy(after, busy_version)
            old_doctor, new_doctor = self._doctor_keys(before), self._doctor_keys(after)
            old_patient, new_patient = self._patient_keys(before), self._patient_keys(after)
            moved_day = before.date != after.date
            self._check(
                changed=self._stale(before),
                doctor_taken=new_doctor - old_doctor,
                patient_taken=new_patient - old_patient,
                day_full=(after, max_per_day) if moved_day else None,
                patient_day=after if moved_day and audit.actor_role == "patient" else None,
                audit=audit,
                raced=not self._owns(before, old_doctor - new_doctor, old_patient - new_patient)
                or (moved_day and self._days.get((before.doctor_id, before.date), (0, 0))[0] <= 0),
            )
            self._store(before, after)
            self._release_locks(before)
            self._take_locks(after)
            if moved_day:
                self._count_day(before, -1)
                self._count_patient_day(before, -1)
                self._count_patient_day(after, +1)
            self._count_day(after, +1 if moved_day else 0)
            for k, (owner, _) in list(self._active.get(before.patient_id, {}).items()):
                if owner == before.id:
                    self._active[before.patient_id][k] = (owner, after.ends_at)
            self.record_audit(audit)

    def cancel(self, before: Appointment, after: Appointment, audit: AuditEntry) -> None:
        with self._lock:
            self._check(
                changed=self._stale(before),
                audit=audit,
                raced=not self._owns(before, self._doctor_keys(before), self._patient_keys(before))
                or self._days.get((before.doctor_id, before.date), (0, 0))[0] <= 0,
            )
            self._store(before, after)
            self._release_locks(before)
            self._count_day(before, -1)
            self._release_limits(before)
            self.record_audit(audit)

    def update_status(self, before: Appointment, after: Appointment, audit: AuditEntry) -> None:
        """A status change keeps the granules (a completed visit still took its time); leaving the active
        statuses frees the patient's limits."""
        with self._lock:
            self._check(changed=self._stale(before), audit=audit)
            self._store(before, after)
            if before.active and not after.active:
                self._release_limits(before)
            self.record_audit(audit)

    # --- conditions and effects ----------------------------------------------------------------------------------
    def _check(
        self,
        changed: bool = False,
        doctor_taken: set[tuple[str, str, datetime]] | None = None,
        patient_taken: set[tuple[str, datetime]] | None = None,
        day_full: tuple[Appointment, int] | None = None,
        patient_day: Appointment | None = None,
        audit: AuditEntry | None = None,
        raced: bool = False,
    ) -> None:
        """The first refused condition, in the adapter's order, as its domain error."""
        if changed:
            raise errors.appointment_changed()
        if any(k in self._doctor_locks for k in doctor_taken or ()):
            raise errors.slot_taken()
        if any(k in self._patient_locks for k in patient_taken or ()):
            raise errors.patient_busy()
        if day_full and self._days.get((day_full[0].doctor_id, day_full[0].date), (0, 0))[0] >= day_full[1]:
            raise errors.day_full()
        if patient_day and self._patient_days.get(self._patient_day_key(patient_day), 0) >= 1:
            raise errors.patient_day_taken()
        if audit is not None and self._audit_taken(audit):
            raise errors.audit_entry_exists()
        if raced:
            raise errors.schedule_raced()

    def _stale(self, before: Appointment) -> bool:
        """The write is conditioned on the version and the status it read."""
        stored = self._appointments.get(before.id)
        return stored is None or (stored.version, stored.status) != (before.version, before.status)

    def _owns(self, a: Appointment, doctor: set[tuple[str, str, datetime]], patient: set[tuple[str, datetime]]) -> bool:
        return all(self._doctor_locks.get(k) == a.id for k in doctor) and all(
            self._patient_locks.get(k) == a.id for k in patient
        )

    def _store(self, before: Appointment, after: Appointment) -> None:
        self._appointments[after.id] = replace(after, version=(before.version or 0) + 1)

    @staticmethod
    def _doctor_keys(a: Appointment) -> set[tuple[str, str, datetime]]:
        return {(a.doctor_id, a.date, g) for g in granules(a.starts_at, a.ends_at)}

    @staticmethod
    def _patient_keys(a: Appointment) -> set[tuple[str, datetime]]:
        return {(a.patient_id, g) for g in granules(a.starts_at, a.ends_at)}

    @staticmethod
    def _patient_day_key(a: Appointment) -> tuple[str, str, str]:
        return (a.doctor_id, a.date, a.patient_id)

    def _take_locks(self, a: Appointment) -> None:
        self._doctor_locks.update(dict.fromkeys(self._doctor_keys(a), a.id))
        self._patient_locks.update(dict.fromkeys(self._patient_keys(a), a.id))

    def _release_locks(self, a: Appointment) -> None:
        for k in self._doctor_keys(a):
            self._doctor_locks.pop(k, None)
        for p in self._patient_keys(a):
            self._patient_locks.pop(p, None)

    def _count_day(self, a: Appointment, delta: int) -> None:
        """Book, release or touch the day: each bumps its version (the availability's ETag)."""
        booked, version = self._days.get((a.doctor_id, a.date), (0, 0))
        self._days[(a.doctor_id, a.date)] = (booked + delta, version + 1)

    def _count_patient_day(self, a: Appointment, delta: int) -> None:
        key = self._patient_day_key(a)
        self._patient_days[key] = self._patient_days.get(key, 0) + delta

    def _release_limits(self, a: Appointment) -> None:
        self._count_patient_day(a, -1)
        held = self._active.get(a.patient_id, {})
        for k in [k for k, (owner, _) in held.items() if owner == a.id]:
            del held[k]
