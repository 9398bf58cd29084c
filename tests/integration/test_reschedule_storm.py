"""Racing reschedules of one appointment against DynamoDB Local: whatever the interleaving of their commits and
follow-ups, every pending reminder ends planned for the appointment's final time."""

from __future__ import annotations

import itertools
import random
import threading
import time as time_module
from concurrent.futures import ThreadPoolExecutor
from datetime import date, time, timedelta

import pytest

from chalicelib import container
from chalicelib.container import Container
from chalicelib.domain.appointments import AppointmentType
from chalicelib.domain.errors import DomainError
from chalicelib.domain.identity import Caller, Role
from chalicelib.domain.reminders import TIMINGS, ReminderPreferences, ReminderStatus
from chalicelib.domain.schedule import Availability, WallInterval
from chalicelib.services.booking import BookingRequest
from tests.helpers import VERIFIED_PATIENT


class SlowScheduler:
    """Schedules that take a while (a network call each): follow-ups of racing reschedules overlap."""

    def __init__(self, seed: int) -> None:
        self._random = random.Random(seed)

    def ensure(self, reminder) -> None:
        time_module.sleep(self._random.random() * 0.05)

    def delete(self, reminder) -> None:
        time_module.sleep(self._random.random() * 0.05)


class ReversedFollowUps:
    """A botocore hook between each reschedule's commit and its reminder moves (the follow-up's query of the
    reminders). A follow-up waits until the reschedule of the next commit has returned; the newest goes once no
    other reschedule is under way (every racer is held or done). So follow-ups run newest first and those of
    older versions land after newer ones: the interleaving where the last writer would win with a stale plan."""

    def __init__(self, clients: list, racers: int, reminders_table: str, patience: float = 10.0) -> None:
        self._reminders_table = reminders_table
        self._order = itertools.count()
        self._lock = threading.Lock()
        self._done: dict[int, threading.Event] = {}
        self._mine = threading.local()
        self._newest = -1
        self._running = racers  # reschedules under way and not held
        self.patience = patience
        self.held = 0
        self._clients = clients
        for client in clients:
            client.meta.events.register("before-parameter-build.dynamodb.Query", self._hold)

    def close(self) -> None:
        for client in self._clients:
            client.meta.events.unregister("before-parameter-build.dynamodb.Query", self._hold)

    def _event(self, index: int) -> threading.Event:
        with self._lock:
            return self._done.setdefault(index, threading.Event())

    def _hold(self, params, **_) -> None:
        if params.get("TableName") != self._reminders_table:
            return
        with self._lock:
            index = self._newest = next(self._order)
            self.held += 1
            self._running -= 1
        self._mine.index = index
        successor, given_up = self._event(index + 1), time_module.monotonic() + self.patience
        while not successor.wait(0.02) and time_module.monotonic() < given_up:
            with self._lock:
                if self._newest == index and self._running == 0:
                    break
        with self._lock:
            self._running += 1

    def finished(self) -> None:
        """A reschedule's thread is done: the follow-up of the commit before its own may go."""
        with self._lock:
            self._running -= 1
        index = getattr(self._mine, "index", None)
        if index is not None:
            self._event(index).set()
            del self._mine.index


PATIENT = VERIFIED_PATIENT
ADMIN = Caller("admin", Role.ADMIN)
DAYS = [date(2027, 3, d) for d in (2, 3, 4)]  # Tuesday to Thursday, far from the fixed clock's "now"
TIMES = [time(h) for h in (9, 10, 11, 13, 14, 15, 16)]


@pytest.fixture
def adapters() -> container.Adapters:
    """The container's reminder schedules take a while, so the follow-ups of racing reschedules overlap."""
    return container.Adapters(scheduler=SlowScheduler(7))


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
            reminder_preferences=ReminderPreferences.of_stored({"email": True, "sms": True, "timings": ["24h", "2h"]}),
        ),
    ).appointment
    moves = [(n, random.Random(n).choice(DAYS), random.Random(n + 100).choice(TIMES)) for n in range(24)]
    late = ReversedFollowUps(
        wired.store.botocore_clients(),  # type: ignore[attr-defined]
        racers=len(moves),
        reminders_table=wired.settings.reminders_table,
    )

    def move(n: int, day: date, at: time) -> str:
        time_module.sleep(n * 0.1)  # staggered: each commit follows the one before by a little
        try:
            wired.booking.reschedule(ADMIN, appointment.id, day, at)
            return "moved"
        except DomainError as exc:  # a concurrent reschedule won (409) or the store stayed busy (503)
            return type(exc).__name__
        finally:
            late.finished()

    # WHEN 24 staggered reschedules race, and the follow-ups of older commits land last
    with ThreadPoolExecutor(max_workers=len(moves)) as pool:
        outcomes = list(pool.map(lambda m: move(*m), moves))
    late.close()
    assert outcomes.count("moved") >= 2, outcomes  # at least two commits whose follow-ups raced
    assert late.held == outcomes.count("moved")
    # THEN every pending reminder is planned for the final time, and none is left behind at an earlier one
    final = wired.booking_queries.get(ADMIN, appointment.id)
    reminders = wired.reminders.for_appointment(ADMIN, appointment.id)
    assert len(reminders) == 4
    for reminder in reminders:
        assert reminder.status is ReminderStatus.PENDING, reminder
        assert reminder.for_start == final.starts_at, (reminder.id, reminder.for_start, final.starts_at)
        assert reminder.scheduled_time == final.starts_at - TIMINGS[reminder.timing or ""]
    assert final.starts_at - timedelta(hours=24) > wired.clock.now()
