"""Racing reschedules of one appointment against DynamoDB Local: whatever the interleaving of their commits and
follow-ups, every pending reminder ends planned for the appointment's final time."""

from __future__ import annotations

import random
import time as time_module
from concurrent.futures import ThreadPoolExecutor
from datetime import date, time, timedelta

from chalicelib.container import Container
from chalicelib.domain.appointments import AppointmentType
from chalicelib.domain.errors import DomainError
from chalicelib.domain.identity import Caller, Role
from chalicelib.domain.reminders import TIMINGS, ReminderStatus
from chalicelib.domain.schedule import Availability, WallInterval
from chalicelib.services.booking import BookingRequest


class SlowScheduler:
    """Schedules that take a while (a network call each): follow-ups of racing reschedules overlap."""

    def __init__(self, seed: int) -> None:
        self._random = random.Random(seed)

    def ensure(self, reminder) -> None:
        time_module.sleep(self._random.random() * 0.05)

    def delete(self, reminder) -> None:
        time_module.sleep(self._random.random() * 0.05)


PATIENT = Caller(
    "p1",
    Role.PATIENT,
    name="Pat",
    email="pat@example.org",
    phone="+16175550123",
    email_verified=True,
    phone_verified=True,
)
ADMIN = Caller("admin", Role.ADMIN)
DAYS = [date(2027, 3, d) for d in (2, 3, 4)]  # Tuesday to Thursday, far from the fixed clock's "now"
TIMES = [time(h) for h in (9, 10, 11, 13, 14, 15, 16)]


def test_a_storm_of_reschedules_leaves_every_pending_reminder_at_the_final_time(wired: Container):
    # GIVEN an appointment with e-mail and SMS reminders at 24 and 2 hours
    hours = {d: (WallInterval(time(8), time(18)),) for d in ("tuesday", "wednesday", "thursday")}
    doc = wired.doctors.register("Dr. S", "GP", "Room", "America/New_York", False, None, Availability(hours)).id
    appointment = wired.booking.book(
        PATIENT,
        BookingRequest(
            doc,
            DAYS[0],
            time(12),
            AppointmentType.IN_PERSON,
            "r",
            reminder_preferences={"email": True, "sms": True, "timings": ["24h", "2h"]},
        ),
    )
    wired.reminders._scheduler = SlowScheduler(7)
    moves = [(random.Random(n).choice(DAYS), random.Random(n + 100).choice(TIMES)) for n in range(24)]

    def move(target: tuple[date, time]) -> str:
        try:
            wired.booking.reschedule(ADMIN, appointment.id, *target)
            return "moved"
        except DomainError as exc:  # a concurrent reschedule won (409) or the store stayed busy (503)
            return type(exc).__name__

    # WHEN six reschedules at a time race, in four waves
    with ThreadPoolExecutor(max_workers=6) as pool:
        outcomes = list(pool.map(move, moves))
    assert "moved" in outcomes
    # THEN every pending reminder is planned for the final time, and none is left behind at an earlier one
    final = wired.booking.get(ADMIN, appointment.id)
    reminders = wired.reminders.for_appointment(ADMIN, appointment.id)
    assert len(reminders) == 4
    for reminder in reminders:
        assert reminder.status is ReminderStatus.PENDING, reminder
        assert reminder.for_start == final.starts_at, (reminder.id, reminder.for_start, final.starts_at)
        assert reminder.scheduled_time == final.starts_at - TIMINGS[reminder.timing or ""]
    assert final.starts_at - timedelta(hours=24) > wired.clock.now()
