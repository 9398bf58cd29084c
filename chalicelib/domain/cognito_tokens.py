"""Verifying a Cognito JWT for the FHIR face's Lambda authorizer: people's ID tokens (the patients' and the staff
pools) and system clients' client credentials access tokens (the integrations pool) on the same routes, which API
Gateway's Cognito authorizer cannot do (on a method without scopes it takes ID tokens only).

RS256 only, against the issuing pool's published keys; the issuer must be one we trust for that kind of token,
the token unexpired and already valid (with a small leeway for clock skew), and an access token must name one of
the clinic's system app clients. Anything else is refused with `TokenRefused` (the authorizer's 401)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

LEEWAY_SECONDS = 30
"""Clock skew tolerated on `exp`, `nbf` and `iat`."""

ALGORITHM = "RS256"
"""Cognito signs every token with RS256; no other algorithm (least of all `none` or an HMAC one) is accepted."""


class TokenRefused(Exception):
    """The token is not one this API accepts; the message says why (for the log, never for the caller)."""


@dataclass(frozen=True)
class TrustPolicy:
    people_issuers: frozenset[str]
    """Pools whose ID tokens name people (the patients' and the staff pools)."""
    system_issuer: str | None
    """The integrations pool, whose client credentials access tokens name system clients."""
    system_clients: frozenset[str]
    """The app clients of the integrations pool allowed to call."""

    @property
    def issuers(self) -> frozenset[str]:
        return self.people_issuers | ({self.system_issuer} if self.system_issuer else set())


KeyLookup = Callable[[str, str], Any]
"""(issuer, kid) -> the public key to check the signature with; raises TokenRefused when the pool has no such key."""


def _issuer(value: Any) -> str:
    return str(value or "").rstrip("/")


def verified_claims(token: str, policy: TrustPolicy, key_for: KeyLookup, now: float) -> dict[str, Any]:
    """The claims of a token this API accepts (see the module's docstring); `now` is a Unix time."""
    import jwt  # here, not at the top: PyJWT and cryptography cost every cold start ~40 ms, and only this uses them

    token = token.strip()
    if token[:7].lower() == "bearer ":
        token = token[7:].strip()
    try:
        header = jwt.get_unverified_header(token)
        unverified = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        raise TokenRefused(f"malformed token: {type(exc).__name__}") from None
    if header.get("alg") != ALGORITHM:
        raise TokenRefused(f"algorithm {header.get('alg')!r} is not {ALGORITHM}")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise TokenRefused("no key id")
    issuer = _issuer(unverified.get("iss"))
    if issuer not in policy.issuers:
        raise TokenRefused("issuer not trusted")
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key_for(issuer, kid),
            algorithms=[ALGORITHM],
            issuer=unverified.get("iss"),
            leeway=LEEWAY_SECONDS,
            options={
                "require": ["exp", "iat", "iss", "sub", "token_use"],
                "verify_aud": False,  # ID tokens name their app client; any client of a trusted pool may call
                "verify_exp": False,  # times are checked below against the injected clock
                "verify_nbf": False,
                "verify_iat": False,
            },
        )
    except jwt.PyJWTError as exc:
        raise TokenRefused(f"rejected: {type(exc).__name__}") from None
    _check_time(claims, now)
    _check_use(claims, issuer, policy)
    return claims


def _check_time(claims: Mapping[str, Any], now: float) -> None:
    """`exp`, `nbf` (when present) and `iat` against `now`, with `LEEWAY_SECONDS` either way."""
    for name in ("exp", "nbf", "iat"):
        if name in claims and not isinstance(claims[name], int | float):
            raise TokenRefused(f"{name} is not a number")
    if claims["exp"] <= now - LEEWAY_SECONDS:
        raise TokenRefused("expired")
    if claims.get("nbf", claims["iat"]) > now + LEEWAY_SECONDS:
        raise TokenRefused("not yet valid")


def _check_use(claims: Mapping[str, Any], issuer: str, policy: TrustPolicy) -> None:
    use = claims.get("token_use")
    if use == "id":
        if issuer not in policy.people_issuers:
            raise TokenRefused("an ID token from a pool without people")
        return
    if use == "access":
        if issuer != _issuer(policy.system_issuer):
            raise TokenRefused("an access token from a pool of people (people send their ID token)")
        client_id = claims.get("client_id")
        if not isinstance(client_id, str) or client_id not in policy.system_clients:
            raise TokenRefused("an app client the clinic has not allowed")
        if claims.get("sub") != client_id:
            raise TokenRefused("not a client credentials token")
        return
    raise TokenRefused(f"token_use {use!r}")
