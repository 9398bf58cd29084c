"""What the access log costs a list: one write per request, however many patients it shows (the console's day view
lists each doctor's day), while each patient's history still names who saw it, when, and which visits."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.helpers import SequentialIds, admin, patient

WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"})
TIMES = ("09:00", "09:30", "10:00", "10:30", "11:00", "11:30", "13:00", "13:30", "14:00", "14:30", "15:00", "15:30")


class FreezableIds(SequentialIds):
    """Sequential ids until frozen; then the same id every time (access entries whose keys collide)."""

    def __init__(self) -> None:
        super().__init__()
        self.frozen: str | None = None

    def new_id(self) -> str:
        return self.frozen or super().new_id()


@pytest.fixture
def ids() -> FreezableIds:
    return FreezableIds()


@pytest.fixture
def calls(wired: Any) -> Iterator[list[str]]:
    """The name of every DynamoDB operation the store's clients send, in order."""
    seen: list[str] = []

    def record(model: Any, **_: Any) -> None:
        seen.append(model.name)

    clients = wired.store.botocore_clients()
    for client in clients:
        client.meta.events.register("before-call.dynamodb.*", record, unique_id="count-access-log-writes")
    yield seen
    for client in clients:
        client.meta.events.unregister("before-call.dynamodb.*", unique_id="count-access-log-writes")


def test_a_day_of_twelve_patients_is_logged_in_one_write_and_each_history_shows_its_read(api, calls):
    # GIVEN a doctor's day with twelve visits of twelve patients
    doc = api.doctor_with_hours()
    made = {f"pt-{n}": api.book(doc, patient(f"pt-{n}"), date="2026-12-03", time=at) for n, at in enumerate(TIMES)}
    calls.clear()
    # WHEN staff list that day, as the console's day view does
    listed = api.call("GET", f"/api/appointments/doctor/{doc['id']}?from=2026-12-03&to=2026-12-03", admin("a-9"))
    # THEN all twelve are shown and the request wrote once
    assert listed.status_code == 200, listed.data
    assert len(listed.data["appointments"]) == 12
    assert [name for name in calls if name in WRITES] == ["TransactWriteItems"], calls
    # AND each patient's access history names the read, its reader and its own visit only
    for patient_id, visit in made.items():
        history = api.call("GET", f"/api/admin/patients/{patient_id}/access", admin()).data["entries"]
        reads = [e for e in history if e["route"] == "GET /api/appointments/doctor/{doctorId}"]
        assert [(e["actorId"], e["action"], e["appointmentIds"]) for e in reads] == [("a-9", "read", [visit["id"]])]


def test_a_list_showing_no_patient_writes_nothing(api, calls):
    # GIVEN a doctor with no visits WHEN staff list its day THEN the access log is not written at all
    doc = api.doctor_with_hours()
    calls.clear()
    listed = api.call("GET", f"/api/appointments/doctor/{doc['id']}?from=2026-12-03&to=2026-12-03", admin())
    assert listed.status_code == 200 and listed.data["appointments"] == []
    assert not [name for name in calls if name in WRITES], calls


def test_entries_are_never_overwritten_and_a_request_logs_all_of_its_patients_or_none(api, calls, ids):
    # GIVEN two patients' visits, listed once by staff while every new id is the same one
    doc = api.doctor_with_hours()
    for n, at in enumerate(("09:00", "09:30")):
        api.book(doc, patient(f"pt-{n}"), date="2026-12-03", time=at)
    day = f"/api/appointments/doctor/{doc['id']}?from=2026-12-03&to=2026-12-03"
    ids.frozen = "same-id"
    assert api.call("GET", day, admin("a-1")).status_code == 200
    # WHEN another admin lists the same day at the same instant, so both entries' keys are taken
    calls.clear()
    again = api.call("GET", day, admin("a-2"))
    # THEN the list is refused rather than shown unrecorded, in one write that changed nothing
    assert (again.status_code, again.data["error"]["code"]) == (409, "CONFLICT"), again.data
    assert [name for name in calls if name == "TransactWriteItems"] == ["TransactWriteItems"], calls
    # AND each history still holds the first reader's entry, unchanged
    ids.frozen = None
    for n in range(2):
        history = api.call("GET", f"/api/admin/patients/pt-{n}/access", admin()).data["entries"]
        reads = [e["actorId"] for e in history if e["route"] == "GET /api/appointments/doctor/{doctorId}"]
        assert reads == ["a-1"]


def test_a_lost_answer_to_the_logs_write_is_resent_and_each_entry_is_written_once(api, calls, faults):
    # GIVEN a day of two patients' visits, and a log write whose answer is lost after it landed
    doc = api.doctor_with_hours()
    for n, at in enumerate(("09:00", "09:30")):
        api.book(doc, patient(f"pt-{n}"), date="2026-12-03", time=at)
    faults.lose_response("TransactWriteItems")
    # WHEN staff list the day
    listed = api.call("GET", f"/api/appointments/doctor/{doc['id']}?from=2026-12-03&to=2026-12-03", admin("a-3"))
    # THEN the list is shown (the write had landed) and each patient's history holds the read once
    assert listed.status_code == 200, listed.data
    for n in range(2):
        history = api.call("GET", f"/api/admin/patients/pt-{n}/access", admin()).data["entries"]
        reads = [e["actorId"] for e in history if e["route"] == "GET /api/appointments/doctor/{doctorId}"]
        assert reads == ["a-3"]
