"""Under `make run`, a clinic system on loopback subscribes over HTTP; a patient books, moves and cancels a visit
through the API, and the receiver gets each event once from DynamoDB Local's streams, signed (verified with the
`standardwebhooks` library), and the delivery log says so. The server is `make run`'s own."""

from __future__ import annotations

import time

import requests

from infra.local.tokens import demo_tokens
from tests.e2e.days import free_slots
from tests.e2e.patients import new_patient
from tests.webhook_receiver import Receiver

TOKENS = demo_tokens()
ADMIN = {"Authorization": TOKENS["admin"], "Content-Type": "application/json"}


def events_for(receiver: Receiver, appointment_id: str) -> list[str]:
    return [r.message["type"] for r in receiver.got if r.message["data"].get("id") == appointment_id]


def wait_for(receiver: Receiver, appointment_id: str, count: int) -> list[str]:
    deadline = time.monotonic() + 60  # bounded: the stream poll and the sender run every fraction of a second
    while len(events_for(receiver, appointment_id)) < count and time.monotonic() < deadline:
        time.sleep(0.2)
    return events_for(receiver, appointment_id)


def test_make_run_delivers_each_change_once_signed_to_a_loopback_receiver(server):
    with Receiver() as receiver:
        # GIVEN a clinic system on loopback subscribed to appointment events (http to loopback: make run allows it)
        events = ["appointment.booked", "appointment.rescheduled", "appointment.cancelled"]
        subscription = {"url": receiver.url, "events": events}
        made = requests.post(f"{server}/api/admin/webhooks", headers=ADMIN, json=subscription, timeout=10)
        assert made.status_code == 201, made.text
        receiver.secrets.append(made.json()["secret"])
        # WHEN a patient books, moves and cancels a visit over HTTP
        me = new_patient()
        day, times = free_slots(server, me.token, "dr-bo-lee", at_least=2)
        body = {"doctorId": "dr-bo-lee", "date": day, "time": times[0], "type": "in-person", "reason": "Check-up"}
        booked = requests.post(f"{server}/api/appointments", headers=me.headers, json=body, timeout=10)
        assert booked.status_code == 201, booked.text
        visit = booked.json()["id"]
        moved = requests.put(f"{server}/api/appointments/{visit}/reschedule", headers=me.headers,
                             json={"date": day, "time": times[1]}, timeout=10)  # fmt: skip
        assert moved.status_code == 200, moved.text
        assert requests.delete(f"{server}/api/appointments/{visit}", headers=me.headers, timeout=10).status_code == 200
        # THEN the receiver got each event once, in order, each signature verified, no reason and no e-mail in it
        got = wait_for(receiver, visit, 3)
        assert got == events
        mine = [r for r in receiver.got if r.message["data"].get("id") == visit]
        assert all(r.verified for r in mine)
        assert all(b"Check-up" not in r.body and me.sub.encode() + b"@" not in r.body for r in mine)
        sequences = [r.message["data"]["sequence"] for r in mine]
        assert sequences == sorted(sequences) and len(set(sequences)) == 3
        # AND the delivery log shows them delivered
        log = requests.get(f"{server}/api/admin/webhooks/{made.json()['id']}/deliveries", headers=ADMIN, timeout=10)
        ours = [d for d in log.json()["deliveries"] if d["appointmentId"] == visit]
        assert sorted(d["type"] for d in ours) == sorted(events)
        assert all(d["status"] == "delivered" and d["lastStatusCode"] == 200 for d in ours)
        requests.delete(f"{server}/api/admin/webhooks/{made.json()['id']}", headers=ADMIN, timeout=10)
