"""Idempotency-Key on the writes the front ends retry after a lost answer: cancel, reschedule, status and reminder
changes. A retry of a change that landed answers what the first attempt answered, never a 409."""

from __future__ import annotations

import pytest

from tests.faults import throttled
from tests.helpers import BOOKING_DAY, admin, patient

DAY = BOOKING_DAY.isoformat()


@pytest.fixture
def doc(api):
    return api.doctor_with_hours()


@pytest.fixture
def visit(api, doc):
    return api.book(doc, reminderPreferences={"email": True, "timings": ["24h"]})


def keyed(key: str, who: dict[str, str] | None = None) -> dict[str, str]:
    return {**(who or patient()), "Idempotency-Key": key}


def test_a_cancel_retried_without_a_key_is_refused_as_already_cancelled(api, visit):
    # GIVEN a cancel that landed WHEN it is sent again without a key THEN the second answer is a 409 (the bug)
    assert api.call("DELETE", f"/api/appointments/{visit['id']}", patient()).status_code == 200
    again = api.call("DELETE", f"/api/appointments/{visit['id']}", patient())
    assert again.status_code == 409


def test_a_cancel_retried_with_its_key_answers_the_first_success(api, visit):
    # GIVEN a cancel with a key that landed (its answer lost on the way back)
    first = api.call("DELETE", f"/api/appointments/{visit['id']}", keyed("cancel-1"))
    assert first.status_code == 200 and first.data["status"] == "cancelled"
    # WHEN the client retries it with the same key
    again = api.call("DELETE", f"/api/appointments/{visit['id']}", keyed("cancel-1"))
    # THEN it reads as the same success
    assert (again.status_code, again.data) == (200, first.data)


def test_a_reschedule_retried_with_its_key_moves_once_and_answers_the_first_success(api, doc, visit):
    body = {"date": DAY, "time": "11:00"}
    first = api.call("PUT", f"/api/appointments/{visit['id']}/reschedule", keyed("move-1"), body)
    assert first.status_code == 200, first.data
    again = api.call("PUT", f"/api/appointments/{visit['id']}/reschedule", keyed("move-1"), body)
    assert (again.status_code, again.data) == (200, first.data)
    (only,) = api.appointments_of(doc)
    assert (only["time"], only["status"]) == ("11:00", "rescheduled")
    trail = api.call("GET", f"/api/admin/appointments/{visit['id']}/audit", admin()).data["entries"]
    assert [e["action"] for e in trail].count("rescheduled") == 1


def test_the_same_key_for_another_visit_or_another_time_is_a_conflict(api, doc, visit):
    body = {"date": DAY, "time": "11:00"}
    assert api.call("PUT", f"/api/appointments/{visit['id']}/reschedule", keyed("move-2"), body).status_code == 200
    other = api.call("PUT", f"/api/appointments/{visit['id']}/reschedule", keyed("move-2"), {**body, "time": "14:00"})
    assert (other.status_code, other.data["error"]["code"]) == (409, "CONFLICT")
    assert api.appointments_of(doc)[0]["time"] == "11:00"


def test_one_key_on_two_different_routes_names_two_writes(api, visit):
    # GIVEN a client that (wrongly) reuses a key: a confirm, then a cancel of the same visit under it
    confirmed = api.call("PATCH", f"/api/appointments/{visit['id']}/status", keyed("k"), {"status": "confirmed"})
    assert confirmed.status_code == 200 and confirmed.data["status"] == "confirmed"
    # THEN the cancel is not answered with the confirm's stored result
    cancelled = api.call("DELETE", f"/api/appointments/{visit['id']}", keyed("k"))
    assert (cancelled.status_code, cancelled.data["status"]) == (200, "cancelled")


def test_keys_are_scoped_per_caller(api, visit):
    # GIVEN the patient's keyed cancel WHEN someone else sends the same key for the same path THEN it is theirs
    assert api.call("DELETE", f"/api/appointments/{visit['id']}", keyed("shared")).status_code == 200
    stranger = api.call("DELETE", f"/api/appointments/{visit['id']}", keyed("shared", patient("p2")))
    assert stranger.status_code == 404  # not a replay of the owner's answer


def test_a_failed_first_attempt_is_not_remembered(api, doc, visit):
    api.book(doc, patient("p0"), time="11:00")  # someone else holds 11:00
    body = {"date": DAY, "time": "11:00"}
    refused = api.call("PUT", f"/api/appointments/{visit['id']}/reschedule", keyed("move-3"), body)
    assert refused.status_code == 409
    taken = next(a for a in api.appointments_of(doc) if a["patientId"] == "p0")
    api.call("DELETE", f"/api/appointments/{taken['id']}", admin())
    retried = api.call("PUT", f"/api/appointments/{visit['id']}/reschedule", keyed("move-3"), body)
    assert retried.status_code == 200 and retried.data["time"] == "11:00"


