"""A hung DynamoDB (DynamoDB Local frozen with SIGSTOP: it accepts connections and never answers): every request
answers 503 with `Retry-After` after its first unanswered call (bounded connect and read timeouts and retries;
tests/unit/test_dynamodb_bounds.py shows the deployed bounds keep that well within API Gateway's 29 s); and a
change that committed before DynamoDB hung is still answered as done.

Here the timeouts are a tenth of the deployed ones: the behaviour is the same, and the module waits about 3 s on
the frozen DynamoDB instead of 30."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import time as wall
from typing import Any

import pytest
from chalice.test import Client

from chalicelib.adapters import aws
from chalicelib.adapters.dynamodb import models
from chalicelib.container import Container
from chalicelib.domain.identity import Caller, Role
from chalicelib.domain.schedule import Availability, WallInterval
from infra.local.dynamodb_local import DynamoDBLocal
from tests.helpers import BOOKING_DAY, admin, booking_request, patient

DAY = BOOKING_DAY.isoformat()


@contextmanager
def frozen(ddb: DynamoDBLocal) -> Iterator[None]:
    """DynamoDB Local stopped (SIGSTOP) for the block: the kernel still accepts its connections, nothing answers."""
    assert ddb.process is not None
    os.kill(ddb.process.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(ddb.process.pid, signal.SIGCONT)


@pytest.fixture(autouse=True)
def short_timeouts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Before the store is bound (`wired`): pynamodb's models and our DynamoDB clients take these."""
    monkeypatch.setattr(aws, "DYNAMODB_CONNECT_TIMEOUT", 0.1)
    monkeypatch.setattr(aws, "DYNAMODB_READ_TIMEOUT", 0.2)
    monkeypatch.setattr(models, "TIMEOUTS", {"connect_timeout_seconds": 0.1, "read_timeout_seconds": 0.2})


@pytest.fixture
def clinic(wired: Container) -> Iterator[tuple[Client, str, str]]:
    """A doctor with hours, patient p1 signed in, and one visit of p1 booked; chalice's test client on the app."""
    from app import app

    hours = {"wednesday": (WallInterval(wall(9), wall(17)),)}
    doctor = wired.doctors.register("Dr. H", "GP", "Room 1", "America/New_York", False, None, Availability(hours))
    wired.sign_in.record(Caller("p1", Role.PATIENT))
    visit = wired.booking.book(Caller("admin", Role.ADMIN), booking_request(doctor.id)).appointment
    with Client(app) as client:
        yield client, doctor.id, visit.id


def timed(client: Client, method: str, path: str, headers: dict[str, str], body: str | None = None) -> Any:
    started = time.monotonic()
    answer = getattr(client.http, method.lower())(
        path, headers={**headers, "Content-Type": "application/json"}, **({"body": body} if body is not None else {})
    )
    print(f"{method} {path}: {answer.status_code} after {time.monotonic() - started:.1f} s")
    return answer


def test_every_request_answers_503_with_retry_after_while_dynamodb_hangs(dynamodb_local, clinic):
    client, doctor_id, visit_id = clinic
    me = patient("p1")
    booking = json.dumps({"doctorId": doctor_id, "date": DAY, "time": "11:00", "type": "in-person", "reason": "x"})
    move = json.dumps({"date": DAY, "time": "12:00"})
    requests = [
        ("GET", f"/api/appointments/{visit_id}", me, None),
        ("GET", f"/api/appointments/availability/{doctor_id}/{DAY}", me, None),
        ("GET", "/api/appointments/patient/p1", me, None),
        ("POST", "/api/appointments", {**me, "Idempotency-Key": "hung-1"}, booking),
        ("PUT", f"/api/appointments/{visit_id}/reschedule", admin(), move),
        ("DELETE", f"/api/appointments/{visit_id}", admin(), None),
        ("GET", f"/api/reminders/appointment/{visit_id}", me, None),
    ]
    # GIVEN DynamoDB hung WHEN each kind of request comes
    with frozen(dynamodb_local):
        answers = [timed(client, *request) for request in requests]
    # THEN each is 503 SERVICE_UNAVAILABLE with Retry-After (not a 500, not a wait for API Gateway's timeout)
    for answer in answers:
        assert answer.status_code == 503, answer.body
        assert answer.headers.get("Retry-After") == "1"
    # AND once DynamoDB answers again, nothing was changed by them
    again = client.http.get(f"/api/appointments/{visit_id}", headers=me)
    assert again.status_code == 200 and b'"status":"scheduled"' in again.body.replace(b" ", b"")


def test_a_change_that_committed_before_dynamodb_hung_is_answered_as_done(dynamodb_local, clinic, wired):
    client, _, visit_id = clinic
    # GIVEN DynamoDB that hangs right after it committed the reschedule's transaction (its follow-ups, the
    # reminders and the idempotency record, then find it hung)
    assert dynamodb_local.process is not None
    pid = dynamodb_local.process.pid
    stopped: list[int] = []

    def hang_after_commit(http_response, **_):
        if http_response.status_code == 200 and not stopped:
            os.kill(pid, signal.SIGSTOP)
            stopped.append(pid)

    clients = wired.store.botocore_clients()
    for c in clients:
        c.meta.events.register("after-call.dynamodb.TransactWriteItems", hang_after_commit)
    try:
        # WHEN the visit is rescheduled
        moved = timed(
            client,
            "PUT",
            f"/api/appointments/{visit_id}/reschedule",
            {**admin(), "Idempotency-Key": "hung-2"},
            json.dumps({"date": DAY, "time": "12:00"}),
        )
    finally:
        for c in clients:
            c.meta.events.unregister("after-call.dynamodb.TransactWriteItems", hang_after_commit)
        if stopped:
            os.kill(pid, signal.SIGCONT)
    # THEN the answer is the committed change (its follow-ups are logged and left to the sweep)
    assert stopped and moved.status_code == 200, moved.body
    assert wired.store.get(visit_id).time == "12:00"
