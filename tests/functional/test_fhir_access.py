"""Who may read what on the FHIR face: the REST API's identities and rules, answered as OperationOutcome with the
status FHIR servers use; another person's Appointment or Patient answers exactly as an unknown one."""

from __future__ import annotations

import json

import pytest

from chalicelib.api.http import ROUTES
from tests.functional.fhir_support import BASE, CANCEL, entries, fhir_get, fhir_post, fhir_send, issue
from tests.helpers import admin, doctor, patient, token

PROTECTED = {
    ("GET", "/fhir/R4/Practitioner"): "/Practitioner",
    ("GET", "/fhir/R4/Practitioner/{id}"): "/Practitioner/x",
    ("GET", "/fhir/R4/Location"): "/Location",
    ("GET", "/fhir/R4/Location/{id}"): "/Location/x",
    ("GET", "/fhir/R4/Schedule"): "/Schedule",
    ("GET", "/fhir/R4/Schedule/{id}"): "/Schedule/x",
    ("GET", "/fhir/R4/Slot"): "/Slot?schedule=x",
    ("GET", "/fhir/R4/Slot/{id}"): "/Slot/x",
    ("GET", "/fhir/R4/Appointment"): "/Appointment",
    ("GET", "/fhir/R4/Appointment/{id}"): "/Appointment/$find?start=2026-12-02&end=2026-12-03",
    ("POST", "/fhir/R4/Appointment/{id}"): "/Appointment/$find",
    ("PUT", "/fhir/R4/Appointment/{id}"): "/Appointment/x",
    ("PATCH", "/fhir/R4/Appointment/{id}"): "/Appointment/x",
    ("GET", "/fhir/R4/Patient/{id}"): "/Patient/x",
}
PUBLIC = {
    ("GET", "/fhir/R4/metadata"),
    ("GET", "/fhir/R4/.well-known/smart-configuration"),
    ("GET", "/fhir/R4/{resource}"),
    ("GET", "/fhir/R4/{resource}/{id}"),
}
"""metadata, SMART's discovery document, and the catch-alls that serve `$bulk-publish` (its path has a `$`, which
API Gateway's resource paths refuse, so it cannot have a route of its own) and refuse every type not served."""
FIND_BODY = {
    "resourceType": "Parameters",
    "parameter": [{"name": "start", "valueDate": "2026-12-02"}, {"name": "end", "valueDate": "2026-12-03"}],
}
PUT_BODY = {"resourceType": "Appointment", "id": "x", "status": "cancelled", "participant": []}


def send(api, route, who):
    """The matrix's call of a protected route: its path, with a body of the route's kind."""
    method, path = route[0], PROTECTED[route]
    if method == "POST":
        return fhir_post(api, path, who, FIND_BODY)
    if method in ("PUT", "PATCH"):
        return fhir_send(api, method, path, who, PUT_BODY if method == "PUT" else CANCEL)
    return fhir_get(api, path, who)


def test_the_matrix_covers_every_protected_fhir_route(api):  # `api` registers the routes
    fhir_routes = {(r.method, r.path) for r in ROUTES if r.path.startswith("/fhir/")}
    assert {(r.method, r.path) for r in ROUTES if r.path.startswith("/fhir/") and r.public} == PUBLIC
    assert set(PROTECTED) == fhir_routes - PUBLIC


@pytest.mark.parametrize("path", ["/Observation", "/Observation/x"])
def test_a_type_not_served_answers_not_supported_to_anyone_and_reveals_nothing(api, path):
    # GIVEN no Authorization header WHEN a type the server does not serve is asked for
    answer = fhir_get(api, path)
    # THEN 404 not-supported (the catch-all routes are public for $bulk-publish)
    assert issue(answer) == (404, "not-supported")


@pytest.mark.parametrize("route", sorted(PROTECTED), ids=" ".join)
def test_every_route_but_metadata_needs_a_signed_in_caller(api, route):
    # GIVEN no Authorization header, a token without a subject, then a token whose user has no role in the clinic
    no_role = {"Authorization": token({"sub": "u1", "cognito:username": "u1", "cognito:groups": ["visitors"]})}
    no_subject = {"Authorization": token({"cognito:username": "u1", "cognito:groups": ["patients"]})}
    method, path = route[0], PROTECTED[route]
    anonymous = api.http.request(method, BASE + path, headers={})
    unnamed, refused = (send(api, route, who) for who in (no_subject, no_role))
    # THEN the gateway's Lambda authorizer refuses the first before the app (401, deployed as locally), and the app
    # answers the others 401 login and 403 forbidden, as OperationOutcomes
    assert anonymous.status_code == 401
    assert issue(unnamed) == (401, "login")
    assert issue(refused) == (403, "forbidden")


