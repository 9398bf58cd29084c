"""Callers from Cognito claims: groups in every form API Gateway hands on, and refusals."""

from __future__ import annotations

import pytest

from chalicelib.domain import errors
from chalicelib.domain.identity import Role, caller_from_claims, parse_groups


@pytest.mark.parametrize(
    "raw",
    [
        ["patients", "admins"],
        '["patients", "admins"]',
        "[patients, admins]",
        "[patients admins]",
        "patients,admins",
        "patients admins",
    ],
)
def test_groups_in_every_form(raw):
    assert parse_groups(raw) == {"patients", "admins"}


def test_admin_wins_over_other_groups():
    caller = caller_from_claims({"sub": "s", "cognito:groups": "patients,admins"})
    assert caller.role is Role.ADMIN


def test_no_claims_is_unauthenticated_and_no_group_is_forbidden():
    with pytest.raises(errors.Unauthenticated):
        caller_from_claims(None)
    with pytest.raises(errors.Unauthenticated):
        caller_from_claims({"cognito:groups": ["admins"]})
    with pytest.raises(errors.Forbidden):
        caller_from_claims({"sub": "s", "cognito:groups": ["visitors"]})


def test_doctor_needs_its_doctor_id():
    with pytest.raises(errors.Forbidden):
        caller_from_claims({"sub": "s", "cognito:groups": ["doctors"]})
    caller = caller_from_claims({"sub": "s", "cognito:groups": ["doctors"], "custom:doctor_id": "d1"})
    assert caller.role is Role.DOCTOR and caller.doctor_id == "d1"
