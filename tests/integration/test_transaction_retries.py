"""Retries are not stacked on retries: botocore's standard mode retries throttling and 5xx answers of a
transaction; the commit adds no retry of its own on top once botocore has spent its attempts."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import time
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from botocore.retries.standard import ExponentialBackoff

from chalicelib.adapters.dynamodb.models import RETRY_ATTEMPTS
from chalicelib.container import Container
from chalicelib.domain.errors import ServiceBusy
from chalicelib.domain.identity import Caller, Role
from chalicelib.domain.schedule import Availability, WallInterval
from tests.helpers import BOOKING_DAY, booking_request

DAY = BOOKING_DAY  # a Wednesday after the fixed clock's NOW, the day booking_request books
ADMIN = Caller("admin", Role.ADMIN)


class _Body(io.BytesIO):
    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.read()


class AnsweredBeforeSending:
    """Answers every TransactWriteItems send with a DynamoDB error before it leaves the machine (a botocore
    `before-send` hook), so botocore's retry handler sees the answer as it would DynamoDB's; counts the sends."""

    def __init__(self, clients: list[Any], code: str, status: int) -> None:
        self.sends = 0
        self._clients, self._code, self._status = clients, code, status
        for client in clients:
            client.meta.events.register_first("before-send.dynamodb.TransactWriteItems", self._answer)

    def _answer(self, request: Any, **_: Any) -> AWSResponse:
        self.sends += 1
        body = json.dumps({"__type": f"com.amazonaws.dynamodb.v20120810#{self._code}", "message": self._code})
        headers = {"Content-Type": "application/x-amz-json-1.0"}
        return AWSResponse(request.url, self._status, headers, _Body(body.encode()))

    def close(self) -> None:
        for client in self._clients:
            client.meta.events.unregister("before-send.dynamodb.TransactWriteItems", self._answer)


@pytest.fixture
def doctor_id(wired: Container) -> str:
    hours = {"wednesday": (WallInterval(time(9), time(17)),)}
    made = wired.doctors.register("Dr. T", "GP", "Room", "America/New_York", False, None, Availability(hours))
    wired.sign_in.record(Caller("p1", Role.PATIENT))  # staff book only patients of the directory
    return made.id


@pytest.fixture
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """botocore retries at once: what is counted is how often it sends, not how long it waits in between (up to
    seven seconds of sleep per test otherwise)."""
    monkeypatch.setattr(ExponentialBackoff, "delay_amount", lambda self, context: 0)


@pytest.mark.usefixtures("no_backoff")
@pytest.mark.parametrize(
    ("code", "status"),
    [("ThrottlingException", 400), ("TransactionInProgressException", 400), ("InternalServerError", 500)],
)
def test_an_answer_botocore_retries_is_sent_only_as_often_as_botocore_sends_it(wired, doctor_id, code, status):
    # GIVEN every send of the booking's transaction is answered with an error botocore's standard mode retries
    answers = AnsweredBeforeSending(wired.store.botocore_clients(), code, status)
    try:
        # WHEN staff book THEN the booking is refused as busy, and nothing was written
        with pytest.raises(ServiceBusy):
            wired.booking.book(ADMIN, booking_request(doctor_id))
    finally:
        answers.close()
    # THEN the transaction went out as often as botocore sends one call (no retry of ours stacked on its)
    assert answers.sends == 1 + RETRY_ATTEMPTS
    assert wired.store.day_state(doctor_id, DAY).booked == 0
