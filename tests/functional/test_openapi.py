"""The OpenAPI document: valid 3.1, covers every route, and real responses match its schemas."""

from __future__ import annotations

import json
import re

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
    from chalicelib.api.method_guard import allowed_methods

    served = {(path, method.lower()) for path, methods in app.routes.items() for method in allowed_methods(methods)}
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
    call("/api/admin/analytics", "GET", f"/api/admin/analytics?from={DAY}&to={DAY}", admin())
    for template, method, response in checks:
        conforms(spec, template, method, response)
    assert {r.status_code for _, _, r in checks} >= {200, 201, 400, 401, 404}


def test_every_success_answer_has_a_schema_and_its_media_type(spec):
    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            (ok,) = [code for code in op["responses"] if code.startswith("2")]
            content = op["responses"][ok].get("content")
            # THEN each 2xx names its media type and the schema of its body
            assert content and all("schema" in media for media in content.values()), (method, path)
            expected = "text/calendar" if path.endswith(".ics") else "text/html" if path == "/console" else None
            assert expected is None or list(content) == [expected], (method, path, list(content))


def test_operation_ids_are_short_unique_and_readable(spec):
    ids = [op["operationId"] for ops in spec["paths"].values() for op in ops.values()]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[a-z][A-Za-z]{2,40}", i) for i in ids), ids
    by_route = {(m.upper(), p): op["operationId"] for p, ops in spec["paths"].items() for m, op in ops.items()}
    assert by_route[("POST", "/api/appointments")] == "bookAppointment"
    assert by_route[("GET", "/api/appointments/availability/{doctorId}/{date}")] == "getAvailability"


def test_servers_name_the_local_url_and_nothing_points_outside_the_project(spec):
    assert {"url": "http://127.0.0.1:8000", "description": "`make run` on this machine"} in spec["servers"]
    assert "../" not in json.dumps(spec)


def test_the_api_reference_lists_every_route_of_the_document(spec):
    from infra.local.api_docs import DOC, rendered

    # GIVEN docs/api.md, WHEN its route table is rendered from /openapi.json, THEN nothing changes
    text = DOC.read_text()
    assert rendered(text, spec) == text, "run `python -m infra.local.api_docs` to update docs/api.md"


def _header(spec, path: str, method: str, name: str) -> dict:
    params = spec["paths"][path][method]["parameters"]
    return next(p for p in params if p["in"] == "header" and p["name"] == name)


def test_if_none_match_is_documented_as_the_server_reads_it(api, spec):
    # GIVEN the availability route's documented If-None-Match, and a day with its current ETag
    path = "/api/appointments/availability/{doctorId}/{date}"
    schema = _header(spec, path, "get", "If-None-Match")["schema"]
    doc = api.doctor_with_hours()
    url = f"/api/appointments/availability/{doc['id']}/{DAY}"
    etag = api.call("GET", url, patient()).headers["ETag"]
    # WHEN a client sends values of any length and shape: a long list of tags ending in the current one, the
    # strong form of the current tag, `*`, and tags that match nothing (long, or not a tag at all)
    many = ", ".join(f'W/"old-{n}"' for n in range(40)) + ", " + etag
    cases = {many: 304, etag.removeprefix("W/"): 304, "*": 304, 'W/"' + "x" * 500 + '"': 200, "not a tag": 200}
    for value, status in cases.items():
        answered = api.call("GET", url, {**patient(), "If-None-Match": value})
        # THEN the server takes each (304 when one tag is the current one, else the full answer, never a 400)
        assert answered.status_code == status, value
        # AND the document admits each: no request the server accepts violates the schema
        jsonschema.validate(value, schema, cls=jsonschema.Draft202012Validator)


def test_idempotency_key_limits_are_documented_and_enforced(api, spec):
    # GIVEN the booking route's documented Idempotency-Key
    schema = _header(spec, "/api/appointments", "post", "Idempotency-Key")["schema"]
    assert (schema["minLength"], schema["maxLength"]) == (1, 128)
    doc = api.doctor_with_hours()
    # WHEN a key the document refuses is sent (too long, empty, only spaces, a tab, a no-break space)
    # THEN the server refuses it too
    for key in ("k" * 129, "", "   ", "a\tb", "\u00a0"):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(key, schema, cls=jsonschema.Draft202012Validator)
        refused = api.try_book(doc, {**patient(), "Idempotency-Key": key})
        assert (refused.status_code, refused.data["error"]["code"]) == (400, "VALIDATION_ERROR"), len(key)
    # AND keys the document admits are taken
    for n, key in enumerate(("k" * 128, " spaced key ", "clé-é")):
        jsonschema.validate(key, schema, cls=jsonschema.Draft202012Validator)
        taken = api.try_book(doc, {**patient(f"key-{n}"), "Idempotency-Key": key}, time=("09:00", "10:00", "11:00")[n])
        assert taken.status_code == 201, (key, taken.data)
