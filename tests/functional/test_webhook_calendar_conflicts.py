"""`calendar.conflict` webhooks against moto: a doctor's own calendar (a loopback ICS feed) gains a busy time over a
booked visit, and a real receiver on loopback (verifying every signature with `standardwebhooks`) gets one event
for it, not one per sync; a failure to hand it over never fails the sync."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from chalicelib import container
from chalicelib.config import Settings
from tests.calendar_servers import Feed, feed_server, ics
from tests.functional.conftest import Api
from tests.helpers import admin
from tests.webhook_receiver import Receiver

BUSY_10_TO_11 = ("busy-1", "20261202T150000Z", "20261202T160000Z")  # BOOKING_DAY 10:00-11:00 in New York
BUSY_14_TO_15 = ("busy-2", "20261202T190000Z", "20261202T200000Z")  # over a visit booked at 14:00
BUSY_16_TO_17 = ("busy-3", "20261202T210000Z", "20261202T220000Z")  # over nothing


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return replace(settings, webhook_allow_loopback=True)  # receivers and feeds on loopback, as under `make run`


@pytest.fixture
def feed() -> Iterator[Feed]:
    with feed_server(Feed(ics(BUSY_10_TO_11))) as served:
        yield served


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as r:
        yield r


def subscribe(api: Api, receiver: Receiver, **extra: Any) -> dict[str, Any]:
    made = api.call(
        "POST", "/api/admin/webhooks", admin(), {"url": receiver.url, "events": ["calendar.conflict"], **extra}
    )
    assert made.status_code == 201, made.data
    receiver.secrets.append(made.data["secret"])
    return made.data


def connect(api: Api, doc: dict[str, Any], feed: Feed) -> dict[str, Any]:
    made = api.call("POST", f"/api/admin/doctors/{doc['id']}/calendars", admin(), {"kind": "ics", "url": feed.url})
    assert made.status_code == 201, made.data
    return made.data


def sync_now(api: Api, doc: dict[str, Any], calendar: dict[str, Any]) -> dict[str, Any]:
    synced = api.call("POST", f"/api/admin/doctors/{doc['id']}/calendars/{calendar['id']}/sync", admin())
    assert synced.status_code == 200, synced.data
    return synced.data


def send_due() -> dict[str, Any]:
    from chalicelib.api.webhooks import run_webhook_sweep

    return run_webhook_sweep()


def conflicts(api: Api, doc: dict[str, Any]) -> list[dict[str, Any]]:
    return api.call("GET", f"/api/admin/doctors/{doc['id']}/conflicts", admin()).data["conflicts"]


def test_a_new_busy_time_over_a_booked_visit_delivers_one_signed_conflict_and_later_syncs_none(
    api: Api, wired: container.Container, feed: Feed, receiver: Receiver, clock: Any
) -> None:
    # GIVEN a visit at 14:00, the doctor's calendar connected (busy 10:00-11:00 only), and a subscriber
    doc = api.doctor_with_hours()
    visit = api.book(doc, time="14:00", reason="chest pain")
    calendar = connect(api, doc, feed)
    subscribe(api, receiver)
    # WHEN the calendar gains a busy time over the visit and is synced
    feed.body = ics(BUSY_10_TO_11, BUSY_14_TO_15)
    sync_now(api, doc, calendar)
    send_due()
    # THEN the receiver got one calendar.conflict, signed, naming the visit, its doctor, the calendar and busy time
    assert [r.message["type"] for r in receiver.got] == ["calendar.conflict"]
    got = receiver.got[0]
    assert got.verified
    data = got.message["data"]
    assert {k: data[k] for k in ("appointmentId", "doctorId", "calendarId", "start", "end")} == {
        "appointmentId": visit["id"],
        "doctorId": doc["id"],
        "calendarId": calendar["id"],
        "start": "2026-12-02T19:00:00Z",
        "end": "2026-12-02T20:00:00Z",
    }
    assert data["eventId"] == got.headers["webhook-id"] and data["sequence"] >= 1
    # AND the visit as the API returns it to staff, without its reason or contact details, and no calendar title
    staff_view = api.call("GET", f"/api/appointments/{visit['id']}", admin()).data
    expected = {k: v for k, v in staff_view.items() if k not in ("reason", "notes", "email", "phone")}
    assert data["appointment"] == expected
    assert b"chest pain" not in got.body and b"never stored" not in got.body and b"SUMMARY" not in got.body
    # WHEN the same calendar is synced again later, unchanged, and then read anew with the conflict still there
    clock.current += timedelta(minutes=5)
    sync_now(api, doc, calendar)
    feed.body = ics(BUSY_10_TO_11, BUSY_14_TO_15, BUSY_16_TO_17)
    clock.current += timedelta(minutes=5)
    again = sync_now(api, doc, calendar)
    send_due()
    # THEN nothing more was delivered, and the conflict is still listed for staff
    assert again["busyIntervals"] == 3
    assert len(receiver.got) == 1
    assert [c["appointmentId"] for c in conflicts(api, doc)] == [visit["id"]]


def test_a_conflict_that_ends_and_comes_back_fires_again(
    api: Api, wired: container.Container, feed: Feed, receiver: Receiver, clock: Any
) -> None:
    # GIVEN a visit at 14:00 whose conflict was delivered
    doc = api.doctor_with_hours()
    api.book(doc, time="14:00")
    calendar = connect(api, doc, feed)
    subscribe(api, receiver)
    feed.body = ics(BUSY_10_TO_11, BUSY_14_TO_15)
    sync_now(api, doc, calendar)
    # WHEN the busy time is removed, synced, and added again (later syncs)
    feed.body = ics(BUSY_10_TO_11)
    clock.current += timedelta(minutes=5)
    sync_now(api, doc, calendar)
    feed.body = ics(BUSY_10_TO_11, BUSY_14_TO_15)
    clock.current += timedelta(minutes=5)
    sync_now(api, doc, calendar)
    send_due()
    # THEN each time it newly appeared was delivered, as two events (two ids)
    assert [r.message["type"] for r in receiver.got] == ["calendar.conflict", "calendar.conflict"]
    assert len({r.headers["webhook-id"] for r in receiver.got}) == 2


def test_a_subscriber_of_other_events_or_another_doctor_gets_no_conflict(
    api: Api, wired: container.Container, feed: Feed, receiver: Receiver
) -> None:
    # GIVEN subscriptions for booking events only, and for another doctor's conflicts
    doc, other = api.doctor_with_hours(), api.create_doctor(name="Dr. Other")
    api.book(doc, time="14:00")
    calendar = connect(api, doc, feed)
    made = api.call("POST", "/api/admin/webhooks", admin(), {"url": receiver.url, "events": ["appointment.booked"]})
    assert made.status_code == 201
    subscribe(api, receiver, doctorId=other["id"])
    # WHEN the doctor's calendar gains a busy time over the visit
    feed.body = ics(BUSY_10_TO_11, BUSY_14_TO_15)
    sync_now(api, doc, calendar)
    send_due()
    # THEN neither gets it
    assert receiver.got == []


def test_a_failure_to_hand_the_conflict_to_the_webhooks_never_fails_the_sync(
    api: Api, wired: container.Container, feed: Feed, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    # GIVEN a visit, a connected calendar, a subscriber, and a webhook fan-out that fails
    doc = api.doctor_with_hours()
    visit = api.book(doc, time="14:00")
    calendar = connect(api, doc, feed)
    subscribe(api, receiver)

    def broken(events: Any) -> Any:
        raise ConnectionError("webhooks table unreachable")

    wired.webhooks.publish = broken  # type: ignore[method-assign]
    # WHEN the calendar gains a busy time over the visit and is synced
    feed.body = ics(BUSY_10_TO_11, BUSY_14_TO_15)
    synced = sync_now(api, doc, calendar)
    # THEN the sync succeeded, the conflict is listed for staff, and the failure is logged
    assert synced["busyIntervals"] == 2 and "lastError" not in synced
    assert [c["appointmentId"] for c in conflicts(api, doc)] == [visit["id"]]
    assert "new conflicts not handed to the webhooks" in caplog.text
    send_due()
    assert receiver.got == []
