"""Idempotency-Key on booking, and faults surfacing as the contract's errors (never a 500)."""

from __future__ import annotations

import pytest

from tests.faults import FaultInjector, throttled, transaction_cancelled
from tests.helpers import admin, patient

DAY = "2026-12-02"


@pytest.fixture
def doc(api):
    return api.doctor_with_hours()


def test_same_key_same_body_returns_the_first_answer_and_books_once(api, doc):
    key = {"Idempotency-Key": "k-1"}
    first = api.try_book(doc, {**patient(), **key})
    again = api.try_book(doc, {**patient(), **key})
    assert first.status_code == again.status_code == 201
    assert again.data == first.data
    assert len(api.appointments_of(doc)) == 1


def test_same_key_other_body_is_a_conflict(api, doc):
    key = {"Idempotency-Key": "k-2"}
    assert api.try_book(doc, {**patient(), **key}).status_code == 201
    other = api.try_book(doc, {**patient(), **key}, time="11:00")
    assert (other.status_code, other.data["error"]["code"]) == (409, "CONFLICT")
    assert len(api.appointments_of(doc)) == 1


def test_keys_are_scoped_per_caller(api, doc):
    key = {"Idempotency-Key": "shared"}
    mine = api.try_book(doc, {**patient(), **key})
    theirs = api.try_book(doc, {**patient("p2"), **key}, time="11:00")
    assert mine.status_code == theirs.status_code == 201
    assert mine.data["id"] != theirs.data["id"]


def test_a_keyed_answer_is_serialized_once_for_its_record_and_its_response(api, doc, monkeypatch):
    # GIVEN a count of the appointment answers turned into JSON
    from chalicelib.api.schemas import AppointmentOut

    made: list[str] = []
    to_json = AppointmentOut.to_json

    def counted(self: AppointmentOut) -> dict:
        made.append(self.id)
        return to_json(self)

    monkeypatch.setattr(AppointmentOut, "to_json", counted)
    key = {"Idempotency-Key": "once"}
    # WHEN a keyed booking is made THEN its answer is serialized once: the record's JSON is the response's
    first = api.try_book(doc, {**patient(), **key})
    assert first.status_code == 201 and made == [first.data["id"]]
    # WHEN it is retried THEN the stored JSON is answered as it is
    again = api.try_book(doc, {**patient(), **key})
    assert (again.status_code, again.data) == (201, first.data) and made == [first.data["id"]]


def test_a_failed_first_attempt_is_not_remembered(api, doc):
    key = {"Idempotency-Key": "k-3"}
    api.try_book(doc, patient("p0"))  # someone else takes 10:00
    refused = api.try_book(doc, {**patient(), **key})
    assert refused.status_code == 409
    api.call("DELETE", f"/api/appointments/{api.appointments_of(doc)[0]['id']}", admin())
    retried = api.try_book(doc, {**patient(), **key})
    assert retried.status_code == 201


@pytest.mark.parametrize("key", ["", "x" * 129, "bad\u0007key"])
def test_invalid_keys_are_refused(api, doc, key):
    refused = api.try_book(doc, {**patient(), "Idempotency-Key": key})
    assert refused.status_code == 400 and "Idempotency-Key" in refused.data["error"]["details"]["fields"]


@pytest.fixture
def faults(wired):
    injector = FaultInjector(wired.store)
    yield injector
    injector.close()


def test_persistent_contention_is_503_with_retry_after_and_nothing_written(api, doc, faults):
    faults.fail("TransactWriteItems", *[transaction_cancelled(10) for _ in range(10)])
    busy = api.try_book(doc)
    assert (busy.status_code, busy.data["error"]["code"]) == (503, "SERVICE_UNAVAILABLE")
    assert busy.headers["Retry-After"] == "1"
    assert api.appointments_of(doc) == []
    slots = api.call("GET", f"/api/appointments/availability/{doc['id']}/{DAY}", patient()).data["slots"]
    assert all(s["available"] for s in slots if s["time"] == "10:00")


def test_a_conflict_once_is_retried_transparently(api, doc, faults):
    faults.fail("TransactWriteItems", transaction_cancelled(10))
    assert api.try_book(doc).status_code == 201
    assert len(api.appointments_of(doc)) == 1


def test_throttled_reads_are_503_not_500(api, doc, faults):
    faults.fail("Query", throttled())
    busy = api.call("GET", f"/api/appointments/availability/{doc['id']}/{DAY}", patient())
    assert (busy.status_code, busy.data["error"]["code"]) == (503, "SERVICE_UNAVAILABLE")
