"""The `calendar.conflict` event: what it carries, how its id is made, and how its payload is shaped."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from chalicelib.domain.timefmt import instant
from chalicelib.domain.webhooks import EVENT_TYPES, check_events, conflict_event, message_body

FOUND = datetime(2026, 12, 1, 9, 5, tzinfo=UTC)
START, END = datetime(2026, 12, 2, 19, tzinfo=UTC), datetime(2026, 12, 2, 20, tzinfo=UTC)
VISIT = {
    "id": "a-1",
    "doctorId": "dr-1",
    "location": "Main St",
    "status": "scheduled",
    "reason": "chest pain",
    "contact": {"email": "pat@example.test", "phone": "+15550100"},
}


def test_calendar_conflict_is_an_event_type_subscriptions_may_ask_for() -> None:
    assert "calendar.conflict" in EVENT_TYPES
    assert check_events(["calendar.conflict"]) == ("calendar.conflict",)


def test_the_event_names_the_visit_doctor_calendar_and_busy_time_and_carries_the_visit() -> None:
    # GIVEN a conflict found by a sync WHEN it becomes an event
    event = conflict_event(VISIT, "cal-1", START, END, FOUND, instant, 3)
    # THEN it is about the visit (its doctor and location filter it) with the visit's version as its sequence
    assert (event.type, event.appointment_id, event.doctor_id, event.location) == (
        "calendar.conflict",
        "a-1",
        "dr-1",
        "Main St",
    )
    assert event.sequence == 3 and event.occurred_at == FOUND
    assert {k: v for k, v in event.data.items() if k != "appointment"} == {
        "appointmentId": "a-1",
        "doctorId": "dr-1",
        "calendarId": "cal-1",
        "start": "2026-12-02T19:00:00Z",
        "end": "2026-12-02T20:00:00Z",
    }
    assert event.data["appointment"]["status"] == "scheduled"


def test_its_body_has_no_contact_details_and_the_reason_only_when_opted_in() -> None:
    event = conflict_event(VISIT, "cal-1", START, END, FOUND, instant, 3)
    plain = json.loads(message_body(event, include_reason=False, instant=instant))
    opted = json.loads(message_body(event, include_reason=True, instant=instant))
    assert plain["type"] == "calendar.conflict" and plain["data"]["eventId"] == event.id
    assert "reason" not in plain["data"]["appointment"] and opted["data"]["appointment"]["reason"] == "chest pain"
    for body in (plain, opted):
        assert body["data"]["appointment"]["contact"] == {}


def test_the_same_finding_has_one_id_and_a_later_one_another() -> None:
    # GIVEN the same conflict handed over twice, and found again later (after it had ended)
    first = conflict_event(VISIT, "cal-1", START, END, FOUND, instant, 3)
    same = conflict_event(VISIT, "cal-1", START, END, FOUND, instant, 3)
    later = conflict_event(VISIT, "cal-1", START, END, FOUND + timedelta(minutes=10), instant, 3)
    other_calendar = conflict_event(VISIT, "cal-2", START, END, FOUND, instant, 3)
    # THEN one id for the same finding, another for each other finding
    assert first.id == same.id and first.id.startswith("evt_")
    assert len({first.id, later.id, other_calendar.id}) == 3
