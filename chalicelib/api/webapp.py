"""The two web apps, the patient app (`GET /`) and the clinic console (`GET /console`): their static files (the
repository's `web/` folder, with the ES modules both share under `web/shared/`) and the patient app's
`config.json`, served by the app itself so `make run` offers them next to the API. In AWS the same files sit on S3
behind CloudFront (infra/web_deploy.py, template.yaml) with a `config.json` written at deploy time; a Lambda
package holds no `web/` folder, so it never carries either app."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from chalice import Blueprint, Response

from chalicelib.api import schemas as s
from chalicelib.api.errors import error_response
from chalicelib.api.http import Call, endpoint
from chalicelib.domain.language import LANGUAGES

webapp_api = Blueprint(__name__)

WEB_DIR = Path(__file__).resolve().parents[2] / "web"
"""Beside `chalicelib/` in the repository; `WEB_DIR` in the environment points elsewhere."""

TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml; charset=utf-8",
    ".json": "application/json; charset=utf-8",
}

ASSETS: dict[str, str] = {
    "/": "index.html",
    "/app.js": "app.js",
    "/slots.js": "slots.js",
    "/telehealth.js": "telehealth.js",
    "/waitlist.js": "waitlist.js",
    "/app.css": "app.css",
    "/favicon.svg": "favicon.svg",
    "/console": "console.html",
    "/console.js": "console.js",
    "/console_calendars.js": "console_calendars.js",
    "/console_waitlist.js": "console_waitlist.js",
    "/console.css": "console.css",
    "/shared/api.js": "shared/api.js",
    "/shared/dates.js": "shared/dates.js",
    "/shared/dom.js": "shared/dom.js",
    "/shared/live.js": "shared/live.js",
    "/shared/status.js": "shared/status.js",
    "/shared/i18n.js": "shared/i18n.js",
    **{f"/i18n/{lang}.json": f"i18n/{lang}.json" for lang in LANGUAGES},
}
"""Every file the pages load, by its URL: an explicit list, so no request can name any other file (the patient
app's catalogues: one per language the clinic offers)."""

PAGES = {"/": "index.html", "/console": "console.html"}
"""The pages among them; on S3 the console is `console.html`, which CloudFront serves at `/console`."""

STATIC_HEADERS = {
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


def web_dir() -> Path:
    return Path(os.environ.get("WEB_DIR") or WEB_DIR)


def _serve(name: str) -> Response:
    path = web_dir() / name
    if not path.is_file():  # a Lambda package holds no web/: there CloudFront serves the files
        return error_response(404, "NOT_FOUND", "The web app is not served from here.")
    headers: dict[str, str | list[str]] = {**STATIC_HEADERS, "Content-Type": TYPES[path.suffix]}
    return Response(body=path.read_text(encoding="utf-8"), status_code=200, headers=headers)


SUMMARIES = {
    "/": "The patient web app (HTML; it holds no data: every call it makes needs the patient's token)",
    "/console": "The clinic console (HTML; it holds no data itself: every call it makes needs an admin token)",
}


def _asset_route(url: str, name: str) -> None:
    summary = SUMMARIES.get(url) or (
        f"A module both web apps share: {name}" if name.startswith("shared/") else f"A file of the web apps: {name}"
    )

    def handler(call: Call) -> Response:
        return _serve(name)

    handler.__name__ = "web_" + name.replace("i18n", "words").replace(".", "_").replace("/", "_")
    media_type = TYPES[Path(name).suffix].split(";")[0]
    view: Callable[[Callable[[Call], Any]], Any] = endpoint(
        webapp_api, url, "GET", summary, public=True, tags=("web",), media_type=media_type
    )
    view(handler)


for _url, _name in ASSETS.items():
    _asset_route(_url, _name)


@endpoint(
    webapp_api,
    "/rooms/{roomId}",
    "GET",
    "A video visit's room link (`telehealthUrl`, reminders): the patient web app, which opens that room",
    public=True,
    tags=("web",),
    media_type="text/html",
)
def web_room(call: Call) -> Response:
    return _serve("index.html")


def web_config(env: dict[str, str]) -> dict[str, Any]:
    """What the page needs to know about where it runs; nothing in the code is specific to a deployment.

    `DEV_SIGN_IN` (set only by `make run`) lists the development identities the page offers as "sign in as";
    `COGNITO_DOMAIN` + `COGNITO_CLIENT_ID` turn on the Hosted UI (authorization code with PKCE)."""
    config: dict[str, Any] = {
        "apiBase": env.get("WEB_API_BASE", ""),
        "changeWindowMinutes": int(env.get("PATIENT_CHANGE_WINDOW_MINUTES", "120")),
        "signIn": {"mode": "none"},
    }
    if env.get("DEV_SIGN_IN"):
        config["signIn"] = {"mode": "development", "users": json.loads(env["DEV_SIGN_IN"])}
    elif env.get("COGNITO_DOMAIN") and env.get("COGNITO_CLIENT_ID"):
        config["signIn"] = {
            "mode": "cognito",
            "domain": env["COGNITO_DOMAIN"],
            "clientId": env["COGNITO_CLIENT_ID"],
            "scopes": ["openid", "email", "phone", "profile"],
        }
    return config


@endpoint(
    webapp_api,
    "/config.json",
    "GET",
    "Where the patient web app runs: sign-in mode, API base",
    response="WebConfigOut",
    public=True,
    tags=("web",),
)
def config_json(call: Call) -> Response:
    config = s.WebConfigOut.model_validate(web_config(dict(os.environ)))
    return Response(body=config, status_code=200, headers={**STATIC_HEADERS, "Cache-Control": "no-store"})
