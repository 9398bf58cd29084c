"""Webhooks against moto, delivered to a real receiver on loopback that verifies every signature with the
`standardwebhooks` library: the admin routes, the fan-out of stream records (built here from the items before and
after each change, as the stream carries them), retries, 410, secret rotation, pausing, resending, and SSRF."""

from __future__ import annotations

from collections import deque
from dataclasses import replace
from datetime import timedelta
from typing import Any

import boto3
import pytest

from chalicelib.adapters.webhooks import HttpTransport
from chalicelib.domain.webhooks import EVENT_TYPES, PAUSE_AFTER, SECRET_GRACE
from tests.helpers import admin, doctor, patient
from tests.webhook_receiver import Receiver


@pytest.fixture
def settings(settings):
    """Receivers in these tests listen on loopback: allowed as under `make run`."""
    return replace(settings, webhook_allow_loopback=True)


@pytest.fixture(autouse=True)
def longest_jitter(wired):
    """Retries wait their longest (+10 %): the tests do not depend on the random spread."""
    wired.webhooks.jitter = lambda: 1.0


@pytest.fixture
def receiver():
    with Receiver() as r:
        yield r


def subscribe(api, url: str, events=EVENT_TYPES, **extra: Any) -> dict[str, Any]:
    made = api.call("POST", "/api/admin/webhooks", admin(), {"url": url, "events": list(events), **extra})
    assert made.status_code == 201, made.data
    return made.data


# --- the stream, as DynamoDB delivers it ----------------------------------------------------------------------------
class Stream:
    """Records of the appointments and reminders tables built from the items before and after a change."""

    def __init__(self, wired) -> None:
        self.wired = wired
        self.ddb = boto3.client("dynamodb", region_name="us-east-1")
        self.sequence = 0

    def appointment(self, appointment_id: str) -> dict | None:
        table = self.wired.settings.appointments_table
        return self.ddb.get_item(TableName=table, Key={"id": {"S": appointment_id}}).get("Item")

    def reminders(self, appointment_id: str) -> dict[str, dict]:
        items = self.ddb.query(
            TableName=self.wired.settings.reminders_table,
            KeyConditionExpression="appointment_id = :a",
            ExpressionAttributeValues={":a": {"S": appointment_id}},
        )["Items"]
        return {i["id"]["S"]: i for i in items}

    def record(self, keys: dict, old: dict | None, new: dict | None) -> dict:
        self.sequence += 1
        change: dict[str, Any] = {
            "Keys": keys,
            "SequenceNumber": str(self.sequence),
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        }
        if old:
            change["OldImage"] = old
        if new:
            change["NewImage"] = new
        return {"eventID": str(self.sequence), "eventName": "MODIFY" if old else "INSERT", "dynamodb": change}

    def changed(self, appointment_id: str, before: dict | None, before_reminders: dict[str, dict]) -> list[dict]:
        """The records one change wrote: the appointment's, and each reminder's that changed."""
        records = []
        after = self.appointment(appointment_id)
        if after != before:
            records.append(self.record({"id": {"S": appointment_id}}, before, after))
        for rid, item in self.reminders(appointment_id).items():
            if before_reminders.get(rid) != item:
                keys = {"appointment_id": item["appointment_id"], "id": item["id"]}
                records.append(self.record(keys, before_reminders.get(rid), item))
        return records


def through_stream(lambdas, stream: Stream, appointment_id: str, change) -> Any:
    """Runs `change()` and hands the records it wrote to the `webhook_fanout` Lambda; the change's result."""
    before, before_reminders = stream.appointment(appointment_id), stream.reminders(appointment_id)
    result = change()
    records = stream.changed(appointment_id, before, before_reminders)
    report = lambdas.lambda_.invoke("webhook_fanout", {"Records": records}).payload
    assert report["batchItemFailures"] == []
    return result


def book_through_stream(api, lambdas, stream: Stream, doc, **fields) -> dict:
    booked = api.book(doc, **fields)
    records = stream.changed(booked["id"], None, {})
    assert lambdas.lambda_.invoke("webhook_fanout", {"Records": records}).payload["batchItemFailures"] == []
    return booked


