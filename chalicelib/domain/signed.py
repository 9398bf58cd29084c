"""One format for every token the API signs (room links, WebSocket tickets, list page tokens):
`base64url(JSON claims).base64url(HMAC-SHA256)`.

Each use signs with its own key, derived from the signing key, and may bind the token to a context that is
signed but not carried (a list page token to its list): a token of one use or context never verifies as another.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(key: bytes, use: str, context: str, payload: str) -> str:
    use_key = hmac.new(key, f"clinic-booking token: {use}".encode(), hashlib.sha256).digest()
    return _b64(hmac.new(use_key, f"{context}\n{payload}".encode(), hashlib.sha256).digest())


def sign(claims: Mapping[str, Any], key: bytes, use: str, context: str = "") -> str:
    payload = _b64(json.dumps({**claims, "use": use}, separators=(",", ":")).encode())
    return f"{payload}.{_mac(key, use, context, payload)}"


def verified(token: str | None, key: bytes, use: str, context: str = "") -> dict[str, Any] | None:
    """The claims of a token signed with `key` for this use and context; None for a missing, malformed or forged
    one, or one made for another use or context (the caller says which error that is)."""
    if not token or token.count(".") != 1:
        return None
    payload, mac = token.split(".")
    # bytes, not str: compare_digest refuses a str with non-ASCII characters (a 500 for an edited token)
    if not hmac.compare_digest(mac.encode(), _mac(key, use, context, payload).encode()):
        return None
    try:
        claims = json.loads(_unb64(payload))
    except ValueError:
        return None
    return claims if isinstance(claims, dict) and claims.get("use") == use else None
