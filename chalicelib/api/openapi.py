"""The OpenAPI 3.1 document, generated from the route registry and the models that validate requests."""

from __future__ import annotations

import copy
import functools
import re
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from chalicelib.api import schemas as s
from chalicelib.api.http import ROUTES, RouteSpec

ERROR_TEXT = {
    304: "Not modified: If-None-Match carries the current ETag (no body)",
    400: "Invalid input (VALIDATION_ERROR); details.fields names the offending fields",
    401: "No identity (UNAUTHENTICATED)",
    403: "Wrong role or another person's object (FORBIDDEN)",
    404: "Not found (NOT_FOUND)",
    409: "SLOT_UNAVAILABLE, CONFLICT or INVALID_STATE",
    422: "A business rule refuses it (OUTSIDE_WORKING_HOURS, TOO_LATE_TO_CHANGE, DAILY_LIMIT_REACHED, ...)",
    503: "The store is busy or throttled; nothing was changed, retry (SERVICE_UNAVAILABLE)",
}


OPERATION_IDS: dict[tuple[str, str], str] = {
    ("GET", "/api/admin/appointments/{id}/audit"): "getAuditTrail",
    ("GET", "/api/admin/analytics"): "getAnalytics",
    ("POST", "/api/appointments"): "bookAppointment",
    ("GET", "/api/appointments/{id}"): "getAppointment",
    ("PUT", "/api/appointments/{id}/reschedule"): "rescheduleAppointment",
    ("DELETE", "/api/appointments/{id}"): "cancelAppointment",
    ("PATCH", "/api/appointments/{id}/status"): "changeAppointmentStatus",
    ("GET", "/api/appointments/patient/{patientId}"): "listPatientAppointments",
    ("GET", "/api/appointments/doctor/{doctorId}"): "listDoctorAppointments",
    ("GET", "/api/appointments/{id}/calendar.ics"): "getAppointmentCalendar",
    ("POST", "/api/doctors/{doctorId}/calendar-token"): "enableCalendarFeed",
    ("DELETE", "/api/doctors/{doctorId}/calendar-token"): "revokeCalendarFeed",
    ("GET", "/api/doctors/{doctorId}/calendar.ics"): "getDoctorCalendarFeed",
    ("GET", "/api/doctors"): "searchDoctors",
    ("GET", "/api/doctors/{doctorId}"): "getDoctor",
    ("POST", "/api/admin/doctors"): "createDoctor",
    ("PUT", "/api/admin/doctors/{doctorId}/availability"): "setAvailability",
    ("GET", "/api/appointments/availability/{doctorId}/{date}"): "getAvailability",
    ("POST", "/api/realtime/ticket"): "createRealtimeTicket",
    ("POST", "/api/reminders/schedule"): "scheduleReminders",
    ("GET", "/api/reminders/appointment/{appointmentId}"): "listAppointmentReminders",
    ("PUT", "/api/reminders/{id}"): "updateReminder",
    ("DELETE", "/api/reminders/{id}"): "cancelReminder",
    ("POST", "/api/patients/me/devices"): "registerDevice",
    ("GET", "/api/admin/reminders"): "listReminders",
    ("POST", "/api/admin/reminders/retry"): "retryReminders",
    ("POST", "/api/admin/reminders/cancel"): "cancelReminders",
    ("GET", "/health"): "getHealth",
    ("GET", "/console"): "getConsole",
    ("GET", "/openapi.json"): "getOpenApiDocument",
    ("POST", "/api/telehealth/generate-url/{appointmentId}"): "generateTelehealthUrl",
    ("GET", "/api/telehealth/room/{roomId}"): "getRoom",
    ("POST", "/api/telehealth/room/{roomId}/admit"): "admitToRoom",
    ("POST", "/api/telehealth/room/{roomId}/end"): "endRoom",
    ("PUT", "/api/telehealth/consent/{appointmentId}"): "setRecordingConsent",
    ("POST", "/api/telehealth/requirements-check"): "checkTelehealthRequirements",
}
"""Short, readable names for generated clients; a route missing here is named after its handler (camelCase)."""

SERVERS = [{"url": "http://127.0.0.1:8000", "description": "`make run` on this machine"}]

HEADER_SCHEMAS: dict[str, dict[str, Any]] = {
    "Idempotency-Key": {
        "type": "string",
        "minLength": 1,
        "maxLength": 128,
        # printable Latin-1 (what an HTTP header carries; not NBSP or the soft hyphen), at least one not a space
        "pattern": "^[ -~\u00a1-\u00ac\u00ae-\u00ff]*[!-~\u00a1-\u00ac\u00ae-\u00ff][ -~\u00a1-\u00ac\u00ae-\u00ff]*$",
        "description": "1-128 printable characters, not only spaces; anything else is 400",
    },
    "If-None-Match": {
        "type": "string",
        "description": "`*` or a comma-separated list of entity tags (weak comparison); a value holding the "
        "current ETag gets 304, any other value (whatever its length or shape) the full answer",
    },
}
"""What the server accepts in each request header a route declares, no more and no less: a value this refuses
is refused by the server (400), and a value the server takes is admitted here."""

