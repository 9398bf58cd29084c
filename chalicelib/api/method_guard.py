"""405 with `Allow` for every standard method a path lacks, answered by the app itself.

API Gateway answers a method that a resource does not define with 403 "Missing Authentication Token"; a gateway
response can only say 404 for it, not which methods exist. Registering the missing methods to one small view
makes the deployed API answer 405 `METHOD_NOT_ALLOWED` with `Allow`, as the local server does.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from chalice import Chalice, Response

from chalicelib.api.errors import error_response

STANDARD_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
"""The methods API Gateway knows; anything else never reaches a deployed app."""

GUARD_VIEW = "method_not_allowed"


def guard_unsupported_methods(app: Chalice) -> None:
    for path, entries in list(app.routes.items()):
        missing = [method for method in STANDARD_METHODS if method not in entries]
        if missing:
            app.route(path, methods=missing)(_refusal(app, ", ".join(sorted(entries))))


def allowed_methods(entries: Mapping[str, object]) -> list[str]:
    """The methods a path really serves (its registered entries, without the guard's)."""
    return sorted(m for m, entry in entries.items() if getattr(entry, "view_name", "") != GUARD_VIEW)


def _refusal(app: Chalice, allow: str) -> Callable[..., Response]:
    def method_not_allowed(**_params: str) -> Response:
        method = app.current_request.method if app.current_request else "This method"
        response = error_response(405, "METHOD_NOT_ALLOWED", f"{method} is not supported on this path.")
        response.headers["Allow"] = allow
        return response

    return method_not_allowed
