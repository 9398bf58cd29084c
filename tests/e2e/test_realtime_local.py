"""Locally, two WebSocket clients follow a doctor-day; a third party books over HTTP and both see the slot go;
a cancel frees it for both. The server is `make run`'s own (chalice local, DynamoDB Local and its stream)."""

from __future__ import annotations

import json
import time
from contextlib import ExitStack

import pytest
import requests
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from infra.local.tokens import demo_tokens
from tests.e2e.days import free_slots
from tests.e2e.patients import new_patient

TOKENS = demo_tokens()
# The clients send no keepalive pings (`ping_interval=None`): websockets' keepalive thread joins the receiving thread
# with a timeout while `close()` joins it too, and two threads joining one thread can fail on Python 3.11 ("release
# unlocked lock" in `Thread.join`, seen once under libfaketime). A test's connection lives seconds: no keepalive.


def headers(role: str) -> dict[str, str]:
    return {"Authorization": TOKENS[role], "Content-Type": "application/json"}


def free_slot(base: str) -> tuple[str, str]:
    day, times = free_slots(base, TOKENS["patient"], "dr-bo-lee")
    return day, times[0]


def follow(stack: ExitStack, dev_server, role: str, day: str):
    ticket = requests.post(f"{dev_server.base}/api/realtime/ticket", headers=headers(role), timeout=10).json()
    assert ticket["url"].startswith(dev_server.ws)
    socket = stack.enter_context(
        connect(f"{dev_server.ws}/?ticket={ticket['ticket']}", open_timeout=10, ping_interval=None)
    )
    socket.send(json.dumps({"action": "subscribe", "doctorId": "dr-bo-lee", "date": day}))
    snapshot = json.loads(socket.recv(timeout=10))
    assert snapshot["type"] == "slots" and snapshot["date"] == day
    return socket, snapshot


def next_update(socket, at: str, available: bool, within: float = 15) -> dict:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        message = json.loads(socket.recv(timeout=max(0.1, deadline - time.monotonic())))
        slots = {s["time"]: s["available"] for s in message.get("slots", [])}
        if slots.get(at) is available:
            return message
    raise AssertionError(f"no update showing {at} available={available}")


def test_two_followers_see_a_booking_and_a_cancel(dev_server):
    day, at = free_slot(dev_server.base)
    booker = new_patient("Sam Example")
    stack = ExitStack()
    first, snapshot = follow(stack, dev_server, "patient", day)
    second, _ = follow(stack, dev_server, "doctor", day)
    assert {s["time"]: s["available"] for s in snapshot["slots"]}[at] is True
    booked = requests.post(
        f"{dev_server.base}/api/appointments",
        headers=booker.headers,
        timeout=10,
        json={"doctorId": "dr-bo-lee", "date": day, "time": at, "type": "in-person", "reason": "rash"},
    )
    assert booked.status_code == 201, booked.text
    seen = [next_update(socket, at, available=False) for socket in (first, second)]
    assert seen[0]["version"] == seen[1]["version"] != snapshot["version"]
    cancelled = requests.delete(
        f"{dev_server.base}/api/appointments/{booked.json()['id']}", headers=booker.headers, timeout=10
    )
    assert cancelled.status_code == 200
    with stack:
        for socket in (first, second):
            next_update(socket, at, available=True)


def test_a_connection_without_a_valid_ticket_is_refused(dev_server):
    for url in (f"{dev_server.ws}/", f"{dev_server.ws}/?ticket=forged.ticket"):
        with pytest.raises(InvalidStatus) as refused, connect(url, open_timeout=10, ping_interval=None):
            pass
        assert refused.value.response.status_code == 401
