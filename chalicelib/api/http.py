"""`endpoint`: declares a route once (path, roles, request and response models) for Chalice and for OpenAPI.

The wrapper refuses a missing identity itself (chalice local lets such requests through), validates path,
query and body with the declared models, maps domain errors through the one table, and turns anything
unexpected into a logged 500 in the contract's error shape.

A route names its models (`body="BookingIn"`, `response="waitlist.EntryOut"`) rather than holding them: they load
when the route first runs (or the OpenAPI document is built), so `import app` (Lambda's init) registers every route
without importing pydantic or building a model.
"""

from __future__ import annotations

import functools
import importlib
import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeAlias

from chalice import Blueprint, CognitoUserPoolAuthorizer, Response

from chalicelib import container
from chalicelib.api import schemas
from chalicelib.api.errors import NO_STORE, error_response, for_domain_error
from chalicelib.api.language import localized, request_language
from chalicelib.domain.errors import DomainError, InvalidInput, PayloadTooLarge
from chalicelib.domain.identity import Caller, Role, caller_from_claims, require_role
from chalicelib.observability import count_error

if TYPE_CHECKING:
    from pydantic import BaseModel

log = logging.getLogger("clinic.api")

authorizer = CognitoUserPoolAuthorizer(
    "ClinicUserPool",
    provider_arns=["arn:aws:cognito-idp:us-east-1:000000000000:userpool/replaced-by-stack"],
)
"""Deployed stacks point this at the stack's user pool (see template.yaml); locally Chalice decodes tokens."""


ModelRef: TypeAlias = "type[BaseModel] | str | Callable[[], type[BaseModel]]"
"""A route's model: the class, its name in `chalicelib.api.schemas` (`"BookingIn"`) or in one of its modules
(`"waitlist.EntryOut"`), or a function that makes it."""


@functools.cache
def resolve_model(ref: ModelRef) -> type[BaseModel]:
    """The model a route names, imported on first use (and the same class every time)."""
    if isinstance(ref, type):
        return ref
    if callable(ref):
        return ref()
    module, _, name = ref.rpartition(".")
    home = importlib.import_module(f"{schemas.__name__}.{module}") if module else schemas
    found: type[BaseModel] = getattr(home, name)
    return found


@dataclass(frozen=True)
class RouteSpec:
    path: str
    method: str
    summary: str
    status: int
    public: bool
    roles: tuple[Role, ...]
    body_ref: ModelRef | None
    query_ref: ModelRef | None
    response_ref: ModelRef | None
    headers: tuple[str, ...] = ()
    errors: tuple[int, ...] = ()
    tags: tuple[str, ...] = ()
    media_type: str = "application/json"
    handler: str = ""

    @property
    def body(self) -> type[BaseModel] | None:
        """The request body's model (imported when first asked for)."""
        return resolve_model(self.body_ref) if self.body_ref is not None else None

    @property
    def query(self) -> type[BaseModel] | None:
        return resolve_model(self.query_ref) if self.query_ref is not None else None

    @property
    def response(self) -> type[BaseModel] | None:
        return resolve_model(self.response_ref) if self.response_ref is not None else None


@dataclass
class Call:
    """What a handler receives: the caller, validated body and query, path parameters, request headers, and the
    services (`call.services`)."""

    caller: Caller
    body: Any
    query: Any
    params: dict[str, str]
    headers: dict[str, str] = field(default_factory=dict)
    raw_body: dict[str, Any] | None = None
    route: str = ""
    """`METHOD /path/template`, as the access log records it."""
    status: int = 200
    """The route's status on success (a keyed write answers its stored JSON with it)."""
    wired: container.Container | None = field(default=None, repr=False)
    """The container, when checking the caller fetched it already."""

    @property
    def services(self) -> container.Container:
        """The wired services (use cases and adapters): fetched once per request, and only if the handler asks."""
        if self.wired is None:
            self.wired = container.current()
        return self.wired


ROUTES: list[RouteSpec] = []
MAX_BODY_BYTES = 64 * 1024
MAX_JSON_DEPTH = 32


def endpoint(
    blueprint: Blueprint,
    path: str,
    method: str,
    summary: str,
    *,
    response: ModelRef | None = None,
    body: ModelRef | None = None,
    query: ModelRef | None = None,
    roles: tuple[Role, ...] = (Role.PATIENT, Role.DOCTOR, Role.ADMIN),
    status: int = 200,
    public: bool = False,
    headers: tuple[str, ...] = (),
    errors: tuple[int, ...] = (),
    tags: tuple[str, ...] = (),
    media_type: str = "application/json",
) -> Callable[[Callable[[Call], Any]], Callable[..., Response]]:
    """`body`, `query` and `response` name the route's models (see `ModelRef`); `media_type` names what a 2xx
    carries when it is not JSON (`text/calendar`, `text/html`)."""

    def decorate(handler: Callable[[Call], Any]) -> Callable[..., Response]:
        spec = RouteSpec(
            path,
            method,
            summary,
            status,
            public,
            roles,
            body,
            query,
            response,
            headers,
            errors,
            tags,
            media_type,
            handler.__name__,
        )
        ROUTES.append(spec)

        def view(**params: str) -> Response:
            try:
                return _handle(blueprint, spec, handler, params)
            except DomainError as exc:
                response = for_domain_error(exc)
                count_error(response.body["error"]["code"])
                return localized(response, request_language(blueprint.current_request))
            except Exception:  # a bug: log it with its trace, answer in the contract's shape
                log.exception("unhandled error on %s %s", spec.method, spec.path)
                response = error_response(500, "INTERNAL_ERROR", "Something went wrong on our side.")
                return localized(response, request_language(blueprint.current_request))

        view.__name__ = handler.__name__
        view.__doc__ = handler.__doc__
        route_kwargs: dict[str, Any] = {"methods": [method]}
        if not public:
            route_kwargs["authorizer"] = authorizer
        blueprint.route(path, **route_kwargs)(view)
        return view

    return decorate


