"""The HL7 FHIR R4 (4.0.1) face under `/fhir/R4/`: metadata, reads and searches of Practitioner, Location, Schedule,
Slot, Appointment and Patient, `Appointment/$find`, `$hold` and `$book`, and an Appointment's status by PATCH
(JSON Patch) or PUT. Parses FHIR's query and Parameters shapes strictly, checks
the caller as the REST API does, calls the same services, and answers `application/fhir+json` (errors as
OperationOutcome)."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache, cached_property, partial
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from chalice import Blueprint, Response

from chalicelib import container
from chalicelib.api.fhir_authorizer import authorize
from chalicelib.api.http import (
    MAX_BODY_BYTES,
    MAX_JSON_DEPTH,
    ROUTES,
    ModelRef,
    RouteSpec,
    _json_body,
    _nesting_depth,
    _utf8_text,
)
from chalicelib.api.method_guard import GUARD_VIEW, STANDARD_METHODS
from chalicelib.domain import errors as e
from chalicelib.domain import fhir, smart
from chalicelib.domain.identity import Caller, Role, caller_from_claims
from chalicelib.domain.paging import open_token, paginate, sign_token
from chalicelib.domain.timefmt import instant
from chalicelib.observability import count, count_error

if TYPE_CHECKING:
    from pydantic import BaseModel

    from chalicelib.services.fhir import BookTarget, FhirService, Position, Publication, PublicationPlan

fhir_api = Blueprint(__name__)
log = logging.getLogger("clinic.fhir")


@fhir_api.authorizer(name="fhir_authorizer", ttl_seconds=60)
def fhir_authorizer(auth_request: Any) -> dict[str, Any]:
    """The FHIR routes' Lambda authorizer: people's ID tokens and system clients' access tokens (API Gateway's
    Cognito authorizer takes only one kind on a method). An answer is cached a minute per token."""
    return authorize(auth_request.token, auth_request.method_arn)


BASE = "/fhir/R4"
HEADERS = {"Content-Type": fhir.MEDIA_TYPE, "Cache-Control": "no-store"}
DEFAULT_COUNT = 20
MAX_COUNT = 100
FIND_DEFAULT_COUNT = 10
FIND_MAX_COUNT = 50
MAX_VALUE_LENGTH = 256
CAPABILITY_DATE = "2026-12-06"
FIND_DEFINITION = "http://fhir.org/guides/argonaut/scheduling/OperationDefinition/appointment-find"
HOLD_DEFINITION = "http://fhir.org/guides/argonaut/scheduling/OperationDefinition/appointment-hold"
BOOK_DEFINITION = "http://fhir.org/guides/argonaut/scheduling/OperationDefinition/appointment-book"
JSON_PATCH = "application/json-patch+json"
SECURITY_SERVICE = "http://terminology.hl7.org/CodeSystem/restful-security-service"
OAUTH_URIS = "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"
ROLES = (Role.PATIENT, Role.DOCTOR, Role.ADMIN)


class NotSupported(e.InvalidInput):
    """A search parameter, modifier or operation this server does not implement (FHIR's `handling=strict`)."""


class UnknownType(e.NotFound):
    """A resource type this server does not serve."""


OUTCOMES: dict[type[e.DomainError], tuple[int, str]] = {
    NotSupported: (400, "not-supported"),
    UnknownType: (404, "not-supported"),
    e.InvalidInput: (400, "invalid"),
    e.PayloadTooLarge: (413, "too-long"),
    e.RateLimited: (429, "throttled"),
    e.Unauthenticated: (401, "login"),
    e.Forbidden: (403, "forbidden"),
    e.NotFound: (404, "not-found"),
    e.SlotUnavailable: (409, "conflict"),
    e.Conflict: (409, "conflict"),
    e.InvalidState: (409, "conflict"),
    e.BusinessRuleViolation: (422, "business-rule"),
    e.ServiceBusy: (503, "transient"),
}
"""Domain errors → HTTP status and OperationOutcome issue code, the FHIR twin of api/errors.py's table (and the
service's `RangeTooWide`: 400 `too-costly`, see `_outcome_for`)."""

# --- what is implemented: the strict parameter checks and the CapabilityStatement read this one table ----------
SEARCHES: dict[str, dict[str, tuple[str, str]]] = {
    "Practitioner": {"name": ("string", "Any word of the name starts with this (case-insensitive)")},
    "Location": {"address-city": ("string", "Any word of the address starts with this (addresses are free text)")},
    "Schedule": {
        "actor": ("reference", "Practitioner/<id> or Location/<id>"),
        "service-type": ("token", "AMB (in-person) or VR (telehealth), system ActCode"),
        "active": ("token", "true or false: whether the doctor has working hours"),
    },
    "Slot": {
        "schedule": ("reference", "Schedule/<id> (required)"),
        "start": ("date", "Both ends required (ge/gt and lt/le), at most 31 days"),
        "status": ("token", "free or busy (patients: free only)"),
        "service-type": ("token", "AMB or VR"),
    },
    "Appointment": {
        "patient": ("reference", "Patient/<id> (patients: their own, the default)"),
        "practitioner": ("reference", "Practitioner/<id> (doctors: their own, the default)"),
        "date": ("date", "The start, with prefixes ge/gt/le/lt/eq"),
        "status": ("token", "booked, fulfilled, cancelled, noshow (comma for several)"),
    },
}
RESULT_PARAMS = ("_count", "_page_token", "_format")
READS = ("Practitioner", "Location", "Schedule", "Slot", "Appointment", "Patient")
FIND_PARAMS = {
    "start": "date",
    "end": "date",
    "practitioner": "reference",
    "location": "reference",
    "specialty": "string",
    "visit-type": "token",
    "appointmentType": "token",
    "patient": "reference",
    "_count": "integer",
}


@dataclass
class FhirCall:
    caller: Caller
    params: dict[str, list[str]]
    path: dict[str, str]
    base: str
    route: str
    body: bytes | str | None = None
    wired: container.Container | None = field(default=None, repr=False)
    """The container, when checking the caller fetched it already."""

    @property
    def services(self) -> container.Container:
        """The wired services: fetched once per request, and only if the handler asks."""
        if self.wired is None:
            self.wired = container.current()
        return self.wired

    @cached_property
    def fhir(self) -> FhirService:
        """The FHIR use cases over this request's services."""
        return _service(self.services)


def _service(c: container.Container) -> FhirService:
    from chalicelib.services.fhir import FhirService

    return FhirService(c.booking, c.booking_queries, c.doctors, c.clock, c.store)


# --- the wrapper ------------------------------------------------------------------------------------------------
def fhir_route(
    path: str,
    summary: str,
    methods: tuple[str, ...] = ("GET",),
    public: bool = False,
    query: ModelRef | None = None,
    errors: tuple[int, ...] = (),
    names: dict[str, str] | None = None,
    scope: ScopeRule | None = None,
) -> Callable[[Callable[[FhirCall], Answer]], Callable[..., Response]]:
    """Registers a FHIR route for Chalice and for the OpenAPI document (media type `application/fhir+json`);
    `names` name the operation of each method where one handler serves several. `scope` is the SMART v2 interaction
    a system client needs (resource type, one of c r u d s), or a function of the call that names it; a route
    without one refuses system clients. A handler answers a resource (200) or a whole `Response`."""

    def decorate(handler: Callable[[FhirCall], Answer]) -> Callable[..., Response]:
        for method in methods:
            name = "fhir_" + (names or {}).get(method, handler.__name__)
            ROUTES.append(
                RouteSpec(
                    path,
                    method,
                    summary,
                    200,
                    public,
                    ROLES,
                    None,
                    query if method == "GET" else None,
                    None,
                    (),
                    errors,
                    ("fhir",),
                    fhir.MEDIA_TYPE,
                    name,
                )
            )

        def view(**params: str) -> Response:
            request = fhir_api.current_request
            route = f"{request.method} {path}"
            caller: Caller | None = None
            try:
                caller, wired = _caller(request, public)
                call = FhirCall(
                    caller=caller,
                    params=_query(request),
                    path=params,
                    base=_base(request, wired),
                    route=route,
                    body=request.raw_body,
                    wired=wired,
                )
                if caller.is_system:
                    _check_scope(call, scope)
                answer = handler(call)
                response = answer if isinstance(answer, Response) else _answer(200, answer)
            except e.DomainError as exc:
                response = _outcome_for(exc)
            except Exception:  # a bug: logged with its trace, answered as FHIR does
                log.exception("unhandled error on %s", route)
                response = _answer(500, fhir.operation_outcome("exception", "Something went wrong on our side."))
            if caller is not None and caller.is_system:  # every call of a system client, with its client id
                log.info(
                    "fhir system client call",
                    extra={"client_id": caller.client_id, "route": route, "status": response.status_code},
                )
            return response

        view.__name__ = f"fhir_{handler.__name__}"
        view.__doc__ = handler.__doc__
        kwargs: dict[str, Any] = {"methods": list(methods)}
        if "POST" in methods or "PUT" in methods:
            kwargs["content_types"] = [fhir.MEDIA_TYPE, "application/json"]
        if "PATCH" in methods:
            kwargs["content_types"] = [*kwargs.get("content_types", []), JSON_PATCH]
        if not public:
            kwargs["authorizer"] = fhir_authorizer
        fhir_api.route(path, **kwargs)(view)
        return view

    return decorate


ScopeRule = tuple[str, str] | Callable[[FhirCall], tuple[str, str]]
Answer = fhir.Resource | Response


def _check_scope(call: FhirCall, scope: ScopeRule | None) -> None:
    """A system client's scopes must grant the route's interaction (SMART v2: `s` to search, `r` to read)."""
    if scope is None:
        raise e.Forbidden("System clients may not use this route.")
    resource, permission = scope(call) if callable(scope) else scope
    if not smart.grants(call.caller.scopes, resource, permission):
        raise e.Forbidden(
            f"This client's scopes do not allow it; it needs {smart.needed(resource, permission)} (or a wider scope)."
        )


def _answer(status: int, resource: fhir.Resource, extra: dict[str, str] | None = None) -> Response:
    headers: dict[str, str | list[str]] = {**HEADERS, **(extra or {})}
    return Response(body=json.dumps(resource, ensure_ascii=False), status_code=status, headers=headers)


def _outcome_for(error: e.DomainError) -> Response:
    from chalicelib.services.fhir import RangeTooWide  # not at import: the FHIR service loads on first use

    table: dict[type[e.DomainError], tuple[int, str]] = {RangeTooWide: (400, "too-costly"), **OUTCOMES}
    for cls in type(error).__mro__:
        if cls in table:
            status, code = table[cls]
            break
    else:
        status, code = 500, "exception"
    fields = (error.details or {}).get("fields")
    # FHIR strings are non-empty and printable: a field named by a client may be neither
    expression = sorted(f for f in fields if f.strip() and f.isprintable()) if isinstance(fields, dict) else []
    count_error(f"FHIR_{code.upper().replace('-', '_')}")
    extra = {"Retry-After": str(getattr(error, "retry_after", 1))} if status in (429, 503) else None
    return _answer(status, fhir.operation_outcome(code, error.message, expression), extra)


def _caller(request: Any, public: bool) -> tuple[Caller, container.Container | None]:
    """The caller, and the container when its settings were needed (the handler's `call.services` reuses it)."""
    if public:
        return Caller(subject="anonymous", role=Role.PATIENT), None
    claims = ((request.context or {}).get("authorizer") or {}).get("claims")
    if isinstance(claims, str):  # from the Lambda authorizer: its context holds strings only
        try:
            claims = json.loads(claims)
        except ValueError:
            claims = None
    if not claims or not isinstance(claims, dict):
        return caller_from_claims(None), None
    wired = container.current()
    settings = wired.settings
    return caller_from_claims(claims, settings.staff_pool_issuer, settings.system_client_issuer), wired


def _query(request: Any) -> dict[str, list[str]]:
    raw = request.query_params
    if not raw:
        return {}
    params = {name: list(raw.getlist(name)) for name in raw}
    for name, values in params.items():
        if len(name) > 64 or any(len(v) > MAX_VALUE_LENGTH for v in values):
            raise e.InvalidInput("A query parameter is too long.", {"fields": {name[:64]: "too long"}})
    return params


HOST = re.compile(r"[A-Za-z0-9.\-]+(:\d{1,5})?")


def _base(request: Any, wired: container.Container | None) -> str:
    """The service base URL as the client reached it (scheme, host and any stage prefix)."""
    headers = {k.lower(): v for k, v in (request.headers or {}).items()}
    host = headers.get("host", "")
    if not HOST.fullmatch(host):
        return (wired or container.current()).settings.public_base_url.rstrip("/") + BASE
    proto = headers.get("x-forwarded-proto", "http").split(",")[0].strip()
    proto = proto if proto in ("http", "https") else "https"
    stage_path = str((request.context or {}).get("path") or "")
    prefix = stage_path[: -len(request.path)] if request.path and stage_path.endswith(request.path) else ""
    return f"{proto}://{host}{prefix}{BASE}"


# --- parameters -------------------------------------------------------------------------------------------------
def _checked(call: FhirCall, resource_type: str) -> dict[str, list[str]]:
    """The search's parameters, every one known (strict handling): no modifiers, one value each but `date`/`start`
    (two bounds), and `_format` naming JSON."""
    allowed = SEARCHES[resource_type]
    for name, values in call.params.items():
        base_name = name.partition(":")[0]
        if ":" in name:
            raise NotSupported(f"Search modifiers are not supported ({name}).", {"fields": {name: "not supported"}})
        if base_name not in allowed and base_name not in RESULT_PARAMS:
            known = ", ".join([*allowed, "_count"])
            raise NotSupported(
                f"{resource_type} search does not support the parameter {name!r}; it supports {known}.",
                {"fields": {name: "not supported"}},
            )
        most = 2 if allowed.get(base_name, ("",))[0] == "date" else 1
        if len(values) > most:
            raise e.InvalidInput(f"{name} is given too often.", {"fields": {name: "repeated"}})
    _check_format(call.params)
    return call.params


def _check_format(params: dict[str, list[str]]) -> None:
    for value in params.get("_format", []):
        if value not in ("json", fhir.MEDIA_TYPE, "application/json"):
            raise NotSupported("This server speaks FHIR JSON only.", {"fields": {"_format": "json only"}})


def _one(params: dict[str, list[str]], name: str) -> str | None:
    values = params.get(name)
    return values[0] if values else None


def _count(params: dict[str, list[str]], default: int = DEFAULT_COUNT, most: int = MAX_COUNT) -> int:
    raw = _one(params, "_count")
    if raw is None:
        return default
    if not re.fullmatch(r"\d{1,4}", raw) or not 1 <= int(raw) <= most:
        raise e.InvalidInput(f"_count must be a whole number from 1 to {most}.", {"fields": {"_count": "invalid"}})
    return int(raw)


def _reference(params: dict[str, list[str]], name: str, resource_type: str) -> str | None:
    """The id a reference parameter names; 400 for another resource type or a malformed id."""
    raw = _one(params, name)
    if raw is None:
        return None
    ident = fhir.reference_id(raw, resource_type)
    if ident is None or not fhir.is_id(ident):
        raise e.InvalidInput(
            f"{name} must name a {resource_type} ({resource_type}/<id>).", {"fields": {name: "invalid"}}
        )
    return ident


def _dates(params: dict[str, list[str]], name: str) -> list[fhir.DateBound]:
    return [fhir.parse_date_bound(name, value) for value in params.get(name, [])]


def _tokens(params: dict[str, list[str]], name: str, allowed: Sequence[str]) -> frozenset[str] | None:
    raw = _one(params, name)
    if raw is None:
        return None
    values = frozenset(v.strip() for v in raw.split(","))
    unknown = sorted(values - set(allowed))
    if unknown:
        raise e.InvalidInput(
            f"{name} must be one of {', '.join(allowed)}; {unknown[0]!r} is not.", {"fields": {name: "invalid"}}
        )
    return values


def _services(params: dict[str, list[str]], name: str) -> frozenset[fhir.Service] | None:
    raw = _one(params, name)
    if raw is None:
        return None
    return frozenset(s for token in raw.split(",") if (s := fhir.service_for_token(token.strip())) is not None)


def _scope(call: FhirCall, resource_type: str) -> str:
    """What a page token is good for: this search with the same parameters."""
    kept = sorted((k, v) for k, values in call.params.items() if k not in RESULT_PARAMS for v in values)
    return f"fhir|{resource_type}|{urlencode(kept)}"


PAGING_PARAM = "_page_token"


def _foreign_token() -> e.InvalidInput:
    return e.InvalidInput(
        "The _page_token is not one this search gave out.", {"fields": {PAGING_PARAM: "is not valid"}}
    )


def _after(call: FhirCall, resource_type: str) -> Position | None:
    token = _one(call.params, "_page_token")
    if token is None:
        return None
    try:
        return open_token(token, _scope(call, resource_type), call.services.keys.signing_key())
    except e.InvalidInput:
        raise _foreign_token() from None


def _links(call: FhirCall, resource_type: str, next_position: Position | None) -> tuple[str, str | None]:
    plain = [(k, v) for k, values in call.params.items() if k != "_page_token" for v in values]
    own = [(k, v) for k, values in call.params.items() for v in values]
    self_url = f"{call.base}/{resource_type}" + (f"?{urlencode(own)}" if own else "")
    if next_position is None:
        return self_url, None
    token = sign_token(next_position, _scope(call, resource_type), call.services.keys.signing_key())
    return self_url, f"{call.base}/{resource_type}?{urlencode([*plain, ('_page_token', token)])}"


def _listed(
    call: FhirCall, resource_type: str, items: list[Any], key: Callable[[Any], tuple[str, str]]
) -> tuple[list[Any], str, str | None]:
    """A page of an in-memory list (small: the doctor directory) after the page token, and its links."""
    token = _one(call.params, "_page_token")
    secret = call.services.keys.signing_key()
    try:
        page, next_token = paginate(items, key, _count(call.params), token, _scope(call, resource_type), secret)
    except e.InvalidInput as exc:
        if "_count" in ((exc.details or {}).get("fields") or {}):
            raise
        raise _foreign_token() from None
    plain = [(k, v) for k, values in call.params.items() if k != "_page_token" for v in values]
    own = [(k, v) for k, values in call.params.items() for v in values]
    self_url = f"{call.base}/{resource_type}" + (f"?{urlencode(own)}" if own else "")
    next_url = f"{call.base}/{resource_type}?{urlencode([*plain, ('_page_token', next_token)])}" if next_token else None
    return page, self_url, next_url


def _id(call: FhirCall) -> str:
    ident = call.path["id"]
    if not fhir.is_id(ident):
        raise e.NotFound("No such resource.", {"id": ident[:64]})
    return ident


# --- documentation of the searches' query parameters (validation is `_checked`, FHIR's own rules) -------------
@cache
def _query_doc(resource_type: str) -> type[BaseModel]:
    """The search's parameters as a model, for the OpenAPI document only: made when the document is built, so
    `import app` (Lambda's init) makes none and does not import pydantic."""
    from pydantic import BaseModel, ConfigDict, Field, create_model

    class _Query(BaseModel):
        model_config = ConfigDict(populate_by_name=True, defer_build=True)
        count: str | None = Field(
            None, alias="_count", description=f"Page size, 1-{MAX_COUNT} (default {DEFAULT_COUNT})"
        )
        page_token: str | None = Field(None, alias="_page_token", description="From the Bundle's `next` link")

    fields: dict[str, Any] = {
        name.replace("-", "_"): (str | None, Field(None, alias=name, description=f"{kind}: {text}"))
        for name, (kind, text) in SEARCHES[resource_type].items()
    }
    model: type[BaseModel] = create_model(f"Fhir{resource_type}Search", __base__=_Query, **fields)
    return model


# --- metadata ---------------------------------------------------------------------------------------------------
def _security(token_url: str | None) -> dict[str, Any]:
    """Who may call, as SMART on FHIR describes it: people with their Cognito ID token, system clients with a
    client credentials access token whose SMART v2 `system/` scopes grant the interaction."""
    security: dict[str, Any] = {
        "cors": False,
        "service": [
            {"coding": [{"system": SECURITY_SERVICE, "code": "SMART-on-FHIR"}], "text": "SMART v2 system scopes"},
            {"coding": [{"system": SECURITY_SERVICE, "code": "OAuth"}], "text": "Cognito"},
        ],
        "description": "People send their Cognito ID token in the Authorization header, as for the REST API: "
        "patients read their own Appointments and Patient, free Slots and the public directory (Practitioner, "
        "Location, Schedule); doctors their own schedule's; admins everything. System clients (an EHR "
        "integration engine) send an OAuth 2.0 client credentials access token from the clinic's token endpoint, "
        "with SMART v2 system scopes: read needs r and search needs s on the resource (system/Slot.rs, "
        "system/*.rs, ...), writes c, u or d (system/Appointment.cruds); anything else is 403 forbidden. Scopes "
        f"the clinic issues: {', '.join(smart.SYSTEM_SCOPES)}. metadata, .well-known/smart-configuration and "
        "$bulk-publish are public.",
    }
    if token_url:
        security["extension"] = [{"url": OAUTH_URIS, "extension": [{"url": "token", "valueUri": token_url}]}]
    return security


def capability_statement(base: str, token_url: str | None = None) -> fhir.Resource:
    """Exactly what this face implements, from the same tables the routes check parameters with."""
    from chalicelib.services.fhir import PUBLISH_DAYS

    resources = []
    for resource_type in READS:
        entry: dict[str, Any] = {
            "type": resource_type,
            "interaction": [{"code": "read"}],
            "versioning": "no-version",
            "readHistory": False,
            "updateCreate": False,
        }
        if resource_type in SEARCHES:
            entry["interaction"].append({"code": "search-type"})
            entry["searchParam"] = [
                {"name": name, "type": kind, "documentation": text}
                for name, (kind, text) in SEARCHES[resource_type].items()
            ]
        if resource_type == "Appointment":
            entry["interaction"] += [
                {
                    "code": "update",
                    "documentation": "PUT of the Appointment as read with another status: cancelled (the REST "
                    "cancel's rules), fulfilled or noshow (doctors and admins, once it started); any other change "
                    "is refused (business-rule). No create by PUT.",
                },
                {
                    "code": "patch",
                    "documentation": f"JSON Patch ({JSON_PATCH}) of exactly one replace of /status, as Argonaut "
                    "cancels: cancelled, fulfilled or noshow, with PUT's rules. FHIRPath Patch is not supported.",
                },
            ]
            entry["operation"] = [
                {
                    "name": "find",
                    "definition": FIND_DEFINITION,
                    "documentation": "GET or POST (Parameters): start and end (at most 14 days apart) required; "
                    "practitioner, location, specialty, visit-type/appointmentType, patient, _count. Answers "
                    "proposed Appointments built from free slots, each naming its Slot.",
                },
                {
                    "name": "hold",
                    "definition": HOLD_DEFINITION,
                    "documentation": "POST (Parameters): appt-id (a Slot id) or appt-resource (a proposed "
                    "Appointment); patient-id for staff and system clients. Holds the time for the patient "
                    "(the clinic's hold length, 5 minutes by default) and answers the pending Appointment, its "
                    f"expiry in the extension {fhir.HOLD_EXPIRY_PATH} (valueInstant) under this server's base. "
                    "A taken time is 409 conflict; limits 422 business-rule.",
                },
                {
                    "name": "book",
                    "definition": BOOK_DEFINITION,
                    "documentation": "POST (Parameters): appt-id (a hold's Appointment id or a Slot id) or "
                    "appt-resource (the pending or a proposed Appointment; reasonCode text is the reason); "
                    "patient-id for staff and system clients; comment; cancelled-appt-id moves that visit to the "
                    "time instead (same practitioner and kind of visit). Answers the booked Appointment.",
                },
            ]
        if resource_type == "Patient":
            entry["documentation"] = "A patient reads its own record; clinic admins read any."
        resources.append(entry)
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": CAPABILITY_DATE,
        "publisher": "Clinic appointment booking",
        "kind": "instance",
        "implementation": {"description": "Clinic appointment booking: FHIR R4 scheduling", "url": base},
        "fhirVersion": fhir.FHIR_VERSION,
        "format": [fhir.MEDIA_TYPE, "json"],
        "rest": [
            {
                "mode": "server",
                "documentation": "Searches are strict: an unknown parameter or modifier is refused with an "
                "OperationOutcome (not-supported). Paging by _count and the Bundle's next link.",
                "security": _security(token_url),
                "resource": resources,
                "operation": [
                    {
                        "name": "bulk-publish",
                        "definition": fhir.BULK_PUBLISH,
                        "documentation": "SMART Scheduling Links: GET [base]/$bulk-publish (public) lists NDJSON "
                        f"files of every Location and Schedule and the free, bookable Slots of the next "
                        f"{PUBLISH_DAYS} days, each with its booking deep link; ETag and If-None-Match (304).",
                    }
                ],
            }
        ],
    }


