"""The CapabilityStatement says exactly what is served: every search parameter it lists is accepted by its search,
every other one is refused, and every resource it lists can be read."""

from __future__ import annotations

import pytest

from chalicelib.api.http import ROUTES
from tests.functional.fhir_support import fhir_get, issue
from tests.helpers import admin

SAMPLE = {
    "name": "ada",
    "address-city": "main",
    "actor": "Practitioner/d",
    "service-type": "AMB",
    "active": "true",
    "schedule": "Schedule/d.in-person",
    "status": "booked",
    "patient": "Patient/patient-1",
    "practitioner": "Practitioner/d",
    "date": "ge2026-12-02",
}
"""A valid value of each parameter the searches take (a Slot's `status` is tried as `free`)."""


def statement(api):
    got = fhir_get(api, "/metadata")
    return {r["type"]: r for r in got.data["rest"][0]["resource"]}


def listed_params():
    from chalicelib.api.fhir import SEARCHES

    return [(kind, name) for kind, params in SEARCHES.items() for name in params]


@pytest.mark.parametrize(("kind", "name"), listed_params())
def test_every_listed_search_parameter_is_accepted_by_its_search(api, kind, name):
    # GIVEN a doctor WHEN a search uses a parameter the CapabilityStatement lists
    doc = api.doctor_with_hours()
    assert name in {p["name"] for p in statement(api)[kind]["searchParam"]}
    value = SAMPLE.get(name, "").replace("/d", f"/{doc['id']}")
    value = "free" if (kind, name) == ("Slot", "status") else value
    query = f"{name}={value}"
    if kind == "Slot":  # a Slot search needs its schedule and both ends of its range, which are listed too
        base = f"schedule=Schedule/{doc['id']}.in-person&start=ge2026-12-02&start=lt2026-12-03"
        query = base if name in ("schedule", "start") else f"{base}&{query}"
    if kind == "Appointment" and name not in ("patient", "practitioner"):  # staff name whose appointments
        query = f"patient=Patient/patient-1&{query}"
    got = fhir_get(api, f"/{kind}?{query}", admin())
    # THEN it answers a Bundle, not a refusal
    assert got.status_code == 200, got.data
    assert got.data["resourceType"] == "Bundle"


@pytest.mark.parametrize("kind", ["Practitioner", "Location", "Schedule", "Slot", "Appointment"])
def test_a_parameter_not_listed_is_refused_by_every_search(api, kind):
    assert issue(fhir_get(api, f"/{kind}?_id=x", admin())) == (400, "not-supported")
    assert issue(fhir_get(api, f"/{kind}?_include=*", admin())) == (400, "not-supported")


def test_every_listed_resource_has_its_read_route_and_its_search_route_when_it_lists_one(api):
    served = {(r.method, r.path) for r in ROUTES}
    for kind, entry in statement(api).items():
        codes = {i["code"] for i in entry["interaction"]}
        assert ("GET", f"/fhir/R4/{kind}/{{id}}") in served and "read" in codes
        assert (("GET", f"/fhir/R4/{kind}") in served) == ("search-type" in codes), kind


def test_the_appointment_lists_its_writes_and_each_is_served(api):
    # GIVEN the CapabilityStatement WHEN its Appointment entry is read
    appointment = statement(api)["Appointment"]
    served = {(r.method, r.path) for r in ROUTES}
    # THEN it lists update and patch, and the operations $find, $hold and $book with Argonaut's definitions
    assert {i["code"] for i in appointment["interaction"]} == {"read", "search-type", "update", "patch"}
    assert {("PUT", "/fhir/R4/Appointment/{id}"), ("PATCH", "/fhir/R4/Appointment/{id}")} <= served
    operations = {o["name"]: o["definition"] for o in appointment["operation"]}
    assert operations == {
        name: f"http://fhir.org/guides/argonaut/scheduling/OperationDefinition/appointment-{name}"
        for name in ("find", "hold", "book")
    }
    # AND every other resource stays read and search only
    others = {
        kind: {i["code"] for i in e["interaction"]} for kind, e in statement(api).items() if kind != "Appointment"
    }
    assert all(codes <= {"read", "search-type"} for codes in others.values())
