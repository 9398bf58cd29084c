"""`Appointment/$find` (GET and POST with Parameters): proposed Appointments built from real free, bookable slots,
earliest first, narrowed by practitioner, location, specialty and visit type."""

from __future__ import annotations

import pytest

from tests.functional.fhir_support import entries, fhir_get, fhir_post, issue
from tests.helpers import STANDARD_AVAILABILITY, admin, patient

DAY = "start=2026-12-02&end=2026-12-02"


def parameters(**values):
    """A Parameters body: dates as valueDate, `_count` as valueInteger, references as valueReference."""
    out = []
    for name, value in values.items():
        if name == "_count":
            out.append({"name": name, "valueInteger": value})
        elif "/" in str(value):
            out.append({"name": name, "valueReference": {"reference": value}})
        else:
            out.append({"name": name.replace("_", "-"), "valueDate": value})
    return {"resourceType": "Parameters", "parameter": out}


def test_find_proposes_the_earliest_free_slots_for_the_caller(api):
    # GIVEN an in-person-only doctor with 09:00 booked on 2026-12-02
    doc = api.doctor_with_hours(telehealth=False)
    api.book(doc, time="09:00")
    # WHEN a patient asks for three proposals that day
    found = fhir_get(api, f"/Appointment/$find?{DAY}&_count=3", patient("patient-2"))
    # THEN they are proposed Appointments at the next free times, for the caller, each naming its free Slot
    proposals = entries(found.data)
    assert [p["status"] for p in proposals] == ["proposed"] * 3
    assert [p["start"] for p in proposals] == ["2026-12-02T14:30:00Z", "2026-12-02T15:00:00Z", "2026-12-02T15:30:00Z"]
    assert all(p["participant"][-1]["actor"]["reference"] == "Patient/patient-2" for p in proposals)
    for proposal in proposals:
        slot = fhir_get(api, "/" + proposal["slot"][0]["reference"], patient("patient-2"))
        assert (slot.data["start"], slot.data["status"]) == (proposal["start"], "free")


def test_find_by_post_with_parameters_answers_as_the_get(api):
    # GIVEN a doctor WHEN $find runs by GET and by POST with the same Parameters
    doc = api.doctor_with_hours()
    by_get = fhir_get(api, f"/Appointment/$find?{DAY}&practitioner=Practitioner/{doc['id']}&_count=4", patient())
    by_post = fhir_post(
        api,
        "/Appointment/$find",
        patient(),
        parameters(start="2026-12-02", end="2026-12-02", practitioner=f"Practitioner/{doc['id']}", _count=4),
    )
    # THEN both propose the same four, and name the same search as their `self`
    assert by_post.status_code == 200 and entries(by_post.data) == entries(by_get.data)
    assert by_post.data["link"] == by_get.data["link"]
    assert by_get.data["link"][0]["url"].endswith(
        f"/Appointment/$find?{DAY}&practitioner=Practitioner%2F{doc['id']}&_count=4"
    )
    assert len(entries(by_get.data)) == 4


def test_find_narrows_by_visit_type_specialty_and_location(api):
    # GIVEN a telehealth cardiologist on Main St and an in-person dermatologist in Boston
    cardio = api.doctor_with_hours()
    derm = api.doctor_with_hours(
        name="Dr. Skin", specialty="Dermatology", location="Harbor Health, Boston", telehealth=False
    )
    # WHEN proposals are asked for by visit type, specialty and location
    virtual = entries(fhir_get(api, f"/Appointment/$find?{DAY}&visit-type=VR", patient()).data)
    skin = entries(fhir_get(api, f"/Appointment/$find?{DAY}&specialty=derma", patient()).data)
    places = entries(fhir_get(api, "/Location?address-city=boston", patient()).data)
    at_harbor = entries(fhir_get(api, f"/Appointment/$find?{DAY}&location=Location/{places[0]['id']}", patient()).data)
    by_type = entries(fhir_get(api, f"/Appointment/$find?{DAY}&appointmentType=AMB&_count=50", patient()).data)
    # THEN each names the matching doctors only
    assert virtual and {p["participant"][0]["actor"]["reference"] for p in virtual} == {f"Practitioner/{cardio['id']}"}
    assert {p["serviceType"][0]["coding"][0]["code"] for p in virtual} == {"VR"}
    assert skin and {p["participant"][0]["actor"]["reference"] for p in skin} == {f"Practitioner/{derm['id']}"}
    assert at_harbor and {p["participant"][0]["actor"]["reference"] for p in at_harbor} == {
        f"Practitioner/{derm['id']}"
    }
    assert {p["serviceType"][0]["coding"][0]["code"] for p in by_type} == {"AMB"}