def send_due(wired) -> dict[str, Any]:
    """What the sender Lambda does with the queued messages (and the sweep with due retries)."""
    from chalicelib.api.webhooks import run_webhook_sweep

    return run_webhook_sweep()


def deliveries(api, subscription_id: str) -> list[dict]:
    listed = api.call("GET", f"/api/admin/webhooks/{subscription_id}/deliveries", admin())
    assert listed.status_code == 200, listed.data
    return listed.data["deliveries"]


# --- subscriptions ------------------------------------------------------------------------------------------------
def test_admins_create_list_change_and_delete_subscriptions_and_the_secret_is_shown_once(api, receiver):
    # GIVEN an admin subscribing a clinic system
    made = subscribe(api, receiver.url, ["appointment.booked"], description="EHR")
    # THEN the answer carries the secret, in the Standard Webhooks format
    assert made["secret"].startswith("whsec_") and made["state"] == "active"
    assert made["events"] == ["appointment.booked"] and made["includeReason"] is False
    # AND reading it again never shows the secret
    read = api.call("GET", f"/api/admin/webhooks/{made['id']}", admin())
    assert read.status_code == 200 and "secret" not in read.data
    listed = api.call("GET", "/api/admin/webhooks", admin()).data["webhooks"]
    assert [w["id"] for w in listed] == [made["id"]] and "secret" not in listed[0]
    # WHEN it is changed and paused
    changed = api.call(
        "PATCH", f"/api/admin/webhooks/{made['id']}", admin(), {"events": ["appointment.cancelled"], "state": "paused"}
    )
    assert changed.status_code == 200, changed.data
    assert changed.data["events"] == ["appointment.cancelled"] and changed.data["state"] == "paused"
    assert changed.data["pausedReason"] == "admin"
    # AND deleted
    assert api.call("DELETE", f"/api/admin/webhooks/{made['id']}", admin()).status_code == 204
    assert api.call("GET", f"/api/admin/webhooks/{made['id']}", admin()).status_code == 404


def test_only_admins_manage_webhooks(api, receiver):
    made = subscribe(api, receiver.url)
    for who in (patient(), doctor("doc-1")):
        assert api.call("GET", "/api/admin/webhooks", who).status_code == 403
        assert (
            api.call(
                "POST", "/api/admin/webhooks", who, {"url": receiver.url, "events": ["appointment.booked"]}
            ).status_code
            == 403
        )
        assert api.call("POST", f"/api/admin/webhooks/{made['id']}/rotate-secret", who).status_code == 403
    assert api.call("GET", "/api/admin/webhooks", {}).status_code == 401


def test_unknown_event_types_and_bad_urls_are_refused(api):
    bad = api.call(
        "POST", "/api/admin/webhooks", admin(), {"url": "https://ehr.example/hook", "events": ["appointment.exploded"]}
    )
    assert bad.status_code == 400 and bad.data["error"]["code"] == "VALIDATION_ERROR"
    ftp = api.call(
        "POST", "/api/admin/webhooks", admin(), {"url": "ftp://ehr.example/hook", "events": ["appointment.booked"]}
    )
    assert ftp.status_code == 400


@pytest.mark.parametrize(
    "url",
    [
        "https://169.254.169.254/latest/meta-data/",
        "https://10.0.0.8/hook",
        "https://192.168.1.20/hook",
        "https://172.16.4.4/hook",
        "https://[fd00::1]/hook",
        "https://[::ffff:169.254.169.254]/hook",
        "http://ehr.example/hook",
        "https://user:pw@ehr.example/hook",
    ],
)
def test_ssrf_targets_and_plain_http_are_refused_at_creation(api, url):
    # GIVEN a URL inside private ranges, at cloud metadata, or over plain http to another host
    refused = api.call("POST", "/api/admin/webhooks", admin(), {"url": url, "events": ["appointment.booked"]})
    # THEN it is refused with 400 naming the url
    assert refused.status_code == 400, refused.data
    assert "url" in refused.data["error"]["details"]["fields"]


def test_loopback_is_refused_when_the_stack_does_not_allow_it(api, wired):
    # GIVEN a deployed stack's configuration (loopback not allowed)
    wired.webhooks.allow_loopback = False
    for url in ("http://127.0.0.1:9000/hook", "https://127.0.0.1/hook", "https://localhost/hook"):
        refused = api.call("POST", "/api/admin/webhooks", admin(), {"url": url, "events": ["appointment.booked"]})
        assert refused.status_code == 400, url


