"""Who is calling: the caller built from Cognito claims, and its role."""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from chalicelib.domain.errors import Forbidden, Unauthenticated
from chalicelib.domain.smart import scopes_of


class Role(StrEnum):
    PATIENT = "patient"
    DOCTOR = "doctor"
    ADMIN = "admin"
    SYSTEM = "system"
    """A system client (an EHR integration engine, OAuth 2.0 client credentials): the FHIR face only, within its
    SMART scopes; no REST route lists it, so `require_role` refuses it there."""


GROUP_ROLES = {"admins": Role.ADMIN, "doctors": Role.DOCTOR, "patients": Role.PATIENT}
PRECEDENCE = (Role.ADMIN, Role.DOCTOR, Role.PATIENT)
STAFF_ROLES = (Role.ADMIN, Role.DOCTOR)


@dataclass(frozen=True)
class Caller:
    subject: str
    role: Role
    username: str = ""
    doctor_id: str | None = None
    name: str = ""
    email: str | None = None
    phone: str | None = None
    email_verified: bool = False
    phone_verified: bool = False
    """Cognito's `email_verified` / `phone_number_verified`: reminders go only to verified addresses."""
    client_id: str | None = None
    """A system client's OAuth client id (also its `subject`); None for people."""
    scopes: frozenset[str] = frozenset()
    """A system client's granted scopes (the access token's `scope` claim)."""

    @property
    def is_system(self) -> bool:
        return self.role is Role.SYSTEM

    @property
    def is_staff(self) -> bool:
        return self.role in (Role.DOCTOR, Role.ADMIN)

    @property
    def display_name(self) -> str:
        """The name stored for this caller (a patient's `patientName`, its directory record): its clean `name`
        claim, or its clean username when it has none."""
        return self.name or clean_name(self.username)


NAME_MAX_CHARS = 100
"""As long as any name the API accepts in a body (`Text`); a longer name claim is cut there."""


def clean_name(raw: Any) -> str:
    """A person's name from a token claim, safe to store and show: Unicode NFC; line breaks, tabs and every other
    kind of space become one space, and runs of them collapse; control, format (bidi overrides, embeddings and
    isolates, zero-width spaces and joiners, byte order marks, soft hyphens), surrogate, private-use and
    unassigned characters are dropped; cut to `NAME_MAX_CHARS`. Users write their own `name` in the patients'
    pool, so this is the one place a claim's name is made fit for e-mails, lists and the console."""
    text = raw if isinstance(raw, str) else "" if raw is None else str(raw)
    kept: list[str] = []
    for char in text:
        if char.isspace() or unicodedata.category(char) in ("Zs", "Zl", "Zp"):
            kept.append(" ")
        elif not unicodedata.category(char).startswith("C"):
            kept.append(char)
    # NFC after the filter: a dropped character between a letter and its accent must not leave them apart
    collapsed = " ".join(unicodedata.normalize("NFC", "".join(kept)).split())
    return collapsed[:NAME_MAX_CHARS].rstrip()


def parse_groups(raw: Any) -> set[str]:
    """`cognito:groups` as a JSON list, or API Gateway's string forms: '[a, b]', 'a,b', 'a b', '["a"]'."""
    if raw is None:
        return set()
    if isinstance(raw, list | tuple):
        return {str(g).strip() for g in raw if str(g).strip()}
    text = str(raw).strip()
    if text.startswith("["):
        try:
            loaded = json.loads(text)
            if isinstance(loaded, list):
                return {str(g).strip() for g in loaded if str(g).strip()}
        except ValueError:
            text = text[1:-1] if text.endswith("]") else text[1:]
    return {part.strip().strip('"') for part in text.replace(",", " ").split() if part.strip().strip('"')}


def _claim_true(value: Any) -> bool:
    """Cognito hands on booleans as JSON `true` or, through API Gateway, as the string "true"."""
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def _roles_from_pool(roles: set[Role], issuer: Any, staff_issuer: str | None) -> set[Role]:
    """Staff roles count only in a token from the staff pool, the patient role only outside it: both pools sit on
    one authorizer, so a group a patient-pool administrator (or a mistake) adds there must not make a doctor or an
    admin. Without a configured staff issuer (local runs, unsigned tokens) every group counts."""
    if staff_issuer is None:
        return roles
    from_staff_pool = str(issuer or "").rstrip("/") == staff_issuer.rstrip("/")
    return {r for r in roles if (r in STAFF_ROLES) == from_staff_pool}


def is_client_token(claims: Mapping[str, Any]) -> bool:
    """An access token of the client credentials flow: Cognito names the client as its subject, and no user."""
    client_id = claims.get("client_id")
    return (
        claims.get("token_use") == "access"
        and bool(client_id)
        and claims.get("sub") == client_id
        and not claims.get("cognito:groups")
        and not claims.get("username")
    )


def system_caller(claims: Mapping[str, Any], system_issuer: str | None) -> Caller:
    """A system client from its access token's claims; 403 when the token is not from `system_issuer`, the one
    pool whose resource server defines the clinic's system scopes (unset in local runs: every issuer counts)."""
    if system_issuer is not None and str(claims.get("iss") or "").rstrip("/") != system_issuer.rstrip("/"):
        raise Forbidden("This client's token is not from the clinic's system-client issuer.")
    client_id = str(claims["client_id"])
    return Caller(
        subject=client_id,
        role=Role.SYSTEM,
        username=client_id,
        client_id=client_id,
        scopes=scopes_of(claims.get("scope")),
    )


def caller_from_claims(
    claims: Mapping[str, Any] | None, staff_issuer: str | None = None, system_issuer: str | None = None
) -> Caller:
    """The caller a set of verified claims names; 401 without claims, 403 without a known group (or with a staff
    group from a token that the staff pool, `staff_issuer`, did not issue). A client credentials access token
    names a system client (see `system_caller`)."""
    if not claims or not claims.get("sub"):
        raise Unauthenticated("Sign in to use this service.")
    if is_client_token(claims):
        return system_caller(claims, system_issuer)
    groups = parse_groups(claims.get("cognito:groups"))
    roles = _roles_from_pool({GROUP_ROLES[g] for g in groups if g in GROUP_ROLES}, claims.get("iss"), staff_issuer)
    role = next((r for r in PRECEDENCE if r in roles), None)
    if role is None:
        raise Forbidden("Your account has no role in this clinic.")
    doctor_id = claims.get("custom:doctor_id") or None
    if role is Role.DOCTOR and not doctor_id:
        raise Forbidden("Your doctor account is not linked to a doctor profile.")
    return Caller(
        subject=str(claims["sub"]),
        role=role,
        username=str(claims.get("cognito:username", "")),
        doctor_id=str(doctor_id) if doctor_id else None,
        name=clean_name(claims.get("name")),
        email=claims.get("email"),
        phone=claims.get("phone_number"),
        email_verified=_claim_true(claims.get("email_verified")),
        phone_verified=_claim_true(claims.get("phone_number_verified")),
    )


def require_role(caller: Caller, *roles: Role) -> None:
    if caller.role not in roles:
        raise Forbidden("You are not allowed to do this.")
