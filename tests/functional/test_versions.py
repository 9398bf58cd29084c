"""Versions only grow: recording a sent reminder grows the appointment's version instead of resetting it, so a
stale write (read before, written after) is refused and the locks, counters and row stay consistent."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest

from chalicelib.domain.audit import audit_of
from chalicelib.domain.errors import InvalidState
from chalicelib.domain.identity import Caller, Role
from tests.functional.test_reminders import dispatch

ADMIN = Caller("admin-1", Role.ADMIN)


def test_a_sent_reminder_grows_the_version_and_a_stale_reschedule_is_refused(api, wired, clock, lambdas):
    # GIVEN a booking read by a slow writer, then its reminder is sent
    a = api.book(api.doctor_with_hours(), reminderPreferences={"email": True, "timing": "24h"})
    stale = wired.store.get(a["id"])
    clock.current = clock.current.replace(hour=15)
    assert dispatch(lambdas, f"{a['id']}_email-24h") == "sent"
    fresh = wired.store.get(a["id"])
    assert fresh.reminder_sent and fresh.version == stale.version + 1
    day = date(2026, 12, 2)
    before = wired.store.day_state(a["doctorId"], day)
    # WHEN the slow writer moves the appointment from what it read
    start = stale.starts_at + timedelta(hours=2)
    moved = replace(stale, time="12:00", starts_at=start, ends_at=start + timedelta(minutes=30))
    with pytest.raises(InvalidState):
        wired.store.reschedule(stale, moved, audit_of("audit-x", ADMIN, "rescheduled", stale, moved, clock.now()), 20)
    # THEN it is refused and nothing moved: the row, its locks and the day's counter are as they were
    after = wired.store.get(a["id"])
    assert (after.time, after.version) == ("10:00", fresh.version)
    assert wired.store.day_state(a["doctorId"], day) == before


def test_a_reschedule_while_sending_still_records_the_outcome(api, wired, clock, lambdas):
    # GIVEN a reminder claimed by the dispatcher (it read the appointment), then the visit is rescheduled
    a = api.book(api.doctor_with_hours(), reminderPreferences={"email": True, "timing": "24h"})
    rid = f"{a['id']}_email-24h"
    clock.current = clock.current.replace(hour=15)
    claimed = wired.adapters.reminders.claim(rid, clock.now())
    read = wired.store.get(a["id"])
    from tests.helpers import patient

    moved = api.call(
        "PUT", f"/api/appointments/{a['id']}/reschedule", patient(), {"date": "2026-12-03", "time": "11:00"}
    )
    assert moved.status_code == 200
    # WHEN the dispatcher records the send it made for the version it read
    sent = replace(claimed, status=claimed.status.SENT, sent_at=clock.now(), updated_at=clock.now())
    assert wired.adapters.reminders.finish(sent, mark_appointment_reminded=True, appointment=read)
    # THEN the reminder is recorded sent, and the moved appointment is not flagged nor its version reset
    assert wired.adapters.reminders.get(rid).status.value == "sent"
    now = wired.store.get(a["id"])
    assert now.reminder_sent is False and now.version == read.version + 1