def test_ssrf_is_checked_again_at_delivery_after_dns_resolution(api, wired, lambdas, receiver):
    # GIVEN a subscription to a name that, by delivery time, resolves to the cloud metadata address
    made = subscribe(api, "https://ehr.example/hook", ["appointment.booked"])
    posted: list[str] = []

    class Rebinding(HttpTransport):
        def resolve(self, host: str, port: int) -> list[str]:
            return ["169.254.169.254"]

        def post(self, *args: Any, **kwargs: Any) -> Any:
            posted.append("called")
            raise AssertionError("must not post")

    wired.webhooks.transport = Rebinding()
    doc = api.doctor_with_hours()
    book_through_stream(api, lambdas, Stream(wired), doc)
    # WHEN the delivery is attempted
    send_due(wired)
    # THEN nothing is sent, and the log says why
    [logged] = deliveries(api, made["id"])
    assert posted == [] and logged["status"] == "failing"
    assert "link-local" in logged["lastError"]


# --- events and payloads ------------------------------------------------------------------------------------------
def test_every_event_type_fires_once_per_change_signed_and_without_contact_details(
    api, wired, lambdas, receiver, clock
):
    # GIVEN a receiver subscribed to everything
    made = subscribe(api, receiver.url)
    receiver.secrets.append(made["secret"])
    stream = Stream(wired)
    doc = api.doctor_with_hours()
    # WHEN a telehealth visit is booked, its room link made, confirmed, rescheduled, completed; another cancelled
    booked = book_through_stream(
        api, lambdas, stream, doc, type="telehealth", reminderPreferences={"email": True, "timing": "24h"}
    )
    appointment_id = booked["id"]
    through_stream(
        lambdas,
        stream,
        appointment_id,
        lambda: api.call("POST", f"/api/telehealth/generate-url/{appointment_id}", patient()),
    )
    through_stream(
        lambdas,
        stream,
        appointment_id,
        lambda: api.call("PATCH", f"/api/appointments/{appointment_id}/status", patient(), {"status": "confirmed"}),
    )
    moved = through_stream(
        lambdas,
        stream,
        appointment_id,
        lambda: api.call(
            "PUT", f"/api/appointments/{appointment_id}/reschedule", patient(), {"date": "2026-12-03", "time": "11:00"}
        ),
    )
    assert moved.status_code == 200, moved.data
    other = book_through_stream(api, lambdas, stream, doc, time="14:00")
    through_stream(
        lambdas, stream, other["id"], lambda: api.call("DELETE", f"/api/appointments/{other['id']}", patient())
    )
    send_due(wired)
    # THEN each change fired its event once, and every signature verified
    assert all(r.verified for r in receiver.got)
    types = receiver.types()
    assert types.count("appointment.booked") == 2
    assert types.count("appointment.cancelled") == 1
    assert types.count("appointment.rescheduled") == 1
    assert types.count("appointment.status_changed") == 1
    assert types.count("telehealth.room_ready") == 1
    assert len(set(receiver.ids())) == len(receiver.ids())
    # AND the payload is the appointment as the API returns it, minus contact details and the visit's reason
    first = next(r.message for r in receiver.got if r.message["type"] == "appointment.booked")
    assert first["data"]["id"] == appointment_id and first["data"]["doctorId"] == doc["id"]
    assert "reason" not in first["data"] and "notes" not in first["data"]
    assert first["data"]["sequence"] >= 1 and first["data"]["eventId"] == receiver.got[0].headers["webhook-id"]
    # AND sequences grow with the appointment's version
    own = [r.message["data"]["sequence"] for r in receiver.got if r.message["data"].get("id") == appointment_id]
    assert own == sorted(own)


