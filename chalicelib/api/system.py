"""Public routes: health and the OpenAPI document."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from chalice import Blueprint, Response

from chalicelib.api import schemas as s
from chalicelib.api.http import Call, endpoint

system_api = Blueprint(__name__)


@endpoint(system_api, "/health", "GET", "Liveness", response=s.HealthOut, public=True, tags=("system",))
def health(call: Call) -> s.HealthOut:
    return s.HealthOut(status="ok")


@endpoint(
    system_api,
    "/console",
    "GET",
    "The clinic console (HTML; it holds no data itself: every call it makes needs an admin token)",
    public=True,
    tags=("system",),
    media_type="text/html",
)
def console(call: Call) -> Response:
    return Response(
        body=_console_page(),
        status_code=200,
        headers={
            "Content-Type": "text/html; charset=utf-8",
            "Cache-Control": "no-cache",
            "X-Frame-Options": "DENY",
            "Referrer-Policy": "no-referrer",
        },
    )


@lru_cache(maxsize=1)
def _console_page() -> str:
    return (Path(__file__).parent / "console_page.html").read_text()


CONSOLE_ASSETS = {"console.js": "text/javascript; charset=utf-8", "console.css": "text/css; charset=utf-8"}
"""The console's script and styles are files of their own, so a Content-Security-Policy needs no 'unsafe-inline'."""


@endpoint(
    system_api,
    "/console.js",
    "GET",
    "The clinic console's script (no data in it)",
    public=True,
    tags=("system",),
    media_type="text/javascript",
)
def console_script(call: Call) -> Response:
    return _asset("console.js")


@endpoint(
    system_api,
    "/console.css",
    "GET",
    "The clinic console's styles (no data in it)",
    public=True,
    tags=("system",),
    media_type="text/css",
)
def console_styles(call: Call) -> Response:
    return _asset("console.css")


def _asset(name: str) -> Response:
    return Response(
        body=_asset_text(name),
        status_code=200,
        headers={
            "Content-Type": CONSOLE_ASSETS[name],
            "Cache-Control": "no-cache",
            "X-Content-Type-Options": "nosniff",
        },
    )


@lru_cache(maxsize=len(CONSOLE_ASSETS))
def _asset_text(name: str) -> str:
    return (Path(__file__).parent / name).read_text()


@endpoint(system_api, "/openapi.json", "GET", "This API's OpenAPI 3.1 document", public=True, tags=("system",))
def openapi(call: Call) -> dict[str, Any]:
    from chalicelib.api.openapi import document

    return document()