def test_find_proposes_nothing_beyond_the_booking_horizon(api):
    # GIVEN a doctor bookable one day ahead (now is 2026-12-01 08:00 UTC)
    doc = api.doctor_with_hours({**STANDARD_AVAILABILITY, "bookingHorizonDays": 1})
    # WHEN $find looks at the day after tomorrow
    later = fhir_get(api, "/Appointment/$find?start=2026-12-03&end=2026-12-03", patient())
    # THEN nothing is proposed, though the Slots of that day are free (booking them would be refused)
    assert entries(later.data) == [] and later.data["total"] == 0
    slots = fhir_get(
        api, f"/Slot?schedule={doc['id']}.in-person&start=ge2026-12-03&start=lt2026-12-04&status=free", patient()
    )
    assert len(entries(slots.data)) == 14


def test_staff_find_for_a_named_patient(api):
    # GIVEN a doctor WHEN an admin finds times for patient-9
    api.doctor_with_hours()
    found = entries(fhir_get(api, f"/Appointment/$find?{DAY}&patient=Patient/patient-9&_count=1", admin()).data)
    # THEN the proposal names that patient
    assert found[0]["participant"][-1]["actor"]["reference"] == "Patient/patient-9"


@pytest.mark.parametrize(
    ("query", "who", "expected"),
    [
        ("start=2026-12-02", patient(), (400, "invalid")),  # no end
        ("end=2026-12-02", patient(), (400, "invalid")),
        ("start=2026-12-02&end=2026-12-20", patient(), (400, "too-costly")),  # 19 days
        ("start=ge2026-12-02&end=2026-12-03", patient(), (400, "invalid")),  # prefixes are for searches
        (f"{DAY}&patient=Patient/patient-2", patient(), (403, "forbidden")),
        (f"{DAY}&reason=pain", patient(), (400, "not-supported")),
        (f"{DAY}&visit-type=VR&appointmentType=VR", patient(), (400, "invalid")),
        (f"{DAY}&_count=51", patient(), (400, "invalid")),
        (f"{DAY}&practitioner=Location/x", patient(), (400, "invalid")),
        (f"{DAY}&start=2026-12-03", patient(), (400, "invalid")),  # twice
    ],
)
def test_find_refuses_bad_requests(api, query, who, expected):
    # GIVEN a doctor WHEN $find is asked something it cannot answer THEN an OperationOutcome says why
    api.doctor_with_hours()
    assert issue(fhir_get(api, f"/Appointment/$find?{query}", who)) == expected


@pytest.mark.parametrize(
    "body",
    [
        "",
        "[]",
        "{not json",
        {"resourceType": "Patient"},
        {"resourceType": "Parameters", "parameter": {"name": "start"}},
        {"resourceType": "Parameters", "parameter": [{"name": "start"}]},
        {"resourceType": "Parameters", "parameter": [{"name": "start", "valueDate": 20261202}]},
        {"resourceType": "Parameters", "parameter": [{"name": "start", "valueDate": "x", "valueString": "y"}]},
        {"resourceType": "Parameters", "parameter": [{"name": "_count", "valueInteger": True}]},
        {"resourceType": "Parameters", "parameter": [{"name": "start", "valueQuantity": {"value": 1}}]},
        {"resourceType": "Parameters", "extra": 1},
    ],
)
def test_find_by_post_refuses_bodies_that_are_not_its_parameters(api, body):
    # GIVEN a doctor WHEN $find is POSTed a body that is not a Parameters of its values THEN 400 invalid
    api.doctor_with_hours()
    assert issue(fhir_post(api, "/Appointment/$find", patient(), body)) == (400, "invalid")


def test_find_by_post_takes_no_query_parameters(api):
    refused = fhir_post(api, f"/Appointment/$find?{DAY}", patient(), parameters(start="2026-12-02", end="2026-12-02"))
    assert issue(refused) == (400, "not-supported")


def test_find_goes_on_to_the_next_working_day(api):
    # GIVEN an in-person doctor who works on weekdays WHEN $find starts on a Saturday and ends on Monday
    api.doctor_with_hours(telehealth=False)
    found = entries(fhir_get(api, "/Appointment/$find?start=2026-12-05&end=2026-12-07&_count=2", patient()).data)
    # THEN it proposes Monday's first two times (09:00 and 09:30 in New York)
    assert [p["start"] for p in found] == ["2026-12-07T14:00:00Z", "2026-12-07T14:30:00Z"]
