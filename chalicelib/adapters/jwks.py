"""Cognito user pools' signing keys (JWKS), fetched over HTTPS once per container and issuer, and again (at most
once a `REFRESH_SECONDS`) when a token names a key we have not seen, as after Cognito rotates its keys."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

from chalicelib.domain.cognito_tokens import TokenRefused

TIMEOUT_SECONDS = 3
REFRESH_SECONDS = 300
MAX_BYTES = 256 * 1024

Fetch = Callable[[str], dict[str, Any]]


def fetch_json(url: str) -> dict[str, Any]:
    if not url.startswith(("https://", "http://127.0.0.1:")):  # the pools publish over HTTPS; tests on loopback
        raise TokenRefused("a key set URL that is neither HTTPS nor loopback")
    import urllib.request  # here: only a key fetch needs it (cold start)

    with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as answer:  # noqa: S310  # nosec B310
        loaded = json.loads(answer.read(MAX_BYTES))
    if not isinstance(loaded, dict):
        raise TokenRefused("a key set that is not a JSON object")
    return loaded


def jwks_url(issuer: str) -> str:
    return f"{issuer.rstrip('/')}/.well-known/jwks.json"


class KeySets:
    """The public keys of each trusted issuer, cached; `key_for(issuer, kid)` is the verifier's `KeyLookup`."""

    def __init__(
        self,
        fetch: Fetch = fetch_json,
        clock: Callable[[], float] = time.monotonic,
        url_for: Callable[[str], str] = jwks_url,
    ) -> None:
        self._fetch = fetch
        self._clock = clock
        self._url_for = url_for
        self._keys: dict[str, dict[str, Any]] = {}
        self._fetched_at: dict[str, float] = {}
        self._lock = threading.Lock()

    def key_for(self, issuer: str, kid: str) -> Any:
        with self._lock:
            keys = self._keys.get(issuer)
            last = self._fetched_at.get(issuer)
            if keys is None or (kid not in keys and (last is None or self._clock() - last >= REFRESH_SECONDS)):
                keys = self._load(issuer)
        if kid not in keys:
            raise TokenRefused("a key id the issuer does not publish")
        return keys[kid]

    def _load(self, issuer: str) -> dict[str, Any]:
        self._fetched_at[issuer] = self._clock()
        try:
            document = self._fetch(self._url_for(issuer))
        except TokenRefused:
            raise
        except Exception as exc:  # network, HTTP or JSON failure: refuse the token, try again later
            raise TokenRefused(f"the issuer's keys could not be read: {type(exc).__name__}") from None
        import jwt  # here: PyJWT and cryptography are a cold start's cost that only a key fetch needs

        keys: dict[str, Any] = {}
        for entry in document.get("keys") or []:
            if not isinstance(entry, dict) or entry.get("kty") != "RSA" or entry.get("use", "sig") != "sig":
                continue
            try:
                keys[str(entry["kid"])] = jwt.PyJWK(entry, algorithm="RS256").key
            except (KeyError, jwt.PyJWTError):
                continue
        self._keys[issuer] = keys
        return keys
