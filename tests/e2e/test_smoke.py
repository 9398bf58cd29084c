"""`make smoke` against `make run`'s server: every step passes and prints, and the visit it made is cancelled after
it, also when a step fails half-way."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import requests

from infra.local.dynamodb_local import ROOT
from infra.local.tokens import unsigned_token
from infra.smoke import SMOKE_PATIENT, Http, Smoke, tokens

STEPS = ("health", "the reserved doctor", "free times", "book", "read", "reminder planned", "reschedule", "room link")


def active_visits(base: str, visit_id: str) -> list[str]:
    """The smoke patient's visits with this id that are not cancelled."""
    token = unsigned_token(SMOKE_PATIENT)
    listed = requests.get(
        f"{base}/api/appointments/patient/{SMOKE_PATIENT['sub']}", headers={"Authorization": token}, timeout=10
    )
    listed.raise_for_status()
    return [a["id"] for a in listed.json()["appointments"] if a["id"] == visit_id and a["status"] != "cancelled"]


def test_the_smoke_test_passes_against_make_run_and_leaves_nothing_booked(server):
    # GIVEN make run's server WHEN the smoke test runs as `make smoke` runs it
    ran = subprocess.run(
        [sys.executable, "-m", "infra.smoke", "--api", server],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    # THEN it passes, printing each step
    assert ran.returncode == 0, ran.stdout + ran.stderr
    lines = ran.stdout.splitlines()
    for step in (*STEPS, "cancel"):
        assert any(line.startswith(f"ok   {step}: ") for line in lines), (step, ran.stdout)
    assert lines[-1] == "smoke test passed"
    # AND the visit it booked is cancelled
    booked = next(line for line in lines if line.startswith("ok   book: ")).split()[3]
    assert active_visits(server, booked) == []


class BrokenReschedule(Http):
    """The API as a bad release would answer: rescheduling fails."""

    def call(self, method: str, path: str, *args: Any, **kwargs: Any) -> tuple[int, Any]:
        if method == "PUT" and path.endswith("/reschedule"):
            return 500, {"error": {"code": "INTERNAL", "message": "injected"}}
        return super().call(method, path, *args, **kwargs)


def test_a_failing_step_is_reported_and_the_visit_is_still_cancelled(server):
    # GIVEN a release whose reschedule fails
    said: list[str] = []
    patient, admin = tokens(server, None, None)
    smoke = Smoke(BrokenReschedule(server), patient, admin, say=said.append)
    # WHEN the smoke test runs
    passed = smoke.run()
    # THEN it fails at that step, runs no later one, and cancels the visit it had booked
    assert passed is False
    assert [line.split(":")[0] for line in said] == [
        *(f"ok   {step}" for step in STEPS[:6]),
        "FAIL reschedule",
        "ok   clean-up",
    ]
    assert smoke.appointment is not None and active_visits(server, smoke.appointment) == []
