"""Pages of a list ordered by start time: `limit` items and an opaque token naming where the next page starts."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
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