def test_another_patients_appointment_answers_as_an_unknown_one(api):
    # GIVEN patient-1's appointment
    doc = api.doctor_with_hours()
    made = api.book(doc)
    # WHEN patient-2 reads it, and an id that does not exist
    foreign = fhir_get(api, f"/Appointment/{made['id']}", patient("patient-2"))
    unknown = fhir_get(api, "/Appointment/no-such-id", patient("patient-2"))
    # THEN both are the same 404 not-found, word for word
    assert issue(foreign) == issue(unknown) == (404, "not-found")
    assert foreign.data["issue"][0]["diagnostics"] == unknown.data["issue"][0]["diagnostics"]
    # AND another doctor cannot read it either, while its own doctor and admins can
    other = api.create_doctor(name="Dr. Other")
    assert issue(fhir_get(api, f"/Appointment/{made['id']}", doctor(other["id"]))) == (404, "not-found")
    assert fhir_get(api, f"/Appointment/{made['id']}", doctor(doc["id"])).status_code == 200
    assert fhir_get(api, f"/Appointment/{made['id']}", admin()).status_code == 200


def test_another_patients_record_answers_as_an_unknown_one(api):
    # GIVEN patient-1 in the directory
    api.book(api.doctor_with_hours())
    # WHEN patient-2 reads patient-1's Patient, and one that does not exist
    foreign = fhir_get(api, "/Patient/patient-1", patient("patient-2"))
    unknown = fhir_get(api, "/Patient/nobody", patient("patient-2"))
    # THEN both answer the same 404
    assert issue(foreign) == issue(unknown) == (404, "not-found")
    assert foreign.data["issue"][0]["diagnostics"] == unknown.data["issue"][0]["diagnostics"]


def test_admins_read_a_patient_without_its_addresses_and_the_read_is_in_its_access_history(api):
    # GIVEN patient-1 in the directory
    doc = api.doctor_with_hours()
    made = api.book(doc)
    # WHEN an admin reads its Patient and its Appointment, and a doctor tries its Patient
    record = fhir_get(api, "/Patient/patient-1", admin())
    visit = fhir_get(api, f"/Appointment/{made['id']}", admin())
    by_doctor = fhir_get(api, "/Patient/patient-1", doctor(doc["id"]))
    # THEN the admin gets the name only (REST shows staff the addresses masked), the doctor 403
    assert record.data["name"] == [{"text": "Pat Doe"}] and "telecom" not in record.data
    assert visit.status_code == 200
    assert issue(by_doctor) == (403, "forbidden")
    assert issue(fhir_get(api, "/Patient/nobody", admin())) == (404, "not-found")
    # AND both reads are in the patient's access history with their FHIR routes
    history = api.call("GET", "/api/admin/patients/patient-1/access", admin())
    routes = [(e["actorRole"], e["route"]) for e in history.data["entries"]]
    assert ("admin", "GET /fhir/R4/Patient/{id}") in routes
    assert ("admin", "GET /fhir/R4/Appointment/{id}") in routes


def test_searches_are_recorded_in_the_access_history(api):
    # GIVEN a visit WHEN its doctor searches its appointments over FHIR
    doc = api.doctor_with_hours()
    made = api.book(doc)
    assert len(entries(fhir_get(api, "/Appointment", doctor(doc["id"])).data)) == 1
    # THEN the patient's access history names the search and the appointment seen
    history = api.call("GET", "/api/admin/patients/patient-1/access", admin())
    seen = [(e["actorRole"], e["route"], e["appointmentIds"]) for e in history.data["entries"]]
    assert ("doctor", "GET /fhir/R4/Appointment", [made["id"]]) in seen


def test_appointment_searches_keep_to_the_rest_rules(api):
    # GIVEN two doctors and patient-1's visit with the first
    doc = api.doctor_with_hours()
    other = api.create_doctor(name="Dr. Other")
    api.book(doc)
    # WHEN patient-2 searches patient-1's, a doctor another doctor's, and patient-2 its own
    foreign = fhir_get(api, "/Appointment?patient=Patient/patient-1", patient("patient-2"))
    other_doctor = fhir_get(api, f"/Appointment?practitioner=Practitioner/{doc['id']}", doctor(other["id"]))
    own = fhir_get(api, "/Appointment", patient("patient-2"))
    # THEN the first two are forbidden, as in REST, and the last is an empty Bundle
    assert issue(foreign) == (403, "forbidden")
    assert issue(other_doctor) == (403, "forbidden")
    assert own.status_code == 200 and entries(own.data) == [] and own.data["total"] == 0


