"""The one table from domain errors to HTTP status and error code, and the contract's error body (`ErrorOut`)."""

from __future__ import annotations

from typing import Any

from chalice import Response

from chalicelib.api import schemas
from chalicelib.domain import errors as e

ERROR_TABLE: dict[type[e.DomainError], tuple[int, str]] = {
    e.InvalidInput: (400, "VALIDATION_ERROR"),
    e.Unauthenticated: (401, "UNAUTHENTICATED"),
    e.Forbidden: (403, "FORBIDDEN"),
    e.NotFound: (404, "NOT_FOUND"),
    e.SlotUnavailable: (409, "SLOT_UNAVAILABLE"),
    e.Conflict: (409, "CONFLICT"),
    e.InvalidState: (409, "INVALID_STATE"),
    e.BusinessRuleViolation: (422, "BUSINESS_RULE"),  # the subclass's own `code` names the rule
    e.ServiceBusy: (503, "SERVICE_UNAVAILABLE"),
    e.PayloadTooLarge: (413, "PAYLOAD_TOO_LARGE"),
    e.RateLimited: (429, "RATE_LIMITED"),
}

NO_STORE = {"Cache-Control": "no-store"}


def no_content() -> Response:
    """A 204 for a deletion: empty, and never cached."""
    return Response(body="", status_code=204, headers={**NO_STORE})


def error_response(
    status: int, code: str, message: str, details: dict[str, Any] | None = None, retry_after: int = 1
) -> Response:
    body = schemas.ErrorOut(error=schemas.ErrorBody(code=code, message=message, details=details))
    headers: dict[str, str | list[str]] = dict(NO_STORE)
    if status in (429, 503):
        headers["Retry-After"] = str(retry_after)
    return Response(body=body.to_json(), status_code=status, headers=headers)


def for_domain_error(error: e.DomainError) -> Response:
    for cls in type(error).__mro__:
        if cls in ERROR_TABLE:
            status, code = ERROR_TABLE[cls]
            if isinstance(error, e.BusinessRuleViolation):
                code = error.code
            wait = error.retry_after if isinstance(error, e.RateLimited) else 1
            return error_response(status, code, error.message, error.details, wait)
    return error_response(500, "INTERNAL_ERROR", "Something went wrong on our side.")


CHALICE_CODES = {
    "UnsupportedMediaType": "UNSUPPORTED_MEDIA_TYPE",
    "MethodNotAllowedError": "METHOD_NOT_ALLOWED",
    "BadRequestError": "VALIDATION_ERROR",
    "InternalServerError": "INTERNAL_ERROR",
}


def contract_errors(event: Any, get_response: Any) -> Response:
    """Chalice answers some requests itself (415, 405) in its own shape; give them the contract's shape."""
    response: Response = get_response(event)
    body = response.body
    if response.status_code >= 400 and isinstance(body, dict) and set(body) == {"Code", "Message"}:
        code = CHALICE_CODES.get(str(body["Code"]), "ERROR")
        return error_response(response.status_code, code, str(body["Message"]))
    return response
