"""The booking and telehealth services built by the composition root (`container.build`) on the in-memory fakes (no
moto, no HTTP), so their rules run as unit tests in milliseconds; the contract suite shows the fakes keep the
DynamoDB adapters' semantics."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time
from typing import Any

from chalicelib import container
from chalicelib.config import Settings
from chalicelib.domain.appointments import Appointment
from chalicelib.domain.doctors import Doctor
from chalicelib.domain.reminders import Reminder
from chalicelib.domain.schedule import Availability, WallInterval
from chalicelib.domain.telehealth import TransientPlatformError
from chalicelib.domain.timefmt import instant
from chalicelib.services.booking import Policy
from chalicelib.services.booking.commands import BookingCommands
from chalicelib.services.booking.queries import BookingQueries
from chalicelib.services.sign_in import SignIn
from chalicelib.services.telehealth import TelehealthService
from tests.fakes.memory import (
    InMemoryAppointmentStore,
    InMemoryDoctorRepository,
    InMemoryPatientRepository,
    InMemoryReminderStore,
    InMemoryRoomRepository,
)
from tests.helpers import FixedClock, SequentialIds

NOW = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)
"""Monday; the clinic's doctor works weekdays 09:00-17:00 in New York."""
BASE_URL = "https://clinic.example"
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday")


class FakePlatform:
    """A video platform in memory: live meetings by id, every call recorded; `down` makes every call fail as a
    platform outage does (after the adapter's retries)."""

    def __init__(self) -> None:
        self.meetings: dict[str, dict[str, Any]] = {}
        self.calls: list[str] = []
        self.down = False
        self.while_creating: Callable[[], None] | None = None
        """Runs inside `create`, as a concurrent request would while the platform works."""
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def _call(self, name: str) -> None:
        with self._lock:
            self.calls.append(name)
        if self.down:
            raise TransientPlatformError(f"{name}: platform unavailable")

    def create(self, appointment: Appointment, consent: bool = False) -> dict[str, Any]:
        self._call("create")
        if self.while_creating is not None:
            self.while_creating()
        meeting: dict[str, Any] = {"meetingId": f"m-{next(self._ids)}", "start": instant(appointment.starts_at)}
        meeting["record"] = consent
        self.meetings[meeting["meetingId"]] = meeting
        return dict(meeting)

    def update(self, meeting: dict[str, Any], appointment: Appointment, consent: bool = False) -> dict[str, Any]:
        self._call("update")
        moved = {**meeting, "start": instant(appointment.starts_at), "record": consent}
        self.meetings[moved["meetingId"]] = moved
        return dict(moved)

    def delete(self, meeting: dict[str, Any]) -> None:
        self._call("delete")
        self.meetings.pop(meeting["meetingId"], None)

    def join(self, meeting: dict[str, Any], role: str, subject: str) -> dict[str, Any]:
        self._call("join")
        return {"joinUrl": f"https://video.example/{meeting['meetingId']}?as={role}"}


class RecordingScheduler:
    """One-time schedules by reminder id; `failing` makes creating one fail (the sweep re-creates it)."""

    def __init__(self) -> None:
        self.schedules: dict[str, datetime] = {}
        self.failing = False

    def ensure(self, reminder: Reminder) -> None:
        if self.failing:
            raise RuntimeError("scheduler unavailable")
        self.schedules[reminder.id] = reminder.scheduled_time

    def delete(self, reminder: Reminder) -> None:
        self.schedules.pop(reminder.id, None)


class FixedKey:
    def signing_key(self) -> bytes:
        return b"unit-test-signing-key-32-bytes!!"


@dataclass
class Clinic:
    clock: FixedClock
    doctors: InMemoryDoctorRepository
    store: InMemoryAppointmentStore
    reminders: InMemoryReminderStore
    rooms: InMemoryRoomRepository
    patients: InMemoryPatientRepository
    platform: FakePlatform
    scheduler: RecordingScheduler
    booking: BookingCommands
    telehealth: TelehealthService
    booking_queries: BookingQueries
    sign_in: SignIn
    keys: FixedKey = field(default_factory=FixedKey)


def clinic(policy: Policy | None = None, now: datetime = NOW) -> Clinic:
    """The services as the composition root wires them (`container.build`, handed the in-memory fakes); the video
    platform answers as `custom`. `policy` is the clinic's configuration, as a stage's settings give it."""
    policy = policy or Policy()
    clock, ids = FixedClock(now), SequentialIds()
    doctors, reminders, rooms, patients = (
        InMemoryDoctorRepository(),
        InMemoryReminderStore(),
        InMemoryRoomRepository(),
        InMemoryPatientRepository(),
    )
    store = InMemoryAppointmentStore(doctors, reminders, rooms, patients)
    platform, scheduler, keys = FakePlatform(), RecordingScheduler(), FixedKey()
    settings = replace(
        Settings.from_env({"TABLE_PREFIX": "unit", "AWS_REGION": "us-east-1", "PUBLIC_BASE_URL": BASE_URL}),
        min_notice=policy.min_notice,
        patient_change_window=policy.patient_change_window,
        max_active_bookings=policy.max_active_bookings,
        booking_horizon_days=policy.booking_horizon_days,
        hold_minutes=int(policy.hold_duration.total_seconds()) // 60,
    )
    fakes = container.Adapters(
        doctors=doctors,
        store=store,
        patients=patients,
        reminders=reminders,
        rooms=rooms,
        scheduler=scheduler,
        video={"custom": platform},
        keys=keys,
    )
    built = container.build(settings, clock=clock, ids=ids, adapters=fakes)
    return Clinic(
        clock,
        doctors,
        store,
        reminders,
        rooms,
        patients,
        platform,
        scheduler,
        built.booking,
        built.telehealth,
        built.booking_queries,
        built.sign_in,
        keys,
    )


def add_doctor(
    at: Clinic, doctor_id: str = "d1", max_per_day: int = 20, telehealth: bool = True, duration: int = 30
) -> Doctor:
    hours = {day: (WallInterval(time(9), time(17)),) for day in WEEKDAYS}
    made = Doctor(
        id=doctor_id,
        name=f"Dr. {doctor_id.upper()}",
        specialty="GP",
        location="Room 1",
        timezone="America/New_York",
        telehealth=telehealth,
        created_at=NOW,
        telehealth_platform="custom" if telehealth else None,
        availability=Availability(working_hours=hours, max_patients_per_day=max_per_day, appointment_duration=duration),
    )
    at.doctors.add(made)
    return made


def free_times(at: Clinic, doctor_id: str, day: date) -> list[str]:
    """The local start times the day still offers."""
    return [s.local_time for s in at.booking_queries.availability(doctor_id, day, None).slots if s.available]
