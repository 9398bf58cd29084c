"""The slot-updates WebSocket's ticket.

No `from __future__ import annotations` (see the package's docstring): a model refers only to models defined above
it or imported."""

from chalicelib.api.schemas.common import Instant, OutModel


class TicketOut(OutModel):
    ticket: str
    expires_at: Instant
    url: str | None = None
