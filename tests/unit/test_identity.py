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


STAFF_ISSUER = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Staff"
PATIENT_ISSUER = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Patients"


@pytest.mark.parametrize("groups", [["admins"], ["doctors"], ["admins", "doctors"], "admins", "[doctors]"])
def test_a_patient_pool_token_claiming_a_staff_group_is_refused(groups):
    # GIVEN a token from the patient pool whose groups claim a staff role (both pools sit on one authorizer)
    claims = {"sub": "s", "iss": PATIENT_ISSUER, "cognito:groups": groups, "custom:doctor_id": "d1"}
    # WHEN the caller is read with the staff pool's issuer configured THEN it has no role here
    with pytest.raises(errors.Forbidden):
        caller_from_claims(claims, STAFF_ISSUER)


def test_a_patient_pool_token_with_patients_and_admins_stays_a_patient():
    # GIVEN a patient-pool token in `patients` that also claims `admins` WHEN read THEN only the patient role counts
    claims = {"sub": "s", "iss": PATIENT_ISSUER, "cognito:groups": ["patients", "admins"]}
    assert caller_from_claims(claims, STAFF_ISSUER).role is Role.PATIENT


def test_staff_roles_come_from_the_staff_pool_and_the_patient_role_does_not():
    # GIVEN tokens the staff pool issued WHEN read THEN admins and doctors count, `patients` does not
    assert caller_from_claims({"sub": "a", "iss": STAFF_ISSUER, "cognito:groups": "admins"}, STAFF_ISSUER).role is (
        Role.ADMIN
    )
    doctor = {"sub": "d", "iss": STAFF_ISSUER + "/", "cognito:groups": ["doctors"], "custom:doctor_id": "d1"}
    assert caller_from_claims(doctor, STAFF_ISSUER).role is Role.DOCTOR
    with pytest.raises(errors.Forbidden):
        caller_from_claims({"sub": "p", "iss": STAFF_ISSUER, "cognito:groups": ["patients"]}, STAFF_ISSUER)
    # AND a token with no issuer at all is no staff token
    with pytest.raises(errors.Forbidden):
        caller_from_claims({"sub": "x", "cognito:groups": ["admins"]}, STAFF_ISSUER)
