"""Public routes: health and the OpenAPI document (the console is served with the web apps: api/webapp.py)."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint

from chalicelib.api import schemas as s
from chalicelib.api.http import Call, endpoint

system_api = Blueprint(__name__)


@endpoint(system_api, "/health", "GET", "Liveness", response="HealthOut", public=True, tags=("system",))
def health(call: Call) -> s.HealthOut:
    from chalicelib.observability import VERSION

    return s.HealthOut(status="ok", version=VERSION)


@endpoint(system_api, "/openapi.json", "GET", "This API's OpenAPI 3.1 document", public=True, tags=("system",))
def openapi(call: Call) -> dict[str, Any]:
    from chalicelib.api.openapi import document

    return document()
