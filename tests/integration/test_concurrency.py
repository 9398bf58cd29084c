"""DynamoDB Local decides every race: conditional lock items in one transaction, under real threads."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import time, timedelta
from itertools import combinations

import pytest

from chalicelib.adapters.dynamodb.appointments import DynamoAppointmentStore
from chalicelib.adapters.dynamodb.models import bind
from chalicelib.container import Container
from chalicelib.domain.errors import Conflict, SlotUnavailable
from chalicelib.domain.identity import Caller, Role
from chalicelib.domain.schedule import Availability, WallInterval, overlaps
from chalicelib.services.booking import ListFilter
from tests.helpers import BOOKING_DAY, booking_outcome, booking_request

DAY = BOOKING_DAY  # the day booking_request books
ADMIN = Caller("admin", Role.ADMIN)


def doctor(wired: Container, max_per_day: int = 500, end: time = time(17)) -> str:
    hours = {d: (WallInterval(time(9), end),) for d in ("monday", "tuesday", "wednesday", "thursday", "friday")}
    av = Availability(working_hours=hours, max_patients_per_day=max_per_day, appointment_duration=30)
    return wired.doctors.register("Dr. Race", "GP", "Room 1", "America/New_York", False, None, av).id


def known(wired: Container, *patient_ids: str) -> None:
    """Staff book only patients of the directory: each signs in once."""
    for patient_id in patient_ids:
        wired.sign_in.record(Caller(patient_id, Role.PATIENT))


def active(wired: Container, doctor_id: str):
    return [a for a in wired.booking_queries.list_for_doctor(ADMIN, doctor_id, ListFilter()) if a.active]


def assert_no_overlap(appointments) -> None:
    for a, b in combinations(appointments, 2):
        assert not overlaps((a.starts_at, a.ends_at), (b.starts_at, b.ends_at)), (a, b)


def until_settled(settled: threading.Event, attempt: Callable[[], object]) -> str:
    """Tries `attempt` until it books, or until the change it races has settled and one more try after that failed:
    "booked" or "never". A time that change freed is bookable once it has settled, so "never" means it was not."""
    while True:
        after = settled.is_set()
        try:
            attempt()
            return "booked"
        except (SlotUnavailable, Conflict):
            if after:
                return "never"


def test_fifty_threads_booking_the_same_slot_give_exactly_one_booking(wired: Container):
    doc = doctor(wired)
    known(wired, *(f"p{i}" for i in range(50)))

    def attempt(i: int) -> str:
        try:
            wired.booking.book(ADMIN, booking_request(doc, time(10), patient_id=f"p{i}"))
            return "booked"
        except SlotUnavailable:
            return "slot-unavailable"

    with ThreadPoolExecutor(max_workers=50) as pool:
        outcomes = list(pool.map(attempt, range(50)))
    assert outcomes.count("booked") == 1
    assert outcomes.count("slot-unavailable") == 49
    assert len(active(wired, doc)) == 1
    assert wired.booking_queries.availability(doc, DAY, None).slots[2].available is False  # 10:00


def offered_wish(rng: random.Random) -> tuple[time, int]:
    """A start the day offers for a random length: 09:00 plus a whole number of visits of that length."""
    duration = rng.choice([15, 20, 30, 45, 60])
    minutes = 9 * 60 + rng.randrange(8 * 60 // duration) * duration
    return time(minutes // 60, minutes % 60), duration


def test_three_hundred_random_bookings_leave_no_overlapping_pair(wired: Container):
    doc = doctor(wired)
    rng = random.Random(7)
    wishes = [offered_wish(rng) for _ in range(300)]  # lengths that do not divide each other: starts interleave
    known(wired, *(f"p{i}" for i in range(300)))

    def attempt(i: int) -> str:
        at, duration = wishes[i]
        return booking_outcome(wired.booking, ADMIN, booking_request(doc, at, duration=duration, patient_id=f"p{i}"))

    with ThreadPoolExecutor(max_workers=16) as pool:
        outcomes = list(pool.map(attempt, range(300)))
    booked = active(wired, doc)
    assert outcomes.count("booked") == len(booked) > 5
    assert set(outcomes) <= {"booked", "SlotUnavailable", "OutsideWorkingHours"}
    assert_no_overlap(booked)
    # the counter and the locks agree with what is booked
    state = DynamoAppointmentStore(wired.settings, bind(wired.settings)).day_state(doc, DAY)
    assert state.booked == len(booked)
    assert len(state.taken) == sum(a.duration for a in booked) // 5


def test_cancel_racing_a_booking_for_the_freed_time(wired: Container):
    doc = doctor(wired)
    known(wired, *(f"{side}{n}" for side in "ab" for n in range(10)))
    for round_ in range(10):
        at = time(9 + round_ % 8, 30 if round_ >= 8 else 0)
        first = wired.booking.book(ADMIN, booking_request(doc, at, patient_id=f"a{round_}")).appointment

        cancelled = threading.Event()

        def cancel(first=first, cancelled=cancelled) -> str:
            try:
                wired.booking.cancel(ADMIN, first.id)
            finally:
                cancelled.set()
            return "cancelled"

        def book_freed(at=at, round_=round_, cancelled=cancelled) -> str:
            return until_settled(
                cancelled,
                lambda: wired.booking.book(ADMIN, booking_request(doc, at, patient_id=f"b{round_}")).appointment,
            )

        with ThreadPoolExecutor(max_workers=2) as pool:
            results = [f.result() for f in (pool.submit(book_freed), pool.submit(cancel))]
        # THEN the freed time is booked by the one racing for it: before the cancel ended, or right after
        assert results == ["booked", "cancelled"]
        mine = [a for a in active(wired, doc) if a.time == at.strftime("%H:%M")]
        assert [a.patient_id for a in mine] == [f"b{round_}"]
    assert_no_overlap(active(wired, doc))


def test_reschedule_racing_bookings_for_both_times(wired: Container):
    doc = doctor(wired)
    known(wired, "mover", "old-time", "new-time")
    moving = wired.booking.book(ADMIN, booking_request(doc, time(10), patient_id="mover")).appointment

    rescheduled = threading.Event()

    def reschedule() -> str:
        try:
            wired.booking.reschedule(ADMIN, moving.id, DAY, time(11))
            return "moved"
        except SlotUnavailable:
            return "stayed"
        finally:
            rescheduled.set()

    def book(at: time, who: str) -> str:
        return until_settled(
            rescheduled, lambda: wired.booking.book(ADMIN, booking_request(doc, at, patient_id=who)).appointment
        )

    with ThreadPoolExecutor(max_workers=3) as pool:
        futures = [
            pool.submit(reschedule),
            pool.submit(book, time(10), "old-time"),
            pool.submit(book, time(11), "new-time"),
        ]
        moved, old_time, new_time = (f.result() for f in futures)
    final = active(wired, doc)
    assert_no_overlap(final)
    mover = next(a for a in final if a.patient_id == "mover")
    assert mover.time == ("11:00" if moved == "moved" else "10:00")
    # AND the time the race left free was booked by the one who waited for it: 10:00 if the visit moved, else 11:00
    assert (old_time, new_time) == (("booked", "never") if moved == "moved" else ("never", "booked"))
    state = DynamoAppointmentStore(wired.settings, bind(wired.settings)).day_state(doc, DAY)
    assert len(state.taken) == sum(a.duration for a in final) // 5 and state.booked == len(final)


@pytest.mark.parametrize("limit", [3])
def test_daily_limit_holds_under_concurrency(wired: Container, limit: int):
    doc = doctor(wired, max_per_day=limit)
    known(wired, *(f"p{i}" for i in range(12)))

    def attempt(i: int) -> str:
        return booking_outcome(
            wired.booking, ADMIN, booking_request(doc, time(9 + i // 2, 30 * (i % 2)), patient_id=f"p{i}")
        )

    with ThreadPoolExecutor(max_workers=12) as pool:
        outcomes = list(pool.map(attempt, range(12)))
    assert outcomes.count("booked") == limit
    assert set(outcomes) == {"booked", "DailyLimitReached"}
    assert len(active(wired, doc)) == limit


def test_lock_granules_cover_exactly_the_booked_minutes(wired: Container):
    doc = doctor(wired)
    known(wired, "x")
    a = wired.booking.book(ADMIN, booking_request(doc, time(9, 45), duration=45, patient_id="x")).appointment
    state = DynamoAppointmentStore(wired.settings, bind(wired.settings)).day_state(doc, DAY)
    assert min(state.taken) == a.starts_at and max(state.taken) == a.ends_at - timedelta(minutes=5)
