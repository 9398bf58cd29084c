"""System clients (an EHR integration engine, OAuth 2.0 client credentials) on the FHIR face: each route needs the
SMART v2 system scope of its interaction (read r, search s), a refusal is a 403 `forbidden` OperationOutcome that
names the scope, the REST API refuses them, only the configured issuer's tokens count, and every call is audited
with the client's id."""

from __future__ import annotations

import json
import logging
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import app  # noqa: F401 - registers every route, so the REST matrix below is complete
from chalicelib.api.http import ROUTES
from chalicelib.domain.smart import SYSTEM_SCOPES
from tests.functional.fhir_support import entries, fhir_get, issue
from tests.functional.test_fhir_access import PROTECTED, send
from tests.helpers import BOOKING_DAY, admin, token

ISSUER = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_integrations"
NEEDS = {
    ("GET", "/fhir/R4/Practitioner"): ("Practitioner", "s"),
    ("GET", "/fhir/R4/Practitioner/{id}"): ("Practitioner", "r"),
    ("GET", "/fhir/R4/Location"): ("Location", "s"),
    ("GET", "/fhir/R4/Location/{id}"): ("Location", "r"),
    ("GET", "/fhir/R4/Schedule"): ("Schedule", "s"),
    ("GET", "/fhir/R4/Schedule/{id}"): ("Schedule", "r"),
    ("GET", "/fhir/R4/Slot"): ("Slot", "s"),
    ("GET", "/fhir/R4/Slot/{id}"): ("Slot", "r"),
    ("GET", "/fhir/R4/Appointment"): ("Appointment", "s"),
    ("GET", "/fhir/R4/Appointment/{id}"): ("Appointment", "s"),  # the matrix's path is $find
    ("POST", "/fhir/R4/Appointment/{id}"): ("Appointment", "s"),  # $find; $hold and $book need c (below)
    ("PUT", "/fhir/R4/Appointment/{id}"): ("Appointment", "u"),
    ("PATCH", "/fhir/R4/Appointment/{id}"): ("Appointment", "u"),
    ("GET", "/fhir/R4/Patient/{id}"): ("Patient", "r"),
}
OTHER = {"r": "s", "s": "r", "u": "rs", "c": "rsu"}


def system(*scopes: str, client_id: str = "ehr-engine-1", **claims: str) -> dict[str, str]:
    """A client credentials access token as Cognito issues it (the client is its own subject), plus the
    `cognito:username` that chalice local needs before it hands a token's claims on (infra/local/tokens.py)."""
    claims = {"sub": client_id, "client_id": client_id, "token_use": "access", "scope": " ".join(scopes), **claims}
    return {"Authorization": token({**claims, "cognito:username": client_id})}


def call(api, route, who):
    return send(api, route, who)


def test_every_protected_fhir_route_names_the_scope_it_needs(api):
    assert set(NEEDS) == set(PROTECTED)


@pytest.mark.parametrize("route", sorted(PROTECTED), ids=" ".join)
def test_each_route_needs_its_interactions_scope(api, route):
    resource, permission = NEEDS[route]
    # GIVEN a client holding every scope but the one the route needs (the other letter, other types, patient/*)
    wrong = system(f"system/{resource}.{OTHER[permission]}", "system/Basic.rs", "patient/*.rs", "user/*.cruds")
    # WHEN it calls the route, and then a client with the scope (narrow, then system/*.rs)
    refused = call(api, route, wrong)
    narrow = call(api, route, system(f"system/{resource}.{permission}"))
    wide = call(api, route, system("system/*.rs" if permission in "rs" else "system/*.cruds"))
    # THEN the first is a 403 forbidden naming the scope; the others pass the scope check (whatever the route then
    # answers for the made-up ids)
    assert issue(refused) == (403, "forbidden")
    assert f"system/{resource}.{permission}" in refused.data["issue"][0]["diagnostics"]
    for allowed in (narrow, wide):
        assert allowed.status_code != 403, allowed.data


def test_a_client_without_scopes_is_refused_and_a_malformed_scope_grants_nothing(api):
    for who in (system(), system("system/Slot.sr", "system/Slot.read", "system/Slot.rs?status=free")):
        assert issue(fhir_get(api, "/Practitioner", who)) == (403, "forbidden")


def test_a_system_client_reads_and_searches_with_its_scopes(api):
    # GIVEN a doctor with a booked visit of patient-1
    doc = api.doctor_with_hours()
    made = api.book(doc)
    reader = system("system/Slot.rs", "system/Appointment.rs", "system/Patient.rs", "system/Schedule.rs")
    # WHEN an integration engine searches the day's slots and the patient's appointments, and reads both back
    week = f"start=ge{BOOKING_DAY}&start=lt{BOOKING_DAY.replace(day=BOOKING_DAY.day + 1)}"
    slots = fhir_get(api, f"/Slot?schedule=Schedule/{doc['id']}.in-person&{week}", reader)
    found = fhir_get(api, "/Appointment?patient=Patient/patient-1", reader)
    read = fhir_get(api, f"/Appointment/{made['id']}", reader)
    person = fhir_get(api, "/Patient/patient-1", reader)
    # THEN it sees busy slots as staff do, the appointment, and the patient
    assert {s["status"] for s in entries(slots.data)} == {"free", "busy"}
    assert [a["id"] for a in entries(found.data)] == [made["id"]] and read.data["id"] == made["id"]
    assert person.data["id"] == "patient-1"
    # AND each read of patient data is in the patient's access history under the client's id, as a system client
    history = api.call("GET", "/api/admin/patients/patient-1/access", admin()).data["entries"]
    by_client = [(e["actorId"], e["actorRole"], e["route"]) for e in history if e["actorRole"] == "system"]
    assert by_client == [
        ("ehr-engine-1", "system", "GET /fhir/R4/Appointment"),
        ("ehr-engine-1", "system", "GET /fhir/R4/Appointment/{id}"),
        ("ehr-engine-1", "system", "GET /fhir/R4/Patient/{id}"),
    ]