def _handle(blueprint: Blueprint, spec: RouteSpec, handler: Callable[[Call], Any], params: dict[str, str]) -> Response:
    request = blueprint.current_request
    caller, wired = _caller(request) if not spec.public else (Caller(subject="anonymous", role=Role.PATIENT), None)
    if not spec.public:
        require_role(caller, *spec.roles)
    _check_path(params)
    if request.raw_body and len(request.raw_body) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"The body is larger than {MAX_BODY_BYTES // 1024} KiB.", {"maxBytes": MAX_BODY_BYTES})
    query_model, body_model = spec.query, spec.body
    query = _parse(query_model, dict(request.query_params or {}), "query") if query_model else None
    raw_body = _json_body(request.raw_body) if body_model else None
    body = _parse(body_model, raw_body, "body") if body_model else None
    headers = {k.lower(): v for k, v in (request.headers or {}).items()}
    route = f"{spec.method} {spec.path}"
    result = handler(Call(caller, body, query, params, headers, raw_body, route, spec.status, wired=wired))
    from pydantic import BaseModel  # loaded by the route's models already

    if isinstance(result, Response):
        if isinstance(result.body, BaseModel):
            return Response(body=_serialized(spec, result.body), status_code=result.status_code, headers=result.headers)
        return result
    return Response(body=_serialized(spec, result), status_code=spec.status, headers={**NO_STORE})


def _serialized(spec: RouteSpec, result: Any) -> Any:
    """A route with a response model answers with an instance of it (checked when it was built), serialized here;
    anything else is a bug, answered 500 by `endpoint`."""
    response = spec.response
    if response is None:
        return result
    if not isinstance(result, response) or not isinstance(result, schemas.OutModel):
        raise TypeError(f"{spec.handler} answered {type(result).__name__}, not its {response.__name__}")
    return result.to_json()


def _caller(request: Any) -> tuple[Caller, container.Container | None]:
    """The caller, and the container when its settings were needed (the handler's `call.services` reuses it)."""
    context = request.context or {}
    claims = (context.get("authorizer") or {}).get("claims")
    if not claims:  # refused before the container (and its settings) is built
        return caller_from_claims(claims), None
    wired = container.current()
    return caller_from_claims(claims, wired.settings.staff_pool_issuer), wired


def _check_path(params: dict[str, str]) -> None:
    bad: dict[str, str] = {}
    for name, value in params.items():
        if name == "date":
            try:
                schemas.strict_date(value)
            except ValueError as exc:
                bad[name] = str(exc)
        elif not re.fullmatch(schemas.ID_PATTERN, value or ""):
            bad[name] = "is not a valid id"
    if bad:
        raise InvalidInput("Some path parameters are invalid.", {"fields": bad})


def _nesting_depth(text: str) -> int:
    """How deep the JSON's arrays and objects nest, counted without parsing (a deep body would exhaust the
    parser's recursion and answer 500)."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def _utf8_text(raw: bytes | str | None) -> str:
    """The body as text: JSON on this API is UTF-8 only (RFC 8259). A UTF-8 byte order mark is skipped (RFC 8259
    lets a parser ignore it, and some Windows tools add one); UTF-16 or UTF-32 (which `json.loads` would detect
    from raw bytes) and any bytes that are not UTF-8 are refused. A NUL byte is never part of a JSON text
    (control characters in strings are escaped), and it is what UTF-16 and UTF-32 of ASCII look like as UTF-8."""
    if raw is None or isinstance(raw, str):
        text = raw or ""
    else:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = "\0"
    text = text.removeprefix("\ufeff")
    if "\0" in text:
        raise InvalidInput(
            "The body must be JSON encoded as UTF-8.", {"fields": {"body": "must be JSON encoded as UTF-8"}}
        )
    return text


def _json_body(raw: bytes | str | None) -> dict[str, Any]:
    text = _utf8_text(raw)
    if _nesting_depth(text) > MAX_JSON_DEPTH:
        raise InvalidInput(
            f"The body nests deeper than {MAX_JSON_DEPTH} levels.", {"fields": {"body": "nested too deeply"}}
        )
    try:  # the very text the depth was counted on: `json.loads` of a str guesses no encoding
        parsed = json.loads(text)
    except ValueError as exc:
        raise InvalidInput("The body must be a JSON object.", {"fields": {"body": "is not valid JSON"}}) from exc
    if not isinstance(parsed, dict):
        raise InvalidInput("The body must be a JSON object.", {"fields": {"body": "must be a JSON object"}})
    try:  # `"\ud800"` is JSON's syntax but no character: it cannot be stored (RFC 8259 section 8.2)
        json.dumps(parsed, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidInput(
            "The body holds text that is not valid Unicode.", {"fields": {"body": "holds an unpaired surrogate"}}
        ) from exc
    return parsed


def _parse(model: type[BaseModel], data: dict[str, Any] | None, where: str) -> BaseModel:
    from pydantic import ValidationError  # loaded by the model already

    try:
        return model.model_validate(data or {}, strict=(where == "body") or None)
    except ValidationError as exc:
        fields: dict[str, str] = {}
        for err in exc.errors(include_url=False):
            name = ".".join(str(part) for part in err["loc"]) or where
            message = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                message = "is not a known field"
            fields.setdefault(name, message)
        raise InvalidInput(f"The request {where} is invalid.", {"fields": fields}) from exc
