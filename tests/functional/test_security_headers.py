"""Security headers on every response: JSON, errors and the console page (its inline script allowed by hash)."""

from __future__ import annotations

import base64
import hashlib
import re

from tests.helpers import patient


def assert_hardened(response):
    headers = {k.lower(): v for k, v in response.headers.items()}
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["strict-transport-security"].startswith("max-age=")
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    return headers["content-security-policy"]


def test_api_answers_and_errors_carry_a_deny_all_policy(api):
    for response in (
        api.call("GET", "/health", {}),
        api.call("GET", "/api/doctors", patient()),
        api.call("GET", "/api/doctors", {}),  # 401
        api.call("GET", "/api/appointments/nope", patient()),  # 404
        api.call("PATCH", "/api/doctors", patient()),  # 405 answered by Chalice itself
    ):
        assert assert_hardened(response).startswith("default-src 'none'"), response.status_code


def test_the_console_runs_only_scripts_of_its_own_origin(api):
    page = api.http.get("/console")
    policy = assert_hardened(page)
    html = page.body.decode()
    scripts = re.findall(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", html, re.DOTALL)
    assert scripts == [], "the console's script is a file of its own (/console.js)"
    assert "script-src 'self'" in policy
    for script in scripts:
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in policy
    assert "'unsafe-inline'" not in policy.split("script-src", 1)[1].split(";", 1)[0]
    assert "object-src 'none'" in policy
