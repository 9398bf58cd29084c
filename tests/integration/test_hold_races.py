"""Slot holds under real threads on DynamoDB Local: one hold per time, a hold booked as it lapses, a hold racing a
booking, and no lock item left behind once holds lapse and the sweep has run (read from the schedule table)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, time, timedelta
from typing import Any

from chalicelib import container
from chalicelib.adapters.dynamodb import keys
from chalicelib.adapters.dynamodb.models import bind
from chalicelib.config import Settings
from chalicelib.container import Container
from chalicelib.domain.appointments import AppointmentType, Status
from chalicelib.domain.errors import DomainError, NotFound
from chalicelib.domain.identity import Caller, Role
from chalicelib.services.booking import HoldBooking, HoldRequest
from tests.helpers import BOOKING_DAY, NOW, FixedClock, booking_request
from tests.integration.test_concurrency import ADMIN, doctor, known

DAY = BOOKING_DAY
EXPIRY = NOW + timedelta(minutes=5)


def hold_request(doc: str, at: time, patient: str) -> HoldRequest:
    return HoldRequest(doc, DAY, at, AppointmentType.IN_PERSON, patient_id=patient)


def outcome(action: Any) -> str:
    try:
        action()
    except DomainError as exc:
        return type(exc).__name__
    return "done"


def schedule_items(settings: Settings, pk: str) -> list[Any]:
    """Every item of one schedule-table partition, read straight from the table."""
    return list(bind(settings).schedule.query(pk, consistent_read=True))


def test_fifty_threads_holding_the_same_slot_give_exactly_one_hold(wired: Container):
    doc = doctor(wired)
    known(wired, *(f"p{i}" for i in range(50)))

    # WHEN fifty patients' holds of 10:00 race
    def attempt(i: int) -> str:
        return outcome(lambda: wired.booking.hold(ADMIN, hold_request(doc, time(10), f"p{i}")))

    with ThreadPoolExecutor(max_workers=50) as pool:
        outcomes = list(pool.map(attempt, range(50)))
    # THEN exactly one holds it, the others are told it is taken, and the day counts one
    assert (outcomes.count("done"), outcomes.count("SlotUnavailable")) == (1, 49)
    holds = wired.booking_queries.holds_of_day(ADMIN, doc, DAY)
    assert len(holds) == 1 and wired.store.day_state(doc, DAY).booked == 1
    assert wired.booking_queries.availability(doc, DAY, None).slots[2].available is False  # 10:00


def test_a_hold_and_a_booking_racing_for_a_time_give_exactly_one(wired: Container):
    doc = doctor(wired)
    known(wired, "holder", "booker")
    # WHEN, for each of eight times, a hold and a booking of it race
    for hour in range(9, 17):
        at = time(hour)

        def holding(at: time = at) -> str:
            return outcome(lambda: wired.booking.hold(ADMIN, hold_request(doc, at, "holder")))

        def booking(at: time = at) -> str:
            return outcome(lambda: wired.booking.book(ADMIN, booking_request(doc, at, patient_id="booker")).appointment)

        with ThreadPoolExecutor(max_workers=2) as pool:
            results = [f.result() for f in (pool.submit(holding), pool.submit(booking))]
        # THEN exactly one of them has the time
        assert sorted(results) == ["SlotUnavailable", "done"], (at, results)
    held = len(wired.booking_queries.holds_of_day(ADMIN, doc, DAY))
    booked = [a for a in wired.store.list_for_doctor(doc, NOW, NOW + timedelta(days=3)) if a.status is Status.SCHEDULED]
    assert held + len(booked) == 8 == wired.store.day_state(doc, DAY).booked


def test_a_hold_booked_by_its_owner_as_it_expires_is_booked_or_lapsed_never_both(
    settings: Settings, wired: Container, clock: FixedClock
):
    doc = doctor(wired)
    known(wired, *(f"p{i}" for i in range(8)))
    # GIVEN a sweep whose clock has reached the holds' expiry, beside the owners' clock a second before it
    sweeping = container.build(settings, clock=FixedClock(EXPIRY))
    holds = [wired.booking.hold(ADMIN, hold_request(doc, time(9 + i), f"p{i}")) for i in range(8)]
    clock.current = EXPIRY - timedelta(seconds=1)

    # WHEN each owner books its hold while the sweep lapses every expired hold
    def booking(hold_id: str) -> str:
        return outcome(lambda: wired.booking.book_hold(ADMIN, HoldBooking(hold_id, reason="r")).appointment)

    with ThreadPoolExecutor(max_workers=9) as pool:
        bookings = [pool.submit(booking, h.id) for h in holds]
        lapsed = pool.submit(sweeping.booking.release_expired_holds).result()
        results = [b.result() for b in bookings]
    # THEN each hold was either booked (and kept) or lapsed (and its booking refused), never both
    assert set(results) <= {"done", "InvalidState", "NotFound"}
    assert results.count("done") + lapsed == 8
    for h, result in zip(holds, results, strict=True):
        kept = wired.store.get(h.id)
        assert (kept is not None and kept.status is Status.SCHEDULED) == (result == "done"), (h.id, result)
    # AND the day holds exactly the booked visits' locks and count, and no hold is left
    state = wired.store.day_state(doc, DAY)
    booked = [h for h, r in zip(holds, results, strict=True) if r == "done"]
    assert state.booked == len(booked) and state.holds == ()
    assert len(state.taken) == 6 * len(booked)  # six 5-minute granules a 30-minute visit
    assert schedule_items(settings, keys.HOLDS_PK) == []


def test_no_lock_is_left_behind_once_holds_lapse_and_the_sweep_runs(
    settings: Settings, wired: Container, clock: FixedClock
):
    doc = doctor(wired)
    known(wired, *(f"p{i}" for i in range(6)))
    assert wired.booking_queries.policy.hold_duration == EXPIRY - NOW
    # GIVEN six holds of different lengths and offsets (whole and shared lock blocks), one released early
    for i, (at, minutes) in enumerate([(time(9), 30), (time(9, 45), 45), (time(11), 60), (time(13), 120)]):
        wired.booking.hold(ADMIN, HoldRequest(doc, DAY, at, AppointmentType.IN_PERSON, f"p{i}", duration=minutes))
    early = wired.booking.hold(Caller("p4", Role.PATIENT), hold_request(doc, time(15), "p4"))
    wired.booking.release_hold(Caller("p4", Role.PATIENT), early.id)
    assert len(schedule_items(settings, keys.doctor_day_pk(doc, DAY))) > 10
    # WHEN the clock passes their expiry and the sweep runs
    clock.current = EXPIRY
    assert wired.booking.release_expired_holds() == 4
    # THEN nothing in the doctor-day is held by anyone: no lock owner, no sharer, no hold item, counts at zero
    # (a shared block's item and a patient's day count stay as empty items, as after a cancelled visit)
    left = schedule_items(settings, keys.doctor_day_pk(doc, DAY))
    assert [i.sk for i in left if i.appointment_id or i.sharers or i.sk.startswith(keys.HOLD_PREFIX)] == []
    assert [i.sk for i in left if i.sk.startswith(keys.SLOT_PREFIX)] == []
    assert {(i.sk, int(i.booked or 0)) for i in left if i.booked is not None} <= {
        (keys.COUNTER_SK, 0),
        *((keys.patient_on_day_sk(f"p{i}"), 0) for i in range(5)),
    }
    utc_day = datetime(2026, 12, 2, tzinfo=UTC)  # the UTC date of every visit held (New York daytime)
    for i in range(5):
        assert [item.sk for item in schedule_items(settings, keys.patient_active_pk(f"p{i}")) if item.active] == []
        kept = schedule_items(settings, keys.patient_day_pk(f"p{i}", utc_day))
        assert [item.sk for item in kept if item.appointment_id or item.sharers] == []
    assert schedule_items(settings, keys.HOLDS_PK) == []
    # AND the lapsed holds are gone for good: reading or booking one is 404, a second sweep finds nothing
    assert wired.booking.release_expired_holds() == 0
    gone = outcome(lambda: wired.booking_queries.get_hold(ADMIN, early.id))
    assert gone == NotFound.__name__
    assert wired.booking_queries.availability(doc, DAY, None).slots[0].available is True
    assert (
        outcome(lambda: wired.booking.book(ADMIN, booking_request(doc, time(9), patient_id="p5")).appointment) == "done"
    )
