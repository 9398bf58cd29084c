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


@pytest.mark.parametrize(
    ("raw", "verified"),
    [(True, True), ("true", True), ("TRUE", True), (False, False), ("false", False), (None, False), (1, False)],
)
def test_verified_flags_accept_true_or_the_string_true(raw, verified):
    # GIVEN a patient's claims with Cognito's verified flags in either form WHEN read THEN only true counts
    caller = caller_from_claims(
        {"sub": "s", "cognito:groups": "patients", "email_verified": raw, "phone_number_verified": raw}
    )
    assert (caller.email_verified, caller.phone_verified) == (verified, verified)


def test_rate_limited_answers_429_in_the_contract_shape_with_retry_after():
    from chalicelib.api.errors import for_domain_error

    # GIVEN a caller over a rate limit WHEN the error is answered THEN 429 RATE_LIMITED with Retry-After
    answer = for_domain_error(errors.RateLimited("Slow down.", retry_after=30))
    assert (answer.status_code, answer.body["error"]["code"], answer.headers["Retry-After"]) == (
        429,
        "RATE_LIMITED",
        "30",
    )
