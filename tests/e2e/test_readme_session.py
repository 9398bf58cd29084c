"""The README's curl session, run as written against `make run`'s server."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import requests

from infra.local.dynamodb_local import ROOT


def readme_session() -> str:
    text = (ROOT / "README.md").read_text()
    block = re.search(r"<!-- session:start -->\s*```sh\n(.*?)```\s*<!-- session:end -->", text, re.S)
    assert block, "README has no example session"
    return block.group(1)


def test_readme_session_runs_as_documented(server: str):
    # GIVEN make run's server with the demo clinic, WHEN the README's session runs
    done = subprocess.run(
        [shutil.which("bash") or "bash", "-euo", "pipefail", "-c", readme_session()],
        cwd=ROOT,
        env={**os.environ, "API": server},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    # THEN every step succeeds and prints what the README promises
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert '{"status":"ok",' in out  # and the release it runs (`version`)
    assert "Dr. Ada Smith" in out
    assert '"status":"scheduled"' in out
    assert '"type":"email"' in out and '"type":"sms"' in out
    assert "second booking of the same slot: 409" in out
    assert "no token: 401" in out
    assert "patient on admin route: 403" in out
    assert '"action":"booked"' in out
    assert out.strip().endswith("cancelled")


def test_server_refuses_malformed_and_unknown_input_without_a_5xx(server: str):
    from infra.local.tokens import demo_tokens

    headers = {"Authorization": demo_tokens()["patient"], "Content-Type": "application/json"}
    bad = requests.post(f"{server}/api/appointments", data="{not json", headers=headers, timeout=10)
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "VALIDATION_ERROR"
    unknown = requests.post(
        f"{server}/api/appointments", json={"doctorId": "dr-ada-smith", "extra": 1}, headers=headers, timeout=10
    )
    assert unknown.status_code == 400 and "extra" in unknown.json()["error"]["details"]["fields"]
    spec = requests.get(f"{server}/openapi.json", timeout=10)
    assert spec.status_code == 200 and spec.json()["openapi"] == "3.1.0"
