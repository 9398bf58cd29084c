"""The doctors' calendar feed (iCalendar subscription links).

No `from __future__ import annotations` (see the package's docstring): a model refers only to models defined above
it or imported."""

from typing import Annotated

from pydantic import Field

from chalicelib.api.schemas.common import OutModel, QueryModel


class FeedQuery(QueryModel):
    token: Annotated[str, Field(min_length=1, max_length=200)] | None = None


class FeedLinkOut(OutModel):
    token: str
    path: str


class FeedRevokedOut(OutModel):
    revoked: bool
