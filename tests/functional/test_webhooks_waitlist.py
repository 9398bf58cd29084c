"""waitlist.* webhooks (moto): an offer made, declined, lapsed and accepted each fires its event once, from the
waitlist table's stream, to a real receiver on loopback that verifies every signature; no contact details."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import boto3
import pytest

from tests.functional.test_waitlist import StreamTap, entry, joined
from tests.functional.test_webhooks import send_due, subscribe
from tests.helpers import patient
from tests.waitlist_stream import StreamTap as TableTap
from tests.webhook_receiver import Receiver

WAITLIST_EVENTS = ["waitlist.offered", "waitlist.accepted", "waitlist.declined", "waitlist.expired"]


@pytest.fixture
def settings(settings):
    return replace(settings, webhook_allow_loopback=True)


@pytest.fixture
def receiver():
    with Receiver() as r:
        yield r


class WaitlistTableTap(TableTap):
    """The waitlist table's stream for moto; `flush()` hands its records to the webhook fan-out Lambda."""

    def __init__(self, wired: Any, lambdas: Any) -> None:
        super().__init__(boto3.client("dynamodb", region_name=wired.settings.region), wired.settings.waitlist_table)
        self.lambdas = lambdas
        self.sent: list[dict[str, Any]] = []

    def flush(self) -> dict[str, Any]:
        records = self.records()
        self.sent.extend(records)
        report = self.lambdas.lambda_.invoke("webhook_fanout", {"Records": records}).payload
        assert report["batchItemFailures"] == []
        return report


def test_each_waitlist_event_fires_once_per_change_without_contact_details(api, wired, lambdas, clock, receiver):
    from chalicelib.api.waitlist import run_waitlist_sweep

    wired.webhooks.jitter = lambda: 1.0
    made = subscribe(api, receiver.url, WAITLIST_EVENTS)
    receiver.secrets.append(made["secret"])
    appointments, waitlist = StreamTap(wired), WaitlistTableTap(wired, lambdas)
    # GIVEN a booked 10:00 and three patients waiting for that day, in join order
    doc = api.doctor_with_hours()
    visit = api.book(doc, patient("booker"), time="10:00")
    first = joined(api, doc, "w1")
    clock.current += timedelta(seconds=1)
    second = joined(api, doc, "w2")
    clock.current += timedelta(seconds=1)
    third = joined(api, doc, "w3")
    appointments.flush()
    assert waitlist.flush()["events"] == 0  # joining fires nothing
    # WHEN the visit is cancelled: the first is offered it; it declines: the second; that lapses: the third accepts
    api.call("DELETE", f"/api/appointments/{visit['id']}", patient("booker"))
    appointments.flush()
    waitlist.flush()
    assert api.call("POST", f"/api/waitlist/{first['id']}/decline", patient("w1"), {}).status_code == 200
    appointments.flush()
    waitlist.flush()
    clock.current += timedelta(minutes=15)
    assert run_waitlist_sweep()["holdsReleased"] == 1
    appointments.flush()
    waitlist.flush()
    assert entry(api, third["id"], "w3")["status"] == "offered"
    assert api.call("POST", f"/api/waitlist/{third['id']}/accept", patient("w3"), {}).status_code == 201
    appointments.flush()
    waitlist.flush()
    send_due(wired)
    # THEN each change fired its event once: three offers, one decline, one lapse, one acceptance
    got = [(r.message["type"], r.message["data"]["id"]) for r in receiver.got]
    assert sorted(got) == sorted(
        [
            ("waitlist.offered", first["id"]),
            ("waitlist.declined", first["id"]),
            ("waitlist.offered", second["id"]),
            ("waitlist.expired", second["id"]),
            ("waitlist.offered", third["id"]),
            ("waitlist.accepted", third["id"]),
        ]
    )
    # AND each names its offer's hold, and carries the entry as the API returns it, with no contact details
    for r in receiver.got:
        data = r.message["data"]
        assert data["doctorId"] == doc["id"] and data["holdId"] and data["eventId"] == r.headers["webhook-id"]
        assert not {"recipientEmail", "recipientPhone", "email", "phone"} & set(data)
        assert r.verified and b"@example" not in r.body
    accepted = next(r.message["data"] for r in receiver.got if r.message["type"] == "waitlist.accepted")
    assert accepted["status"] == "booked" and accepted["appointmentId"]
    # WHEN the stream delivers the same records again (a retry)
    again = lambdas.lambda_.invoke("webhook_fanout", {"Records": waitlist.sent}).payload
    send_due(wired)
    # THEN no second delivery is made
    assert again["deliveries"] == 0 and len(receiver.got) == 6
