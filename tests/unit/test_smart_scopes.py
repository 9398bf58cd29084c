"""SMART v2 system scopes: the grammar, what a set of scopes grants, and who is a system client."""

from __future__ import annotations

import pytest

from chalicelib.domain import errors
from chalicelib.domain.identity import Role, caller_from_claims
from chalicelib.domain.smart import SYSTEM_SCOPES, Scope, grants, needed, parse_scope, scopes_of

ISSUER = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_integrations"


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("system/Slot.rs", Scope("system", "Slot", "rs")),
        ("system/*.rs", Scope("system", "*", "rs")),
        ("system/Appointment.cruds", Scope("system", "Appointment", "cruds")),
        ("system/Appointment.cu", Scope("system", "Appointment", "cu")),
        ("patient/*.rs", Scope("patient", "*", "rs")),
    ],
)
def test_v2_scopes_parse(text, parsed):
    assert parse_scope(text) == parsed


@pytest.mark.parametrize(
    "text",
    [
        "system/Slot.sr",  # out of order
        "system/Slot.rr",  # repeated
        "system/Slot.",  # no permission
        "system/Slot.read",  # SMART v1
        "system/*.*",  # SMART v1
        "system/slot.rs",  # not a resource type
        "system/Slot.rs?status=free",  # narrowed by a query: granting it whole would be too much
        "system/Slot.rsx",
        "clinic/Slot.rs",
        "Slot.rs",
        "system/Slot.rs ",
        "",
        "openid",
    ],
)
def test_anything_else_is_not_a_scope(text):
    assert parse_scope(text) is None


@pytest.mark.parametrize(
    ("scopes", "resource", "permission"),
    [
        ({"system/Slot.rs"}, "Slot", "s"),
        ({"system/Slot.rs"}, "Slot", "r"),
        ({"system/*.rs"}, "Appointment", "s"),
        ({"system/Appointment.cruds"}, "Appointment", "u"),
        ({"openid", "system/Slot.s"}, "Slot", "s"),
    ],
)
def test_a_covering_system_scope_grants(scopes, resource, permission):
    assert grants(scopes, resource, permission)


@pytest.mark.parametrize(
    ("scopes", "resource", "permission"),
    [
        ({"patient/*.rs"}, "Slot", "s"),  # a patient-context scope is no system client's
        ({"user/*.cruds"}, "Appointment", "r"),
        ({"system/Slot.r"}, "Slot", "s"),  # v2: s is search, r alone is read
        ({"system/Slot.s"}, "Slot", "r"),
        ({"system/Appointment.rs"}, "Appointment", "c"),  # a read scope never writes
        ({"system/Appointment.rs"}, "Appointment", "u"),
        ({"system/Appointment.rs"}, "Appointment", "d"),
        ({"system/*.rs"}, "Appointment", "u"),
        ({"system/Slot.rs"}, "Schedule", "s"),  # another resource
        ({"system/Slot.read"}, "Slot", "r"),  # v1 grants nothing here
        ({"system/Slot.rs?status=free"}, "Slot", "s"),
        ({"system/Slot.sr"}, "Slot", "s"),  # malformed
        (set(), "Slot", "s"),
    ],
)
def test_what_must_be_refused(scopes, resource, permission):
    assert not grants(scopes, resource, permission)


def test_a_permission_must_be_one_of_cruds():
    with pytest.raises(ValueError):
        grants({"system/*.rs"}, "Slot", "rs")
    with pytest.raises(ValueError):
        grants({"system/*.rs"}, "Slot", "x")


def test_the_scope_claim_is_space_separated_and_a_refusal_names_the_narrowest_scope():
    assert scopes_of("system/Slot.rs  system/*.rs") == {"system/Slot.rs", "system/*.rs"}
    assert scopes_of(None) == frozenset() and scopes_of(["a"]) == {"a"}
    assert needed("Slot", "s") == "system/Slot.s"


def test_every_scope_the_clinic_issues_is_a_v2_system_scope():
    assert all((s := parse_scope(text)) is not None and s.context == "system" for text in SYSTEM_SCOPES)


def client_claims(**overrides):
    return {
        "sub": "ehr-client-1",
        "client_id": "ehr-client-1",
        "token_use": "access",
        "scope": "system/Slot.rs system/Schedule.rs",
        "iss": ISSUER,
        **overrides,
    }


def test_a_client_credentials_token_is_a_system_client_with_its_scopes():
    # GIVEN a client credentials access token from the configured issuer
    caller = caller_from_claims(client_claims(), "https://staff-issuer", ISSUER)
    # THEN it is a system client named by its client id, holding its scopes
    assert caller.role is Role.SYSTEM and caller.is_system and not caller.is_staff
    assert caller.client_id == caller.subject == "ehr-client-1"
    assert caller.scopes == {"system/Slot.rs", "system/Schedule.rs"}


def test_a_client_token_from_another_issuer_is_refused():
    with pytest.raises(errors.Forbidden):
        caller_from_claims(client_claims(iss="https://cognito-idp.us-east-1.amazonaws.com/patients"), None, ISSUER)


def test_without_a_configured_issuer_local_client_tokens_count():
    assert caller_from_claims(client_claims(iss=None)).role is Role.SYSTEM


@pytest.mark.parametrize(
    "overrides",
    [
        {"token_use": "id"},  # an ID token
        {"sub": "user-uuid"},  # a person's access token: its subject is the user
        {"cognito:groups": ["admins"]},
        {"username": "someone"},
    ],
)
def test_only_a_client_credentials_token_makes_a_system_client(overrides):
    # GIVEN claims that are not a client credentials token's WHEN read THEN no system client comes of them
    try:
        caller = caller_from_claims(client_claims(**overrides), None, ISSUER)
    except errors.DomainError:
        return
    assert caller.role is not Role.SYSTEM
