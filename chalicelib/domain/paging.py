"""Pages of a list ordered by start time: `limit` items and an opaque token naming where the next page starts."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

from chalicelib.domain import signed
from chalicelib.domain.errors import InvalidInput

T = TypeVar("T")
DEFAULT_LIMIT = 50
MAX_LIMIT = 100


def paginate(
    items: Sequence[T], key: Callable[[T], tuple[str, str]], limit: int, token: str | None, scope: str, secret: bytes
) -> tuple[list[T], str | None]:
    """The page after `token` (items sorted by `key`), and the signed token of the next page while more remain."""
    ordered = sorted(items, key=key)
    if token is not None:
        after = open_token(token, scope, secret)
        ordered = [item for item in ordered if key(item) > after]
    page = ordered[:limit]
    more = len(ordered) > limit
    return page, (sign_token(key(page[-1]), scope, secret) if more and page else None)


NOT_OURS = "The nextToken is not one this list gave out."


def sign_token(position: tuple[str, str], scope: str, key: bytes) -> str:
    """An opaque token for the position after which the next page starts, valid only for the list it came
    from (`scope`: the route, its path id and filters). Signed, so a client cannot aim a query anywhere else."""
    return signed.sign({"after": list(position)}, key, "list-page", context=scope)


def open_token(token: str, scope: str, key: bytes) -> tuple[str, str]:
    """The position a token names; 400 for a token this list did not give out (edited, or another list's)."""
    claims = signed.verified(token, key, "list-page", context=scope)
    after = claims.get("after") if claims else None
    if isinstance(after, list) and len(after) == 2 and all(isinstance(x, str) for x in after):
        return after[0], after[1]
    raise InvalidInput(NOT_OURS, {"fields": {"nextToken": "is not valid"}})


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
