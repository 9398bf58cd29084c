"""The slot-updates WebSocket: its ticket, and the messages a connection receives (a doctor-day's slots, in the
same slot model as the REST availability answer, or an error).

No `from __future__ import annotations` (see the package's docstring): a model refers only to models defined above
it or imported."""

import json
from typing import Any, Literal

from pydantic import Field

from chalicelib.api.schemas.availability import SlotOut
from chalicelib.api.schemas.common import Instant, LocalDate, OutModel
from chalicelib.domain.realtime import ErrorUpdate, SlotsUpdate


class TicketOut(OutModel):
    ticket: str
    expires_at: Instant
    url: str | None = None


class LiveSlotsOut(OutModel):
    """A doctor-day's slots, sent on subscribing and after each change of the day."""

    type: Literal["slots"] = "slots"
    doctor_id: str
    date: LocalDate
    version: str
    slots: list[SlotOut]


class LiveErrorOut(OutModel):
    """A message the connection sent that could not be acted on (the socket stays open)."""

    type: Literal["error"] = "error"
    code: str
    message: str
    details: dict[str, Any] | None = Field(default=None, exclude_if=lambda details: not details)


def live_message(update: SlotsUpdate | ErrorUpdate) -> str:
    """The WebSocket frame of an update: compact JSON, as the clients parse it."""
    body: OutModel
    if isinstance(update, SlotsUpdate):
        day, slots = update.day.isoformat(), [SlotOut.from_domain(slot) for slot in update.slots]
        body = LiveSlotsOut(doctor_id=update.doctor_id, date=day, version=update.version, slots=slots)
    else:
        body = LiveErrorOut(code=update.code, message=update.message, details=update.details)
    return json.dumps(body.to_json(), separators=(",", ":"))