def test_reminder_sent_and_failed_and_room_ready_fire_from_their_changes(api, wired, lambdas, receiver):
    from chalicelib.adapters.dynamodb.webhooks import stream_change
    from chalicelib.api.webhooks import webhook_changes
    from chalicelib.domain.webhooks import events_of

    made = subscribe(api, receiver.url)
    receiver.secrets.append(made["secret"])
    stream = Stream(wired)
    doc = api.doctor_with_hours()
    booked = book_through_stream(
        api, lambdas, stream, doc, type="telehealth", reminderPreferences={"email": True, "timing": "24h"}
    )
    reminder = next(iter(stream.reminders(booked["id"]).values()))
    # GIVEN the reminder's item as it turns sent, then another as it turns failed (with its recipient on it)
    sent = {**reminder, "status": {"S": "sent"}, "sent_at": {"S": "2026-12-01T10:00:00.000000+0000"}}
    failed = {**reminder, "status": {"S": "failed"}, "recipient_email": {"S": "pat@example.com"}}
    keys = {"appointment_id": reminder["appointment_id"], "id": reminder["id"]}
    records = [stream.record(keys, reminder, sent), stream.record(keys, reminder, failed)]
    assert stream_change(records[0]).kind == "reminder"
    # WHEN they reach the fan-out
    report = lambdas.lambda_.invoke("webhook_fanout", {"Records": records}).payload
    send_due(wired)
    # THEN reminder.sent and reminder.failed fired, with no recipient address in them
    got = {r.message["type"]: r.message for r in receiver.got}
    assert report["events"] == 2 and {"reminder.sent", "reminder.failed"} <= set(got)
    assert "recipientEmail" not in got["reminder.failed"]["data"]
    assert got["reminder.sent"]["data"]["appointmentId"] == booked["id"]
    # AND a telehealth booking, which carries its room link, fired telehealth.room_ready with the link
    assert got["telehealth.room_ready"]["data"]["telehealthUrl"] == booked["telehealthUrl"]
    # AND a record that changes nothing a receiver follows (a reminder re-read) fires nothing
    [change] = webhook_changes([stream.record(keys, reminder, reminder)])
    assert not isinstance(change, str) and events_of(change, wired.clock.now()) == []


def test_the_reason_is_sent_only_to_subscriptions_that_opt_in(api, wired, lambdas):
    with Receiver() as plain, Receiver() as opted:
        subscribe(api, plain.url, ["appointment.booked"])
        subscribe(api, opted.url, ["appointment.booked"], includeReason=True)
        doc = api.doctor_with_hours()
        book_through_stream(api, lambdas, Stream(wired), doc, reason="Chest pain")
        send_due(wired)
        assert "reason" not in plain.got[0].message["data"]
        assert opted.got[0].message["data"]["reason"] == "Chest pain"


def test_doctor_filter_sends_only_that_doctors_events(api, wired, lambdas, receiver):
    first = api.doctor_with_hours()
    second = api.doctor_with_hours(name="Dr. Bo Lee")
    subscribe(api, receiver.url, ["appointment.booked"], doctorId=second["id"])
    stream = Stream(wired)
    book_through_stream(api, lambdas, stream, first)
    booked = book_through_stream(api, lambdas, stream, second, time="15:00")
    send_due(wired)
    assert [r.message["data"]["id"] for r in receiver.got] == [booked["id"]]


def test_a_stream_retry_of_the_same_records_adds_no_second_delivery(api, wired, lambdas, receiver):
    made = subscribe(api, receiver.url, ["appointment.booked"])
    stream = Stream(wired)
    booked = api.book(api.doctor_with_hours())
    records = stream.changed(booked["id"], None, {})
    lambdas.lambda_.invoke("webhook_fanout", {"Records": records})
    again = lambdas.lambda_.invoke("webhook_fanout", {"Records": records}).payload
    send_due(wired)
    assert again["deliveries"] == 0 and len(receiver.got) == 1 and len(deliveries(api, made["id"])) == 1


def test_an_unreadable_record_is_skipped_and_the_rest_of_the_batch_goes_on(api, wired, lambdas, receiver):
    subscribe(api, receiver.url, ["appointment.booked"])
    stream = Stream(wired)
    booked = api.book(api.doctor_with_hours())
    good = stream.changed(booked["id"], None, {})
    report = lambdas.lambda_.invoke(
        "webhook_fanout",
        {"Records": ["junk", {"dynamodb": {"NewImage": {"id": {"N": "x"}}, "SequenceNumber": "9"}}, *good]},
    ).payload
    send_due(wired)
    assert report["skipped"] == 2 and report["batchItemFailures"] == [] and len(receiver.got) == 1


