"""A doctor's own calendars through the API (moto for DynamoDB and Secrets Manager; a loopback ICS feed and a
real CalDAV server, Radicale): connect, busy times block slots, pause, sync now, disconnect; who may; SSRF;
credentials write-only and in Secrets Manager; conflicts flagged, nothing moved; fault paths."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any, cast

import boto3
import pytest

from chalicelib import container
from chalicelib.config import Settings
from tests.calendar_servers import Feed, Radicale, feed_server, ics, radicale_server
from tests.functional.conftest import Api
from tests.helpers import BOOKING_DAY, admin, doctor, patient

BUSY_10_TO_11 = ("busy-1", "20261202T150000Z", "20261202T160000Z")  # BOOKING_DAY 10:00-11:00 in New York


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return replace(settings, webhook_allow_loopback=True)  # make run and tests: loopback calendars allowed


@pytest.fixture
def feed() -> Iterator[Feed]:
    with feed_server(Feed(ics(BUSY_10_TO_11))) as served:
        yield served


@pytest.fixture
def radicale(tmp_path: Path) -> Iterator[Radicale]:
    with radicale_server(tmp_path / "radicale") as server:
        yield server


def path(doc: dict[str, Any], rest: str = "") -> str:
    return f"/api/admin/doctors/{doc['id']}/calendars{rest}"


def free_at(api: Api, doc: dict[str, Any], hhmm: str) -> bool:
    got = api.call("GET", f"/api/appointments/availability/{doc['id']}/{BOOKING_DAY.isoformat()}", patient())
    return {s["time"]: s["available"] for s in got.data["slots"]}[hhmm]


def test_a_connected_feed_blocks_its_busy_times_until_paused_or_disconnected(api: Api, feed: Feed) -> None:
    doc = api.doctor_with_hours()
    assert free_at(api, doc, "10:00")
    # WHEN an admin connects the doctor's feed
    made = api.call("POST", path(doc), admin(), {"kind": "ics", "url": feed.url})
    # THEN it is synced at once: one busy interval, active, and 10:00 is no longer free (11:00 still is)
    assert made.status_code == 201, made.data
    assert (made.data["state"], made.data["busyIntervals"], made.data["kind"]) == ("active", 1, "ics")
    assert "lastSyncAt" in made.data and "lastError" not in made.data
    assert (free_at(api, doc, "10:00"), free_at(api, doc, "10:30"), free_at(api, doc, "11:00")) == (False, False, True)
    booked = api.try_book(doc, time="10:00")
    assert (booked.status_code, booked.data["error"]["code"]) == (409, "SLOT_UNAVAILABLE")
    listed = api.call("GET", path(doc), admin())
    assert [c["id"] for c in listed.data["calendars"]] == [made.data["id"]]
    # WHEN it is paused THEN its state says so; WHEN it is disconnected THEN 10:00 is free again
    paused = api.call("PATCH", path(doc, f"/{made.data['id']}"), admin(), {"state": "paused"})
    assert paused.data["state"] == "paused"
    assert api.call("DELETE", path(doc, f"/{made.data['id']}"), admin()).status_code == 204
    assert free_at(api, doc, "10:00")
    assert api.call("GET", path(doc), admin()).data["calendars"] == []


def test_an_unchanged_feed_costs_one_conditional_request_and_no_write(
    api: Api, feed: Feed, wired: container.Container
) -> None:
    doc = api.doctor_with_hours()
    made = api.call("POST", path(doc), admin(), {"kind": "ics", "url": feed.url}).data
    writes: list[str] = []
    for client in cast(Any, wired.store).botocore_clients():
        client.meta.events.register(
            "before-call.dynamodb.*", lambda model, **_: writes.append(model.name), unique_id=f"count-{id(client)}"
        )
    # WHEN the unchanged feed is synced again
    again = api.call("POST", path(doc, f"/{made['id']}/sync"), admin())
    # THEN one conditional GET (a 304), and nothing written to DynamoDB
    assert again.status_code == 200 and again.data["busyIntervals"] == 1 and again.data["state"] == "active"
    assert len(feed.requests) == 2 and feed.requests[1]["if-none-match"]
    assert not [name for name in writes if name in ("PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems")]


def test_the_doctor_may_manage_its_own_calendars_and_no_one_else(api: Api, feed: Feed) -> None:
    doc, other = api.doctor_with_hours(), api.create_doctor(name="Dr. Other")
    body = {"kind": "ics", "url": feed.url}
    assert api.call("POST", path(doc), doctor(doc["id"]), body).status_code == 201
    assert api.call("GET", path(doc), doctor(other["id"])).status_code == 403
    assert api.call("POST", path(doc), patient(), body).status_code == 403
    assert api.call("GET", f"/api/admin/doctors/{doc['id']}/conflicts", patient()).status_code == 403
    assert api.call("GET", path({"id": "no-such-doctor"}), admin()).status_code == 404


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8080/c.ics", "https://169.254.169.254/latest/meta-data/", "https://10.1.2.3/c.ics"]
)
def test_a_deployed_stack_refuses_private_loopback_and_metadata_addresses(
    api: Api, wired: container.Container, url: str
) -> None:
    # as deployed: the container built again with loopback receivers refused
    deployed = replace(wired.settings, webhook_allow_loopback=False)
    container.use(container.build(deployed, clock=wired.clock, ids=wired.ids, adapters=wired.adapters))
    doc = api.doctor_with_hours()
    refused = api.call("POST", path(doc), admin(), {"kind": "ics", "url": url})
    assert (refused.status_code, refused.data["error"]["code"]) == (400, "VALIDATION_ERROR")
    assert "url" in refused.data["error"]["details"]["fields"]


def test_a_busy_time_over_a_booked_visit_is_flagged_and_nothing_is_moved(api: Api, feed: Feed) -> None:
    doc = api.doctor_with_hours()
    visit = api.book(doc, time="14:00")
    made = api.call("POST", path(doc), admin(), {"kind": "ics", "url": feed.url}).data
    assert api.call("GET", f"/api/admin/doctors/{doc['id']}/conflicts", admin()).data == {"conflicts": []}
    # WHEN the doctor's calendar gains a busy time over the visit
    feed.body = ics(BUSY_10_TO_11, ("busy-2", "20261202T190000Z", "20261202T200000Z"))
    api.call("POST", path(doc, f"/{made['id']}/sync"), admin())
    # THEN staff see the conflict, and the visit is untouched
    flagged = api.call("GET", f"/api/admin/doctors/{doc['id']}/conflicts", doctor(doc["id"])).data["conflicts"]
    assert flagged == [
        {
            "appointmentId": visit["id"],
            "calendarId": made["id"],
            "start": "2026-12-02T19:00:00Z",
            "end": "2026-12-02T20:00:00Z",
        }
    ]
    assert api.call("GET", f"/api/appointments/{visit['id']}", admin()).data["status"] == "scheduled"
    # WHEN the visit is cancelled THEN it is no longer listed
    api.call("DELETE", f"/api/appointments/{visit['id']}", admin())
    assert api.call("GET", f"/api/admin/doctors/{doc['id']}/conflicts", admin()).data == {"conflicts": []}


def test_a_failing_feed_keeps_its_busy_times_and_says_why(api: Api, feed: Feed) -> None:
    doc = api.doctor_with_hours()
    made = api.call("POST", path(doc), admin(), {"kind": "ics", "url": feed.url}).data
    feed.status = 404
    failing = api.call("POST", path(doc, f"/{made['id']}/sync"), admin()).data
    assert failing["state"] == "failing"
    assert failing["lastError"].startswith("the feed answered 404 since ")
    assert failing["lastSyncAt"] == made["lastSyncAt"] and failing["busyIntervals"] == 1
    assert not free_at(api, doc, "10:00")


def caldav_event(uid: str, start: str, end: str) -> str:
    return ics((uid, start, end)).decode()


def test_caldav_with_an_app_password_read_from_radicale_and_revoked(
    api: Api, wired: container.Container, radicale: Radicale
) -> None:
    # GIVEN the doctor's Radicale calendar with a busy time 10:00-11:00
    calendar = radicale.calendar("dr", "app-password-1")
    calendar.save_event(caldav_event(*BUSY_10_TO_11))
    doc = api.doctor_with_hours()
    body = {"kind": "caldav", "url": str(calendar.url), "username": "dr", "password": "app-password-1"}
    # WHEN it is connected with its app password
    made = api.call("POST", path(doc), admin(), body)
    # THEN its busy time blocks 10:00; the password is in Secrets Manager and in no answer
    assert made.status_code == 201, made.data
    assert made.data["busyIntervals"] == 1 and not free_at(api, doc, "10:00")
    assert "app-password-1" not in str(made.data) and "password" not in made.data
    secrets = boto3.client("secretsmanager", region_name=wired.settings.region).list_secrets()["SecretList"]
    assert [s["Name"].rsplit("/", 1)[-1] for s in secrets] == [made.data["id"]]
    # WHEN nothing changed THEN a sync is one sync-token check, still active
    again = api.call("POST", path(doc, f"/{made.data['id']}/sync"), admin()).data
    assert again["state"] == "active" and again["busyIntervals"] == 1
    # WHEN the app password is revoked THEN the connection fails in plain words and keeps its busy times
    radicale.set_password("dr", "app-password-2")
    failing = api.call("POST", path(doc, f"/{made.data['id']}/sync"), admin()).data
    assert failing["state"] == "failing" and "401" in failing["lastError"]
    assert not free_at(api, doc, "10:00")
    # WHEN it is disconnected THEN its secret is destroyed
    api.call("DELETE", path(doc, f"/{made.data['id']}"), admin())
    assert boto3.client("secretsmanager", region_name=wired.settings.region).list_secrets()["SecretList"] == []


def test_caldav_server_down_is_said_in_plain_words(api: Api, radicale: Radicale) -> None:
    calendar = radicale.calendar("dr", "app-password-1")
    doc = api.doctor_with_hours()
    body = {"kind": "caldav", "url": str(calendar.url), "username": "dr", "password": "app-password-1"}
    made = api.call("POST", path(doc), admin(), body).data
    radicale.process.terminate()
    radicale.process.wait(10)
    failing = api.call("POST", path(doc, f"/{made['id']}/sync"), admin()).data
    assert failing["state"] == "failing" and "down" in failing["lastError"]


def test_the_sweep_syncs_each_due_calendar_on_its_own(
    api: Api, wired: container.Container, clock: Any, lambdas: Any, feed: Feed
) -> None:
    from datetime import timedelta

    # GIVEN two doctors' calendars, and doctor A's busy-time write failing unexpectedly
    doc_a, doc_b = api.doctor_with_hours(), api.doctor_with_hours(name="Dr. B")
    for doc in (doc_a, doc_b):
        assert api.call("POST", path(doc), admin(), {"kind": "ics", "url": feed.url}).status_code == 201
    real = wired.store.write_busy

    def failing(doctor_id: str, *rest: Any) -> None:
        if doctor_id == doc_a["id"]:
            raise RuntimeError("the store broke")
        real(doctor_id, *rest)

    wired.store.write_busy = failing  # type: ignore[method-assign,assignment]
    feed.body = ics(BUSY_10_TO_11, ("busy-2", "20261202T190000Z", "20261202T200000Z"))
    # WHEN the scheduled sync runs once they are due (not before)
    event = lambdas.events.generate_cw_event(
        source="aws.events", detail_type="Scheduled Event", detail={}, resources=[]
    )
    assert lambdas.lambda_.invoke("calendar_sync", event).payload["synced"] == 0
    clock.current += timedelta(minutes=6)
    report = lambdas.lambda_.invoke("calendar_sync", event).payload
    # THEN doctor B's calendar is synced (14:00 now busy), whatever happened to doctor A's
    assert report["synced"] == 1
    assert not free_at(api, doc_b, "14:00") and free_at(api, doc_a, "14:00")


@pytest.mark.parametrize("jitter", [1.0, 30.0, 59.0])
def test_a_calendar_is_synced_by_the_next_run_five_minutes_later_whatever_its_jitter(
    api: Api, lambdas: Any, clock: Any, feed: Feed, monkeypatch: pytest.MonkeyPatch, jitter: float
) -> None:
    from datetime import timedelta

    from chalicelib.services import calendar_connections

    # GIVEN a calendar synced now (its next poll: 5 minutes plus the jitter; drawn at random, a draw under the
    # stored time's precision made it due at the 4-minute run now and then, so the test names its jitter)
    monkeypatch.setattr(calendar_connections._SPREAD, "uniform", lambda low, high: jitter)
    doc = api.doctor_with_hours()
    assert api.call("POST", path(doc), admin(), {"kind": "ics", "url": feed.url}).status_code == 201
    event = lambdas.events.generate_cw_event(
        source="aws.events", detail_type="Scheduled Event", detail={}, resources=[]
    )
    # WHEN the schedule runs 4 minutes on THEN nothing is due; WHEN it runs 5 minutes on THEN it is synced
    clock.current += timedelta(minutes=4)
    assert lambdas.lambda_.invoke("calendar_sync", event).payload["synced"] == 0
    clock.current += timedelta(minutes=1)
    assert lambdas.lambda_.invoke("calendar_sync", event).payload["synced"] == 1
    assert len(feed.requests) == 2
