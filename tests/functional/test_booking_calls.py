"""What one booking costs in DynamoDB calls, counted with botocore's own event hook (nothing patched): at most two
reads and one write. The patient's limits are conditions and counters inside the booking's TransactWriteItems,
never a query before it; the directory's search entries ride in the same transaction; staff booking for a patient
read the doctor and the patient's record in one call; the day's busy times are read only for a doctor a calendar
sync wrote busy times for (the transaction's busy guard holds the others at none)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from tests.faults import transaction_cancelled
from tests.helpers import BOOKING_DAY, admin, patient

READS = frozenset({"GetItem", "Query", "Scan", "BatchGetItem", "TransactGetItems"})
OTHER_DAY = BOOKING_DAY + timedelta(days=7)


@pytest.fixture
def calls(wired) -> Iterator[list[str]]:
    """The name of every DynamoDB operation the store's clients send, in order."""
    seen: list[str] = []

    def record(model, **_) -> None:
        seen.append(model.name)

    clients = wired.store.botocore_clients()
    for client in clients:
        client.meta.events.register("before-call.dynamodb.*", record, unique_id="count-booking-calls")
    yield seen
    for client in clients:
        client.meta.events.unregister("before-call.dynamodb.*", unique_id="count-booking-calls")


def test_a_booking_reads_the_doctor_only_and_writes_one_transaction(api, calls):
    # GIVEN a doctor no calendar sync wrote busy times for, and a patient who already holds a visit (so its limit
    # items exist) and is in the directory
    doc = api.doctor_with_hours()
    api.book(doc, date="2026-12-03")
    calls.clear()
    # WHEN the patient books another visit
    made = api.try_book(doc)
    # THEN it is booked with one read (the doctor: its busy times are not read, the transaction's busy guard holds
    # them at none) and a single write, the transaction
    assert made.status_code == 201, made.data
    assert [name for name in calls if name in READS] == ["GetItem"], calls
    assert [name for name in calls if name not in READS] == ["TransactWriteItems"], calls


def test_a_booking_of_a_doctor_with_busy_times_reads_them_too(api, wired, calls):
    # GIVEN a doctor a calendar sync wrote busy times for (on another day)
    doc = api.doctor_with_hours()
    wired.store.write_busy(doc["id"], OTHER_DAY, "cal-1", [])
    calls.clear()
    # WHEN a patient books THEN the doctor and the day's busy times are read, and one transaction written
    assert api.try_book(doc).status_code == 201
    assert [name for name in calls if name in READS] == ["GetItem", "Query"], calls
    assert [name for name in calls if name not in READS] == ["TransactWriteItems"], calls


def test_a_booking_staff_make_for_a_patient_reads_once_too(api, calls):
    # GIVEN a doctor (no busy times) and a patient of the directory
    doc = api.doctor_with_hours()
    assert api.call("PUT", "/api/patients/me", patient()).status_code == 200
    calls.clear()
    # WHEN the front desk books a visit for the patient
    made = api.try_book(doc, admin(), patientId="patient-1")
    # THEN the doctor and the patient's record come in one call, and one write
    assert made.status_code == 201, made.data
    assert made.data["patientName"] == "Pat Doe"
    assert [name for name in calls if name in READS] == ["TransactGetItems"], calls
    assert [name for name in calls if name not in READS] == ["TransactWriteItems"], calls


def _calls_of(api, wired, calls, what: str, flagged: bool) -> list[str]:
    """The calls of a hold, the booking of a hold, or a reschedule (to BOOKING_DAY's 10:00), of a doctor with or
    without busy times, sorted."""
    doc = api.doctor_with_hours()
    who = patient("p-busy") if flagged else patient()  # the same time with the other doctor: another patient
    if flagged:
        wired.store.write_busy(doc["id"], OTHER_DAY, "cal-1", [])
    hold = {"doctorId": doc["id"], "date": BOOKING_DAY.isoformat(), "time": "10:00", "type": "in-person"}
    if what == "hold":
        request = ("POST", "/api/holds", who, hold)
    elif what == "book_hold":
        held = api.call("POST", "/api/holds", who, hold)
        request = ("POST", "/api/appointments", who, {"holdId": held.data["id"], "reason": "r"})
    else:
        visit = api.book(doc, who, time="14:00")
        path = f"/api/appointments/{visit['id']}/reschedule"
        request = ("PUT", path, admin(), {"date": str(BOOKING_DAY), "time": "10:00"})
    calls.clear()
    done = api.call(*request)
    assert done.status_code in (200, 201), done.data
    return sorted(calls)


@pytest.mark.parametrize("what", ["hold", "book_hold", "reschedule"])
def test_a_hold_its_booking_and_a_reschedule_read_busy_times_only_of_a_doctor_with_them(api, wired, calls, what):
    # GIVEN the calls of the change for a doctor without busy times and for one a sync wrote busy times for
    without = _calls_of(api, wired, calls, what, flagged=False)
    with_busy = _calls_of(api, wired, calls, what, flagged=True)
    # THEN the only difference is the Query of the day's busy times, and each writes one transaction
    assert sorted([*without, "Query"]) == with_busy, (without, with_busy)
    assert [name for name in without if name not in READS] == ["TransactWriteItems"], without


def test_a_read_of_doctor_and_patient_that_meets_a_transaction_reads_them_one_after_the_other(api, faults):
    # GIVEN a doctor and a patient of the directory, and the first read of both cancelled by a concurrent write
    doc = api.doctor_with_hours()
    assert api.call("PUT", "/api/patients/me", patient()).status_code == 200
    faults.fail("TransactGetItems", transaction_cancelled(2))
    before = dict(faults.calls)
    # WHEN the front desk books for the patient
    made = api.try_book(doc, admin(), patientId="patient-1")
    # THEN it is booked all the same: the two were read apart, once
    assert made.status_code == 201, made.data
    sent = {name: count - before.get(name, 0) for name, count in faults.calls.items()}
    assert (sent["TransactGetItems"], sent["GetItem"], sent["TransactWriteItems"]) == (1, 2, 1), sent


def test_the_one_read_finds_only_patients_of_the_directory_and_doctors_that_exist(api, wired):
    # GIVEN a doctor and a patient of the directory (its search entries are items of the same table)
    doc = api.doctor_with_hours()
    assert api.call("PUT", "/api/patients/me", patient()).status_code == 200
    # WHEN the store reads a doctor and a patient together
    found = wired.store.doctor_and_patient(doc["id"], "patient-1")
    entry = wired.store.doctor_and_patient(doc["id"], "SEARCH#name#patient-1")
    nobody = wired.store.doctor_and_patient("no-such-doctor", "patient-404")
    # THEN the two, a search entry is nobody, and what does not exist is None
    assert (found[0].id, found[1].id, found[1].name) == (doc["id"], "patient-1", "Pat Doe")
    assert (entry[0].id, entry[1]) == (doc["id"], None)
    assert nobody == (None, None)
