"""Contention, throttling and lost responses against DynamoDB Local: a retry or a clean refusal, never half a
booking (DynamoDB Local never raises TransactionConflict itself, so it is injected)."""

from __future__ import annotations

from datetime import time

import pytest

from chalicelib.container import Container
from chalicelib.domain.errors import ServiceBusy
from chalicelib.domain.identity import Caller, Role
from chalicelib.domain.schedule import Availability, WallInterval
from chalicelib.services.booking import ListFilter
from tests.faults import FaultInjector, throttled, transaction_cancelled
from tests.helpers import BOOKING_DAY, booking_request

DAY = BOOKING_DAY  # the day booking_request books
ADMIN = Caller("admin", Role.ADMIN)


@pytest.fixture
def setup(wired: Container):
    hours = {"wednesday": (WallInterval(time(9), time(17)),)}
    doctor_id = wired.doctors.register("Dr. F", "GP", "Room", "America/New_York", False, None, Availability(hours)).id
    wired.sign_in.record(Caller("p1", Role.PATIENT))  # staff book only patients of the directory
    faults = FaultInjector(wired.store)
    yield wired, doctor_id, faults
    faults.close()


def nothing_written(wired: Container, doctor_id: str) -> bool:
    state = wired.store.day_state(doctor_id, DAY)
    listed = wired.booking_queries.list_for_doctor(ADMIN, doctor_id, ListFilter())
    return not state.taken and state.booked == 0 and not listed


def test_a_transaction_conflict_is_retried_and_books_once(setup):
    wired, doctor_id, faults = setup
    faults.fail("TransactWriteItems", transaction_cancelled(10), transaction_cancelled(10))
    made = wired.booking.book(ADMIN, booking_request(doctor_id)).appointment
    assert faults.calls["TransactWriteItems"] == 3
    assert [a.id for a in wired.booking_queries.list_for_doctor(ADMIN, doctor_id, ListFilter())] == [made.id]


def test_throttling_is_retried(setup):
    wired, doctor_id, faults = setup
    faults.fail("TransactWriteItems", throttled())
    wired.booking.book(ADMIN, booking_request(doctor_id))
    assert wired.store.day_state(doctor_id, DAY).booked == 1


def test_persistent_contention_is_service_busy_and_writes_nothing(setup):
    wired, doctor_id, faults = setup
    faults.fail("TransactWriteItems", *[transaction_cancelled(10) for _ in range(10)])
    with pytest.raises(ServiceBusy):
        wired.booking.book(ADMIN, booking_request(doctor_id))
    assert faults.calls["TransactWriteItems"] == 4
    assert nothing_written(wired, doctor_id)


def test_persistent_throttling_on_cancel_leaves_the_appointment_and_its_locks(setup):
    wired, doctor_id, faults = setup
    made = wired.booking.book(ADMIN, booking_request(doctor_id)).appointment
    faults.fail("TransactWriteItems", *[throttled() for _ in range(10)])
    with pytest.raises(ServiceBusy):
        wired.booking.cancel(ADMIN, made.id)
    assert wired.booking_queries.get(ADMIN, made.id).status.value == "scheduled"
    assert len(wired.store.day_state(doctor_id, DAY).taken) == 6


def test_a_lost_response_is_resent_with_the_same_token_and_books_once(setup):
    wired, doctor_id, faults = setup
    faults.lose_response("TransactWriteItems")
    made = wired.booking.book(ADMIN, booking_request(doctor_id)).appointment
    listed = wired.booking_queries.list_for_doctor(ADMIN, doctor_id, ListFilter())
    assert [a.id for a in listed] == [made.id]
    assert wired.store.day_state(doctor_id, DAY).booked == 1
    assert faults.calls["TransactWriteItems"] == 2
