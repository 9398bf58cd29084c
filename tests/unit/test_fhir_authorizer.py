"""The FHIR routes' Lambda authorizer: people's Cognito ID tokens and system clients' client credentials access
tokens are accepted when signed (RS256) by a trusted pool's published key, unexpired and of the right use; anything
else is API Gateway's 401. Keys are made here and served as a JWKS on loopback, as Cognito publishes them."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from chalicelib.adapters.jwks import REFRESH_SECONDS, KeySets, fetch_json
from chalicelib.api.fhir_authorizer import authorize, trust_policy
from chalicelib.domain.cognito_tokens import LEEWAY_SECONDS, TokenRefused, verified_claims
from chalicelib.domain.identity import Role, caller_from_claims

NOW = 2_000_000_000  # 2033-05-18: a fixed clock, never the machine's
PATIENTS = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_patients"
STAFF = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_staff"
INTEGRATIONS = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_integrations"
OTHER = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_someoneelse"
CLIENT = "ehr-engine-1"
ARN = "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/api/GET/fhir/R4/Slot"
ENV = {
    "LAMBDA_TASK_ROOT": "/var/task",
    "PATIENT_POOL_ISSUER": PATIENTS,
    "STAFF_POOL_ISSUER": STAFF,
    "SYSTEM_CLIENT_ISSUER": INTEGRATIONS,
    "SYSTEM_CLIENT_IDS": f"{CLIENT}, ehr-engine-2",
}


def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


POOL_KEY = rsa_key()
INTRUDER_KEY = rsa_key()


def jwks(*pairs: tuple[str, rsa.RSAPrivateKey]) -> dict[str, Any]:
    keys = []
    for kid, key in pairs:
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
        keys.append({**jwk, "kid": kid, "alg": "RS256", "use": "sig"})
    return {"keys": keys}


class Pools:
    """Each issuer's JWKS, served on loopback at `<base>/<issuer's pool id>/.well-known/jwks.json`."""

    def __init__(self) -> None:
        self.documents: dict[str, dict[str, Any]] = {}
        self.requests: list[str] = []


@pytest.fixture
def pools() -> Iterator[tuple[Pools, str]]:
    served = Pools()
    for issuer in (PATIENTS, STAFF, INTEGRATIONS, OTHER):
        served.documents[issuer.rsplit("/", 1)[1]] = jwks(("k1", POOL_KEY))

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            served.requests.append(self.path)
            pool = self.path.split("/")[1]
            body = json.dumps(served.documents.get(pool, {"keys": []})).encode()
            self.send_response(200 if pool in served.documents else 404)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    # shutdown() waits for serve_forever's next poll (every 0.5 s by default): poll often, stop at once
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield served, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def key_sets(base: str, clock: Any = lambda: 0.0) -> KeySets:
    return KeySets(clock=clock, url_for=lambda issuer: f"{base}/{issuer.rsplit('/', 1)[1]}/.well-known/jwks.json")


def id_token(issuer: str = PATIENTS, **claims: Any) -> dict[str, Any]:
    return {
        "sub": "patient-1",
        "aud": "web-app-client",
        "iss": issuer,
        "token_use": "id",
        "cognito:username": "pat",
        "cognito:groups": ["patients"],
        "email": "pat@example.org",
        "email_verified": True,
        "iat": NOW - 60,
        "exp": NOW + 3600,
        **claims,
    }


def access_token(client_id: str = CLIENT, **claims: Any) -> dict[str, Any]:
    return {
        "sub": client_id,
        "client_id": client_id,
        "iss": INTEGRATIONS,
        "token_use": "access",
        "scope": "system/Slot.rs system/Appointment.cruds",
        "iat": NOW - 60,
        "exp": NOW + 3600,
        "jti": "j1",
        **claims,
    }


def signed(claims: dict[str, Any], key: rsa.RSAPrivateKey = POOL_KEY, kid: str = "k1", alg: str = "RS256") -> str:
    return jwt.encode(claims, key, algorithm=alg, headers={"kid": kid})


def call(token: str, base: str, env: dict[str, str] = ENV) -> dict[str, Any]:
    return authorize(token, ARN, env=env, key_for=key_sets(base).key_for, clock=lambda: NOW)


def refused(token: str, base: str, env: dict[str, str] = ENV) -> bool:
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        call(token, base, env)
    return True


def test_a_patients_id_token_is_accepted_and_its_claims_reach_the_app_as_one_json_string(pools):
    # GIVEN a patient's ID token signed by the patients' pool WHEN the authorizer checks it
    served, base = pools
    answer = call("Bearer " + signed(id_token()), base)
    # THEN it allows every FHIR route of this API (cached per token) and hands the claims on as flat strings
    statement = answer["policyDocument"]["Statement"][0]
    assert statement["Effect"] == "Allow"
    assert statement["Resource"] == ["arn:aws:execute-api:us-east-1:123456789012:abcdef1234/*/*/fhir/R4/*"]
    assert answer["principalId"] == "patient-1"
    assert all(isinstance(v, str) for v in answer["context"].values())
    claims = json.loads(answer["context"]["claims"])
    assert caller_from_claims(claims, STAFF).role is Role.PATIENT
    assert served.requests == ["/us-east-1_patients/.well-known/jwks.json"]


def test_a_staff_id_token_is_accepted(pools):
    _, base = pools
    claims = json.loads(call(signed(id_token(STAFF, **{"cognito:groups": ["admins"]})), base)["context"]["claims"])
    assert caller_from_claims(claims, STAFF).role is Role.ADMIN


def test_a_system_clients_access_token_is_accepted_and_names_the_client_with_its_scopes(pools):
    # GIVEN a client credentials access token of an allowed app client of the integrations pool
    _, base = pools
    claims = json.loads(call(signed(access_token()), base)["context"]["claims"])
    # THEN the app sees a system client with its scopes
    caller = caller_from_claims(claims, STAFF, INTEGRATIONS)
    assert caller.role is Role.SYSTEM and caller.client_id == CLIENT
    assert caller.scopes == frozenset({"system/Slot.rs", "system/Appointment.cruds"})


@pytest.mark.parametrize(
    "case",
    [
        "expired",
        "not yet valid",
        "issued in the future",
        "untrusted issuer",
        "wrong signature",
        "unknown kid",
        "alg none",
        "HS256 with the public key",
        "access token from the patients pool",
        "id token from the integrations pool",
        "unknown client",
        "client token naming another subject",
        "token_use refresh",
        "no token_use",
        "not a JWT",
    ],
)
def test_every_bad_token_is_refused_with_401(pools, case):
    _, base = pools
    tokens = {
        "expired": lambda: signed(access_token(exp=NOW - LEEWAY_SECONDS - 1)),
        "not yet valid": lambda: signed(id_token(nbf=NOW + LEEWAY_SECONDS + 60)),
        "issued in the future": lambda: signed(id_token(iat=NOW + LEEWAY_SECONDS + 60)),
        "untrusted issuer": lambda: signed(id_token(OTHER)),
        "wrong signature": lambda: signed(id_token(), key=INTRUDER_KEY),
        "unknown kid": lambda: signed(id_token(), kid="k2"),
        "alg none": lambda: jwt.encode(id_token(), "", algorithm="none", headers={"kid": "k1"}),
        "HS256 with the public key": forged_hs256,
        "access token from the patients pool": lambda: signed(access_token(iss=PATIENTS)),
        "id token from the integrations pool": lambda: signed(id_token(INTEGRATIONS)),
        "unknown client": lambda: signed(access_token("someone-else")),
        "client token naming another subject": lambda: signed(access_token(sub="patient-1")),
        "token_use refresh": lambda: signed(id_token(token_use="refresh")),
        "no token_use": lambda: signed({k: v for k, v in id_token().items() if k != "token_use"}),
        "not a JWT": lambda: "not-a-token",
    }
    assert refused(tokens[case](), base)


def forged_hs256() -> str:
    """The public key's PEM as an HMAC secret: the classic algorithm confusion."""
    import base64
    import hashlib
    import hmac

    from cryptography.hazmat.primitives import serialization

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    header = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "k1"}).encode())
    payload = b64(json.dumps(id_token()).encode())
    secret = POOL_KEY.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    signature = hmac.new(secret, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{b64(signature)}"


def test_the_leeway_forgives_small_clock_skew(pools):
    # GIVEN a token expired 10 seconds ago, and one valid only from 10 seconds on THEN both pass (skew)
    _, base = pools
    assert call(signed(access_token(exp=NOW - 10)), base)["principalId"] == CLIENT
    assert call(signed(id_token(nbf=NOW + 10)), base)["principalId"] == "patient-1"


def test_without_any_trusted_issuer_a_deployed_authorizer_refuses_everything(pools):
    # GIVEN a Lambda environment with no issuer configured THEN even a well-signed token is refused (fail closed)
    _, base = pools
    assert refused(signed(id_token()), base, {"LAMBDA_TASK_ROOT": "/var/task"})


def test_a_system_client_needs_to_be_listed(pools):
    # GIVEN no allowed app clients THEN a valid access token of the integrations pool is refused
    _, base = pools
    assert refused(signed(access_token()), base, {**ENV, "SYSTEM_CLIENT_IDS": ""})


def test_outside_lambda_the_unsigned_local_tokens_pass_as_chalice_local_passes_them():
    # GIVEN a local run (no LAMBDA_TASK_ROOT) and make run's unsigned development token
    from tests.helpers import token

    answer = authorize(token({"sub": "demo-patient-1", "cognito:groups": ["patients"]}), ARN, env={})
    # THEN its claims reach the app unverified; an undecodable one reaches it with none (the app's 401)
    assert json.loads(answer["context"]["claims"])["sub"] == "demo-patient-1"
    assert json.loads(authorize("junk", ARN, env={})["context"]["claims"]) == {}


def test_keys_are_fetched_once_per_issuer_and_again_only_for_a_new_kid_after_a_while(pools):
    # GIVEN the pools' keys served on loopback
    served, base = pools
    now = [0.0]
    keys = key_sets(base, clock=lambda: now[0])
    policy = trust_policy(ENV)
    for _ in range(3):
        verified_claims(signed(id_token()), policy, keys.key_for, NOW)
    assert len(served.requests) == 1  # cached per container
    # WHEN the pool rotates to a new key THEN an unknown kid is refetched only once REFRESH_SECONDS have passed
    served.documents["us-east-1_patients"] = jwks(("k1", POOL_KEY), ("k2", INTRUDER_KEY))
    rotated = signed(id_token(), key=INTRUDER_KEY, kid="k2")
    now[0] = REFRESH_SECONDS - 1
    with pytest.raises(TokenRefused):
        verified_claims(rotated, policy, keys.key_for, NOW)
    now[0] = REFRESH_SECONDS
    assert verified_claims(rotated, policy, keys.key_for, NOW)["sub"] == "patient-1"
    assert len(served.requests) == 2


def test_an_unreachable_key_set_refuses_the_token(pools):
    # GIVEN an issuer whose key set answers 404 (or cannot be reached) THEN its tokens are refused, not a 500
    served, base = pools
    del served.documents["us-east-1_staff"]
    assert refused(signed(id_token(STAFF)), base)
    dead = KeySets(url_for=lambda issuer: "http://127.0.0.1:9/none")
    with pytest.raises(TokenRefused):
        verified_claims(signed(id_token()), trust_policy(ENV), dead.key_for, NOW)


def test_key_sets_are_read_over_https_or_loopback_only():
    with pytest.raises(TokenRefused):
        fetch_json("http://cognito-idp.example/.well-known/jwks.json")
    with pytest.raises(TokenRefused):
        fetch_json("file:///etc/passwd")
