"""Visits out through the real app (moto) and a real CalDAV server (Radicale): the appointments stream's consumer
(`calendar_visits`) writes each booked visit into the doctor's calendar that receives visits, rewrites the same
UID with a higher SEQUENCE when it moves, deletes it when it is cancelled; a refused or unreachable server leaves
the copy failed with its reason and next attempt, the calendar sync retries it with backoff, and a retry or a
redelivered record never makes a second event."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest

from chalicelib import container
from chalicelib.config import Settings
from tests.calendar_servers import Radicale, radicale_server
from tests.functional.conftest import Api
from tests.helpers import NOW, admin, patient
from tests.waitlist_stream import StreamTap


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return replace(settings, webhook_allow_loopback=True)  # make run and tests: loopback calendars allowed


@pytest.fixture
def radicale(tmp_path: Path) -> Iterator[Radicale]:
    with radicale_server(tmp_path / "radicale") as server:
        yield server


class Stream:
    """The appointments table's stream for moto, handed to the `calendar_visits` Lambda like the event source."""

    def __init__(self, wired: container.Container, lambdas: Any) -> None:
        client = boto3.client("dynamodb", region_name=wired.settings.region)
        self.tap = StreamTap(client, wired.settings.appointments_table)
        self.lambdas = lambdas
        self.last: list[dict[str, Any]] = []

    def flush(self) -> dict[str, Any]:
        self.last = self.tap.records()
        return self.deliver(self.last)

    def deliver(self, records: list[dict[str, Any]]) -> dict[str, Any]:
        report: dict[str, Any] = self.lambdas.lambda_.invoke("calendar_visits", {"Records": records}).payload
        assert report["batchItemFailures"] == []
        return report


@pytest.fixture
def stream(wired: container.Container, lambdas: Any) -> Stream:
    return Stream(wired, lambdas)


def connect(api: Api, doc: dict[str, Any], calendar: Any, user: str = "dr", password: str = "app-password-1") -> Any:
    body = {"kind": "caldav", "url": str(calendar.url), "username": user, "password": password, "writeVisits": True}
    made = api.call("POST", f"/api/admin/doctors/{doc['id']}/calendars", admin(), body)
    assert made.status_code == 201, made.data
    return made.data


def copies(api: Api, doc: dict[str, Any]) -> list[dict[str, Any]]:
    (connection,) = api.call("GET", f"/api/admin/doctors/{doc['id']}/calendars", admin()).data["calendars"]
    return list(connection["visits"])


def texts(calendar: Any) -> list[str]:
    return [str(event.data) for event in calendar.events()]


def sequence(text: str) -> int:
    return int(text.split("SEQUENCE:")[1].split(maxsplit=1)[0])


def run_sync(lambdas: Any) -> dict[str, Any]:
    event = lambdas.events.generate_cw_event(
        source="aws.events", detail_type="Scheduled Event", detail={}, resources=[]
    )
    payload: dict[str, Any] = lambdas.lambda_.invoke("calendar_sync", event).payload
    return payload


def test_a_visit_follows_the_stream_into_the_doctors_calendar_moves_with_a_higher_sequence_and_is_deleted(
    api: Api, radicale: Radicale, stream: Stream
) -> None:
    # GIVEN the doctor's Radicale calendar connected with writeVisits
    calendar = radicale.calendar("dr", "app-password-1")
    doc = api.doctor_with_hours()
    connect(api, doc, calendar)
    # WHEN a visit is booked (with a reason) and its stream record reaches the consumer
    visit = api.book(doc, time="14:00", reason="chest pain")
    assert stream.flush()["written"] == 1
    # THEN the calendar holds one event with UID <appointment id>@clinic-booking: time and place, no reason, no name
    (text,) = texts(calendar)
    assert f"UID:{visit['id']}@clinic-booking" in text and "DTSTART:20261202T190000Z" in text
    assert "chest pain" not in text and "Pat Doe" not in text and "Main St Clinic" in text
    (copy,) = copies(api, doc)
    assert (copy["appointmentId"], copy["state"], copy["attempts"]) == (visit["id"], "written", 0)
    # WHEN the stream hands the same record again (at-least-once delivery) THEN nothing is written again
    assert stream.deliver(stream.last)["written"] == 0 and len(texts(calendar)) == 1
    # WHEN it is rescheduled THEN the same event moves and its SEQUENCE grows: still one event
    api.call("PUT", f"/api/appointments/{visit['id']}/reschedule", admin(), {"date": "2026-12-02", "time": "15:00"})
    assert stream.flush()["written"] == 1
    (moved,) = texts(calendar)
    assert "DTSTART:20261202T200000Z" in moved and sequence(moved) > sequence(text)
    # WHEN it is cancelled THEN the event is deleted and the copy says so
    api.call("DELETE", f"/api/appointments/{visit['id']}", admin())
    assert stream.flush()["deleted"] == 1
    assert texts(calendar) == [] and [c["state"] for c in copies(api, doc)] == ["deleted"]


