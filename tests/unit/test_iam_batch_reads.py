"""The roles whose code reads items in batches (pynamodb's `batch_get`, i.e. BatchGetItem) are allowed to.

TransactWriteItems needs only the per-item actions, but BatchGetItem is an IAM action of its own: without it the
deployed API's batch reads (search, analytics, appointment and patient lists, FHIR day versions) and the reminder
sweep's batch reads are refused while every local run and test passes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode.cfn_yaml import load

ROOT = Path(__file__).resolve().parents[2]
RESOURCES = load(str(ROOT / "template.yaml"))["Resources"]


def _allowed(role: str, action: str) -> set[str]:
    """The resources `role` may apply `action` to (by the logical ids its statements name)."""
    names: set[str] = set()
    for policy in RESOURCES[role]["Properties"].get("Policies", []):
        for statement in policy["PolicyDocument"]["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            if statement["Effect"] == "Allow" and action in actions:
                resources: list[Any] = (
                    statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
                )
                names |= {str(r.get("Fn::GetAtt", [""])[0]) for r in resources if isinstance(r, dict)}
    return names


@pytest.mark.parametrize("role", ["ApiHandlerRole", "ReminderDispatcherRole", "ReminderSweepRole"])
def test_roles_that_batch_read_appointments_and_patients_may_batch_get(role: str) -> None:
    # GIVEN the roles of the API and of the reminder Lambdas, whose adapters read appointments and patients in batches
    # WHEN their statements are read
    allowed = _allowed(role, "dynamodb:BatchGetItem")
    # THEN BatchGetItem is allowed on both tables
    assert {"AppointmentsTable", "PatientsTable"} <= allowed, allowed


def test_the_api_may_batch_read_the_day_counters() -> None:
    # GIVEN analytics and the FHIR publication, which read doctor-day counters of the schedule table in batches
    # THEN the API's role may BatchGetItem on the schedule table
    assert "ScheduleTable" in _allowed("ApiHandlerRole", "dynamodb:BatchGetItem")
