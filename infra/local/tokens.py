"""Unsigned development tokens (alg none) that chalice local decodes; never accepted by a deployed stack."""

from __future__ import annotations

import base64
import json
from typing import Any

DEMO_IDENTITIES: dict[str, dict[str, Any]] = {
    "admin": {
        "sub": "demo-admin",
        "cognito:username": "demo-admin",
        "cognito:groups": ["admins"],
        "name": "Clinic Admin",
        "email": "admin@example.org",
    },
    "doctor": {
        "sub": "demo-doctor-ada",
        "cognito:username": "ada",
        "cognito:groups": ["doctors"],
        "custom:doctor_id": "dr-ada-smith",
        "name": "Dr. Ada Smith",
    },
    "patient": {
        "sub": "demo-patient-1",
        "cognito:username": "pat",
        "cognito:groups": ["patients"],
        "name": "Pat Example",
        "email": "pat@example.org",
        "email_verified": True,
        "phone_number": "+16175550123",
        "phone_number_verified": True,
    },
    "patient2": {
        "sub": "demo-patient-2",
        "cognito:username": "sam",
        "cognito:groups": ["patients"],
        "name": "Sam Example",
        "email": "sam@example.org",
        "email_verified": True,
    },
    "ehr": {  # a FHIR system client (client credentials): its client id is its subject, its scopes SMART v2's
        "sub": "demo-ehr-engine",
        "client_id": "demo-ehr-engine",
        "token_use": "access",
        "scope": "system/*.rs",
        "cognito:username": "demo-ehr-engine",  # not in Cognito's token: chalice local hands on claims only with it
    },
}


def _segment(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).rstrip(b"=").decode()


def unsigned_token(claims: dict[str, Any]) -> str:
    return f"{_segment({'alg': 'none', 'typ': 'JWT'})}.{_segment(claims)}."


def demo_tokens() -> dict[str, str]:
    return {role: unsigned_token(claims) for role, claims in DEMO_IDENTITIES.items()}


if __name__ == "__main__":
    for role, tok in demo_tokens().items():
        print(f"export {role.upper()}_TOKEN={tok}")
