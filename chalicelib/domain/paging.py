"""Pages of a list ordered by start time: `limit` items and an opaque token naming where the next page starts."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

from chalicelib.domain.errors import InvalidInput

T = TypeVar("T")
DEFAULT_LIMIT = 50
MAX_LIMIT = 100


def encode_token(position: tuple[str, str]) -> str:
    raw = json.dumps(list(position), separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_token(token: str) -> tuple[str, str]:
    try:
        loaded = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        if isinstance(loaded, list) and len(loaded) == 2 and all(isinstance(x, str) for x in loaded):
            return loaded[0], loaded[1]
    except ValueError:
        pass
    raise InvalidInput("The nextToken is not one this list gave out.", {"fields": {"nextToken": "is not valid"}})


def paginate(
    items: Sequence[T], key: Callable[[T], tuple[str, str]], limit: int, token: str | None
) -> tuple[list[T], str | None]:
    """The page after `token` (items sorted by `key`), and the token of the next page while more remain."""
    ordered = sorted(items, key=key)
    if token is not None:
        after = decode_token(token)
        ordered = [item for item in ordered if key(item) > after]
    page = ordered[:limit]
    more = len(ordered) > limit
    return page, (encode_token(key(page[-1])) if more and page else None)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _mac(key: bytes, scope: str, payload: str) -> str:
    page_key = hmac.new(key, b"list-page-token", hashlib.sha256).digest()  # never the same MAC as other tokens
    return _b64(hmac.new(page_key, f"{scope}\n{payload}".encode(), hashlib.sha256).digest()[:16])


def sign_token(position: tuple[str, str], scope: str, key: bytes) -> str:
    """An opaque token for the position after which the next page starts, valid only for the list it came
    from (`scope`: the route, its path id and filters). Signed, so a client cannot aim a query anywhere else."""
    payload = encode_token(position)
    return f"{payload}.{_mac(key, scope, payload)}"


def open_token(token: str, scope: str, key: bytes) -> tuple[str, str]:
    """The position a token names; 400 for a token this list did not give out (edited, or another list's)."""
    payload, _, mac = token.partition(".")
    if not mac or not hmac.compare_digest(mac, _mac(key, scope, payload)):
        raise InvalidInput("The nextToken is not one this list gave out.", {"fields": {"nextToken": "is not valid"}})
    return decode_token(payload)


def take_page(items: Iterable[T], keep: Callable[[T], bool], limit: int) -> tuple[list[T], bool]:
    """The first `limit` items that `keep` accepts, and whether another one follows. Reads the (lazy) items
    only as far as it needs: one past the page."""
    page: list[T] = []
    for item in items:
        if keep(item):
            if len(page) == limit:
                return page, True
            page.append(item)
    return page, False
