"""Callers from Cognito claims: groups in every form API Gateway hands on, and refusals."""

from __future__ import annotations

import pytest

from chalicelib.domain import errors
from chalicelib.domain.identity import NAME_MAX_CHARS, Role, caller_from_claims, clean_name, parse_groups


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


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("Eve\r\nX-Injected: 1\u202e<b>", "Eve X-Injected: 1<b>"),  # the issue's claim
        ("  Ada \t\n Lovelace  ", "Ada Lovelace"),  # whitespace of any kind collapses, ends trimmed
        ("Ada\u2028Lovelace\u00a0King", "Ada Lovelace King"),  # line/paragraph separators, no-break space
        ("Zo\u0065\u0308", "Zo\u00eb"),  # NFC: e + combining diaeresis is one ë
        ("Zoe\u200b\u0308", "Zo\u00eb"),  # a zero-width space dropped between a letter and its accent: NFC after
        ("Eve\u202atrusted\u202c \u2066x\u2069", "Evetrusted x"),  # embeddings and isolates
        ("A\u200bd\u200ca\u200d\ufeff\u2060\u00ad", "Ada"),  # zero-width space/joiners, BOM, word joiner, soft hyphen
        ("Dr.\x00Eve\x1b[31m\x7f\x9b", "Dr.Eve[31m"),  # C0, DEL and C1 controls
        ("Eve\ud800\ue000\U000e0001", "Eve"),  # a lone surrogate, private use, a tag character
        ("\u202e\u200b \r\n", ""),  # nothing printable left
        ("Łukasz Żółć 李小龍 Amélie-Ånne O'Brien", "Łukasz Żółć 李小龍 Amélie-Ånne O'Brien"),  # real names stay
        (None, ""),
        (42, "42"),
    ],
)
def test_clean_name(raw, clean):
    assert clean_name(raw) == clean


def test_a_name_is_cut_to_the_limit_without_a_trailing_space():
    # GIVEN a name of 99 letters, a space and more: cut at 100 characters, the space at the cut is dropped
    assert clean_name("a" * 99 + " " + "b" * 50) == "a" * 99
    assert len(clean_name("x" * 5000)) == NAME_MAX_CHARS == 100


def test_the_caller_carries_the_clean_name_and_falls_back_to_a_clean_username():
    # GIVEN a patient whose name claim holds a line break and a bidi override
    caller = caller_from_claims({"sub": "s", "cognito:groups": ["patients"], "name": "Eve\r\nX\u202e"})
    # THEN the caller's name is the clean one, and so is the name stored for it
    assert caller.name == caller.display_name == "Eve X"
    # AND without a printable name, the (clean) username is used
    nameless = caller_from_claims(
        {"sub": "s", "cognito:groups": ["patients"], "name": "\u200b", "cognito:username": "eve\u202e\n"}
    )
    assert (nameless.name, nameless.display_name) == ("", "eve")