def test_a_refused_visit_is_failed_in_plain_words_retried_with_backoff_and_written_once_after_recovery(
    api: Api, radicale: Radicale, stream: Stream, lambdas: Any, clock: Any
) -> None:
    calendar = radicale.calendar("dr", "app-password-1")
    doc = api.doctor_with_hours()
    connect(api, doc, calendar)
    # GIVEN the app password revoked WHEN a visit is booked
    radicale.set_password("dr", "changed")
    visit = api.book(doc, time="14:00")
    assert stream.flush()["failed"] == 1
    # THEN its copy is failed with the server's answer in plain words and its next attempt, 5 minutes on
    (copy,) = copies(api, doc)
    assert (copy["appointmentId"], copy["state"], copy["attempts"]) == (visit["id"], "failed", 1)
    assert "401" in copy["error"] and copy["retryAt"] == "2026-12-01T08:05:00Z"
    # WHEN the calendar sync runs before it is due THEN the copy is not tried
    radicale.set_password("dr", "app-password-1")
    assert run_sync(lambdas)["visits"] == {"written": 0, "deleted": 0, "failed": 0}
    assert texts(radicale.calendar("dr", "app-password-1")) == []
    # WHEN it runs once due, the server refusing again THEN the wait doubles
    radicale.set_password("dr", "changed")
    clock.current = NOW + timedelta(minutes=5)
    assert run_sync(lambdas)["visits"]["failed"] == 1
    (copy,) = copies(api, doc)
    assert (copy["attempts"], copy["retryAt"]) == (2, "2026-12-01T08:15:00Z")
    # WHEN the server accepts us again and the retry is due THEN the visit is written, one event only
    radicale.set_password("dr", "app-password-1")
    clock.current = NOW + timedelta(minutes=15)
    assert run_sync(lambdas)["visits"]["written"] == 1
    (copy,) = copies(api, doc)
    assert copy["state"] == "written" and "error" not in copy and "retryAt" not in copy
    # AND a later run, or the same record again, writes nothing more
    clock.current = NOW + timedelta(hours=1)
    assert run_sync(lambdas)["visits"]["written"] == 0
    assert stream.deliver(stream.last)["written"] == 0
    (text,) = texts(radicale.calendar("dr", "app-password-1"))
    assert f"UID:{visit['id']}@clinic-booking" in text


def test_a_server_that_forbids_writing_leaves_the_copy_failed_with_403(
    api: Api, radicale: Radicale, stream: Stream
) -> None:
    # GIVEN a calendar of another account than the credentials' (Radicale: each user owns only its own)
    calendar = radicale.calendar("dr", "app-password-1")
    (radicale.folder / "users").write_text("dr:app-password-1\nnurse:nurse-password\n")
    doc = api.doctor_with_hours()
    connect(api, doc, calendar, user="nurse", password="nurse-password")
    # WHEN a visit is booked THEN its copy is failed: the server refused access (403), tried again later
    api.book(doc, time="14:00")
    assert stream.flush()["failed"] == 1
    (copy,) = copies(api, doc)
    assert copy["state"] == "failed" and "403" in copy["error"] and "retryAt" in copy
    assert texts(calendar) == []