def test_patients_see_free_slots_only(api):
    # GIVEN a booked time
    doc = api.doctor_with_hours()
    api.book(doc)
    schedule = f"Schedule/{doc['id']}.in-person"
    busy_id = f"{doc['id']}.in-person.202612021500.30"
    week = "start=ge2026-12-02&start=lt2026-12-03"
    # WHEN a patient searches busy slots, searches all slots, and reads the busy one
    asked_busy = fhir_get(api, f"/Slot?schedule={schedule}&{week}&status=busy", patient("patient-2"))
    listed = fhir_get(api, f"/Slot?schedule={schedule}&{week}", patient("patient-2"))
    read_busy = fhir_get(api, f"/Slot/{busy_id}", patient("patient-2"))
    not_offered = fhir_get(api, f"/Slot/{doc['id']}.in-person.202612021510.30", patient("patient-2"))
    # THEN asking for busy ones is forbidden, the listing holds free ones only, and the busy one reads as unknown
    assert issue(asked_busy) == (403, "forbidden")
    assert {s["status"] for s in entries(listed.data)} == {"free"} and len(entries(listed.data)) == 13
    assert issue(read_busy) == issue(not_offered) == (404, "not-found")
    # AND staff read it as busy
    assert fhir_get(api, f"/Slot/{busy_id}", doctor(doc["id"])).data["status"] == "busy"


@pytest.mark.parametrize(
    "path",
    [
        "/Slot/not-a-slot",
        "/Slot/x.in-person.202612021500.30",
        "/Slot/x.in-person.209912021500.30",
        "/Slot/x.in-person.202613021500.30",
        "/Slot/x.in-person.202612021500.7",
        "/Schedule/x.dental",
        "/Schedule/a.b.in-person",
        "/Practitioner/nobody",
        "/Location/loc-0000000000000000",
        "/Appointment/bad_id",
        "/Patient/" + "p" * 65,
    ],
)
def test_unknown_or_malformed_ids_are_not_found(api, path):
    # GIVEN a doctor WHEN an id that names nothing is read THEN 404 not-found, never a 500
    api.doctor_with_hours()
    assert issue(fhir_get(api, path, admin())) == (404, "not-found")


def test_post_on_an_appointment_is_only_an_operation(api):
    # GIVEN an appointment WHEN a client POSTs to it, or to an operation not served THEN not-supported
    made = api.book(api.doctor_with_hours())
    refused = fhir_post(api, f"/Appointment/{made['id']}", patient(), {"resourceType": "Parameters"})
    unknown = fhir_post(api, "/Appointment/$cancel", patient(), {"resourceType": "Parameters"})
    assert issue(refused) == issue(unknown) == (400, "not-supported")


def test_types_and_interactions_not_served_answer_as_fhir(api):
    # GIVEN a signed-in caller WHEN it asks for a type this server does not serve, or a Patient search
    other_type = fhir_get(api, "/Observation?code=x", admin())
    other_read = fhir_get(api, "/Observation/1", admin())
    patient_search = fhir_get(api, "/Patient?name=pat", admin())
    # THEN OperationOutcomes say so: 404 for the type, 400 for the interaction
    assert issue(other_type) == issue(other_read) == (404, "not-supported")
    assert issue(patient_search) == (400, "not-supported")


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("DELETE", "/Appointment/x", "GET, PATCH, POST, PUT"),
        ("DELETE", "/Slot/x", "GET"),
        ("PATCH", "/Appointment", "GET"),
        ("POST", "/metadata", "GET"),
        ("DELETE", "/Observation/1", "GET"),
    ],
)
def test_methods_a_fhir_path_does_not_serve_are_405_operation_outcomes(api, method, path, allow):
    # GIVEN a FHIR path WHEN a method it does not serve arrives THEN 405 not-supported with Allow, in FHIR's shape
    refused = api.http.request(method, BASE + path, headers=admin(), body=b"")
    assert refused.headers["Content-Type"] == "application/fhir+json"
    assert refused.status_code == 405 and refused.headers["Allow"] == allow
    assert json.loads(refused.body)["issue"][0]["code"] == "not-supported"
