"""`make run`'s webhook sender (infra/local/webhooks_local.py): the API runs in a process of its own there, so what
it queues in its in-process queue (a resend, a resumed subscription's deliveries) never reaches the sender's queue;
the sender takes such deliveries from the table at its next round, not once the sweep's 30-second grace is over."""

from __future__ import annotations

from dataclasses import replace

import pytest

from infra.local.webhooks_local import WebhookSender
from tests.functional.test_webhooks import Stream, book_through_stream, deliveries, send_due, subscribe
from tests.helpers import admin
from tests.webhook_receiver import Receiver


@pytest.fixture
def settings(settings):
    return replace(settings, webhook_allow_loopback=True)  # as under make run


def test_a_resend_made_in_the_api_process_is_sent_at_the_senders_next_round(api, wired, lambdas):
    with Receiver() as receiver:
        # GIVEN a delivered booking event
        made = subscribe(api, receiver.url, ["appointment.booked"])
        book_through_stream(api, lambdas, Stream(wired), api.doctor_with_hours())
        send_due(wired)
        [logged] = deliveries(api, made["id"])
        assert logged["status"] == "delivered" and len(receiver.got) == 1
        # WHEN staff resend it, and the message it queued stays in the API process (as under make run)
        resent = api.call("POST", f"/api/admin/webhooks/{made['id']}/deliveries/{logged['id']}/resend", admin())
        assert resent.status_code == 200 and resent.data["status"] == "pending"
        wired.webhook_queue.drain()  # the local queue: lost to the other process
        # THEN the sender's next round, at the same instant, sends it: once
        WebhookSender.send_due()
        assert [r.headers["webhook-id"] for r in receiver.got] == [logged["eventId"]] * 2
        WebhookSender.send_due()
        assert len(receiver.got) == 2