NON_JSON_SCHEMAS: dict[str, dict[str, Any]] = {
    "text/calendar": {"type": "string", "description": "An iCalendar (RFC 5545) document"},
    "text/html": {"type": "string", "description": "An HTML page"},
    "text/javascript": {"type": "string", "description": "A script of a page"},
    "text/css": {"type": "string", "description": "A style sheet of a page"},
    "image/svg+xml": {"type": "string", "description": "An SVG image"},
    "application/fhir+json": {
        "type": "object",
        "description": "A FHIR R4 (4.0.1) resource: a Bundle (searchset) for a search or $find, else the resource",
    },
}
FHIR_OUTCOME = {"type": "object", "description": "A FHIR R4 OperationOutcome naming the issue's code"}


def operation_id(route: RouteSpec) -> str:
    named = OPERATION_IDS.get((route.method, route.path))
    if named:
        return named
    head, *rest = route.handler.split("_")
    return head + "".join(part.title() for part in rest)


def document() -> dict[str, Any]:
    """The OpenAPI document, built once per set of routes: it never changes while the process runs, and building
    it (about 100 ms of JSON-schema work) on every request made `/openapi.json` slow to serve."""
    return copy.deepcopy(_built(len(ROUTES)))


@functools.lru_cache(maxsize=1)
def _built(route_count: int) -> dict[str, Any]:
    models: set[type[BaseModel]] = {s.ErrorOut}
    for route in ROUTES:
        models.update(m for m in (route.body, route.response) if m is not None)
    ordered = sorted(models, key=lambda m: m.__name__)
    refs, defs = models_json_schema(
        [(m, "validation") for m in ordered], by_alias=True, ref_template="#/components/schemas/{model}"
    )
    paths: dict[str, dict[str, Any]] = {}
    for route in ROUTES:
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(route, refs)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Clinic appointment booking API",
            "version": "1.0.0",
            "description": "Book, reschedule and cancel visits with live availability. "
            "The API reference with its conventions is docs/api.md in the project.",
        },
        "servers": SERVERS,
        "paths": paths,
        "components": {
            "schemas": defs.get("$defs", {}),
            "securitySchemes": {
                "cognito": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "Authorization",
                    "description": "A Cognito ID token (API Gateway's Cognito user-pool authorizer)",
                }
            },
        },
    }


def _operation(route: RouteSpec, refs: dict[Any, Any]) -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": route.summary,
        "operationId": operation_id(route),
        "tags": list(route.tags),
        "parameters": _parameters(route),
        "responses": {},
    }
    if not route.public:
        op["security"] = [{"cognito": []}]
    if route.body is not None:
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": refs[(route.body, "validation")]}},
        }
    ok: dict[str, Any] = {"description": "Success"}
    if route.response is not None:
        ok["content"] = {route.media_type: {"schema": refs[(route.response, "validation")]}}
    elif route.media_type in NON_JSON_SCHEMAS:
        ok["content"] = {route.media_type: {"schema": NON_JSON_SCHEMAS[route.media_type]}}
    else:  # JSON whose shape is not ours to fix: this document itself
        ok["content"] = {"application/json": {"schema": {"type": "object"}}}
    op["responses"][str(route.status)] = ok
    codes = set(route.errors) | ({400} if route.body or route.query or "{" in route.path else set())
    if not route.public:
        codes |= {401, 403, 503}
    error_schema = refs[(s.ErrorOut, "validation")]
    for code in sorted(codes):
        op["responses"][str(code)] = {"description": ERROR_TEXT[code]}
        if code >= 400 and route.media_type == "application/fhir+json":  # FHIR answers errors as OperationOutcome
            op["responses"][str(code)]["content"] = {route.media_type: {"schema": FHIR_OUTCOME}}
        elif code >= 400:
            op["responses"][str(code)]["content"] = {"application/json": {"schema": error_schema}}
    return op


def _parameters(route: RouteSpec) -> list[dict[str, Any]]:
    params: list[dict[str, Any]] = []
    for name in re.findall(r"{(\w+)}", route.path):
        kind = {"format": "date"} if name == "date" else {"pattern": s.ID_PATTERN}
        params.append({"name": name, "in": "path", "required": True, "schema": {"type": "string", **kind}})
    if route.query is not None:
        query_schema: dict[str, Any] = route.query.model_json_schema(by_alias=True)
        required = set(query_schema.get("required", []))
        for name, prop in dict(query_schema.get("properties", {})).items():
            params.append({"name": name, "in": "query", "required": name in required, "schema": prop})
    for header in route.headers:
        params.append({"name": header, "in": "header", "required": False, "schema": dict(HEADER_SCHEMAS[header])})
    return params
