"""The OpenAPI document: valid 3.1, covers every route, and real responses match its schemas."""

from __future__ import annotations

import jsonschema
import pytest
from openapi_spec_validator import validate

from chalicelib.api.http import ROUTES
from tests.helpers import admin, doctor, patient

DAY = "2026-12-02"


@pytest.fixture
def spec(api):
    got = api.call("GET", "/openapi.json", {})
    assert got.status_code == 200
    return got.data


def test_document_is_valid_openapi_3_1(spec):
    validate(spec)
    assert spec["openapi"] == "3.1.0"


def test_every_chalice_route_is_documented(spec):
    from app import app

    served = {(path, method.lower()) for path, methods in app.routes.items() for method in methods}
    documented = {(path, method) for path, ops in spec["paths"].items() for method in ops}
    assert served == documented


def test_request_schemas_are_the_validating_models(spec):
    for route in ROUTES:
        op = spec["paths"][route.path][route.method.lower()]
        if route.body is None:
            assert "requestBody" not in op
        else:
            ref = op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
            assert ref == f"#/components/schemas/{route.body.__name__}"
            schema = spec["components"]["schemas"][route.body.__name__]
            assert schema.get("additionalProperties") is False  # unknown fields are refused, and documented so


def conforms(spec, path_template: str, method: str, response) -> None:
    op = spec["paths"][path_template][method.lower()]
    documented = op["responses"][str(response.status_code)]
    schema = documented["content"]["application/json"]["schema"]
    resolver_doc = {"components": spec["components"], **schema}
    jsonschema.validate(response.data, resolver_doc, cls=jsonschema.Draft202012Validator)


def test_real_responses_match_the_documented_schemas(api, spec, clock):
    doc = api.doctor_with_hours()
    checks = []

    def call(template, method, path, headers, body=None):
        response = api.call(method, path, headers, body)
        checks.append((template, method, response))
        return response

    call("/api/doctors", "GET", "/api/doctors", patient())
    call("/api/doctors/{doctorId}", "GET", f"/api/doctors/{doc['id']}", patient())
    call(
        "/api/appointments/availability/{doctorId}/{date}",
        "GET",
        f"/api/appointments/availability/{doc['id']}/{DAY}",
        patient(),
    )
    made = call(
        "/api/appointments",
        "POST",
        "/api/appointments",
        patient(),
        {"doctorId": doc["id"], "date": DAY, "time": "10:00", "type": "telehealth", "reason": "r"},
    )
    a = made.data["id"]
    call("/api/appointments/{id}", "GET", f"/api/appointments/{a}", patient())
    call(
        "/api/appointments/{id}/reschedule",
        "PUT",
        f"/api/appointments/{a}/reschedule",
        patient(),
        {"date": DAY, "time": "11:00"},
    )
    call("/api/appointments/{id}/status", "PATCH", f"/api/appointments/{a}/status", patient(), {"status": "confirmed"})
    call("/api/appointments/patient/{patientId}", "GET", "/api/appointments/patient/patient-1", patient())
    call("/api/appointments/doctor/{doctorId}", "GET", f"/api/appointments/doctor/{doc['id']}", doctor(doc["id"]))
    call("/api/admin/appointments/{id}/audit", "GET", f"/api/admin/appointments/{a}/audit", admin())
    call("/api/appointments/{id}", "DELETE", f"/api/appointments/{a}", patient())
    # errors too
    call("/api/appointments/{id}", "GET", "/api/appointments/nothing", patient())
    call("/api/appointments", "POST", "/api/appointments", patient(), {"doctorId": "x"})
    call("/api/doctors", "GET", "/api/doctors", {})
    call("/health", "GET", "/health", {})
    for template, method, response in checks:
        conforms(spec, template, method, response)
    assert {r.status_code for _, _, r in checks} >= {200, 201, 400, 401, 404}