@fhir_route(f"{BASE}/metadata", "FHIR: the CapabilityStatement (what this server implements)", public=True)
def metadata(call: FhirCall) -> fhir.Resource:
    _check_format(call.params)
    unknown = sorted(set(call.params) - {"_format", "mode"})
    if unknown:
        raise NotSupported(f"metadata takes no parameter {unknown[0]!r}.", {"fields": {unknown[0]: "not supported"}})
    return capability_statement(call.base, call.services.settings.system_token_url)


@fhir_route(
    f"{BASE}/.well-known/smart-configuration",
    "SMART configuration (public): the token endpoint, grant and scopes of system clients",
    public=True,
    errors=(404,),
)
def smart_configuration(call: FhirCall) -> Answer:
    """SMART v2's discovery document for system clients (OAuth 2.0 client credentials with a client secret); 404
    where no token endpoint is configured (local runs use unsigned development tokens)."""
    if call.params:
        name = sorted(call.params)[0]
        raise NotSupported(f"smart-configuration takes no parameter {name!r}.", {"fields": {name: "not supported"}})
    token_url = call.services.settings.system_token_url
    if not token_url:
        raise e.NotFound("This deployment has no token endpoint for system clients.")
    body = {
        "token_endpoint": token_url,
        "grant_types_supported": ["client_credentials"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "scopes_supported": list(smart.SYSTEM_SCOPES),
        "capabilities": ["client-confidential-symmetric", "permission-v2"],
    }
    headers: dict[str, str | list[str]] = {"Content-Type": "application/json", "Cache-Control": "no-cache"}
    return Response(body=json.dumps(body), status_code=200, headers=headers)


# --- Practitioner -----------------------------------------------------------------------------------------------
@fhir_route(
    f"{BASE}/Practitioner",
    "FHIR: search Practitioners (doctors)",
    query=partial(_query_doc, "Practitioner"),
    scope=("Practitioner", "s"),
)
def search_practitioners(call: FhirCall) -> fhir.Resource:
    params = _checked(call, "Practitioner")
    name = _one(params, "name")
    found = [d for d in call.fhir.practitioners() if name is None or fhir.matches_text(name, d.name)]
    page, self_url, next_url = _listed(call, "Practitioner", found, lambda d: (d.id, ""))
    return fhir.bundle(call.base, [fhir.practitioner(d) for d in page], self_url, next_url, len(found))


@fhir_route(
    f"{BASE}/Practitioner/{{id}}", "FHIR: read a Practitioner (a doctor)", errors=(404,), scope=("Practitioner", "r")
)
def read_practitioner(call: FhirCall) -> fhir.Resource:
    _check_format(call.params)
    return fhir.practitioner(call.fhir.practitioner(_id(call)))


# --- Location ---------------------------------------------------------------------------------------------------
@fhir_route(
    f"{BASE}/Location",
    "FHIR: search Locations (the places doctors see patients)",
    query=partial(_query_doc, "Location"),
    scope=("Location", "s"),
)
def search_locations(call: FhirCall) -> fhir.Resource:
    params = _checked(call, "Location")
    city = _one(params, "address-city")
    found = [p for p in call.fhir.locations() if city is None or fhir.matches_text(city, p)]
    page, self_url, next_url = _listed(call, "Location", found, lambda p: (fhir.location_id(p), ""))
    return fhir.bundle(call.base, [fhir.location(p) for p in page], self_url, next_url, len(found))


@fhir_route(f"{BASE}/Location/{{id}}", "FHIR: read a Location", errors=(404,), scope=("Location", "r"))
def read_location(call: FhirCall) -> fhir.Resource:
    _check_format(call.params)
    return fhir.location(call.fhir.location(_id(call)))


# --- Schedule ---------------------------------------------------------------------------------------------------
@fhir_route(
    f"{BASE}/Schedule",
    "FHIR: search Schedules (one per doctor and kind of visit)",
    query=partial(_query_doc, "Schedule"),
    scope=("Schedule", "s"),
)
def search_schedules(call: FhirCall) -> fhir.Resource:
    params = _checked(call, "Schedule")
    actor = _one(params, "actor")
    place = fhir.reference_id(actor, "Location") if actor and "/" in actor else None
    practitioner = fhir.reference_id(actor, "Practitioner") if actor and place is None else None
    if actor is not None and (practitioner or place) is None:
        raise e.InvalidInput("actor must name a Practitioner or a Location.", {"fields": {"actor": "invalid"}})
    services = _services(params, "service-type")
    active = _tokens(params, "active", ("true", "false"))
    service = call.fhir
    found = []
    for doctor, kind in service.schedules():
        if place is not None and (kind != "in-person" or fhir.location_id(doctor.location) != place):
            continue
        if practitioner is not None and doctor.id != practitioner:
            continue
        if services is not None and kind not in services:
            continue
        if active is not None and ("true" if doctor.schedule.working_hours else "false") not in active:
            continue
        found.append((doctor, kind))
    page, self_url, next_url = _listed(call, "Schedule", found, lambda dk: (fhir.schedule_id(*dk), ""))
    resources = [fhir.schedule(d, k, service.horizon(d)) for d, k in page]
    return fhir.bundle(call.base, resources, self_url, next_url, len(found))


@fhir_route(f"{BASE}/Schedule/{{id}}", "FHIR: read a Schedule", errors=(404,), scope=("Schedule", "r"))
def read_schedule(call: FhirCall) -> fhir.Resource:
    _check_format(call.params)
    service = call.fhir
    doctor, kind = service.schedule(_id(call))
    return fhir.schedule(doctor, kind, service.horizon(doctor))


# --- Slot -------------------------------------------------------------------------------------------------------
@fhir_route(
    f"{BASE}/Slot",
    "FHIR: search one Schedule's Slots (from availability): schedule and both ends of start required, at most 31 days",
    query=partial(_query_doc, "Slot"),
    errors=(404,),
    scope=("Slot", "s"),
)
def search_slots(call: FhirCall) -> fhir.Resource:
    params = _checked(call, "Slot")
    schedule = _reference(params, "schedule", "Schedule")
    if schedule is None:
        raise e.InvalidInput("Slot search needs schedule=Schedule/<id>.", {"fields": {"schedule": "required"}})
    statuses = _tokens(params, "status", fhir.SLOT_STATUSES)
    services = _services(params, "service-type")
    limit = _count(params)
    after = _after(call, "Slot")
    hits, more = call.fhir.slots(call.caller, schedule, _dates(params, "start"), statuses, limit, after, services)
    self_url, next_url = _links(call, "Slot", hits[-1].position if more and hits else None)
    total = len(hits) if after is None and not more else None
    resources = [fhir.slot(h.doctor.id, h.service, h.slot) for h in hits]
    return fhir.bundle(call.base, resources, self_url, next_url, total)


@fhir_route(
    f"{BASE}/Slot/{{id}}",
    "FHIR: read a Slot by its id (schedule, start and length)",
    errors=(404,),
    scope=("Slot", "r"),
)
def read_slot(call: FhirCall) -> fhir.Resource:
    _check_format(call.params)
    hit = call.fhir.slot(call.caller, _id(call))
    return fhir.slot(hit.doctor.id, hit.service, hit.slot)


# --- Appointment ------------------------------------------------------------------------------------------------
@fhir_route(
    f"{BASE}/Appointment",
    "FHIR: search Appointments",
    query=partial(_query_doc, "Appointment"),
    errors=(404,),
    scope=("Appointment", "s"),
)
def search_appointments(call: FhirCall) -> fhir.Resource:
    from chalicelib.services.fhir import AppointmentQuery

    params = _checked(call, "Appointment")
    query = AppointmentQuery(
        patient_id=_reference(params, "patient", "Patient"),
        practitioner_id=_reference(params, "practitioner", "Practitioner"),
        dates=_dates(params, "date"),
        statuses=_tokens(params, "status", fhir.FHIR_APPOINTMENT_STATUSES),
    )
    limit = _count(params)
    after = _after(call, "Appointment")
    page, next_position = call.fhir.appointments(call.caller, query, limit, after)
    call.services.access.record(call.caller, call.route, [(a.patient_id, a.id) for a in page])
    self_url, next_url = _links(call, "Appointment", next_position)
    total = len(page) if after is None and next_position is None else None
    return fhir.bundle(call.base, [fhir.appointment(a) for a in page], self_url, next_url, total)


OPERATION_SCOPES = {"$find": "s", "$hold": "c", "$book": "c"}
"""A system client's SMART v2 permission on Appointment for each operation (a read r; PUT and PATCH u)."""


def _appointment_scope(call: FhirCall) -> tuple[str, str]:
    method = fhir_api.current_request.method
    if method in ("PUT", "PATCH"):
        return "Appointment", "u"
    operation = _operation(call.path["id"])
    if operation is None:
        return "Appointment", "r"
    return "Appointment", OPERATION_SCOPES[operation]


@fhir_route(
    f"{BASE}/Appointment/{{id}}",
    "FHIR: read an Appointment (yours, or as staff; a live hold reads as `pending`); as the id, `$find` runs the find "
    "operation (GET query or POST Parameters), `$hold` holds a proposed time and `$book` books a held or proposed "
    "one (POST Parameters); PATCH (JSON Patch of `/status`) or PUT sets the status: cancelled, fulfilled, noshow",
    methods=("GET", "POST", "PUT", "PATCH"),
    errors=(400, 403, 404, 409, 422),
    names={
        "GET": "read_appointment",
        "POST": "appointment_operation",
        "PUT": "update_appointment",
        "PATCH": "patch_appointment",
    },
    scope=_appointment_scope,
)
def appointment(call: FhirCall) -> Answer:
    from chalicelib.domain.holds import Hold

    ident = call.path["id"]
    method = fhir_api.current_request.method
    operation = _operation(ident)
    if method in ("PUT", "PATCH"):
        if operation is not None:
            raise NotSupported(f"{method} of an operation is not supported.", {"fields": {"id": "an operation"}})
        _check_format(call.params)
        return _put(call) if method == "PUT" else _patch(call)
    if operation == "$find":
        return _find(call, _parameters(call) if method == "POST" else call.params)
    if method == "POST":
        if operation == "$hold":
            return _hold(call)
        if operation == "$book":
            return _book(call)
        raise NotSupported(
            "POST on an Appointment is not supported here (only $find, $hold and $book).",
            {"fields": {"id": "not an operation"}},
        )
    if operation is not None:
        raise NotSupported(f"{operation} runs by POST only.", {"fields": {"id": "POST only"}})
    _check_format(call.params)
    found = call.fhir.appointment(call.caller, _id(call))
    if isinstance(found, Hold):
        call.services.access.record(call.caller, call.route, [(found.appointment.patient_id, found.id)])
        return fhir.held_appointment(found.appointment, found.expires_at, _canonical(call))
    call.services.access.record(call.caller, call.route, [(found.patient_id, found.id)])
    return fhir.appointment(found)


def _canonical(call: FhirCall) -> str:
    """The base of this server's canonical URLs (its extension's): the deployment's public address, whatever host
    a request came by."""
    return call.services.settings.public_base_url.rstrip("/") + BASE


def _operation(ident: str) -> str | None:
    """`$find`, `$hold` or `$book` (also percent-encoded), or None for an id."""
    name = ident.replace("%24", "$", 1) if ident.startswith("%24") else ident
    return name if name in OPERATION_SCOPES else None


# --- $hold and $book --------------------------------------------------------------------------------------------
HOLD_PARAMS = ("appt-id", "appt-resource", "patient-id")
BOOK_PARAMS = ("appt-id", "appt-resource", "patient-id", "cancelled-appt-id", "comment")


@dataclass
class _Operation:
    values: dict[str, str]
    resource: dict[str, Any] | None


def _operation_parameters(call: FhirCall, name: str, allowed: Sequence[str]) -> _Operation:
    """An operation's `Parameters` body: each parameter at most once, `appt-resource` as a resource, exactly one of
    `appt-id` and `appt-resource`."""
    _check_format(call.params)
    if set(call.params) - {"_format"}:
        raise NotSupported(f"{name} takes its parameters in the body.", {"fields": {"query": "not supported"}})
    if call.body and len(call.body) > MAX_BODY_BYTES:
        raise e.PayloadTooLarge(f"The body is larger than {MAX_BODY_BYTES // 1024} KiB.", {"maxBytes": MAX_BODY_BYTES})
    body = _json_body(call.body)
    if body.get("resourceType") != "Parameters" or set(body) - {"resourceType", "id", "meta", "parameter"}:
        raise e.InvalidInput("The body must be a FHIR Parameters resource.", {"fields": {"body": "not Parameters"}})
    entries = body.get("parameter", [])
    if not isinstance(entries, list):
        raise e.InvalidInput("Parameters.parameter must be a list.", {"fields": {"parameter": "not a list"}})
    values: dict[str, str] = {}
    resource: dict[str, Any] | None = None
    for entry in entries:
        if isinstance(entry, dict) and entry.get("name") == "appt-resource":
            if set(entry) != {"name", "resource"} or not isinstance(entry["resource"], dict) or resource is not None:
                raise e.InvalidInput(
                    "appt-resource is given once, as a resource.", {"fields": {"appt-resource": "invalid"}}
                )
            if "appt-resource" not in allowed:
                raise NotSupported(f"{name} takes no appt-resource.", {"fields": {"appt-resource": "not supported"}})
            resource = entry["resource"]
            continue
        key, value = _parameter(entry)
        if key not in allowed:
            raise NotSupported(
                f"{name} does not support the parameter {key[:64]!r}; it supports {', '.join(allowed)}.",
                {"fields": {key[:64]: "not supported"}},
            )
        if key in values:
            raise e.InvalidInput(f"{key} is given too often.", {"fields": {key: "repeated"}})
        values[key] = value
    if ("appt-id" in values) == (resource is not None):
        raise e.InvalidInput(
            f"{name} needs appt-id or appt-resource (one of them).", {"fields": {"appt-id": "one of the two"}}
        )
    return _Operation(values, resource)


def _target(op: _Operation) -> tuple[BookTarget, str | None, str]:
    """What the operation names (a hold's id, or a Slot: an `appt-id` that is a Slot id, or a proposed
    Appointment's slot or practitioner, serviceType, start and length), the patient the resource names, and its
    reason."""
    from chalicelib.services.fhir import BookTarget

    if op.resource is None:
        raw = op.values["appt-id"]
        ident = raw.rstrip("/").rpartition("/")[2]
        kind = raw.rstrip("/").rpartition("/")[0].rpartition("/")[2]
        if kind not in ("", "Appointment", "Slot") or not fhir.is_id(ident):
            raise e.InvalidInput(
                "appt-id names a Slot (a proposed Appointment's) or a held Appointment by its id.",
                {"fields": {"appt-id": "invalid"}},
            )
        key = fhir.parse_slot_id(ident)
        return (BookTarget(slot=key) if key else BookTarget(hold_id=ident)), None, ""
    return _proposal(op.resource)


def _bad_resource(why: str) -> e.InvalidInput:
    return e.InvalidInput(f"appt-resource: {why}", {"fields": {"appt-resource": why}})


def _proposal(resource: dict[str, Any]) -> tuple[BookTarget, str | None, str]:
    from chalicelib.services.fhir import BookTarget

    if resource.get("resourceType") != "Appointment":
        raise _bad_resource("must be an Appointment.")
    patient: str | None = None
    practitioner: str | None = None
    participants = resource.get("participant", [])
    if not isinstance(participants, list):
        raise _bad_resource("participant must be a list.")
    for participant in participants:
        actor = participant.get("actor") if isinstance(participant, dict) else None
        reference = actor.get("reference") if isinstance(actor, dict) else None
        if not isinstance(reference, str):
            continue
        kind, _, ident = reference.rstrip("/").rpartition("/")
        if kind.rpartition("/")[2] == "Patient" and fhir.is_id(ident):
            patient = ident
        elif kind.rpartition("/")[2] == "Practitioner" and fhir.is_id(ident):
            practitioner = ident
    reasons = resource.get("reasonCode")
    reason = ""
    if isinstance(reasons, list) and reasons and isinstance(reasons[0], dict):
        text = reasons[0].get("text")
        if isinstance(text, str) and len(text) > 500:
            raise _bad_resource("reasonCode's text is at most 500 characters.")
        reason = text.strip() if isinstance(text, str) else ""
    own_id = resource.get("id")
    if own_id is not None:  # an Appointment this server made: a hold
        if not isinstance(own_id, str) or not fhir.is_id(own_id):
            raise _bad_resource("its id is not a FHIR id.")
        return BookTarget(hold_id=own_id), patient, reason
    return BookTarget(slot=_slot_of(resource, practitioner)), patient, reason


def _slot_of(resource: dict[str, Any], practitioner: str | None) -> fhir.SlotKey:
    """The proposed Appointment's Slot: its `slot` reference, else its practitioner, serviceType, start and length."""
    slots = resource.get("slot")
    if slots is not None:
        first = slots[0] if isinstance(slots, list) and slots else None
        reference = first.get("reference") if isinstance(first, dict) else None
        ident = fhir.reference_id(reference, "Slot") if isinstance(reference, str) else None
        key = fhir.parse_slot_id(ident) if ident else None
        if key is None:
            raise _bad_resource("its slot names no Slot of this server.")
        return key
    start = resource.get("start")
    if practitioner is None or not isinstance(start, str):
        raise _bad_resource("a proposed Appointment names its slot, or its practitioner and start.")
    begins = fhir.parse_date_bound("appt-resource.start", start).value
    if not isinstance(begins, datetime) or start[:2] in fhir.PREFIXES:
        raise _bad_resource("start must be an instant with its zone.")
    minutes = resource.get("minutesDuration")
    end = resource.get("end")
    if minutes is None and isinstance(end, str):
        ends = fhir.parse_date_bound("appt-resource.end", end).value
        if not isinstance(ends, datetime) or end[:2] in fhir.PREFIXES:
            raise _bad_resource("end must be an instant with its zone.")
        minutes = int((ends - begins).total_seconds() // 60)
    if not isinstance(minutes, int) or isinstance(minutes, bool):
        raise _bad_resource("a proposed Appointment names its end or minutesDuration.")
    service: fhir.Service = "in-person"
    types = resource.get("serviceType")
    if types is not None:
        codings = types[0].get("coding") if isinstance(types, list) and types and isinstance(types[0], dict) else None
        coding = codings[0] if isinstance(codings, list) and codings and isinstance(codings[0], dict) else {}
        code = coding.get("code")
        system = coding.get("system")
        token = f"{system}|{code}" if isinstance(system, str) else code
        found = fhir.service_for_token(token) if isinstance(token, str) else None
        if found is None:
            raise _bad_resource("serviceType must be AMB or VR (ActCode).")
        service = found
    if not 0 < minutes <= 24 * 60:
        raise _bad_resource("its length is not one a visit can have.")
    key = fhir.parse_slot_id(fhir.slot_id(practitioner, service, begins, minutes)) if fhir.is_id(practitioner) else None
    if key is None or key.start != begins:
        raise _bad_resource("its start and length name no slot of this server.")
    return key


def _patient_param(op: _Operation, from_resource: str | None) -> str | None:
    raw = op.values.get("patient-id")
    given = None
    if raw is not None:
        given = fhir.reference_id(raw, "Patient")
        if given is None or not fhir.is_id(given):
            raise e.InvalidInput(
                "patient-id must name a Patient (Patient/<id>).", {"fields": {"patient-id": "invalid"}}
            )
    if given and from_resource and given != from_resource:
        raise e.InvalidInput(
            "patient-id and appt-resource name different patients.", {"fields": {"patient-id": "another patient"}}
        )
    return given or from_resource


def _hold(call: FhirCall) -> Answer:
    """`$hold`: the time of a proposed Appointment (or Slot) held for the patient, through the REST hold."""
    op = _operation_parameters(call, "$hold", HOLD_PARAMS)
    target, from_resource, _ = _target(op)
    if target.slot is None:
        raise e.InvalidInput(
            "$hold takes a proposed Appointment or a Slot id (from $find), not a stored Appointment.",
            {"fields": {"appt-id": "not a proposed time"}},
        )
    held = call.fhir.hold(call.caller, target.slot, _patient_param(op, from_resource), call.route)
    _metric("HoldCreated")
    return fhir.held_appointment(held.appointment, held.expires_at, _canonical(call))


def _book(call: FhirCall) -> Answer:
    """`$book`: a held or proposed time booked through the REST booking (or, with `cancelled-appt-id`, the visit
    it names moved there through the REST reschedule)."""
    from chalicelib.services.fhir import BookOrder

    op = _operation_parameters(call, "$book", BOOK_PARAMS)
    target, from_resource, reason = _target(op)
    cancelled = op.values.get("cancelled-appt-id")
    if cancelled is not None:
        cancelled = cancelled.rstrip("/").rpartition("/")[2]
        if not fhir.is_id(cancelled):
            raise e.InvalidInput(
                "cancelled-appt-id must name an Appointment.", {"fields": {"cancelled-appt-id": "invalid"}}
            )
    comment = op.values.get("comment")
    if comment is not None and (not comment.strip() or len(comment) > 500):
        raise e.InvalidInput("comment is 1 to 500 characters.", {"fields": {"comment": "invalid"}})
    order = BookOrder(
        target=target,
        patient_id=_patient_param(op, from_resource),
        reason=reason,
        comment=comment,
        cancelled_id=cancelled,
        via=call.route,
    )
    booked = call.fhir.book(call.caller, order)
    _metric("BookingRescheduled" if cancelled else "BookingCreated")
    return fhir.appointment(booked)


def _metric(name: str) -> None:
    try:
        count(name)
    except Exception:  # committed means done: a metric never turns the write into an error
        log.exception("metric %s not recorded", name)


# --- PATCH and PUT of an Appointment's status ---------------------------------------------------------------------
def _patch(call: FhirCall) -> Answer:
    """JSON Patch (RFC 6902), as Argonaut cancels: exactly `[{"op": "replace", "path": "/status", "value": ...}]`."""
    headers = {k.lower(): v for k, v in (fhir_api.current_request.headers or {}).items()}
    if headers.get("content-type", "").split(";")[0].strip().lower() != JSON_PATCH:
        raise NotSupported(
            f"PATCH takes a JSON Patch ({JSON_PATCH}); FHIRPath Patch is not supported.",
            {"fields": {"Content-Type": "not JSON Patch"}},
        )
    if call.body and len(call.body) > MAX_BODY_BYTES:
        raise e.PayloadTooLarge(f"The body is larger than {MAX_BODY_BYTES // 1024} KiB.", {"maxBytes": MAX_BODY_BYTES})
    text = _utf8_text(call.body)
    if _nesting_depth(text) > MAX_JSON_DEPTH:
        raise e.InvalidInput("The body nests too deeply.", {"fields": {"body": "nested too deeply"}})
    try:
        patch = json.loads(text)
    except ValueError:
        raise e.InvalidInput("The body must be a JSON Patch.", {"fields": {"body": "is not valid JSON"}}) from None
    operation = patch[0] if isinstance(patch, list) and len(patch) == 1 else None
    if not isinstance(operation, dict) or set(operation) != {"op", "path", "value"}:
        raise e.InvalidInput(
            'The patch must be one operation: [{"op": "replace", "path": "/status", "value": "cancelled"}].',
            {"fields": {"body": "one replace of /status"}},
        )
    if operation["op"] != "replace" or operation["path"] != "/status":
        raise e.BusinessRuleViolation(
            "Only the status of an appointment can be patched (op replace, path /status).",
            {"fields": {"path": "only /status"}},
        )
    return _set_status(call, operation["value"])


def _set_status(call: FhirCall, value: Any) -> Answer:
    if not isinstance(value, str) or value not in fhir.FHIR_APPOINTMENT_STATUSES:
        raise e.InvalidInput(
            f"status must be an AppointmentStatus ({', '.join(fhir.FHIR_APPOINTMENT_STATUSES)}).",
            {"fields": {"status": "invalid"}},
        )
    changed = call.fhir.set_status(call.caller, _id(call), value)
    return fhir.appointment(changed)


PUT_IGNORED = ("meta", "text", "status")


def _put(call: FhirCall) -> Answer:
    """PUT of the whole Appointment: only its status may differ from the stored one (the rest is the read's)."""
    from chalicelib.domain.holds import Hold

    ident = _id(call)
    if call.body and len(call.body) > MAX_BODY_BYTES:
        raise e.PayloadTooLarge(f"The body is larger than {MAX_BODY_BYTES // 1024} KiB.", {"maxBytes": MAX_BODY_BYTES})
    body = _json_body(call.body)
    if body.get("resourceType") != "Appointment" or body.get("id") != ident:
        raise e.InvalidInput(
            "The body must be the Appointment with the id in the URL.", {"fields": {"id": "does not match the URL"}}
        )
    found = call.fhir.appointment(call.caller, ident)
    if isinstance(found, Hold):
        raise e.BusinessRuleViolation(
            "A held time changes by $book or by its release, not by PUT.", {"fields": {"status": "pending"}}
        )
    ours = {k: v for k, v in fhir.appointment(found).items() if k not in PUT_IGNORED}
    theirs = {k: v for k, v in body.items() if k not in PUT_IGNORED}
    changed = sorted(k for k in set(ours) | set(theirs) if ours.get(k) != theirs.get(k))
    if changed:
        raise e.BusinessRuleViolation(
            "Only an appointment's status can change by PUT; send the rest as read.",
            {"fields": {name[:64]: "differs from the stored appointment" for name in changed[:10]}},
        )
    return _set_status(call, body.get("status"))


def _parameters(call: FhirCall) -> dict[str, list[str]]:
    """A `Parameters` body as search-style values: `valueDate`, `valueDateTime`, `valueInstant`, `valueString`,
    `valueCode`, `valueInteger`/`valuePositiveInt`, `valueReference`, `valueCoding`."""
    _check_format(call.params)
    if set(call.params) - {"_format"}:
        raise NotSupported("POST $find takes its parameters in the body.", {"fields": {"query": "not supported"}})
    if call.body and len(call.body) > MAX_BODY_BYTES:
        raise e.PayloadTooLarge(f"The body is larger than {MAX_BODY_BYTES // 1024} KiB.", {"maxBytes": MAX_BODY_BYTES})
    body = _json_body(call.body)
    if body.get("resourceType") != "Parameters" or set(body) - {"resourceType", "id", "meta", "parameter"}:
        raise e.InvalidInput("The body must be a FHIR Parameters resource.", {"fields": {"body": "not Parameters"}})
    entries = body.get("parameter", [])
    if not isinstance(entries, list):
        raise e.InvalidInput("Parameters.parameter must be a list.", {"fields": {"parameter": "not a list"}})
    out: dict[str, list[str]] = {}
    for entry in entries:
        name, value = _parameter(entry)
        out.setdefault(name, []).append(value)
    return out


def _parameter(entry: Any) -> tuple[str, str]:
    bad = e.InvalidInput(
        "Each parameter needs a name and one supported value[x].", {"fields": {"parameter": "invalid"}}
    )
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
        raise bad
    values = [k for k in entry if k.startswith("value")]
    if len(values) != 1 or set(entry) - {"name", values[0]}:
        raise bad
    value = entry[values[0]]
    kind = values[0]
    text: Any
    if kind in ("valueDate", "valueDateTime", "valueInstant", "valueString", "valueCode", "valueUri", "valueId"):
        text = value
    elif kind in ("valueInteger", "valuePositiveInt") and isinstance(value, int) and not isinstance(value, bool):
        text = str(value)
    elif kind == "valueReference" and isinstance(value, dict):
        text = value.get("reference")
    elif kind == "valueCoding" and isinstance(value, dict) and isinstance(value.get("code"), str):
        system = value.get("system")
        text = f"{system}|{value['code']}" if isinstance(system, str) else value["code"]
    else:
        raise bad
    if not isinstance(text, str) or not text or len(text) > MAX_VALUE_LENGTH:
        raise bad
    return str(entry["name"]), text


def _find(call: FhirCall, params: dict[str, list[str]]) -> fhir.Resource:
    """`$find`: proposed Appointments from the candidate schedules' free, bookable slots, earliest first."""
    for name, values in params.items():
        if name not in FIND_PARAMS and name != "_format":
            raise NotSupported(
                f"$find does not support the parameter {name!r}; it supports {', '.join(FIND_PARAMS)}.",
                {"fields": {name: "not supported"}},
            )
        if len(values) > 1:
            raise e.InvalidInput(f"{name} is given too often.", {"fields": {name: "repeated"}})
    _check_format(params)
    missing = [name for name in ("start", "end") if name not in params]
    if missing:
        raise e.InvalidInput("$find needs start and end.", {"fields": dict.fromkeys(missing, "required")})
    start = fhir.parse_date_bound("start", params["start"][0])
    end = fhir.parse_date_bound("end", params["end"][0])
    if start.prefix != "eq" or end.prefix != "eq":
        raise e.InvalidInput("$find's start and end take no prefix.", {"fields": {"start": "no prefix"}})
    limit = _count(params, FIND_DEFAULT_COUNT, FIND_MAX_COUNT)
    practitioner = _reference(params, "practitioner", "Practitioner")
    place = _reference(params, "location", "Location")
    patient = _reference(params, "patient", "Patient")
    if call.caller.role is Role.PATIENT:
        if patient not in (None, call.caller.subject):
            raise e.Forbidden("Patients find times for themselves only.")
        patient = call.caller.subject
    specialty = _one(params, "specialty")
    if "visit-type" in params and "appointmentType" in params:
        raise e.InvalidInput("Give visit-type or appointmentType, not both.", {"fields": {"visit-type": "twice"}})
    services = _services(params, "visit-type") or _services(params, "appointmentType")
    if services is not None and not services:
        return fhir.bundle(call.base, [], _find_url(call, params), None, 0)
    service = call.fhir
    candidates = [
        (doctor, kind)
        for doctor, kind in service.schedules()
        if doctor.schedule.working_hours
        and (practitioner is None or doctor.id == practitioner)
        and (place is None or (kind == "in-person" and fhir.location_id(doctor.location) == place))
        and (specialty is None or fhir.matches_text(specialty, doctor.specialty))
        and (services is None or kind in services)
    ]
    hits = (
        service.find(candidates, fhir.DateBound("ge", start.value), fhir.DateBound("le", end.value), limit)
        if candidates
        else []
    )
    resources = [fhir.proposed_appointment(h.doctor, h.service, h.slot, patient) for h in hits]
    return fhir.bundle(call.base, resources, _find_url(call, params), None, len(resources))


def _find_url(call: FhirCall, params: dict[str, list[str]]) -> str:
    """The operation with its parameters as a query (a POST's Parameters too): what a client would GET again."""
    query = urlencode([(name, value) for name, values in params.items() for value in values])
    return f"{call.base}/Appointment/$find" + (f"?{query}" if query else "")


# --- Patient ----------------------------------------------------------------------------------------------------
@fhir_route(
    f"{BASE}/Patient/{{id}}",
    "FHIR: read a Patient (your own; admins and system clients any)",
    errors=(404,),
    scope=("Patient", "r"),
)
def read_patient(call: FhirCall) -> fhir.Resource:
    _check_format(call.params)
    ident = _id(call)
    caller = call.caller
    if caller.role is Role.PATIENT:
        if ident != caller.subject:
            raise e.NotFound("No such patient.", {"id": ident})
        return fhir.patient(caller.subject, caller.name or None, caller.email, caller.phone)
    if caller.role not in (Role.ADMIN, Role.SYSTEM):
        raise e.Forbidden("Only the patient, clinic admins and system clients read a patient's record.")
    c = call.services
    profile = c.patients.get(ident)
    c.access.record(caller, call.route, [(profile.id, None)])
    return fhir.patient(profile.id, profile.name)  # staff see no addresses here (REST shows them masked)


# --- SMART Scheduling Links: the bulk publication (public, as slot publishers are) -------------------------------
PUBLISH_OP = "$bulk-publish"
PUBLISH_PARAMS = ("_since",)
"""`_since` is the spec's; a server may ignore it, and this one answers the whole data set."""


def _is_publish(segment: str) -> bool:
    return segment in (PUBLISH_OP, "%24bulk-publish")


def _publication(call: FhirCall) -> tuple[PublicationPlan, Callable[[], Publication]]:
    unknown = sorted(set(call.params) - set(PUBLISH_PARAMS))
    if unknown:
        raise NotSupported(
            f"$bulk-publish takes no parameter {unknown[0]!r}.", {"fields": {unknown[0]: "not supported"}}
        )
    settings = call.services.settings
    web = settings.public_base_url.rstrip("/")
    service = call.fhir
    plan = service.publication_plan(f"{call.base} {web}")

    published = call.services.publications  # the container's: one per Lambda container

    def made() -> Publication:
        found: Publication | None = published.get(plan.etag)
        if found is None:
            found = service.publication(plan, lambda d, kind, s: _booking_link(web, d.id, kind, s.starts_at))
            published.clear()
            published[plan.etag] = found
        return found

    return plan, made


def _booking_link(web: str, doctor_id: str, kind: fhir.Service, start: datetime) -> str:
    """The patient web app, opened on that doctor, kind of visit and start."""
    return f"{web}/?" + urlencode({"doctor": doctor_id, "visit": kind, "start": instant(start)})


def _not_modified(call: FhirCall, etag: str) -> Response | None:
    """304 when `If-None-Match` names the current ETag (weak comparison) or is `*`."""
    headers = {k.lower(): v for k, v in (fhir_api.current_request.headers or {}).items()}
    wanted = [tag.strip().removeprefix("W/") for tag in headers.get("if-none-match", "").split(",")]
    if "*" in wanted or etag.removeprefix("W/") in wanted:
        return Response(body="", status_code=304, headers={"ETag": etag, "Cache-Control": PUBLISH_CACHE})
    return None


PUBLISH_CACHE = "no-cache"
"""Clients and caches may keep the files but ask again each time (`If-None-Match`): slots change any minute."""


def _manifest(call: FhirCall) -> Response:
    plan, made = _publication(call)
    unchanged = _not_modified(call, plan.etag)
    if unchanged is not None:
        return unchanged
    publication = made()
    url = f"{call.base}/{PUBLISH_OP}"
    outputs = [(name.partition("-")[0], f"{url}/{name}.ndjson") for name in publication.files]
    body = fhir.bulk_manifest(url, publication.made_at, outputs)
    headers: dict[str, str | list[str]] = {
        "Content-Type": "application/json",
        "ETag": plan.etag,
        "Cache-Control": PUBLISH_CACHE,
    }
    return Response(body=json.dumps(body), status_code=200, headers=headers)


def _published_file(call: FhirCall, name: str) -> Response:
    """A file the manifest lists; 404 for any other name (a Slot file of a week no longer published too)."""
    stem = name.removesuffix(".ndjson")
    if stem == name or stem.partition("-")[0] not in ("Location", "Schedule", "Slot"):
        raise e.NotFound(f"$bulk-publish has no file {name[:64]!r}.", {"file": name[:64]})
    plan, made = _publication(call)
    unchanged = _not_modified(call, plan.etag)
    if unchanged is not None:
        return unchanged
    files = made().files
    if stem not in files:
        raise e.NotFound(f"$bulk-publish has no file {name[:64]!r}.", {"file": name[:64]})
    headers: dict[str, str | list[str]] = {
        "Content-Type": fhir.NDJSON_MEDIA_TYPE,
        "ETag": plan.etag,
        "Cache-Control": PUBLISH_CACHE,
    }
    return Response(body=fhir.ndjson(files[stem]), status_code=200, headers=headers)


# --- everything else under /fhir/R4 -----------------------------------------------------------------------------
@fhir_route(
    f"{BASE}/{{resource}}",
    "FHIR: `$bulk-publish` (the SMART Scheduling Links manifest, public, with ETag); any other type or interaction "
    "this server does not serve answers an OperationOutcome",
    public=True,
)
def unsupported_type(call: FhirCall) -> Answer:
    resource = call.path["resource"]
    if _is_publish(resource):
        return _manifest(call)
    if resource in READS:
        raise NotSupported(f"{resource} supports read only, not search.", {"fields": {"resource": "read only"}})
    raise UnknownType(f"This server does not serve {resource[:64]!r}; see its metadata.", {"resource": resource[:64]})


@fhir_route(
    f"{BASE}/{{resource}}/{{id}}",
    "FHIR: `$bulk-publish/{Location,Schedule,Slot}.ndjson` (the published files, public, with ETag); any other "
    "resource type this server does not serve answers an OperationOutcome",
    public=True,
)
def unsupported_read(call: FhirCall) -> Answer:
    resource = call.path["resource"]
    if _is_publish(resource):
        return _published_file(call, call.path["id"])
    raise UnknownType(f"This server does not serve {resource[:64]!r}; see its metadata.", {"resource": resource[:64]})


# --- methods a FHIR path does not serve: keep this last, below every FHIR route -----------------------------------
def _refuse_other_methods() -> None:
    """405 with `Allow`, as an OperationOutcome, for the standard methods a FHIR path lacks. The views carry the
    app's method guard's name, so the OpenAPI document and `guard_unsupported_methods` treat them as the guard's."""
    served: dict[str, set[str]] = {}
    for spec in ROUTES:
        if spec.path.startswith(BASE):
            served.setdefault(spec.path, set()).add(spec.method)
    for path, methods in served.items():
        missing = [method for method in STANDARD_METHODS if method not in methods]
        if missing:
            view = _method_not_allowed(", ".join(sorted(methods)))
            if view.__name__ != GUARD_VIEW:
                raise ImportError("the FHIR 405 view must carry the method guard's name")
            fhir_api.route(path, methods=missing)(view)


def _method_not_allowed(allow: str) -> Callable[..., Response]:
    def method_not_allowed(**_params: str) -> Response:  # the name is GUARD_VIEW: see `_refuse_other_methods`
        method = fhir_api.current_request.method
        outcome = fhir.operation_outcome("not-supported", f"{method} is not supported on this path.")
        return _answer(405, outcome, {"Allow": allow})

    return method_not_allowed


_refuse_other_methods()
