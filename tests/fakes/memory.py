"""In-memory implementations of the reminder, room and patient ports, with the same conditional semantics as the
DynamoDB adapters (tests/integration/test_store_contracts.py runs one contract suite against both).

Each write that DynamoDB conditions is conditioned here too, under one lock: `pending -> sending` claims, the
status-conditioned replace, the version-guarded follow, the room lease, the per-day message counter.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from chalicelib.domain.appointments import Appointment
from chalicelib.domain.errors import InvalidState
from chalicelib.domain.reminders import NO_ROOM, Reminder, ReminderStatus
from chalicelib.domain.telehealth import Room, RoomStatus
from chalicelib.services.ports import PatientProfile


class InMemoryReminderStore:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: dict[str, Reminder] = {}
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
                    raise InvalidState("A reminder for this channel and timing exists already.", {"reminderId": r.id})
                self._items[r.id] = r

    def replace(self, reminder: Reminder, expected: ReminderStatus) -> bool:
        with self._lock:
            current = self._items.get(reminder.id)
            if current is None or current.status is not expected:
                return False
            self._items[reminder.id] = reminder
            return True

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

    def finish(
        self, reminder: Reminder, mark_appointment_reminded: bool, appointment: Appointment | None = None
    ) -> str:
        with self._lock:
            current = self._items.get(reminder.id)
            if current is None or current.status is not ReminderStatus.SENDING:
                return "not-sending"
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


class InMemoryPatientRepository:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._patients: dict[str, PatientProfile] = {}
        self._messages: dict[str, tuple[str, int]] = {}

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
                contact, devices=contact.devices or devices, staff_email=staff[0], staff_phone=staff[1]
            )

    def save_staff_contact(self, patient_id: str, email: str | None, phone: str | None, now: datetime) -> bool:
        with self._lock:
            kept = self._patients.get(patient_id)
            if kept is None:
                return False
            self._patients[patient_id] = replace(kept, staff_email=email, staff_phone=phone)
            return True

    def take_message(self, patient_id: str, day: str, cap: int) -> bool:
        with self._lock:
            counted_day, sent = self._messages.get(patient_id, ("", 0))
            sent = sent if counted_day == day else 0
            if sent >= cap:
                return False
            self._messages[patient_id] = (day, sent + 1)
            return True

    def save_devices(self, patient_id: str, devices: list[dict[str, Any]], now: datetime) -> None:
        with self._lock:
            kept = self._patients.get(patient_id) or PatientProfile(id=patient_id)
            self._patients[patient_id] = replace(kept, devices=list(devices))

    def remove_device(self, patient_id: str, endpoint: str, now: datetime) -> None:
        kept = self.get(patient_id)
        if kept is not None:
            remaining = [d for d in kept.devices if d.get("endpoint") != endpoint]
            self.save_devices(patient_id, remaining, now)
