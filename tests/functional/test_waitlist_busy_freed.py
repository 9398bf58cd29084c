"""The waitlist notices time freed in a doctor's own calendar (moto, a loopback ICS feed): a busy event the feed
drops (or shortens) is offered to a matching waiting entry after the sync's write commits; a sync that removes
nothing offers nothing; a failing waitlist never fails the sync."""

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
from tests.functional.test_waitlist import entry, joined
from tests.helpers import BOOKING_DAY, admin

DAY = BOOKING_DAY.isoformat()
BUSY_10_TO_11 = ("busy-1", "20261202T150000Z", "20261202T160000Z")  # BOOKING_DAY 10:00-11:00 in New York
BUSY_14_TO_15 = ("busy-2", "20261202T190000Z", "20261202T200000Z")
MORNING = [{"start": "10:00", "end": "11:00"}]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return replace(settings, webhook_allow_loopback=True)


@pytest.fixture
def feed() -> Iterator[Feed]:
    with feed_server(Feed(ics(BUSY_10_TO_11))) as served:
        yield served


def connect(api: Api, doc: dict[str, Any], feed: Feed) -> dict[str, Any]:
    made = api.call("POST", f"/api/admin/doctors/{doc['id']}/calendars", admin(), {"kind": "ics", "url": feed.url})
    assert made.status_code == 201, made.data
    return made.data


def sync(api: Api, doc: dict[str, Any], calendar: dict[str, Any]) -> dict[str, Any]:
    done = api.call("POST", f"/api/admin/doctors/{doc['id']}/calendars/{calendar['id']}/sync", admin())
    assert done.status_code == 200, done.data
    return done.data


def freed_logs(wired: container.Container, doc: dict[str, Any]) -> list[Any]:
    store = wired.adapters.waitlist
    return store.freed_of(doc["id"], BOOKING_DAY - timedelta(days=7), BOOKING_DAY + timedelta(days=7))


def test_a_busy_event_dropped_from_the_feed_is_offered_on_the_next_sync(
    api: Api, feed: Feed, wired: container.Container
) -> None:
    # GIVEN a doctor's calendar busy 10:00-11:00 and a patient waiting for exactly that time
    doc = api.doctor_with_hours()
    calendar = connect(api, doc, feed)
    waiting = joined(api, doc, "w1", times=MORNING)
    assert entry(api, waiting["id"], "w1")["status"] == "waiting"
    # WHEN the feed drops the event and the calendar is synced
    feed.body = ics(BUSY_14_TO_15)
    synced = sync(api, doc, calendar)
    # THEN the sync succeeds and the entry is offered 10:00 that day, with a hold
    assert synced["state"] == "active" and synced["busyIntervals"] == 1
    offered = entry(api, waiting["id"], "w1")
    assert offered["status"] == "offered"
    assert (offered["offer"]["date"], offered["offer"]["time"]) == (DAY, "10:00")
    # AND the freed time's log says where it came from
    assert {(r.origin, r.source_id) for r in freed_logs(wired, doc)} == {("busy-removed", "calendar")}


def test_a_sync_that_removes_nothing_offers_nothing(api: Api, feed: Feed, wired: container.Container) -> None:
    # GIVEN a doctor's calendar busy 10:00-11:00 and a patient waiting for that time
    doc = api.doctor_with_hours()
    calendar = connect(api, doc, feed)
    waiting = joined(api, doc, "w1", times=MORNING)
    # WHEN the feed only gains an event (10:00 stays busy) and is synced, then synced again unchanged
    feed.body = ics(BUSY_10_TO_11, BUSY_14_TO_15)
    assert sync(api, doc, calendar)["busyIntervals"] == 2
    sync(api, doc, calendar)
    # THEN nothing is offered or logged
    assert entry(api, waiting["id"], "w1")["status"] == "waiting"
    assert freed_logs(wired, doc) == []


def test_a_failing_waitlist_never_fails_the_sync(api: Api, feed: Feed, wired: container.Container) -> None:
    # GIVEN a waiting entry for the busy time, and a waitlist whose offers fail
    doc = api.doctor_with_hours()
    calendar = connect(api, doc, feed)
    waiting = joined(api, doc, "w1", times=MORNING)

    def broken(record_id: str) -> str:
        raise RuntimeError("the waitlist table is unreachable")

    wired.waitlist.offer_freed = broken  # type: ignore[method-assign]
    # WHEN the feed drops the event and is synced
    feed.body = ics(BUSY_14_TO_15)
    synced = sync(api, doc, calendar)
    # THEN the sync still succeeds (the busy times are written), and the entry stays waiting
    assert synced["state"] == "active" and synced["busyIntervals"] == 1 and "lastError" not in synced
    assert entry(api, waiting["id"], "w1")["status"] == "waiting"