def test_a_server_down_fails_each_visit_after_one_wait_and_sync_now_retries_at_once(
    api: Api, radicale: Radicale, stream: Stream, tmp_path: Path
) -> None:
    calendar = radicale.calendar("dr", "app-password-1")
    doc = api.doctor_with_hours()
    made = connect(api, doc, calendar)
    radicale.process.terminate()
    radicale.process.wait(10)
    # WHEN two visits are booked while the server is down THEN both copies are failed, said in plain words
    api.book(doc, time="14:00")
    api.book(doc, patient("patient-2", "Sam Roe"), time="15:00")
    assert stream.flush()["failed"] == 2
    assert [("down" in c["error"], c["state"]) for c in copies(api, doc)] == [(True, "failed"), (True, "failed")]
    # WHEN a person asks for a sync now while it is still down THEN the copies stay failed with a later retry
    synced = api.call("POST", f"/api/admin/doctors/{doc['id']}/calendars/{made['id']}/sync", admin()).data
    assert [c["state"] for c in synced["visits"]] == ["failed", "failed"]


def test_visits_booked_before_the_calendar_was_connected_are_pending_then_written_by_the_sync(
    api: Api, radicale: Radicale, stream: Stream, lambdas: Any
) -> None:
    doc = api.doctor_with_hours()
    visit = api.book(doc, time="14:00")
    stream.flush()  # no calendar yet: nothing to write
    calendar = radicale.calendar("dr", "app-password-1")
    connect(api, doc, calendar)
    assert [(c["appointmentId"], c["state"]) for c in copies(api, doc)] == [(visit["id"], "pending")]
    assert run_sync(lambdas)["visits"]["written"] == 1
    assert [c["state"] for c in copies(api, doc)] == ["written"] and len(texts(calendar)) == 1


def test_disconnecting_forgets_the_copies(api: Api, radicale: Radicale, stream: Stream, wired: Any) -> None:
    calendar = radicale.calendar("dr", "app-password-1")
    doc = api.doctor_with_hours()
    made = connect(api, doc, calendar)
    radicale.set_password("dr", "changed")
    api.book(doc, time="14:00")
    stream.flush()
    assert api.call("DELETE", f"/api/admin/doctors/{doc['id']}/calendars/{made['id']}", admin()).status_code == 204
    # THEN no copy and nothing left to retry
    assert wired.calendar_visits.retry_due().failed == 0
    assert stream.deliver(stream.last)["skipped"] == 1


def test_a_visit_an_earlier_release_wrote_is_deleted_when_cancelled_after_the_upgrade(
    api: Api, radicale: Radicale, stream: Stream, wired: Any
) -> None:
    # GIVEN a visit written into the calendar by an earlier release, which kept it in the connection record
    calendar = radicale.calendar("dr", "app-password-1")
    doc = api.doctor_with_hours()
    made = connect(api, doc, calendar)
    visit = api.book(doc, time="14:00")
    stream.tap.records()  # the booking's record was handled by the earlier release
    calendar.save_event(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//earlier//EN\r\nBEGIN:VEVENT\r\n"
        f"UID:{visit['id']}@clinic-booking\r\nDTSTAMP:20261201T080000Z\r\nDTSTART:20261202T190000Z\r\n"
        "DTEND:20261202T193000Z\r\nSUMMARY:In-person visit\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
        id=f"{visit['id']}@clinic-booking",
    )
    table = boto3.resource("dynamodb", region_name=wired.settings.region).Table(wired.settings.schedule_table)
    key = {"pk": "CALENDARS", "sk": f"{doc['id']}#{made['id']}"}
    record = json.loads(table.get_item(Key=key)["Item"]["calendar"])
    record["visits"] = {visit["id"]: [1, "written", None, 0, None]}
    table.update_item(
        Key=key, UpdateExpression="SET calendar = :c", ExpressionAttributeValues={":c": json.dumps(record)}
    )
    # WHEN the calendar syncs once after the upgrade THEN the visit is known as written
    api.call("POST", f"/api/admin/doctors/{doc['id']}/calendars/{made['id']}/sync", admin())
    assert [(c["appointmentId"], c["state"]) for c in copies(api, doc)] == [(visit["id"], "written")]
    # WHEN it is cancelled THEN its event is deleted
    api.call("DELETE", f"/api/appointments/{visit['id']}", admin())
    assert stream.flush()["deleted"] == 1 and texts(calendar) == []
