"""Real-time slot updates: connection tickets, subscription rules and the updates clients receive (typed here;
written on the wire by the API layer).

A WebSocket client first asks the REST API (where Cognito has checked its token) for a short-lived ticket, then
connects with it: API Gateway WebSocket `$connect` carries no Cognito authorizer here, so the ticket, an
HMAC-SHA256-signed statement of who the caller is and until when, is what the connection is refused without.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from chalicelib.domain import signed
from chalicelib.domain.errors import InvalidInput, Unauthenticated
from chalicelib.domain.schedule import Slot
from chalicelib.domain.timefmt import check_supported

MAX_SUBSCRIPTIONS = 20
"""Doctor-days one connection may follow at once."""
TICKET_LIFETIME = timedelta(seconds=60)
CONNECTION_TTL = timedelta(hours=2)
"""API Gateway closes WebSocket connections after two hours; their records expire with them."""


MIN_YEAR, MAX_YEAR = 2000, 2100


@dataclass(frozen=True)
class Ticket:
    subject: str
    role: str
    expires_at: datetime
    id: str = ""
    """Unique per ticket: a ticket opens one connection (its id is claimed with a conditional write)."""


@dataclass(frozen=True)
class IssuedTicket:
    """A signed ticket as its caller gets it: the token to connect with, and when it stops opening connections."""

    ticket: str
    expires_at: datetime


def sign_ticket(ticket: Ticket, key: bytes) -> str:
    claims = {"sub": ticket.subject, "role": ticket.role, "exp": int(ticket.expires_at.timestamp()), "jti": ticket.id}
    return signed.sign(claims, key, "realtime")


def verify_ticket(token: str | None, key: bytes, now: datetime) -> Ticket:
    """The ticket's statement, or Unauthenticated when it is missing, forged, for another use, or expired."""
    if not token or token.count(".") != 1:
        raise Unauthenticated("A connection ticket is required.")
    claims = signed.verified(token, key, "realtime")
    if claims is None or not claims.get("sub"):
        raise Unauthenticated("The connection ticket is not valid.")
    expires = datetime.fromtimestamp(int(claims["exp"]), tz=now.tzinfo)
    if expires <= now:
        raise Unauthenticated("The connection ticket has expired.")
    return Ticket(str(claims["sub"]), str(claims.get("role", "")), expires, str(claims.get("jti") or ""))


@dataclass(frozen=True)
class Subscription:
    action: str
    doctor_id: str
    day: date


def parse_client_message(raw: str | bytes | None) -> Subscription:
    """`{"action": "subscribe"|"unsubscribe", "doctorId": ..., "date": "YYYY-MM-DD"}`."""
    import re

    try:
        message = json.loads(raw or "")
    except (ValueError, RecursionError) as exc:  # RecursionError: nested deeper than the parser goes
        raise InvalidInput("Messages are JSON objects.", {"fields": {"body": "is not valid JSON"}}) from exc
    if not isinstance(message, dict):
        raise InvalidInput("Messages are JSON objects.", {"fields": {"body": "must be a JSON object"}})
    bad: dict[str, str] = {}
    action = message.get("action")
    if action not in ("subscribe", "unsubscribe"):
        bad["action"] = "must be subscribe or unsubscribe"
    doctor_id = message.get("doctorId")
    if not isinstance(doctor_id, str) or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}", doctor_id):
        bad["doctorId"] = "is not a valid id"
    day = None
    raw_day = message.get("date")
    try:
        # As strict as the REST routes: exactly YYYY-MM-DD (fromisoformat alone takes 20261202 and more)
        if not isinstance(raw_day, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw_day):
            raise ValueError(raw_day)
        day = check_supported(date.fromisoformat(raw_day))
    except ValueError:
        bad["date"] = "must be a date YYYY-MM-DD within the years 2000-2100"
    unknown = set(message) - {"action", "doctorId", "date"}
    for name in unknown:
        bad[name] = "is not a known field"
    if bad or day is None:
        raise InvalidInput("The message is invalid.", {"fields": bad})
    return Subscription(str(action), str(doctor_id), day)


@dataclass(frozen=True)
class SlotsUpdate:
    """A doctor-day's slots as its followers receive them: on subscribing, and after each change of the day."""

    doctor_id: str
    day: date
    version: str
    slots: tuple[Slot, ...]


@dataclass(frozen=True)
class ErrorUpdate:
    """The answer to a message the socket could not act on (the connection stays open)."""

    code: str
    message: str
    details: dict[str, Any] | None = None


LiveUpdate = SlotsUpdate | ErrorUpdate
"""What a connection receives; the API layer writes it on the wire (`api/schemas/realtime.py`)."""


SLOT_FIELDS = ("date", "time", "duration", "doctor_id")
"""The appointment's fields that place it on a doctor-day's slots."""


@dataclass(frozen=True)
class SlotChange:
    """One change of an appointment, as plain values: `old` and `new` hold its fields by their names (as stored:
    dates and times as text), read from the stream by the adapter through the item mapper; None where the
    appointment did not exist before or after."""

    sequence: str
    old: Mapping[str, Any] | None
    new: Mapping[str, Any] | None


@dataclass(frozen=True)
class UnreadableChange:
    """A stream record the edge could not decode (no change, untyped images): skipped, a retry cannot fix it."""

    sequence: str
    reason: str


class ConnectionGone(Exception):
    """The WebSocket connection no longer exists (API Gateway's GoneException)."""


class MalformedRecord(ValueError):
    """A change that does not name a valid doctor-day: skipped (a retry cannot fix it)."""


def doctor_days_of(change: SlotChange) -> set[tuple[str, str]]:
    """The doctor-days whose slots a change of the appointments table changes: a booking, a cancellation, or a
    move (both days when it changes day). A confirmation or a completion changes no slot and announces nothing.
    Raises MalformedRecord for a change that names a bad date."""
    days = _days(change.old, change.new)
    for doctor_id, day in days:
        try:
            date.fromisoformat(day)
        except ValueError as exc:
            raise MalformedRecord(f"bad date in the record for doctor {doctor_id}") from exc
    return days


def _days(old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> set[tuple[str, str]]:
    if old and new:
        moved = any(old.get(f) != new.get(f) for f in SLOT_FIELDS)
        freed = (old.get("status") == "cancelled") != (new.get("status") == "cancelled")
        if not (moved or freed):
            return set()
    return {
        (str(image.get("doctor_id")), str(image.get("date")))
        for image in (old, new)
        if image and image.get("doctor_id") and image.get("date")
    }
