"""The FHIR face's writes: `Appointment/$hold`, `$book` (of a hold, of a proposed time, and as a reschedule with
`cancelled-appt-id`), and an Appointment's status by JSON Patch or PUT. Each is one call of the REST use case (the
same transaction, limits, audit and access log), and each refusal an OperationOutcome with FHIR's issue code.
Every resource answered is validated strictly by both outside models (fhir_support)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from tests.functional.fhir_support import (
    CANCEL,
    entries,
    fhir_get,
    fhir_post,
    fhir_send,
    issue,
    parameters,
)
from tests.functional.test_fhir_system_clients import system
from tests.helpers import NOW, admin, doctor, patient

DAY = "start=2026-12-02&end=2026-12-02"
EXPIRY = "https://app.clinic.example/fhir/R4/StructureDefinition/appointment-hold-expiry"


def slot(doc, at="1500", service="in-person", minutes=30, day="02"):
    """The id of a slot of the doctor on 2026-12-<day> (UTC hour and minute; 1500Z is 10:00 in New York)."""
    return f"{doc['id']}.{service}.202612{day}{at}.{minutes}"


def proposal(api, doc, who=None):
    """The first proposed Appointment $find answers for the doctor."""
    found = fhir_get(api, f"/Appointment/$find?{DAY}&practitioner=Practitioner/{doc['id']}", who or patient())
    return entries(found.data)[0]


def hold(api, who, *entries_):
    return fhir_post(api, "/Appointment/$hold", who, parameters(*entries_))


def book(api, who, *entries_):
    return fhir_post(api, "/Appointment/$book", who, parameters(*entries_))


def rest(api, appointment_id):
    return api.call("GET", f"/api/appointments/{appointment_id}", admin()).data


# --- $hold ------------------------------------------------------------------------------------------------------
def test_hold_of_a_proposed_appointment_is_pending_with_its_expiry_and_takes_the_time(api):
    # GIVEN a doctor and the first time $find proposes
    doc = api.doctor_with_hours()
    proposed = proposal(api, doc)
    # WHEN the patient holds it with the proposed Appointment
    held = hold(api, patient(), ("appt-resource", proposed))
    # THEN the answer is that Appointment, pending, with the hold's expiry (5 minutes, the clinic's default)
    assert held.status_code == 200
    assert held.data["status"] == "pending" and held.data["start"] == proposed["start"]
    assert held.data["slot"] == proposed["slot"]
    assert held.data["extension"] == [{"url": EXPIRY, "valueInstant": "2026-12-01T08:05:00Z"}]
    # AND the slot reads busy to staff and unknown to other patients; the hold reads back pending to its patient
    slot_path = "/" + proposed["slot"][0]["reference"]
    assert fhir_get(api, slot_path, admin()).data["status"] == "busy"
    assert issue(fhir_get(api, slot_path, patient("patient-2"))) == (404, "not-found")
    assert fhir_get(api, f"/Appointment/{held.data['id']}", patient()).data == held.data
    assert issue(fhir_get(api, f"/Appointment/{held.data['id']}", patient("patient-2"))) == (404, "not-found")
    # AND the REST API sees the very same hold
    same = api.call("GET", f"/api/holds/{held.data['id']}", patient())
    assert same.status_code == 200 and same.data["expiresAt"] == "2026-12-01T08:05:00Z"


def test_hold_by_slot_id_then_anyone_elses_hold_or_book_of_that_time_is_a_conflict(api):
    # GIVEN a doctor whose 10:00 slot patient-1 holds by the Slot's id
    doc = api.doctor_with_hours()
    first = hold(api, patient(), ("appt-id", f"Slot/{slot(doc)}"))
    # WHEN another patient holds or books that time, by FHIR and by REST
    again = hold(api, patient("patient-2"), ("appt-id", slot(doc)))
    booked = book(api, patient("patient-2"), ("appt-id", slot(doc)))
    by_rest = api.try_book(doc, patient("patient-2"), time="10:00")
    # THEN only the first holds it: 409 conflict for the rest, as REST's SLOT_UNAVAILABLE
    assert first.status_code == 200 and first.data["start"] == "2026-12-02T15:00:00Z"
    assert issue(again) == issue(booked) == (409, "conflict")
    assert by_rest.status_code == 409


def test_hold_needs_a_proposed_time_and_a_patient_for_staff(api):
    # GIVEN a doctor and a booked visit
    doc = api.doctor_with_hours()
    made = api.book(doc)
    # WHEN $hold names nothing, both, a stored appointment, a made-up slot, or a staff hold names no patient
    nothing = fhir_post(api, "/Appointment/$hold", patient(), {"resourceType": "Parameters"})
    both = hold(api, patient(), ("appt-id", slot(doc)), ("appt-resource", proposal(api, doc)))
    stored = hold(api, patient(), ("appt-id", made["id"]))
    unknown_doctor = hold(api, patient(), ("appt-id", "nobody.in-person.202612021500.30"))
    unknown_param = hold(api, patient(), ("appt-id", slot(doc)), ("reason", "x"))
    no_patient = hold(api, admin(), ("appt-id", slot(doc, "1530")))
    # THEN 400 invalid (404 for a doctor that does not exist, not-supported for a parameter $hold lacks)
    assert issue(nothing) == issue(both) == issue(stored) == issue(no_patient) == (400, "invalid")
    assert issue(unknown_doctor) == (404, "not-found")
    assert issue(unknown_param) == (400, "not-supported")


def test_a_patient_holds_only_for_itself(api):
    doc = api.doctor_with_hours()
    # WHEN a patient names another patient THEN 403 forbidden
    refused = hold(api, patient(), ("appt-id", slot(doc)), ("patient-id", "Patient/patient-2"))
    assert issue(refused) == (403, "forbidden")


# --- $book ------------------------------------------------------------------------------------------------------
def test_book_of_a_hold_keeps_its_id_and_is_booked_with_comment_and_reason(api):
    # GIVEN the patient's hold of a proposed time
    doc = api.doctor_with_hours()
    proposed = proposal(api, doc)
    held = hold(api, patient(), ("appt-resource", proposed)).data
    # WHEN the patient books the pending Appointment with its reason and a comment
    pending = {**held, "reasonCode": [{"text": "Chest pain"}]}
    booked = book(api, patient(), ("appt-resource", pending), ("comment", "Second floor please"))
    # THEN it is booked, with the hold's id, time, reason and comment; REST sees it scheduled
    assert booked.status_code == 200
    assert (booked.data["id"], booked.data["status"], booked.data["start"]) == (held["id"], "booked", held["start"])
    assert booked.data["reasonCode"] == [{"text": "Chest pain"}] and booked.data["comment"] == "Second floor please"
    visit = rest(api, held["id"])
    assert (visit["status"], visit["reason"], visit["notes"]) == ("scheduled", "Chest pain", "Second floor please")
    # AND booking it again by its id answers the same visit (a retry), and the hold is gone
    assert book(api, patient(), ("appt-id", f"Appointment/{held['id']}")).data["id"] == held["id"]
    assert api.call("GET", f"/api/holds/{held['id']}", patient()).status_code == 404


def test_book_of_a_proposed_time_by_staff_for_a_patient(api):
    # GIVEN a patient known to the clinic and a doctor's proposed time
    doc = api.doctor_with_hours()
    assert api.call("PUT", "/api/patients/me", patient("patient-7")).status_code == 200
    proposed = proposal(api, doc, admin())
    # WHEN the front desk books it for that patient (without patient-id: refused)
    missing = book(api, admin(), ("appt-resource", proposed))
    booked = book(api, admin(), ("appt-resource", proposed), ("patient-id", "Patient/patient-7"))
    # THEN 400 invalid, then booked for that patient at that time
    assert issue(missing) == (400, "invalid")
    assert booked.data["status"] == "booked" and booked.data["start"] == proposed["start"]
    assert booked.data["participant"][0]["actor"]["reference"] == "Patient/patient-7"
    assert rest(api, booked.data["id"])["patientId"] == "patient-7"


def test_book_of_a_proposal_without_a_slot_reference_reads_practitioner_start_and_length(api):
    # GIVEN a proposed Appointment as another client may send it: no slot, its practitioner, start and end
    doc = api.doctor_with_hours()
    proposed = {
        "resourceType": "Appointment",
        "status": "proposed",
        "start": "2026-12-02T16:00:00Z",
        "end": "2026-12-02T16:30:00Z",
        "serviceType": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "VR"}]}],
        "participant": [{"actor": {"reference": f"Practitioner/{doc['id']}"}, "status": "needs-action"}],
    }
    # WHEN the patient books it
    booked = book(api, patient(), ("appt-resource", proposed))
    # THEN the telehealth visit at 11:00 New York time is booked
    assert booked.data["status"] == "booked" and booked.data["start"] == "2026-12-02T16:00:00Z"
    assert rest(api, booked.data["id"])["type"] == "telehealth"


def test_book_refuses_with_fhirs_codes(api, wired, clock):
    # GIVEN a doctor with 10:00 booked by patient-2, and a clinic that allows one active booking per patient
    doc = api.doctor_with_hours()
    api.book(doc, patient("patient-2"), time="10:00")
    api.book(doc, patient(), time="11:00")
    wired.booking_queries.policy = replace(wired.booking_queries.policy, max_active_bookings=1)
    # WHEN patient-4 books the taken time, patient-1 another time past its limit, a hold that lapsed, and an unknown id
    taken = book(api, patient("patient-4"), ("appt-id", slot(doc, "1500")))  # no visit that day: only the time fails
    over_limit = book(api, patient(), ("appt-id", slot(doc, "1900")))
    wired.booking_queries.policy = replace(wired.booking_queries.policy, max_active_bookings=5)
    held = hold(api, patient("patient-3"), ("appt-id", slot(doc, "1930"))).data
    clock.current = NOW + timedelta(minutes=5)
    lapsed = book(api, patient("patient-3"), ("appt-id", held["id"]))
    unknown = book(api, patient(), ("appt-id", "no-such-hold"))
    # THEN conflict (409) for the taken time and the lapsed hold, business-rule (422) for the limit, not-found
    assert issue(taken) == (409, "conflict"), taken.data
    assert issue(over_limit) == (422, "business-rule"), over_limit.data
    assert issue(lapsed) == (409, "conflict"), lapsed.data
    assert "expired" in lapsed.data["issue"][0]["diagnostics"]
    assert issue(unknown) == (404, "not-found"), unknown.data


def test_book_with_cancelled_appt_id_moves_that_visit(api):
    # GIVEN the patient's 10:00 visit and its hold of 14:00 the next day with the same doctor (one visit a day)
    doc = api.doctor_with_hours()
    made = api.book(doc, time="10:00")
    held = hold(api, patient(), ("appt-id", slot(doc, "1900", day="03"))).data
    # WHEN it books the hold with cancelled-appt-id naming the visit
    moved = book(api, patient(), ("appt-id", held["id"]), ("cancelled-appt-id", f"Appointment/{made['id']}"))
    # THEN the visit (its id) is booked at that time through the REST reschedule, and the hold is gone
    assert (moved.data["id"], moved.data["status"], moved.data["start"]) == (made["id"], "booked", held["start"])
    assert rest(api, made["id"])["status"] == "rescheduled"
    assert api.call("GET", f"/api/holds/{held['id']}", patient()).status_code == 404
    # AND 10:00 is free again
    assert fhir_get(api, f"/Slot/{slot(doc, '1500')}", patient()).data["status"] == "free"


def test_a_reschedule_keeps_the_practitioner(api):
    # GIVEN a visit with one doctor WHEN $book moves it to another doctor's time THEN 422 business-rule
    doc, other = api.doctor_with_hours(), api.doctor_with_hours(name="Dr. Other")
    made = api.book(doc)
    refused = book(api, patient(), ("appt-id", slot(other)), ("cancelled-appt-id", made["id"]))
    assert issue(refused) == (422, "business-rule")
    assert rest(api, made["id"])["status"] == "scheduled"


def test_a_doctors_fhir_booking_of_a_stranger_is_refused_and_on_that_patients_access_log(api):
    # GIVEN a doctor and a patient who never saw it
    doc = api.doctor_with_hours()
    assert api.call("PUT", "/api/patients/me", patient("p-s")).status_code == 200
    me = doctor(doc["id"], sub="user-dr-mine")
    # WHEN the doctor books and holds that patient by FHIR
    booked = book(api, me, ("appt-id", slot(doc)), ("patient-id", "Patient/p-s"))
    held = hold(api, me, ("appt-id", slot(doc)), ("patient-id", "p-s"))
    # THEN both are 403 forbidden, and each is on the patient's access log with the FHIR route
    assert issue(booked) == issue(held) == (403, "forbidden")
    log = api.call("GET", "/api/admin/patients/p-s/access", admin()).data["entries"]
    assert [(e["actorId"], e["action"], e["route"]) for e in log] == [
        ("user-dr-mine", "booking-refused", "POST /fhir/R4/Appointment/{id}")
    ] * 2


# --- status by PATCH and PUT ------------------------------------------------------------------------------------
def test_patch_cancels_as_argonaut_asks(api):
    # GIVEN the patient's visit
    made = api.book(api.doctor_with_hours())
    # WHEN it PATCHes the status to cancelled, twice
    first = fhir_send(api, "PATCH", f"/Appointment/{made['id']}", patient(), CANCEL)
    again = fhir_send(api, "PATCH", f"/Appointment/{made['id']}", patient(), CANCEL)
    # THEN it is cancelled (the REST cancel: audit and all), and the repeat changes nothing
    assert first.status_code == again.status_code == 200
    assert first.data["status"] == again.data["status"] == "cancelled"
    assert rest(api, made["id"])["status"] == "cancelled"
    trail = api.call("GET", f"/api/admin/appointments/{made['id']}/audit", admin()).data["entries"]
    assert [e["action"] for e in trail] == ["booked", "cancelled"]


def test_a_patients_late_cancel_is_a_business_rule_refusal(api, clock):
    # GIVEN a visit 10:00 New York (15:00Z) and the clock an hour before it (the patient window is 2 hours)
    made = api.book(api.doctor_with_hours())
    clock.current = NOW.replace(day=2, hour=14)
    # WHEN the patient cancels by PATCH, and the front desk does
    late = fhir_send(api, "PATCH", f"/Appointment/{made['id']}", patient(), CANCEL)
    staff = fhir_send(api, "PATCH", f"/Appointment/{made['id']}", admin(), CANCEL)
    # THEN 422 business-rule for the patient; staff may
    assert issue(late) == (422, "business-rule")
    assert staff.data["status"] == "cancelled"


@pytest.mark.parametrize(
    ("body", "content_type", "code"),
    [
        ([{"op": "replace", "path": "/start", "value": "2026-12-02T16:00:00Z"}], "", (422, "business-rule")),
        ([{"op": "remove", "path": "/status"}], "", (400, "invalid")),
        ([{"op": "add", "path": "/status", "value": "cancelled"}], "", (422, "business-rule")),
        ([{"op": "replace", "path": "/status", "value": "booked-ish"}], "", (400, "invalid")),
        ([{"op": "replace", "path": "/status", "value": "arrived"}], "", (422, "business-rule")),
        ([{"op": "replace", "path": "/status", "value": "proposed"}], "", (422, "business-rule")),
        ([*CANCEL, *CANCEL], "", (400, "invalid")),
        ({"op": "replace"}, "", (400, "invalid")),
        ("not json", "", (400, "invalid")),
        ({"resourceType": "Parameters"}, "application/fhir+json", (400, "not-supported")),
    ],
)
def test_patch_refuses_anything_but_a_status_it_may_set(api, body, content_type, code):
    made = api.book(api.doctor_with_hours())
    refused = fhir_send(api, "PATCH", f"/Appointment/{made['id']}", admin(), body, content_type)
    assert issue(refused) == code
    assert rest(api, made["id"])["status"] == "scheduled"


def test_patch_of_an_unknown_or_anothers_appointment_is_not_found(api):
    made = api.book(api.doctor_with_hours())
    assert issue(fhir_send(api, "PATCH", "/Appointment/nothing", admin(), CANCEL)) == (404, "not-found")
    assert issue(fhir_send(api, "PATCH", f"/Appointment/{made['id']}", patient("p-2"), CANCEL)) == (404, "not-found")


def test_put_sets_the_statuses_staff_may_set_and_nothing_else(api, clock):
    # GIVEN a visit read back by its doctor, and the clock past its start
    doc = api.doctor_with_hours()
    made = api.book(doc)
    read = fhir_get(api, f"/Appointment/{made['id']}", doctor(doc["id"])).data
    clock.current = NOW.replace(day=2, hour=15, minute=10)
    # WHEN the patient PUTs it fulfilled, the doctor PUTs another start, then the doctor PUTs it fulfilled
    by_patient = fhir_send(api, "PUT", f"/Appointment/{made['id']}", patient(), {**read, "status": "fulfilled"})
    moved = fhir_send(
        api, "PUT", f"/Appointment/{made['id']}", doctor(doc["id"]), {**read, "start": "2026-12-02T16:00:00Z"}
    )
    wrong_id = fhir_send(api, "PUT", "/Appointment/other", doctor(doc["id"]), {**read, "status": "fulfilled"})
    done = fhir_send(api, "PUT", f"/Appointment/{made['id']}", doctor(doc["id"]), {**read, "status": "fulfilled"})
    # THEN 403 forbidden (REST's rule: doctors and admins complete), 422 for the start, 400 for the id; then done
    assert issue(by_patient) == (403, "forbidden")
    assert issue(moved) == (422, "business-rule")
    assert issue(wrong_id) == (400, "invalid")
    assert done.data["status"] == "fulfilled" and rest(api, made["id"])["status"] == "completed"


def test_noshow_before_the_start_is_refused(api):
    # GIVEN a visit that has not started WHEN the admin marks it noshow THEN 422 business-rule (REST's rule)
    made = api.book(api.doctor_with_hours())
    patch = [{"op": "replace", "path": "/status", "value": "noshow"}]
    assert issue(fhir_send(api, "PATCH", f"/Appointment/{made['id']}", admin(), patch)) == (422, "business-rule")


# --- system clients -----------------------------------------------------------------------------------------------
def test_system_clients_need_appointment_c_to_hold_and_book_and_u_to_change(api):
    # GIVEN a patient known to the clinic, a doctor, and clients with read/search only, create, and update
    doc = api.doctor_with_hours()
    made = api.book(doc, time="11:00")
    reader = system("system/Appointment.rs")
    creator = system("system/Appointment.c")
    updater = system("system/Appointment.u")
    # WHEN each holds, books and cancels
    refused_hold = hold(api, reader, ("appt-id", slot(doc)), ("patient-id", "patient-1"))
    refused_patch = fhir_send(api, "PATCH", f"/Appointment/{made['id']}", creator, CANCEL)
    held = hold(api, creator, ("appt-id", slot(doc)), ("patient-id", "patient-1"))
    booked = book(api, creator, ("appt-id", held.data["id"]))
    cancelled = fhir_send(api, "PATCH", f"/Appointment/{made['id']}", updater, CANCEL)
    # THEN the scope each needs is named in the 403s; with it, the hold is booked and the visit cancelled
    assert issue(refused_hold) == issue(refused_patch) == (403, "forbidden")
    assert "system/Appointment.c" in refused_hold.data["issue"][0]["diagnostics"]
    assert "system/Appointment.u" in refused_patch.data["issue"][0]["diagnostics"]
    assert held.data["status"] == "pending" and booked.data["status"] == "booked"
    assert cancelled.data["status"] == "cancelled"
    # AND the audit trail names the client
    trail = api.call("GET", f"/api/admin/appointments/{held.data['id']}/audit", admin()).data["entries"]
    assert [(e["action"], e["actorId"]) for e in trail] == [("held", "ehr-engine-1"), ("booked", "ehr-engine-1")]


def test_book_with_cancelled_appt_id_moves_a_visit_within_its_day_to_a_proposed_time(api):
    # GIVEN the patient's 10:00 visit WHEN it books 15:00 that day (a Slot id) naming the visit as cancelled
    doc = api.doctor_with_hours()
    made = api.book(doc, time="10:00")
    moved = book(api, patient(), ("appt-id", slot(doc, "2000")), ("cancelled-appt-id", made["id"]))
    # THEN the same visit is booked at 15:00 New York time, and a comment with a move is refused
    assert (moved.data["id"], moved.data["start"]) == (made["id"], "2026-12-02T20:00:00Z")
    with_comment = book(
        api, patient(), ("appt-id", slot(doc, "2030")), ("cancelled-appt-id", made["id"]), ("comment", "x")
    )
    assert issue(with_comment) == (400, "invalid")
