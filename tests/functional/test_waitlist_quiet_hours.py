"""Quiet hours for waitlist offers (moto, injected clock): a time freed while it is quiet in the doctor's zone is not
offered (no hold, no message: it stays free for anyone) and its log says `deferred`; the sweep offers it when quiet
hours end; a time booked meanwhile is explained, never offered."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib import container
from tests.functional.test_waitlist import StreamTap, booked_at, entry, joined, outbox
from tests.helpers import BOOKING_DAY, patient

QUIET_NIGHT = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)  # 03:00 in New York
QUIET_ENDS = datetime(2026, 12, 1, 13, 0, tzinfo=UTC)  # 08:00 in New York


@pytest.fixture
def settings(settings):
    return replace(settings, waitlist_quiet_hours="21:00-08:00")


@pytest.fixture
def tap(wired: Any) -> StreamTap:
    return StreamTap(wired)


@pytest.fixture
def adapters(settings: Any, clock: Any) -> container.Adapters:
    """Messages into the outbox (as `make run` delivers), so a test can count what patients got."""
    from chalicelib.adapters.delivery import OutboxDeliverer

    return container.Adapters(deliverer=OutboxDeliverer(replace(settings, delivery="outbox"), clock.now))


@pytest.fixture
def outbox_delivery(wired: Any) -> Any:
    """The container, delivering into the outbox (this module's `adapters`)."""
    return wired


def freed(wired: Any, doc: dict[str, Any]) -> list[Any]:
    return wired.adapters.waitlist.freed_of(doc["id"], BOOKING_DAY, BOOKING_DAY)


def sweep() -> dict[str, int]:
    from chalicelib.api.waitlist import run_waitlist_sweep

    return run_waitlist_sweep()


def cancelled_at_night(api: Any, wired: Any, tap: StreamTap, clock: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """A doctor's 10:00 visit on BOOKING_DAY cancelled at 03:00 (quiet) with a patient waiting for that day."""
    clock.current = QUIET_NIGHT
    doc = api.doctor_with_hours()
    assert doc["timezone"] == "America/New_York"
    visit = booked_at(api, doc)
    waiting = joined(api, doc, "w1")
    tap.flush()
    assert api.call("DELETE", f"/api/appointments/{visit['id']}", patient("booker")).status_code == 200
    report = tap.flush()
    assert report["offered"] == 0
    return doc, waiting


def test_a_time_freed_during_quiet_hours_is_offered_when_they_end(api, wired, tap, clock, outbox_delivery):
    # GIVEN quiet hours 21:00-08:00 and a visit cancelled at 03:00 with a patient waiting
    doc, waiting = cancelled_at_night(api, wired, tap, clock)
    # THEN no offer is made: no hold, no message, and the log says it waits for the end of quiet hours
    assert entry(api, waiting["id"], "w1")["status"] == "waiting"
    assert outbox(wired) == []
    [log] = freed(wired, doc)
    assert log.status == "deferred" and "quiet hours" in (log.reason or "")
    assert [a for a in api.appointments_of(doc) if a["status"] == "held"] == []
    # AND a sweep while still quiet offers nothing
    clock.current = QUIET_ENDS - timedelta(minutes=1)
    assert sweep()["deferredOffered"] == 0
    # WHEN quiet hours end and the sweep runs
    clock.current = QUIET_ENDS + timedelta(minutes=1)
    assert sweep()["deferredOffered"] == 1
    # THEN the entry is offered the time, with one message, sent at the end of quiet hours
    offered = entry(api, waiting["id"], "w1")
    assert offered["status"] == "offered" and offered["offer"]["time"] == "10:00"
    assert len(outbox(wired)) == 1
    # AND the next sweep offers nothing more
    clock.current += timedelta(minutes=1)
    assert sweep()["deferredOffered"] == 0 and len(outbox(wired)) == 1


def test_a_deferred_time_booked_meanwhile_is_explained_not_offered(api, wired, tap, clock, outbox_delivery):
    doc, waiting = cancelled_at_night(api, wired, tap, clock)
    # GIVEN someone books the freed time during quiet hours (it was not held: anyone may)
    clock.current = QUIET_NIGHT + timedelta(hours=1)
    api.book(doc, patient("early-bird"), time="10:00")
    tap.flush()
    # WHEN quiet hours end and the sweep runs
    clock.current = QUIET_ENDS
    assert sweep()["deferredOffered"] == 0
    # THEN nobody is offered it, and its log says why
    assert entry(api, waiting["id"], "w1")["status"] == "waiting" and outbox(wired) == []
    assert [r.status for r in freed(wired, doc)] == ["explained"]


def test_outside_quiet_hours_a_freed_time_is_offered_at_once(api, wired, tap, clock, outbox_delivery):
    # GIVEN quiet hours set and the clock at 20:59 in the doctor's zone
    clock.current = datetime(2026, 12, 1, 1, 59, tzinfo=UTC)  # Nov 30, 20:59 in New York
    doc = api.doctor_with_hours()
    visit = booked_at(api, doc)
    waiting = joined(api, doc, "w1")
    tap.flush()
    # WHEN a visit is cancelled THEN it is offered at once, with its message
    api.call("DELETE", f"/api/appointments/{visit['id']}", patient("booker"))
    assert tap.flush()["offered"] == 1
    assert entry(api, waiting["id"], "w1")["status"] == "offered" and len(outbox(wired)) == 1