def test_every_call_of_a_system_client_is_logged_with_its_client_id(api, caplog):
    caplog.set_level(logging.INFO, logger="clinic.fhir")
    # WHEN a client searches Practitioners, and is refused a search of Slots
    fhir_get(api, "/Practitioner", system("system/Practitioner.s", client_id="ehr-a"))
    fhir_get(api, "/Slot?schedule=Schedule/x.in-person", system("system/Practitioner.s", client_id="ehr-a"))
    # THEN both calls are logged with the client id, the route and the status
    logged = [
        (r.client_id, r.route, r.status)
        for r in caplog.records
        if r.name == "clinic.fhir" and r.getMessage() == "fhir system client call"
    ]
    assert logged == [("ehr-a", "GET /fhir/R4/Practitioner", 200), ("ehr-a", "GET /fhir/R4/Slot", 403)]


def test_only_the_configured_issuers_client_tokens_count(api, wired):
    # GIVEN a stack whose system clients come from the integrations pool
    object.__setattr__(wired.settings, "system_client_issuer", ISSUER)
    # WHEN a client token of that pool and one of another pool call
    ours = fhir_get(api, "/Practitioner", system("system/*.rs", iss=ISSUER))
    other = fhir_get(api, "/Practitioner", system("system/*.rs", iss="https://cognito-idp.example/other-pool"))
    # THEN only the first is served
    assert ours.status_code == 200
    assert issue(other) == (403, "forbidden")


REST_ROUTES = sorted(
    {(r.method, r.path) for r in ROUTES if not r.public and not r.path.startswith("/fhir/")}, key=" ".join
)


@pytest.mark.parametrize("route", REST_ROUTES, ids=" ".join)
def test_system_clients_may_not_use_the_rest_api(api, route):
    # GIVEN a client holding every scope the clinic issues WHEN it calls a REST route
    method, template = route
    path = template.replace("{date}", "2026-12-02")
    for name in ("{id}", "{doctorId}", "{patientId}", "{appointmentId}", "{reminderId}", "{roomId}"):
        path = path.replace(name, "x")
    path = re.sub(r"\{[^}]+\}", "x", path)
    answer = api.call(method, path, system("system/*.rs", "system/Appointment.cruds"), {})
    # THEN 403 FORBIDDEN in the REST contract's shape
    assert answer.status_code == 403, (route, answer.data)
    assert answer.data["error"]["code"] == "FORBIDDEN"


def test_the_dev_system_client_token_reads_fhir_and_nothing_of_the_rest_api(api):
    from infra.local.tokens import demo_tokens

    ehr = {"Authorization": demo_tokens()["ehr"]}
    # WHEN make run's system client searches Schedules, and calls a REST route
    found = fhir_get(api, "/Schedule", ehr)
    rest = api.call("GET", "/api/appointments/patient/patient-1", ehr)
    # THEN FHIR answers, and REST refuses it
    assert found.status_code == 200 and found.data["resourceType"] == "Bundle"
    assert rest.status_code == 403


def test_smart_configuration_names_the_token_endpoint_and_the_scopes(api, wired):
    # GIVEN a stack with an integrations token endpoint, and one without (local runs)
    missing = api.http.get("/fhir/R4/.well-known/smart-configuration")
    object.__setattr__(wired.settings, "system_token_url", "https://clinic-integrations.example/oauth2/token")
    found = api.http.get("/fhir/R4/.well-known/smart-configuration")
    # THEN the document (public) names the endpoint, client credentials, the scopes and SMART v2 permissions
    assert missing.status_code == 404
    assert found.status_code == 200 and found.headers["Content-Type"] == "application/json"
    document = json.loads(found.body)
    assert document["token_endpoint"] == "https://clinic-integrations.example/oauth2/token"
    assert document["grant_types_supported"] == ["client_credentials"]
    assert set(document["scopes_supported"]) == set(SYSTEM_SCOPES)
    assert "permission-v2" in document["capabilities"]
    # AND the CapabilityStatement names the same token endpoint
    statement = fhir_get(api, "/metadata").data
    [uris] = statement["rest"][0]["security"]["extension"]
    assert uris["extension"] == [{"url": "token", "valueUri": "https://clinic-integrations.example/oauth2/token"}]


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(
    scope=st.one_of(
        st.text(max_size=60),
        st.text(alphabet="systempaiuer/*.cruds SlotAppointment?=", max_size=60),
        st.lists(st.text(max_size=20), max_size=3),
        st.integers(),
        st.none(),
    )
)
def test_no_scope_claim_makes_a_500(api, scope):
    # GIVEN a client token whose scope claim is anything at all WHEN it searches Slots and reads a Patient
    who = {
        "Authorization": token(
            {"sub": "c1", "client_id": "c1", "token_use": "access", "scope": scope, "cognito:username": "c1"}
        )
    }
    for path in ("/Slot?schedule=Schedule/x.in-person&start=ge2026-12-02&start=lt2026-12-03", "/Patient/p1"):
        answer = fhir_get(api, path, who)
        # THEN it is served or refused (403), never a 500 (fhir_get validates the answer)
        assert answer.status_code in (200, 403, 404), answer.data
