"""Reschedules and reminders racing: a follow-up of an older version never overwrites a newer plan, reminders
a move cancelled come back when the visit moves out again, and a reschedule that commits while a reminder is
being sent plans it again for the new time."""

from __future__ import annotations

from datetime import timedelta

import pytest

from chalicelib import container
from chalicelib.domain.delivery import Delivery
from tests.functional.test_reminders import dispatch
from tests.helpers import patient


def reminders_of(api, appointment_id):
    listed = api.call("GET", f"/api/reminders/appointment/{appointment_id}", patient()).data["reminders"]
    return {(r["type"], r["timing"]): r for r in listed}


def reschedule(api, appointment_id, day, at):
    moved = api.call("PUT", f"/api/appointments/{appointment_id}/reschedule", patient(), {"date": day, "time": at})
    assert moved.status_code == 200, moved.data
    return moved.data


def test_wanted_timings_come_back_when_the_visit_moves_out_again(api):
    # GIVEN a visit on 2026-12-02 with a 24h e-mail reminder
    a = api.book(api.doctor_with_hours(), reminderPreferences={"email": True, "timing": "24h"})
    # WHEN it moves to this afternoon (no room for a 24h reminder), then out to 2026-12-03
    reschedule(api, a["id"], "2026-12-01", "14:00")
    assert reminders_of(api, a["id"])[("email", "24h")]["status"] == "cancelled"
    reschedule(api, a["id"], "2026-12-03", "11:00")
    # THEN the 24h reminder is pending again, 24 hours before the new time
    back = reminders_of(api, a["id"])[("email", "24h")]
    assert (back["status"], back["scheduledTime"]) == ("pending", "2026-12-02T16:00:00Z")


def test_a_follow_up_of_an_older_version_does_not_overwrite_a_newer_plan(api, wired):
    # GIVEN a visit moved twice; the second move's follow-up wrote its plan first
    a = api.book(api.doctor_with_hours(), reminderPreferences={"email": True, "timing": "24h"})
    first = reschedule(api, a["id"], "2026-12-03", "11:00")
    stored_first = wired.store.get(a["id"])
    second = reschedule(api, a["id"], "2026-12-04", "09:00")
    assert (first["date"], second["date"]) == ("2026-12-03", "2026-12-04")
    # WHEN the first move's follow-up (older version) arrives late
    wired.reminders.follow_reschedule(stored_first)
    # THEN the reminder stays planned for the final time
    plan = reminders_of(api, a["id"])[("email", "24h")]
    assert plan["scheduledTime"] == "2026-12-03T14:00:00Z"  # 24h before 2026-12-04 09:00 New York


class ReschedulingDeliverer:
    """Sends, and while it sends the visit is rescheduled (the reschedule commits during the send)."""

    def __init__(self, during_send) -> None:
        self.during_send = during_send
        self.sent: list[str] = []

    def send(self, reminder, appointment, push_endpoints):
        self.during_send()
        self.sent.append(reminder.id)
        return Delivery("m-1")

    def register_device(self, patient_id, platform, token):
        return "unused"


@pytest.fixture
def adapters() -> container.Adapters:
    """The container's deliverer is a ReschedulingDeliverer (it does nothing more while sending until told)."""
    return container.Adapters(deliverer=ReschedulingDeliverer(lambda: None))


def test_a_reschedule_that_commits_while_the_reminder_is_sending_plans_it_for_the_new_time(api, wired, clock, lambdas):
    # GIVEN a 24h reminder being sent when the patient moves the visit a day later
    a = api.book(api.doctor_with_hours(), reminderPreferences={"email": True, "timing": "24h"})
    rid = f"{a['id']}_email-24h"
    deliverer = wired.adapters.deliverer
    deliverer.during_send = lambda: reschedule(api, a["id"], "2026-12-03", "10:00")
    clock.current = clock.current.replace(hour=15)
    # WHEN the dispatcher sends it
    assert dispatch(lambdas, rid) == "sent"
    # THEN it is planned again, 24 hours before the new time, and goes out then
    again = reminders_of(api, a["id"])[("email", "24h")]
    assert (again["status"], again["scheduledTime"]) == ("pending", "2026-12-02T15:00:00Z")
    deliverer.during_send = lambda: None
    clock.current += timedelta(days=1)
    assert dispatch(lambdas, rid) == "sent"
    assert deliverer.sent == [rid, rid]  # before the move, and again at the new time
