"""What one booking costs in DynamoDB calls, counted with botocore's own event hook (nothing patched): at most two
reads and one write. The patient's limits are conditions and counters inside the booking's TransactWriteItems,
never a query before it; the directory's search entries ride in the same transaction; staff booking for a patient
read the doctor and the patient's record in one call."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.faults import transaction_cancelled
from tests.helpers import admin, patient

READS = frozenset({"GetItem", "Query", "Scan", "BatchGetItem", "TransactGetItems"})


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


def test_a_booking_reads_at_most_twice_and_writes_one_transaction(api, calls):
    # GIVEN a doctor, and a patient who already holds a visit (so its limit items exist) and is in the directory
    doc = api.doctor_with_hours()
    api.book(doc, date="2026-12-03")
    calls.clear()
    # WHEN the patient books another visit
    made = api.try_book(doc)
    # THEN it is booked with at most two reads (the doctor, the day's busy times) and a single write, the transaction
    assert made.status_code == 201, made.data
    reads = [name for name in calls if name in READS]
    writes = [name for name in calls if name not in READS]
    assert len(reads) <= 2, calls
    assert writes == ["TransactWriteItems"], calls


def test_a_booking_staff_make_for_a_patient_reads_at_most_twice_too(api, calls):
    # GIVEN a doctor and a patient of the directory
    doc = api.doctor_with_hours()
    assert api.call("PUT", "/api/patients/me", patient()).status_code == 200
    calls.clear()
    # WHEN the front desk books a visit for the patient
    made = api.try_book(doc, admin(), patientId="patient-1")
    # THEN the doctor and the patient's record come in one call, the day's busy times in another, and one write
    assert made.status_code == 201, made.data
    assert made.data["patientName"] == "Pat Doe"
    assert [name for name in calls if name in READS] == ["TransactGetItems", "Query"], calls
    assert [name for name in calls if name not in READS] == ["TransactWriteItems"], calls


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