# --- delivery, retries, 410 ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("failure", ["500", "hang", "close", "503"])
def test_a_failed_attempt_is_retried_later_and_exactly_one_delivery_is_marked_delivered(
    api, wired, lambdas, receiver, clock, failure
):
    # GIVEN a receiver whose first answer fails (500, no answer within the timeout, a closed connection)
    made = subscribe(api, receiver.url, ["appointment.booked"])
    receiver.secrets.append(made["secret"])
    receiver.behaviours = deque([failure])
    wired.webhooks.attempt_timeout = 0.5
    book_through_stream(api, lambdas, Stream(wired), api.doctor_with_hours())
    # WHEN the first attempt fails
    send_due(wired)
    [logged] = deliveries(api, made["id"])
    assert logged["status"] == "failing" and logged["attempts"] == 1
    assert (
        logged["lastStatusCode"] == int(failure)
        if failure.isdigit()
        else logged["lastError"] in ("timeout", "connection closed")
    )
    # THEN nothing is resent before its time
    send_due(wired)
    assert len(receiver.got) == 1
    # AND after the backoff it is sent again, delivered once, and stays delivered
    clock.current += timedelta(seconds=10)
    send_due(wired)
    clock.current += timedelta(hours=1)
    send_due(wired)
    [logged] = deliveries(api, made["id"])
    assert logged["status"] == "delivered" and logged["attempts"] == 2 and logged["lastStatusCode"] == 200
    assert len(receiver.got) == 2 and all(r.verified for r in receiver.got)
    assert len(set(receiver.ids())) == 1  # the same webhook-id: the receiver drops a duplicate by it
    assert [h.get("statusCode") for h in logged["history"]][-1] == 200


def test_a_slow_receiver_within_the_timeout_is_delivered_once(api, wired, lambdas, receiver):
    made = subscribe(api, receiver.url, ["appointment.booked"])
    receiver.behaviours = deque(["slow"])
    book_through_stream(api, lambdas, Stream(wired), api.doctor_with_hours())
    send_due(wired)
    [logged] = deliveries(api, made["id"])
    assert logged["status"] == "delivered" and logged["attempts"] == 1 and len(receiver.got) == 1


def test_410_gone_ends_the_subscription(api, wired, lambdas, receiver):
    # GIVEN a receiver that answers 410 Gone
    made = subscribe(api, receiver.url, ["appointment.booked"])
    receiver.default = "410"
    stream = Stream(wired)
    doc = api.doctor_with_hours()
    book_through_stream(api, lambdas, stream, doc)
    send_due(wired)
    # THEN the subscription is paused as gone, its delivery given up, and later events are not sent
    read = api.call("GET", f"/api/admin/webhooks/{made['id']}", admin()).data
    assert read["state"] == "paused" and read["pausedReason"] == "gone"
    assert deliveries(api, made["id"])[0]["status"] == "given_up"
    book_through_stream(api, lambdas, stream, doc, who=patient("patient-2"), time="15:00")
    send_due(wired)
    assert len(receiver.got) == 1


def test_a_receiver_failing_for_days_is_paused_with_an_alert_and_resuming_delivers_what_waited(
    api, wired, lambdas, receiver, clock
):
    # GIVEN a receiver that fails every attempt
    made = subscribe(api, receiver.url, ["appointment.booked"])
    receiver.default = "500"
    stream = Stream(wired)
    doc = api.doctor_with_hours()
    book_through_stream(api, lambdas, stream, doc)
    paused_by: list[str] = []
    for _ in range(60):  # every two hours, past PAUSE_AFTER even with the longest waits
        report = send_due(wired)
        paused_by += report.get("paused", [])
        clock.current += timedelta(hours=2)
    # THEN after failing for days it is paused (the sender reports it: the metric behind the alarm), not dropped
    read = api.call("GET", f"/api/admin/webhooks/{made['id']}", admin()).data
    assert read["state"] == "paused" and read["pausedReason"] == "failing" and paused_by == [made["id"]]
    attempts_while_failing = len(receiver.got)
    assert attempts_while_failing >= 5
    # AND events while paused wait, unsent
    book_through_stream(api, lambdas, stream, doc, date="2026-12-16", time="15:00")
    send_due(wired)
    assert len(receiver.got) == attempts_while_failing
    # WHEN the receiver is fixed and an admin resumes the subscription
    receiver.default = "ok"
    resumed = api.call("PATCH", f"/api/admin/webhooks/{made['id']}", admin(), {"state": "active"})
    assert resumed.status_code == 200 and resumed.data["state"] == "active"
    send_due(wired)
    # THEN what waited is delivered
    statuses = [d["status"] for d in deliveries(api, made["id"])]
    assert "delivered" in statuses
    assert receiver.types()[-1:] == ["appointment.booked"]