def test_reminder_changes_retried_with_their_key_answer_the_first_success(api, visit):
    (reminder,) = api.call("GET", f"/api/reminders/appointment/{visit['id']}", patient()).data["reminders"]
    path = f"/api/reminders/{reminder['id']}"
    moved = api.call("PUT", path, keyed("r-move"), {"timing": "2h"})
    assert moved.status_code == 200, moved.data
    assert api.call("PUT", path, keyed("r-move"), {"timing": "2h"}).data == moved.data
    cancelled = api.call("DELETE", path, keyed("r-cancel"))
    assert cancelled.status_code == 200 and cancelled.data["status"] == "cancelled"
    again = api.call("DELETE", path, keyed("r-cancel"))
    assert (again.status_code, again.data) == (200, cancelled.data)


def test_reminders_added_with_a_key_are_added_once(api, visit):
    body = {"appointmentId": visit["id"], "sms": True, "timings": ["2h"]}
    first = api.call("POST", "/api/reminders/schedule", keyed("r-add"), body)
    assert first.status_code == 201, first.data
    again = api.call("POST", "/api/reminders/schedule", keyed("r-add"), body)
    assert (again.status_code, again.data) == (201, first.data)
    listed = api.call("GET", f"/api/reminders/appointment/{visit['id']}", patient()).data["reminders"]
    assert sorted((r["type"], r["timing"]) for r in listed) == [("email", "24h"), ("sms", "2h")]


@pytest.mark.parametrize("key", ["", "x" * 129, "bad\u0007key"])
def test_invalid_keys_are_refused_before_anything_changes(api, doc, visit, key):
    refused = api.call("DELETE", f"/api/appointments/{visit['id']}", keyed(key))
    assert refused.status_code == 400 and "Idempotency-Key" in refused.data["error"]["details"]["fields"]
    assert api.appointments_of(doc)[0]["status"] == "scheduled"


@pytest.fixture
def record_left_in_progress(wired):
    """The idempotency record cannot be marked complete after the change commits (its UpdateItem throttled), so a
    retry finds it still `in progress`, as after a Lambda that died between the commit and its bookkeeping."""
    client = wired.idempotency.botocore_clients()[0]
    failures = [throttled()] * 5

    def before(model, **_):
        # a throttled answer in place of DynamoDB's (botocore takes a hook's return value as the response)
        return failures.pop(0) if model.name == "UpdateItem" and failures else None

    client.meta.events.register("before-call.dynamodb.*", before)
    yield failures
    client.meta.events.unregister("before-call.dynamodb.*", before)


def test_a_retried_cancel_whose_record_is_still_in_progress_reads_as_cancelled(api, visit, record_left_in_progress):
    first = api.call("DELETE", f"/api/appointments/{visit['id']}", keyed("stuck-cancel"))
    assert first.status_code == 200 and first.data["status"] == "cancelled"
    record_left_in_progress.clear()
    # WHEN the client retries (its first answer lost) THEN it reads as the cancel it was, not a 409
    again = api.call("DELETE", f"/api/appointments/{visit['id']}", keyed("stuck-cancel"))
    assert (again.status_code, again.data["status"], again.data["id"]) == (200, "cancelled", visit["id"])


def test_a_retried_reminder_cancel_whose_record_is_still_in_progress_reads_as_cancelled(
    api, visit, record_left_in_progress
):
    (reminder,) = api.call("GET", f"/api/reminders/appointment/{visit['id']}", patient()).data["reminders"]
    path = f"/api/reminders/{reminder['id']}"
    assert api.call("DELETE", path, keyed("stuck-reminder")).status_code == 200
    record_left_in_progress.clear()
    again = api.call("DELETE", path, keyed("stuck-reminder"))
    assert (again.status_code, again.data["status"]) == (200, "cancelled")


def test_a_retry_meeting_a_change_still_in_progress_that_has_not_landed_is_a_conflict(
    api, visit, record_left_in_progress
):
    # GIVEN a keyed move whose record stays in progress
    body = {"date": DAY, "time": "11:00"}
    assert api.call("PUT", f"/api/appointments/{visit['id']}/reschedule", keyed("stuck-move"), body).status_code == 200
    record_left_in_progress.clear()
    # WHEN it is retried THEN it is not run a second time: 409, retry shortly
    again = api.call("PUT", f"/api/appointments/{visit['id']}/reschedule", keyed("stuck-move"), body)
    assert (again.status_code, again.data["error"]["code"]) == (409, "CONFLICT")
