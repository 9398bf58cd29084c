"""The FHIR face under store faults and its cost: a throttled store is 503 `transient` with Retry-After (never a
500), and a week of Slots costs the DynamoDB calls of seven REST availability reads, no more."""

from __future__ import annotations

import logging
from datetime import date, timedelta

import boto3
import pytest

from tests.faults import throttled
from tests.functional.fhir_support import entries, fhir_get, issue
from tests.helpers import admin, patient

WEEK = "start=ge2026-12-02&start=lt2026-12-09"


@pytest.fixture
def doc(api):
    return api.doctor_with_hours()


def test_a_throttled_slot_search_is_503_transient(api, doc, faults):
    # GIVEN DynamoDB throttles the day's query WHEN a Slot search runs
    faults.fail("Query", throttled())
    busy = fhir_get(api, f"/Slot?schedule={doc['id']}.in-person&{WEEK}", patient())
    # THEN the caller is told to retry, in FHIR's words
    assert issue(busy) == (503, "transient")
    assert busy.headers["Retry-After"] == "1"


def test_a_throttled_appointment_read_is_503_transient(api, doc, faults):
    # GIVEN a visit and a throttled GetItem WHEN the visit is read over FHIR THEN 503 transient
    made = api.book(doc)
    faults.fail("GetItem", throttled())
    assert issue(fhir_get(api, f"/Appointment/{made['id']}", patient())) == (503, "transient")


def test_a_week_of_slots_costs_what_seven_availability_reads_cost(api, doc, faults):
    # GIVEN a doctor WHEN seven REST availability reads run, then a Slot search over the same seven days
    first = date(2026, 12, 2)
    faults.calls.clear()
    for n in range(7):
        day = (first + timedelta(days=n)).isoformat()
        assert api.call("GET", f"/api/appointments/availability/{doc['id']}/{day}", patient()).status_code == 200
    rest = dict(faults.calls)
    faults.calls.clear()
    found = fhir_get(api, f"/Slot?schedule={doc['id']}.in-person&{WEEK}&_count=100", admin())
    fhir = dict(faults.calls)
    # THEN the search answered all 70 slots with no more DynamoDB calls of any kind
    assert len(entries(found.data)) == 70
    assert sum(fhir.values()) <= sum(rest.values()), (fhir, rest)
    assert all(fhir.get(op, 0) <= n for op, n in rest.items()) and set(fhir) <= set(rest), (fhir, rest)


def test_a_bug_is_a_logged_500_operation_outcome(api, doc, wired, caplog):
    # GIVEN a doctor whose stored time zone was changed behind the API to one that does not exist
    boto3.client("dynamodb", region_name=wired.settings.region).update_item(
        TableName=wired.settings.doctors_table,
        Key={"id": {"S": doc["id"]}},
        UpdateExpression="SET #z = :z",
        ExpressionAttributeNames={"#z": "timezone"},
        ExpressionAttributeValues={":z": {"S": "Mars/Olympus_Mons"}},
    )
    caplog.set_level(logging.ERROR, logger="clinic.fhir")
    # WHEN one of its Slots is read over FHIR
    got = fhir_get(api, f"/Slot/{doc['id']}.in-person.202612021500.30", patient())
    # THEN the answer is FHIR's 500 `exception`, saying nothing of the cause, and the error is logged with its route
    assert issue(got) == (500, "exception")
    assert "Mars" not in got.body.decode()
    logged = [r for r in caplog.records if r.name == "clinic.fhir" and r.levelno == logging.ERROR]
    assert logged and "GET /fhir/R4/Slot/{id}" in logged[0].getMessage()