def test_a_down_receiver_gets_one_probe_at_a_time_and_does_not_hold_up_the_others(api, wired, lambdas, clock):
    with Receiver(default="500") as down, Receiver() as up:
        subscribe(api, down.url, ["appointment.booked"])
        healthy = subscribe(api, up.url, ["appointment.booked"])
        stream = Stream(wired)
        doc = api.doctor_with_hours()
        for i, hour in enumerate(("09:00", "09:30", "10:00", "10:30")):
            book_through_stream(api, lambdas, stream, doc, who=patient(f"patient-{i}"), time=hour)
            send_due(wired)
        # THEN the healthy one got all four at once; the down one was tried once, the rest wait for its backoff
        assert len(up.got) == 4 and all(d["status"] == "delivered" for d in deliveries(api, healthy["id"]))
        assert len(down.got) == 1


# --- secrets ------------------------------------------------------------------------------------------------------
def test_secrets_rotate_without_a_gap(api, wired, lambdas, clock):
    with Receiver() as old_holder, Receiver() as new_holder:
        # GIVEN a subscription whose receiver holds the first secret
        made = subscribe(api, old_holder.url, ["appointment.booked"])
        old_holder.secrets.append(made["secret"])
        # WHEN the secret is rotated
        rotated = api.call("POST", f"/api/admin/webhooks/{made['id']}/rotate-secret", admin())
        assert rotated.status_code == 200 and rotated.data["secret"] != made["secret"]
        new_holder.secrets.append(rotated.data["secret"])
        api.call("PATCH", f"/api/admin/webhooks/{made['id']}", admin(), {"url": new_holder.url})
        stream = Stream(wired)
        doc = api.doctor_with_hours()
        book_through_stream(api, lambdas, stream, doc)
        send_due(wired)
        # THEN during the grace period a message verifies with the old secret and with the new one
        message = new_holder.got[0]
        assert message.verified and old_holder.verify(message.body, message.headers)
        # AND after the grace period only the new secret signs
        clock.current += SECRET_GRACE + timedelta(minutes=1)
        book_through_stream(api, lambdas, stream, doc, who=patient("patient-2"), time="15:00")
        send_due(wired)
        later = new_holder.got[1]
        assert later.verified and not old_holder.verify(later.body, later.headers)


# --- the log and resending ----------------------------------------------------------------------------------------
def test_staff_see_the_log_and_resend_one_or_everything_since_a_time(api, wired, lambdas, receiver, clock):
    made = subscribe(api, receiver.url, ["appointment.booked"])
    stream = Stream(wired)
    doc = api.doctor_with_hours()
    book_through_stream(api, lambdas, stream, doc)
    clock.current += timedelta(minutes=5)
    book_through_stream(api, lambdas, stream, doc, who=patient("patient-2"), time="15:00")
    send_due(wired)
    logged = deliveries(api, made["id"])
    assert [d["status"] for d in logged] == ["delivered", "delivered"]
    assert all("pat@" not in d["body"] and d["type"] == "appointment.booked" for d in logged)
    # WHEN one is resent
    one = api.call("POST", f"/api/admin/webhooks/{made['id']}/deliveries/{logged[1]['id']}/resend", admin())
    assert one.status_code == 200 and one.data["status"] == "pending"
    send_due(wired)
    assert len(receiver.got) == 3 and receiver.got[2].headers["webhook-id"] == logged[1]["eventId"]
    # WHEN everything since a time is resent
    since = api.call("POST", f"/api/admin/webhooks/{made['id']}/resend", admin(), {"since": "2026-12-01T00:00:00Z"})
    assert since.status_code == 200 and len(since.data["deliveries"]) == 2
    send_due(wired)
    assert len(receiver.got) == 5
    assert api.call("POST", f"/api/admin/webhooks/{made['id']}/deliveries/nope/resend", admin()).status_code == 404


