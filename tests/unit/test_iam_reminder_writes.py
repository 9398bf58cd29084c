"""The reminder Lambdas' roles allow every item action of their transactions (TransactWriteItems and
TransactGetItems need only the per-item actions, on each table they touch): a transaction with one item its role
may not touch is refused whole, in AWS only, while every local run and test passes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode.cfn_yaml import load

ROOT = Path(__file__).resolve().parents[2]
RESOURCES = load(str(ROOT / "template.yaml"))["Resources"]

DISPATCH_ITEMS = {
    # the claim: the reminder pending -> sending, and the patient's message of the day reserved (a count item of the
    # patients table); a release or an outcome with nothing sent gives it back the same way
    ("dynamodb:UpdateItem", "RemindersTable"),
    ("dynamodb:UpdateItem", "PatientsTable"),
    # the read after the claim: the reminder, its visit and its patient
    ("dynamodb:GetItem", "RemindersTable"),
    ("dynamodb:GetItem", "AppointmentsTable"),
    ("dynamodb:GetItem", "PatientsTable"),
    # the outcome: the reminder written whole, the doctor-day's delivery aggregates, the visit flagged reminded (or
    # only checked when it is flagged already)
    ("dynamodb:PutItem", "RemindersTable"),
    ("dynamodb:UpdateItem", "ScheduleTable"),
    ("dynamodb:UpdateItem", "AppointmentsTable"),
    ("dynamodb:ConditionCheckItem", "AppointmentsTable"),
}


def _allowed(role: str) -> set[tuple[str, str]]:
    """(action, table logical id) pairs the role's statements allow."""
    allowed: set[tuple[str, str]] = set()
    for policy in RESOURCES[role]["Properties"].get("Policies", []):
        for statement in policy["PolicyDocument"]["Statement"]:
            if statement["Effect"] != "Allow":
                continue
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            resources: list[Any] = (
                statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            )
            tables = {str(r.get("Fn::GetAtt", [""])[0]) for r in resources if isinstance(r, dict)}
            allowed |= {(action, table) for action in actions for table in tables}
    return allowed


@pytest.mark.parametrize("role", ["ReminderDispatcherRole", "ReminderSweepRole"])
def test_the_reminder_roles_may_do_each_item_action_of_a_dispatch(role: str) -> None:
    # GIVEN the role of the reminder Lambda and of the sweep (which delivers through the same dispatch)
    # WHEN its statements are read
    missing = DISPATCH_ITEMS - _allowed(role)
    # THEN every item action of the claim, the read and the outcome's transaction is allowed
    assert not missing, sorted(missing)
