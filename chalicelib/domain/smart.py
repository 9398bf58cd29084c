"""SMART on FHIR v2 scopes of system clients (OAuth 2.0 client credentials): the grammar, and what a token's scopes
grant on one FHIR interaction. Only `system/` scopes grant anything here; v1 forms (`.read`, `.write`, `.*`) and
scopes narrowed by a query (`?category=...`) grant nothing (fail closed)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

PERMISSIONS = "cruds"
"""SMART v2's permissions, in the order a scope must list them: create, read, update, delete, search."""

SCOPE_RE = re.compile(r"(patient|user|system)/(\*|[A-Z][A-Za-z]{0,63})\.([cruds]{1,5})")

SYSTEM_SCOPES: tuple[str, ...] = (
    "system/*.rs",
    "system/Practitioner.rs",
    "system/Location.rs",
    "system/Schedule.rs",
    "system/Slot.rs",
    "system/Patient.rs",
    "system/Appointment.rs",
    "system/Appointment.cruds",
)
"""The scopes the clinic's Cognito resource server (`system`) defines, each `<identifier>/<scope name>`; template.yaml
declares the same list (a test checks)."""


@dataclass(frozen=True)
class Scope:
    context: str
    resource: str
    permissions: str


def parse_scope(text: str) -> Scope | None:
    """A v2 scope, or None for anything else (another grammar, letters out of order or repeated, a query)."""
    match = SCOPE_RE.fullmatch(text)
    if match is None:
        return None
    context, resource, permissions = match.groups()
    if "".join(p for p in PERMISSIONS if p in permissions) != permissions:
        return None  # out of order or repeated: `sr`, `rr`
    return Scope(context, resource, permissions)


def scopes_of(claim: object) -> frozenset[str]:
    """The `scope` claim (space-separated, as OAuth 2.0 and Cognito write it) as a set of scopes."""
    if isinstance(claim, str):
        return frozenset(claim.split())
    if isinstance(claim, list | tuple):
        return frozenset(str(s) for s in claim)
    return frozenset()


def grants(scopes: Iterable[str], resource: str, permission: str) -> bool:
    """Whether a system client holding `scopes` may do `permission` (one of c r u d s) on `resource`."""
    if permission not in PERMISSIONS or len(permission) != 1:
        raise ValueError(f"not a SMART v2 permission: {permission!r}")
    for text in scopes:
        scope = parse_scope(text)
        if (
            scope is not None
            and scope.context == "system"
            and scope.resource in ("*", resource)
            and permission in scope.permissions
        ):
            return True
    return False


def needed(resource: str, permission: str) -> str:
    """The narrowest scope that grants the interaction, as a refusal names it."""
    return f"system/{resource}.{permission}"