def test_pause_after_is_days_not_a_few_failures():
    assert timedelta(days=3) <= PAUSE_AFTER


def test_a_slot_hold_fires_nothing_until_it_is_booked_and_then_booked_once(api, wired, lambdas, receiver):
    # GIVEN a subscriber, and a patient holding a time
    made = subscribe(api, receiver.url)
    receiver.secrets.append(made["secret"])
    stream = Stream(wired)
    doc = api.doctor_with_hours()
    body = {"doctorId": doc["id"], "date": "2026-12-02", "time": "10:00", "type": "in-person"}
    held = api.call("POST", "/api/holds", patient(), body)
    assert held.status_code == 201, held.data
    hold_id = held.data["id"]
    # WHEN the hold is written, then booked
    assert (
        lambdas.lambda_.invoke("webhook_fanout", {"Records": stream.changed(hold_id, None, {})}).payload["events"] == 0
    )
    assert send_due(wired).get("attempted", 0) == 0
    booked = through_stream(
        lambdas,
        stream,
        hold_id,
        lambda: api.call("POST", "/api/appointments", patient(), {"holdId": hold_id, "reason": "r"}),
    )
    assert booked.status_code == 201, booked.data
    send_due(wired)
    # THEN exactly one appointment.booked arrived, for the booked visit
    assert receiver.types() == ["appointment.booked"] and receiver.got[0].verified
    # AND a hold that is released fires nothing
    other = api.call("POST", "/api/holds", patient("patient-2"), {**body, "time": "11:00"})
    lambdas.lambda_.invoke("webhook_fanout", {"Records": stream.changed(other.data["id"], None, {})})
    through_stream(
        lambdas,
        stream,
        other.data["id"],
        lambda: api.call("DELETE", f"/api/holds/{other.data['id']}", patient("patient-2")),
    )
    send_due(wired)
    assert receiver.types() == ["appointment.booked"]


def test_a_deleted_subscriptions_waiting_deliveries_end_and_leave_the_sweep(api, wired, lambdas, clock):
    # GIVEN a subscription whose receiver failed, so its delivery waits for a retry
    with Receiver(default="500") as failing:
        made = subscribe(api, failing.url, ["appointment.booked"])
        book_through_stream(api, lambdas, Stream(wired), api.doctor_with_hours())
        send_due(wired)
        # WHEN the subscription is deleted and the retry comes due
        assert api.call("DELETE", f"/api/admin/webhooks/{made['id']}", admin()).status_code == 204
        clock.current += timedelta(hours=1)
        send_due(wired)
        # THEN nothing more was sent, and the sweep finds nothing left to do for it
        assert len(failing.got) == 1
        from chalicelib.adapters.dynamodb.models import bind
        from chalicelib.adapters.dynamodb.webhooks import DynamoWebhookStore

        [logged] = DynamoWebhookStore(bind(wired.settings)).deliveries(made["id"])  # the log stays until its TTL
        assert logged.status.value == "given_up" and logged.last_error == "subscription deleted"
        clock.current += timedelta(hours=1)
        assert wired.webhooks.sweep() == 0


def test_a_hanging_receiver_does_not_hold_up_another_subscribers_delivery(api, wired, lambdas):
    # GIVEN a receiver that hangs until released (made first, so a one-at-a-time sender would wait on it first),
    # and a healthy one whose arrival releases it
    with Receiver(default="hang", hang_seconds=30) as hanging, Receiver() as healthy:
        slow = subscribe(api, hanging.url, ["appointment.booked"])
        quick = subscribe(api, healthy.url, ["appointment.booked"])
        healthy.on_arrival = hanging.release
        book_through_stream(api, lambdas, Stream(wired), api.doctor_with_hours())
        # WHEN one sender run attempts both
        send_due(wired)
        # THEN the healthy one was sent while the other still hung (it released it before its 10 s ran out): both
        # were delivered, neither timed out
        assert [d["status"] for d in deliveries(api, quick["id"])] == ["delivered"]
        assert [d["status"] for d in deliveries(api, slow["id"])] == ["delivered"]
