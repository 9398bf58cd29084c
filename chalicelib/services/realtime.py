"""Real-time availability: tickets, WebSocket connect/subscribe/disconnect, and publishing each doctor-day
change (from the appointments stream) to exactly the connections that follow that day."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass
from datetime import date
from itertools import repeat

from chalicelib.domain.errors import DomainError, InvalidInput, NotFound, Unauthenticated
from chalicelib.domain.identity import Caller
from chalicelib.domain.realtime import (
    CONNECTION_TTL,
    MAX_SUBSCRIPTIONS,
    TICKET_LIFETIME,
    ConnectionGone,
    ErrorUpdate,
    IssuedTicket,
    LiveUpdate,
    MalformedRecord,
    SlotChange,
    SlotsUpdate,
    Ticket,
    UnreadableChange,
    doctor_days_of,
    parse_client_message,
    sign_ticket,
    verify_ticket,
)
from chalicelib.services.booking.queries import BookingQueries
from chalicelib.services.ports.realtime import ConnectionSender, SubscriptionStore
from chalicelib.services.ports.system import Clock, IdGenerator, KeyProvider

log = logging.getLogger("clinic.realtime")
SEND_CONCURRENCY = 16
"""Posts to connections run in parallel: each is a network round trip to API Gateway."""


@dataclass
class PublishReport:
    doctor_days: int = 0
    sent: int = 0
    gone: int = 0
    failed_posts: int = 0
    skipped: int = 0


class DayNotAnnounced(Exception):
    """A doctor-day a record changed could not be announced: the record is retried."""


class RealtimeService:
    def __init__(
        self,
        subscriptions: SubscriptionStore,
        sender: ConnectionSender,
        booking: BookingQueries,
        keys: KeyProvider,
        clock: Clock,
        ids: IdGenerator | None = None,
        *,
        encode: Callable[[LiveUpdate], str],
    ) -> None:
        """`encode` writes an update as the WebSocket frame its clients read (the API layer's `live_message`)."""
        self._encode = encode
        self._ids = ids
        self._subscriptions = subscriptions
        self.sender = sender
        self._booking = booking
        self._keys = keys
        self._clock = clock

    def issue_ticket(self, caller: Caller) -> IssuedTicket:
        expires = self._clock.now() + TICKET_LIFETIME
        ticket_id = self._ids.new_id() if self._ids is not None else uuid.uuid4().hex
        token = sign_ticket(Ticket(caller.subject, caller.role.value, expires, ticket_id), self._keys.signing_key())
        return IssuedTicket(token, expires)

    def connect(self, connection_id: str, ticket: str | None) -> Ticket:
        """Raises Unauthenticated for a missing, forged or expired ticket: the connection is refused."""
        now = self._clock.now()
        verified = verify_ticket(ticket, self._keys.signing_key(), now)
        if not verified.id or not self._subscriptions.use_ticket(verified.id, verified.expires_at):
            raise Unauthenticated("This connection ticket was used already; ask for a new one.")
        self._subscriptions.add_connection(connection_id, verified.subject, now + CONNECTION_TTL)
        return verified

    def disconnect(self, connection_id: str) -> None:
        self._subscriptions.remove_connection(connection_id)

    def on_message(self, connection_id: str, raw: str | bytes | None) -> None:
        """Subscribe (and get the day's slots at once) or unsubscribe; mistakes are answered on the socket."""
        try:
            wanted = parse_client_message(raw)
            if wanted.action == "unsubscribe":
                self._subscriptions.unsubscribe(connection_id, wanted.doctor_id, wanted.day)
                return
            snapshot = self._update(wanted.doctor_id, wanted.day)
            expires = self._clock.now() + CONNECTION_TTL
            if not self._subscriptions.subscribe(
                connection_id, wanted.doctor_id, wanted.day, MAX_SUBSCRIPTIONS, expires
            ):
                raise InvalidInput(
                    f"A connection follows at most {MAX_SUBSCRIPTIONS} doctor-days.", {"limit": MAX_SUBSCRIPTIONS}
                )
            self._send(connection_id, self._encode(snapshot))
        except DomainError as exc:
            code = "NOT_FOUND" if isinstance(exc, NotFound) else "VALIDATION_ERROR"
            self._send(connection_id, self._encode(ErrorUpdate(code, exc.message, exc.details)))
        except Exception:  # answered on the socket, never by closing it
            log.exception("connection %s: message not handled", connection_id)
            self._send(connection_id, self._encode(ErrorUpdate("INTERNAL_ERROR", "The message could not be handled.")))

    def publish(self, changes: Iterable[SlotChange | UnreadableChange]) -> PublishReport:
        """Announce each changed doctor-day once, to exactly its subscribers (the local stream follower's and the
        benchmarks' entry; the stream Lambda goes record by record through `publish_change`). A change whose day
        cannot be announced is logged; the others go on."""
        report = PublishReport()
        announced: dict[tuple[str, str], bool] = {}
        for change in changes:
            with suppress(DayNotAnnounced):  # logged by publish_change; a stream would retry its record
                self.publish_change(change, announced, report)
        return report

    def publish_change(
        self, change: SlotChange | UnreadableChange, announced: dict[tuple[str, str], bool], report: PublishReport
    ) -> None:
        """Announce the doctor-days one change touched, each once per batch (`announced`: the batch's days so far,
        and whether each was announced). A malformed record is skipped with a log line; a day that cannot be
        announced (store busy) raises for every record of the batch that touches it, so the stream retries those
        records only; a post that fails affects only its connection."""
        try:
            if isinstance(change, UnreadableChange):
                raise MalformedRecord(change.reason)
            days = doctor_days_of(change)
        except MalformedRecord as exc:
            log.warning("stream record %s skipped: %s", change.sequence or "?", exc)
            report.skipped += 1
            return
        for doctor_id, day_text in sorted(days):
            if (doctor_id, day_text) not in announced:
                report.doctor_days += 1
                try:
                    self._announce(doctor_id, date.fromisoformat(day_text), report)
                    announced[(doctor_id, day_text)] = True
                except Exception:
                    log.exception("doctor-day %s %s not announced; its records will be retried", doctor_id, day_text)
                    announced[(doctor_id, day_text)] = False
        if not all(announced[day] for day in days):
            raise DayNotAnnounced(f"record {change.sequence or '?'}: a doctor-day it changed was not announced")

    def announce(self, doctor_id: str, day: date) -> None:
        """Tells a doctor-day's followers its slots changed for a reason outside the appointments stream (a sync
        of the doctor's own calendar changed its busy times)."""
        self._announce(doctor_id, day, PublishReport())

    def _announce(self, doctor_id: str, day: date, report: PublishReport) -> None:
        followers = self._subscriptions.subscribers(doctor_id, day)
        if not followers:
            return
        message = self._encode(self._update(doctor_id, day))
        with ThreadPoolExecutor(max_workers=min(SEND_CONCURRENCY, len(followers))) as pool:
            delivered = list(pool.map(self._send_one, followers, repeat(message)))
        report.sent += delivered.count("sent")
        report.gone += delivered.count("gone")
        report.failed_posts += delivered.count("failed")

    def _send_one(self, connection_id: str, payload: str) -> str:
        """One connection's post: gone connections are forgotten; any other error (LimitExceeded, throttling)
        loses this one update for this one connection (the next change or a reconnect brings the day again)."""
        try:
            self.sender.send(connection_id, payload)
            return "sent"
        except ConnectionGone:
            self._subscriptions.remove_connection(connection_id)
            return "gone"
        except Exception as exc:
            log.warning("connection %s: post failed: %s", connection_id, type(exc).__name__)
            return "failed"

    def _update(self, doctor_id: str, day: date) -> SlotsUpdate:
        current = self._booking.availability(doctor_id, day, None)
        return SlotsUpdate(doctor_id, day, current.etag, tuple(current.slots))

    def _send(self, connection_id: str, payload: str) -> bool:
        try:
            self.sender.send(connection_id, payload)
            return True
        except ConnectionGone:
            self._subscriptions.remove_connection(connection_id)
            return False
