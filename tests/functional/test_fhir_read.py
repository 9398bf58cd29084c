"""The FHIR R4 face's reads and searches: every answer parses strictly in fhirclient (4.0.1) and fhir.resources
(R4B), Slots are the REST availability's slots, Appointments ours with their status mapped, and searches page."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import quote

import pytest

from chalicelib.api.fhir import SEARCHES
from tests.functional.fhir_support import entries, fhir_get, issue, next_link
from tests.helpers import BOOKING_DAY, admin, doctor, patient

WEEK = ("2026-12-02", "2026-12-09")


def schedule_of(doc, kind="in-person"):
    return f"{doc['id']}.{kind}"


def week_of_slots(api, doc, who=None, extra=""):
    """Every Slot of the in-person schedule over WEEK, following `next` links."""
    path: str | None = f"/Slot?schedule=Schedule/{schedule_of(doc)}&start=ge{WEEK[0]}&start=lt{WEEK[1]}{extra}"
    found = []
    while path:
        page = fhir_get(api, path, who or patient())
        assert page.status_code == 200, page.data
        found += entries(page.data)
        path = next_link(page.data)
    return found


def test_metadata_is_a_capability_statement_of_exactly_what_is_served(api):
    # GIVEN no identity WHEN the CapabilityStatement is read
    got = fhir_get(api, "/metadata")
    # THEN it is FHIR 4.0.1 JSON, lists the six resources with read, the five searches with their parameters
    assert got.status_code == 200
    statement = got.data
    assert (statement["fhirVersion"], statement["kind"]) == ("4.0.1", "instance")
    resources = {r["type"]: r for r in statement["rest"][0]["resource"]}
    assert set(resources) == {"Practitioner", "Location", "Schedule", "Slot", "Appointment", "Patient"}
    for kind, entry in resources.items():
        codes = {i["code"] for i in entry["interaction"]}
        writes = {"update", "patch"} if kind == "Appointment" else set()
        assert codes == ({"read", "search-type"} if kind in SEARCHES else {"read"}) | writes, kind
        assert {p["name"] for p in entry.get("searchParam", [])} == set(SEARCHES.get(kind, {}))
    # AND the operations on Appointment ($find, $hold, $book), and how callers authenticate
    assert [op["name"] for op in resources["Appointment"]["operation"]] == ["find", "hold", "book"]
    assert all("operation" not in entry for kind, entry in resources.items() if kind != "Appointment")
    services = {c["code"] for svc in statement["rest"][0]["security"]["service"] for c in svc["coding"]}
    assert services == {"SMART-on-FHIR", "OAuth"}
    # AND the system-level $bulk-publish of SMART Scheduling Links
    [publish] = statement["rest"][0]["operation"]
    assert publish["name"] == "bulk-publish" and publish["definition"].endswith("/OperationDefinition/bulk-publish")


def test_practitioner_read_and_search_by_name(api):
    # GIVEN two doctors
    ada = api.doctor_with_hours()
    bob = api.create_doctor(name="Dr. Bob Jones", specialty="Dermatology")
    # WHEN a patient reads one and searches by the start of a name's word
    read = fhir_get(api, f"/Practitioner/{ada['id']}", patient())
    by_name = fhir_get(api, "/Practitioner?name=jon", patient())
    everyone = fhir_get(api, "/Practitioner", patient())
    # THEN the doctor is a Practitioner, and the search finds by word start, case-insensitively, with a total
    assert read.data["id"] == ada["id"] and read.data["name"] == [{"text": "Dr. Ada Smith"}]
    assert [p["id"] for p in entries(by_name.data)] == [bob["id"]] and by_name.data["total"] == 1
    assert {p["id"] for p in entries(everyone.data)} == {ada["id"], bob["id"]}
    assert fhir_get(api, "/Practitioner?name=mith", patient()).data.get("entry") is None  # not mid-word


def test_locations_are_the_places_doctors_name(api):
    # GIVEN a doctor at "Main St Clinic, Room 4" and one elsewhere
    api.doctor_with_hours()
    api.create_doctor(name="Dr. Two", location="Harbor Health, Boston")
    # WHEN a patient searches Locations by city and reads one back by its id
    found = fhir_get(api, "/Location?address-city=boston", patient())
    (place,) = entries(found.data)
    again = fhir_get(api, f"/Location/{place['id']}", patient())
    # THEN the place is found by a word of its address, and reads back the same
    assert place["name"] == "Harbor Health, Boston" and again.data == place
    assert len(entries(fhir_get(api, "/Location", patient()).data)) == 2


def test_schedules_one_per_doctor_and_visit_kind(api):
    # GIVEN a telehealth doctor with hours and an in-person-only doctor without hours
    ada = api.doctor_with_hours()
    lone = api.create_doctor(name="Dr. Lone", telehealth=False, location="Harbor Health, Boston")
    # WHEN a patient searches and reads Schedules
    ada_schedules = fhir_get(api, f"/Schedule?actor=Practitioner/{ada['id']}", patient())
    virtual = fhir_get(api, "/Schedule?service-type=VR", patient())
    inactive = fhir_get(api, "/Schedule?active=false", patient())
    read = fhir_get(api, f"/Schedule/{schedule_of(ada, 'telehealth')}", patient())
    # THEN Ada has an in-person and a telehealth Schedule; only hers is virtual; the doctor without hours is
    # inactive; a Schedule names its practitioner, kind of visit and planning horizon (the booking horizon)
    assert {s["id"] for s in entries(ada_schedules.data)} == {schedule_of(ada), schedule_of(ada, "telehealth")}
    assert [s["id"] for s in entries(virtual.data)] == [schedule_of(ada, "telehealth")]
    assert [s["id"] for s in entries(inactive.data)] == [schedule_of(lone)]
    assert read.data["actor"][0]["reference"] == f"Practitioner/{ada['id']}"
    assert read.data["serviceType"][0]["coding"][0]["code"] == "VR"
    assert read.data["planningHorizon"] == {"start": "2026-12-01T08:00:00Z", "end": "2027-05-30T08:00:00Z"}
    # AND a schedule by Location names the in-person schedules there
    location = next(a for a in entries(ada_schedules.data)[0]["actor"] if a["reference"].startswith("Location/"))
    at_place = fhir_get(api, f"/Schedule?actor={location['reference']}", patient())
    assert [s["id"] for s in entries(at_place.data)] == [schedule_of(ada)]
    # AND the telehealth schedule of a doctor without telehealth does not exist
    assert issue(fhir_get(api, f"/Schedule/{schedule_of(lone, 'telehealth')}", patient())) == (404, "not-found")


def test_slots_are_the_rest_availability_of_each_day(api):
    # GIVEN a doctor with a booked visit on BOOKING_DAY
    doc = api.doctor_with_hours()
    api.book(doc)
    # WHEN staff search its in-person Slots over a week, page by page
    slots = week_of_slots(api, doc, admin(), "&_count=7")
    # THEN they are exactly the REST availability's slots of those 7 days, free where it says available
    expected = []
    for n in range(7):
        day = (BOOKING_DAY + timedelta(days=n)).isoformat()
        got = api.call("GET", f"/api/appointments/availability/{doc['id']}/{day}", admin())
        expected += [(s["startsAt"], "free" if s["available"] else "busy") for s in got.data["slots"]]
    assert [(s["start"], s["status"]) for s in slots] == expected
    assert ("2026-12-02T15:00:00Z", "busy") in expected  # the booked 10:00 in New York
    assert len({s["id"] for s in slots}) == len(slots)


def test_a_slot_reads_back_by_its_id(api):
    # GIVEN a Slot found by search
    doc = api.doctor_with_hours()
    first = week_of_slots(api, doc, extra="&_count=1")[0]
    # WHEN it is read by its id, before and after its time is booked
    before = fhir_get(api, f"/Slot/{first['id']}", admin())
    api.book(doc, time="09:00")
    after = fhir_get(api, f"/Slot/{first['id']}", admin())
    # THEN it reads back the same, then busy; its id names its schedule, UTC start and length
    assert before.data == first and first["id"] == f"{doc['id']}.in-person.202612021400.30"
    assert after.data["status"] == "busy"


def test_slot_search_filters_by_status_and_service_type(api):
    # GIVEN a booked visit
    doc = api.doctor_with_hours()
    api.book(doc)
    # WHEN staff search busy slots, and a service type the schedule is not
    busy = week_of_slots(api, doc, admin(), "&status=busy")
    other_kind = week_of_slots(api, doc, admin(), "&service-type=VR")
    free = week_of_slots(api, doc, admin(), "&status=free&service-type=AMB")
    # THEN busy lists the booked time only; VR matches nothing; free lists the week's other 69 slots
    assert [s["start"] for s in busy] == ["2026-12-02T15:00:00Z"]
    assert other_kind == []
    assert all(s["status"] == "free" for s in free) and len(free) == 5 * 14 - 1


def test_slot_search_pages_with_count_and_a_signed_next_link(api):
    # GIVEN a week of slots
    doc = api.doctor_with_hours()
    path = f"/Slot?schedule=Schedule/{schedule_of(doc)}&start=ge{WEEK[0]}&start=lt{WEEK[1]}&_count=30"
    # WHEN the first page is read
    first = fhir_get(api, path, patient())
    # THEN it holds 30 with a next link and no total (the rest is not read yet)
    assert len(entries(first.data)) == 30 and "total" not in first.data
    link = next_link(first.data)
    assert link is not None
    # AND an edited token, or the token on another search, is refused
    edited = link[:-3] + ("AAA" if not link.endswith("AAA") else "BBB")
    assert issue(fhir_get(api, edited, patient())) == (400, "invalid")
    moved = link.replace(f"start=ge{WEEK[0]}", "start=ge2026-12-03")
    assert issue(fhir_get(api, moved, patient())) == (400, "invalid")
    # AND a search that fits one page carries its total
    whole = fhir_get(api, path.replace("_count=30", "_count=100"), patient())
    assert whole.data["total"] == len(entries(whole.data)) == 70 and next_link(whole.data) is None


@pytest.mark.parametrize(
    ("query", "code"),
    [
        (f"start=ge{WEEK[0]}", "invalid"),  # no upper bound
        (f"start=ge{WEEK[0]}&start=lt2027-01-03", "too-costly"),  # 32 days
        (f"start=ge{WEEK[1]}&start=lt{WEEK[0]}", "invalid"),  # empty
        (f"start=ge{WEEK[0]}&start=lt{WEEK[1]}&start=lt{WEEK[1]}", "invalid"),  # three bounds
        (f"start=ge{WEEK[0]}&start=lt{WEEK[1]}&status=maybe", "invalid"),
        (f"start=ge{WEEK[0]}&start=lt{WEEK[1]}&_count=0", "invalid"),
        (f"start=ge{WEEK[0]}&start=lt{WEEK[1]}&_count=abc", "invalid"),
        (f"start=ge{WEEK[0]}&start=lt2026-12-09T10:00", "invalid"),  # an instant without its zone
        (f"start=ge1999-12-31&start=lt{WEEK[1]}", "invalid"),
        (f"start=ge{WEEK[0]}&start=lt{WEEK[1]}&identifier=x", "not-supported"),
        (f"start:missing=true&start=ge{WEEK[0]}", "not-supported"),
        (f"start=ge{WEEK[0]}&start=lt{WEEK[1]}&_format=xml", "not-supported"),
    ],
)
def test_slot_search_refuses_what_it_does_not_serve(api, query, code):
    # GIVEN a schedule WHEN its Slots are searched with a bad or unsupported query
    doc = api.doctor_with_hours()
    got = fhir_get(api, f"/Slot?schedule=Schedule/{schedule_of(doc)}&{query}", patient())
    # THEN an OperationOutcome says why, with 400
    assert issue(got) == (400, code)


def test_a_slot_search_range_in_instants_keeps_exactly_those_starts(api):
    # GIVEN a schedule WHEN Slots are searched between two instants (10:00 to 11:00 in New York)
    doc = api.doctor_with_hours()
    lo, hi = quote("2026-12-02T10:00:00-05:00"), quote("2026-12-02T16:00:00Z")
    found = entries(fhir_get(api, f"/Slot?schedule={schedule_of(doc)}&start=ge{lo}&start=lt{hi}", patient()).data)
    # THEN the starts in [10:00, 11:00) local are listed
    assert [s["start"] for s in found] == ["2026-12-02T15:00:00Z", "2026-12-02T15:30:00Z"]


def test_appointments_read_with_their_status_mapped(api, clock):
    # GIVEN four appointments: one booked, one confirmed, one cancelled, and one the doctor completes
    doc = api.doctor_with_hours()
    booked = api.book(doc, time="09:00")
    confirmed = api.book(doc, time="10:00", date="2026-12-03")
    api.call("PATCH", f"/api/appointments/{confirmed['id']}/status", patient(), {"status": "confirmed"})
    cancelled = api.book(doc, time="11:00", date="2026-12-04")
    api.call("DELETE", f"/api/appointments/{cancelled['id']}", patient())
    done = api.book(doc, time="14:00", date="2026-12-07")
    clock.current += timedelta(days=6, hours=12)  # after the last one's start
    completed = api.call("PATCH", f"/api/appointments/{done['id']}/status", doctor(doc["id"]), {"status": "completed"})
    assert completed.status_code == 200, completed.data
    # WHEN the patient reads them as FHIR Appointments
    status = {
        a["id"]: fhir_get(api, f"/Appointment/{a['id']}", patient()).data["status"]
        for a in (booked, confirmed, cancelled, done)
    }
    # THEN scheduled and confirmed are booked, completed is fulfilled, cancelled stays cancelled
    assert status == {
        booked["id"]: "booked",
        confirmed["id"]: "booked",
        cancelled["id"]: "cancelled",
        done["id"]: "fulfilled",
    }
    read = fhir_get(api, f"/Appointment/{booked['id']}", patient()).data
    actors = [p["actor"]["reference"] for p in read["participant"]]
    assert actors[:2] == ["Patient/patient-1", f"Practitioner/{doc['id']}"]
    assert (read["start"], read["end"], read["minutesDuration"]) == ("2026-12-02T14:00:00Z", "2026-12-02T14:30:00Z", 30)
    # AND its slot reference reads back as a (now busy) Slot
    slot = fhir_get(api, "/" + read["slot"][0]["reference"], admin())
    assert (slot.data["start"], slot.data["status"]) == (read["start"], "busy")


def test_a_no_show_is_noshow(api, clock):
    # GIVEN an appointment the doctor marks no-show after its start
    doc = api.doctor_with_hours()
    made = api.book(doc)
    clock.current += timedelta(days=1, hours=8)
    marked = api.call("PATCH", f"/api/appointments/{made['id']}/status", doctor(doc["id"]), {"status": "no-show"})
    assert marked.status_code == 200, marked.data
    # WHEN it is read and searched by status THEN it is noshow
    assert fhir_get(api, f"/Appointment/{made['id']}", patient()).data["status"] == "noshow"
    assert [a["id"] for a in entries(fhir_get(api, "/Appointment?status=noshow", patient()).data)] == [made["id"]]
    assert entries(fhir_get(api, "/Appointment?status=booked", patient()).data) == []


def test_appointment_search_by_patient_practitioner_date_and_status_pages(api):
    # GIVEN a patient with five visits over five days and one cancelled
    doc = api.doctor_with_hours()
    days = ["2026-12-02", "2026-12-03", "2026-12-04", "2026-12-07", "2026-12-08"]
    made = [api.book(doc, date=day) for day in days]
    api.call("DELETE", f"/api/appointments/{made[2]['id']}", patient())
    # WHEN the patient pages through its booked ones two at a time
    path: str | None = "/Appointment?status=booked&_count=2"
    pages = []
    while path:
        page = fhir_get(api, path, patient())
        pages.append([a["id"] for a in entries(page.data)])
        path = next_link(page.data)
    # THEN the cancelled one is skipped and each page holds at most two, in start order
    assert pages == [[made[0]["id"], made[1]["id"]], [made[3]["id"], made[4]["id"]]]
    # AND date bounds and the practitioner narrow the search, for the doctor too
    ranged = fhir_get(api, "/Appointment?date=ge2026-12-03&date=lt2026-12-08", doctor(doc["id"]))
    assert [a["id"] for a in entries(ranged.data)] == [m["id"] for m in made[1:4]]
    staff = fhir_get(api, f"/Appointment?practitioner=Practitioner/{doc['id']}&status=cancelled", admin())
    assert [a["id"] for a in entries(staff.data)] == [made[2]["id"]]
    mine = fhir_get(api, "/Appointment?patient=Patient/patient-1&date=2026-12-07", admin())
    assert [a["id"] for a in entries(mine.data)] == [made[3]["id"]]
    # AND statuses none of ours takes match nothing
    assert entries(fhir_get(api, "/Appointment?status=arrived,proposed", patient()).data) == []


def test_appointment_search_refuses_what_it_does_not_serve(api):
    # GIVEN an admin WHEN it searches without naming whom, or with an unknown parameter
    no_scope = fhir_get(api, "/Appointment", admin())
    unknown = fhir_get(api, "/Appointment?patient=patient-1&location=x", admin())
    wrong_type = fhir_get(api, "/Appointment?patient=Practitioner/x", admin())
    # THEN each is refused with an OperationOutcome
    assert issue(no_scope) == (400, "invalid")
    assert issue(unknown) == (400, "not-supported")
    assert issue(wrong_type) == (400, "invalid")


def test_a_patient_reads_its_own_patient_record(api):
    # GIVEN a signed-in patient WHEN it reads its Patient
    own = fhir_get(api, "/Patient/patient-1", patient())
    # THEN it gets its name and addresses from its own claims
    assert own.data["name"] == [{"text": "Pat Doe"}]
    assert {t["system"] for t in own.data["telecom"]} == {"email", "phone"}


def test_slot_search_of_a_schedule_that_does_not_exist_is_not_found(api):
    # GIVEN an in-person-only doctor WHEN Slots of a missing doctor or of its (missing) telehealth schedule are asked
    doc = api.doctor_with_hours(telehealth=False)
    week = f"start=ge{WEEK[0]}&start=lt{WEEK[1]}"
    missing_doctor = fhir_get(api, f"/Slot?schedule=Schedule/nobody.in-person&{week}", patient())
    missing_kind = fhir_get(api, f"/Slot?schedule=Schedule/{schedule_of(doc, 'telehealth')}&{week}", patient())
    malformed = fhir_get(api, f"/Slot?schedule=Schedule/{doc['id']}&{week}", patient())
    # THEN each is 404 not-found
    assert issue(missing_doctor) == issue(missing_kind) == issue(malformed) == (404, "not-found")


def test_a_spring_forward_day_has_exactly_the_rest_slots_and_none_in_its_gap(api):
    # GIVEN a doctor working 00:00-05:00 on Sundays; 2027-03-14 skips 02:00-03:00 in New York
    hours = {"workingHours": {"sunday": [{"start": "00:00", "end": "05:00"}]}, "appointmentDuration": 30}
    doc = api.doctor_with_hours(hours)
    # WHEN that day's Slots are searched by its date
    found = entries(
        fhir_get(api, f"/Slot?schedule={schedule_of(doc)}&start=ge2027-03-14&start=lt2027-03-15", admin()).data
    )
    # THEN they are the REST availability's slots of that day: four hours of real time, eight slots
    rest = api.call("GET", f"/api/appointments/availability/{doc['id']}/2027-03-14", admin()).data["slots"]
    assert [s["start"] for s in found] == [s["startsAt"] for s in rest]
    assert (
        len(found) == 8 and found[0]["start"] == "2027-03-14T05:00:00Z" and found[-1]["end"] == "2027-03-14T09:00:00Z"
    )
