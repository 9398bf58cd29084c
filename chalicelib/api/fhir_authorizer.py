"""The FHIR face's Lambda (TOKEN) authorizer: accepts people's Cognito ID tokens and system clients' client
credentials access tokens (see chalicelib/domain/cognito_tokens.py), and hands the verified claims on to the app
as one JSON string, `claims` (a Lambda authorizer's context holds flat strings only).

In a Lambda function (`LAMBDA_TASK_ROOT` set) every token is verified, and with no trusted issuer configured
every token is refused. Outside Lambda (chalice local, `make run`, the tests' client) the token's claims are
handed on unverified, as chalice local does for the REST API's Cognito authorizer."""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import time
from collections.abc import Callable, Mapping
from typing import Any

from chalicelib.adapters.jwks import KeySets
from chalicelib.domain.cognito_tokens import KeyLookup, TokenRefused, TrustPolicy, verified_claims

log = logging.getLogger("clinic.fhir.authorizer")

PATHS = "/*/*/fhir/R4/*"
"""What an accepted token may call: every method of every FHIR route (the policy is cached per token)."""

_key_sets = KeySets()


def trust_policy(env: Mapping[str, str]) -> TrustPolicy:
    people = {v.rstrip("/") for v in (env.get("PATIENT_POOL_ISSUER"), env.get("STAFF_POOL_ISSUER")) if v and v.strip()}
    system = (env.get("SYSTEM_CLIENT_ISSUER") or "").rstrip("/") or None
    clients = {c.strip() for c in (env.get("SYSTEM_CLIENT_IDS") or "").split(",") if c.strip()}
    return TrustPolicy(frozenset(people), system, frozenset(clients))


def unverified_claims(token: str) -> dict[str, Any]:
    """A local token's payload (alg none, infra/local/tokens.py); {} when it has none."""
    parts = token.removeprefix("Bearer ").strip().split(".")
    if len(parts) != 3:
        return {}
    try:
        payload = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (binascii.Error, ValueError):
        return {}
    return payload if isinstance(payload, dict) else {}


def policy_document(method_arn: str, principal: str, claims: Mapping[str, Any]) -> dict[str, Any]:
    api = "/".join(method_arn.split("/")[:1])  # arn:aws:execute-api:<region>:<account>:<api id>
    return {
        "principalId": principal,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": [f"{api}{PATHS}"]}],
        },
        "context": {"claims": json.dumps(dict(claims), separators=(",", ":"), default=str)},
    }


def authorize(
    token: str,
    method_arn: str,
    env: Mapping[str, str] | None = None,
    key_for: KeyLookup | None = None,
    clock: Callable[[], float] = time.time,
) -> dict[str, Any]:
    """The authorizer's answer for a token; raises `Exception("Unauthorized")`, API Gateway's 401, when refused."""
    env = os.environ if env is None else env
    if not env.get("LAMBDA_TASK_ROOT"):  # local runs: unsigned development tokens, as chalice local reads them
        claims = unverified_claims(token)
        return policy_document(method_arn, str(claims.get("sub") or "anonymous"), claims)
    policy = trust_policy(env)
    try:
        if not policy.issuers:
            raise TokenRefused("no trusted issuer is configured")
        claims = verified_claims(token, policy, key_for or _key_sets.key_for, clock())
    except TokenRefused as refused:
        log.info("fhir token refused: %s", refused)
        raise Exception("Unauthorized") from None  # API Gateway answers this exact message with 401
    return policy_document(method_arn, str(claims["sub"]), claims)
