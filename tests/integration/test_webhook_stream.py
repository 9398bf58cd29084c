"""Webhooks from the real change streams of DynamoDB Local: changes made through the REST API and by the reminder
sweep reach the fan-out through the appointments and reminders tables' streams (as the `webhook_fanout` Lambda
gets them), and a real receiver on loopback verifies every signature with `standardwebhooks`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import boto3
import pytest
from chalice.test import Client

from chalicelib import container
from chalicelib.api.webhooks import fan_out_records, run_webhook_sweep
from chalicelib.config import Settings
from tests.helpers import NOW, STANDARD_AVAILABILITY, FixedClock, admin, booking_body, patient
from tests.webhook_receiver import Receiver


class Streams:
    """Both tables' streams: the records written since this object was made (read from each shard's start, as
    DynamoDB Local trims LATEST iterators eagerly, less the records that were there before)."""

    def __init__(self, settings: Settings) -> None:
        options = {"region_name": settings.region, "endpoint_url": settings.dynamodb_endpoint}
        tables = boto3.client("dynamodb", **options)
        self.streams = boto3.client("dynamodbstreams", **options)
        self.arns = [
            tables.describe_table(TableName=name)["Table"]["LatestStreamArn"]
            for name in (settings.appointments_table, settings.reminders_table)
        ]
        self.before = {r["dynamodb"]["SequenceNumber"] for r in self._all()}

    def _all(self) -> list[dict[str, Any]]:
        got: list[dict[str, Any]] = []
        for arn in self.arns:
            for shard in self.streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
                iterator = self.streams.get_shard_iterator(
                    StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
                )["ShardIterator"]
                for _ in range(100):  # bounded: a shard's records come in a few pages
                    answer = self.streams.get_records(ShardIterator=iterator)
                    got.extend(answer["Records"])
                    iterator = answer.get("NextShardIterator")
                    if not iterator or not answer["Records"]:
                        break
        return got

    def records(self) -> list[dict[str, Any]]:
        return [r for r in self._all() if r["dynamodb"]["SequenceNumber"] not in self.before]


@pytest.fixture
def webhook_wired(settings: Settings, tmp_path) -> Iterator[container.Container]:
    local = replace(
        settings,
        delivery="outbox",
        outbox_dir=str(tmp_path / "outbox"),
        scheduler="none",
        signing_key="integration-signing-key",
        webhook_allow_loopback=True,
    )
    built = container.build(local, clock=FixedClock(NOW))
    container.use(built)
    yield built
    container.use(None)


def call(http: Any, method: str, path: str, who: dict[str, str], body: Any = None) -> Any:
    answer = http.request(method, path, headers={"Content-Type": "application/json", **who},
                          body=json.dumps(body) if body is not None else b"")  # fmt: skip
    answer.data = json.loads(answer.body) if answer.body else None
    return answer


def test_every_change_from_rest_and_the_reminder_sweep_fires_its_event_once_from_the_streams(webhook_wired):
    from app import app

    streams = Streams(webhook_wired.settings)
    with Receiver() as receiver, Client(app) as client:
        http = client.http
        # GIVEN a clinic system subscribed to every event
        made = call(http, "POST", "/api/admin/webhooks", admin(),
                    {"url": receiver.url, "events": ["appointment.booked", "appointment.rescheduled",
                     "appointment.cancelled", "appointment.status_changed", "reminder.sent"]})  # fmt: skip
        assert made.status_code == 201, made.data
        receiver.secrets.append(made.data["secret"])
        doc = call(http, "POST", "/api/admin/doctors", admin(),
                   {"name": "Dr. Stream", "specialty": "GP", "location": "Main St", "timezone": "America/New_York",
                    "telehealth": False})  # fmt: skip
        assert doc.status_code == 201, doc.data
        call(http, "PUT", f"/api/admin/doctors/{doc.data['id']}/availability", admin(), STANDARD_AVAILABILITY)
        # WHEN a visit is booked with an e-mail reminder, confirmed, rescheduled; another booked and cancelled
        who = patient(email="pat@example.com", email_verified=True)
        body = booking_body(doc.data, reminderPreferences={"email": True, "timing": "24h"})
        booked = call(http, "POST", "/api/appointments", who, body)
        assert booked.status_code == 201, booked.data
        visit = booked.data["id"]
        call(http, "PATCH", f"/api/appointments/{visit}/status", who, {"status": "confirmed"})
        moved = call(http, "PUT", f"/api/appointments/{visit}/reschedule", who, {"date": "2026-12-03", "time": "11:00"})
        assert moved.status_code == 200, moved.data
        other = call(http, "POST", "/api/appointments", patient("patient-2"), booking_body(doc.data, time="15:00"))
        call(http, "DELETE", f"/api/appointments/{other.data['id']}", patient("patient-2"))
        # AND the reminder sweep sends the reminder when it is due
        webhook_wired.clock.current = NOW + timedelta(days=1, hours=12)
        webhook_wired.dispatcher.sweep()
        # AND the streams' records reach the fan-out, and the sender runs
        records = streams.records()
        report = fan_out_records(records)
        assert report["batchItemFailures"] == [] and report["skipped"] == 0
        run_webhook_sweep()
        # THEN every change fired its event exactly once, signed
        assert all(r.verified for r in receiver.got)
        assert sorted(receiver.types()) == sorted(
            [
                "appointment.booked",
                "appointment.status_changed",
                "appointment.rescheduled",
                "appointment.booked",
                "appointment.cancelled",
                "reminder.sent",
            ]
        )
        # AND the same records again (a stream retry) send nothing more
        fan_out_records(records)
        run_webhook_sweep()
        assert len(receiver.got) == 6
        # AND no contact detail left the building
        assert all(b"pat@example.com" not in r.body for r in receiver.got)
