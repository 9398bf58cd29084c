"""The patient web app's files and config, as the app itself serves them (GET / and its assets)."""

from __future__ import annotations

import json
import re

import pytest

from chalicelib.api.webapp import ASSETS, WEB_DIR, web_config


def test_the_page_is_served_at_root_without_sign_in(client):
    # GIVEN no identity WHEN the root is asked for
    got = client.request("GET", "/")
    # THEN it is the patient app's HTML, not cached stale, not frameable
    assert got.status_code == 200
    assert got.headers["Content-Type"] == "text/html; charset=utf-8"
    assert got.headers["X-Content-Type-Options"] == "nosniff"
    assert got.headers["X-Frame-Options"] == "DENY"
    assert b'<main id="main"' in got.body


@pytest.mark.parametrize(("url", "kind"), [("/app.js", "text/javascript"), ("/app.css", "text/css")])
def test_assets_carry_their_content_type(client, url, kind):
    got = client.request("GET", url)
    assert got.status_code == 200
    assert got.headers["Content-Type"] == f"{kind}; charset=utf-8"


def test_every_file_the_pages_load_is_served_and_nothing_else():
    # GIVEN the files under web/ (the shared modules included) WHEN compared with the served list THEN each is
    # served and each served one exists
    on_disk = {
        p.relative_to(WEB_DIR).as_posix()
        for p in WEB_DIR.rglob("*")
        if p.suffix in (".html", ".js", ".css", ".svg", ".json") and "vendor" not in p.parts
    }
    assert set(ASSETS.values()) == on_disk
    # AND every module the scripts import, and every file the pages link, is among them
    for source in WEB_DIR.rglob("*.js"):
        for imported in re.findall(r"""from ['"](\.{1,2}/[\w./]+)['"]""", source.read_text()):
            url = "/" + (source.parent / imported).resolve().relative_to(WEB_DIR.resolve()).as_posix()
            assert url in ASSETS, (source.name, imported)
    for page in ("index.html", "console.html"):
        for linked in re.findall(r'(?:src|href)="(/[\w./]+)"', (WEB_DIR / page).read_text()):
            assert linked in ASSETS, (page, linked)


def test_both_apps_share_one_api_client_and_one_set_of_date_helpers():
    # GIVEN the two apps' scripts THEN each imports the shared client, dates and DOM builder, and neither writes
    # its own fetch wrapper, error type or date formatter again
    for name in ("app.js", "console.js"):
        text = (WEB_DIR / name).read_text()
        for shared in ("shared/api.js", "shared/dates.js", "shared/dom.js", "shared/status.js"):
            assert shared in text, (name, shared)
        assert "class ApiError" not in text and "fetch(path" not in text and "new Intl.DateTimeFormat" not in text
    assert "new WebSocket" not in (WEB_DIR / "console.js").read_text() + (WEB_DIR / "slots.js").read_text()


def test_the_page_holds_no_inline_script_or_style():
    # A CSP without 'unsafe-inline' must be able to protect it: no inline scripts, handlers or style attributes.
    for name in ASSETS.values():
        text = (WEB_DIR / name).read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), name
        assert not re.search(r"\son[a-z]+=\"", text), name
        assert not re.search(r"\sstyle=\"", text), name
        assert "https://" not in text.replace("https://${domain}", ""), name  # nothing fetched from a third party


def test_a_missing_file_is_a_404_in_the_contract_shape(client, monkeypatch, tmp_path):
    # GIVEN a package without the web folder (a Lambda: CloudFront serves the files there)
    monkeypatch.setenv("WEB_DIR", str(tmp_path))
    got = client.request("GET", "/app.js")
    assert got.status_code == 404
    assert json.loads(got.body)["error"]["code"] == "NOT_FOUND"


def test_config_offers_development_sign_in_only_when_the_dev_server_says_so(client, monkeypatch):
    # GIVEN no sign-in configured WHEN the page asks for its config THEN it offers none
    monkeypatch.delenv("DEV_SIGN_IN", raising=False)
    monkeypatch.delenv("COGNITO_DOMAIN", raising=False)
    assert json.loads(client.request("GET", "/config.json").body)["signIn"] == {"mode": "none"}
    # WHEN make run lists the demo patients THEN the page offers them
    users = [{"label": "Pat Example", "token": "a.b."}]
    monkeypatch.setenv("DEV_SIGN_IN", json.dumps(users))
    got = client.request("GET", "/config.json")
    assert got.headers["Cache-Control"] == "no-store"
    assert json.loads(got.body)["signIn"] == {"mode": "development", "users": users}


def test_config_turns_on_the_hosted_ui_with_a_pool_client():
    config = web_config({"COGNITO_DOMAIN": "clinic.auth.us-east-1.amazoncognito.com", "COGNITO_CLIENT_ID": "abc123"})
    assert config["signIn"]["mode"] == "cognito"
    assert config["signIn"]["clientId"] == "abc123"
    assert "openid" in config["signIn"]["scopes"]
    assert config["changeWindowMinutes"] == 120


def test_the_dev_server_lists_only_patients_for_sign_in():
    from infra.local.dev_server import dev_sign_in

    users = json.loads(dev_sign_in())
    assert [u["label"] for u in users] == ["Pat Example", "Sam Example"]
