"""Webhooks use cases: subscriptions (create, change, pause, rotate the secret, delete), the fan-out of stream
changes into deliveries, sending one delivery (signed, 10 s, SSRF-checked after resolution), the retry sweep,
and resending. Storage, the queue and HTTP are ports."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Protocol
from urllib.parse import urlsplit

from chalicelib.domain.errors import InvalidInput, NotFound
from chalicelib.domain.timefmt import instant
from chalicelib.domain.webhooks import (
    ATTEMPT_TIMEOUT_SECONDS,
    MAX_SUBSCRIPTIONS,
    SENDING_LEASE,
    Change,
    Delivery,
    DeliveryStatus,
    Event,
    Outcome,
    SigningSecret,
    Subscription,
    SubscriptionState,
    after_attempt,
    check_events,
    check_url,
    delivery_key_since,
    events_of,
    message_body,
    new_delivery,
    paused,
    refused_address,
    resent,
    resumed,
    subscription_after,
)
from chalicelib.services.ports.system import Clock, IdGenerator

log = logging.getLogger("clinic.webhooks")
SWEEP_GRACE = timedelta(seconds=30)
SEND_CONCURRENCY = 8
"""Subscriptions sent to side by side in one run (each one's deliveries in order, one at a time)."""

DeliveryRef = tuple[str, str]
"""(subscription id, delivery id)."""


class WebhookStore(Protocol):
    def add_subscription(self, subscription: Subscription) -> None: ...

    def get_subscription(self, subscription_id: str) -> Subscription | None: ...

    def list_subscriptions(self) -> list[Subscription]: ...

    def put_subscription(self, subscription: Subscription) -> None: ...

    def update_health(self, subscription: Subscription) -> None:
        """Writes only the failure bookkeeping and state fields (never the URL, events or secrets)."""
        ...

    def delete_subscription(self, subscription_id: str) -> None: ...

    def add_delivery(self, delivery: Delivery) -> bool:
        """False when a delivery of this id exists already (a stream retry)."""
        ...

    def get_delivery(self, subscription_id: str, delivery_id: str) -> Delivery | None: ...

    def put_delivery(self, delivery: Delivery) -> None: ...

    def deliveries(
        self, subscription_id: str, since_key: str | None = None, limit: int = 100, newest_first: bool = True
    ) -> list[Delivery]: ...

    def due(self, now: datetime, limit: int) -> list[DeliveryRef]: ...

    def claim(self, subscription_id: str, delivery_id: str, now: datetime, until: datetime) -> Delivery | None:
        """Moves a due, unfinished delivery's next attempt to `until` (so no other run picks it) and returns it;
        None when it is finished, not due, or gone."""
        ...


class WebhookQueue(Protocol):
    def enqueue(self, refs: Sequence[DeliveryRef]) -> None: ...


class WebhookTransport(Protocol):
    def resolve(self, host: str, port: int) -> list[str]:
        """Every address the host resolves to (raises OSError when it does not resolve)."""
        ...

    def post(self, url: str, address: str, headers: dict[str, str], body: str, timeout: float) -> Outcome:
        """POST `body` to `url`, connected to `address` (the checked one), within `timeout` seconds in all."""
        ...


Signer = Callable[[list[str], str, datetime, str], str]
"""(secrets, message id, timestamp, body) -> the `webhook-signature` header value."""


@dataclass
class FanOutReport:
    events: int = 0
    deliveries: int = 0
    skipped: int = 0
    failed_records: list[str] = field(default_factory=list)
    """`publish` only: the events whose deliveries could not be written (a stream batch's are its own answer)."""


@dataclass
class FanOutBatch:
    """One stream batch's fan-out under way: the subscriptions (listed once), its counts, and the deliveries written
    so far, to be queued in their order once the batch is done."""

    subscriptions: list[Subscription]
    report: FanOutReport = field(default_factory=FanOutReport)
    queued: list[DeliveryRef] = field(default_factory=list)


class DeliveriesNotWritten(Exception):
    """A stream record's deliveries could not all be written: the record is retried."""


@dataclass
class SendReport:
    attempted: int = 0
    delivered: int = 0
    failed: int = 0
    held: int = 0
    deferred: int = 0
    paused: list[str] = field(default_factory=list)
    """Subscriptions paused by these attempts (failing for days, or 410 Gone): each is an alert."""


class WebhookService:
    def __init__(
        self,
        store: WebhookStore,
        queue: WebhookQueue,
        transport: WebhookTransport,
        signer: Signer,
        new_secret: Callable[[], str],
        clock: Clock,
        ids: IdGenerator,
        *,
        allow_loopback: bool = False,
        wall: Clock | None = None,
        jitter: Callable[[], float] | None = None,
        timeout: float = ATTEMPT_TIMEOUT_SECONDS,
    ) -> None:
        self._store = store
        self._queue = queue
        self.transport = transport
        self._sign = signer
        self._new_secret = new_secret
        self._clock = clock
        self._ids = ids
        self.allow_loopback = allow_loopback
        self._wall = wall or clock
        """The `webhook-timestamp` clock: receivers compare it with their own, so it is the real time."""
        self.jitter = jitter or (lambda: 0.0)
        """A factor in [-1, 1] that spreads retries (the composition root passes a random one)."""
        self.attempt_timeout = timeout

    # --- subscriptions -------------------------------------------------------------------------------------------
    def create(
        self,
        url: str,
        events: Sequence[str],
        description: str | None = None,
        doctor_id: str | None = None,
        location: str | None = None,
        include_reason: bool = False,
    ) -> Subscription:
        if len(self._store.list_subscriptions()) >= MAX_SUBSCRIPTIONS:
            raise InvalidInput(f"At most {MAX_SUBSCRIPTIONS} subscriptions.", {"limit": MAX_SUBSCRIPTIONS})
        now = self._clock.now()
        subscription = Subscription(
            id=self._ids.new_id(),
            url=check_url(url, self.allow_loopback),
            events=check_events(events),
            state=SubscriptionState.ACTIVE,
            secrets=(SigningSecret(self._new_secret()),),
            created_at=now,
            updated_at=now,
            description=description,
            doctor_id=doctor_id,
            location=location,
            include_reason=include_reason,
        )
        self._store.add_subscription(subscription)
        return subscription

    def get(self, subscription_id: str) -> Subscription:
        found = self._store.get_subscription(subscription_id)
        if found is None:
            raise NotFound("No such webhook subscription.")
        return found

    def all(self) -> list[Subscription]:
        return sorted(self._store.list_subscriptions(), key=lambda s: (s.created_at, s.id))

    def change(self, subscription_id: str, **fields: Any) -> Subscription:
        """`url`, `events`, `description`, `doctor_id`, `location`, `include_reason`, `state` (given ones only).
        Resuming (`state: active`) sends what waited while paused."""
        current = self.get(subscription_id)
        now = self._clock.now()
        updated = current
        if "url" in fields:
            updated = replace(updated, url=check_url(fields["url"], self.allow_loopback))
        if "events" in fields:
            updated = replace(updated, events=check_events(fields["events"]))
        for name in ("description", "doctor_id", "location", "include_reason"):
            if name in fields:
                updated = replace(updated, **{name: fields[name]})
        state = fields.get("state")
        resuming = state == SubscriptionState.ACTIVE and current.state is SubscriptionState.PAUSED
        if resuming:
            updated = resumed(updated, now)
        elif state == SubscriptionState.PAUSED and current.state is SubscriptionState.ACTIVE:
            updated = paused(updated, now)
        updated = replace(updated, updated_at=now)
        self._store.put_subscription(updated)
        if resuming:
            self._release_held(updated, now)
        return updated

    def delete(self, subscription_id: str) -> None:
        self.get(subscription_id)
        self._store.delete_subscription(subscription_id)

    def rotate_secret(self, subscription_id: str) -> Subscription:
        """A new secret; the previous one keeps signing beside it for the grace period (no gap for receivers)."""
        current = self.get(subscription_id)
        rotated = current.rotated(self._new_secret(), self._clock.now())
        self._store.put_subscription(rotated)
        return rotated

    def _release_held(self, subscription: Subscription, now: datetime) -> None:
        waiting = [
            d
            for d in self._store.deliveries(subscription.id, limit=1000, newest_first=False)
            if not d.finished and d.next_attempt_at is None
        ]
        for d in waiting:
            self._store.put_delivery(replace(d, next_attempt_at=now))
        self._queue.enqueue([(d.subscription_id, d.id) for d in waiting])

    # --- delivery log and resending ------------------------------------------------------------------------------
    def deliveries(self, subscription_id: str, since: datetime | None = None, limit: int = 50) -> list[Delivery]:
        self.get(subscription_id)
        key = delivery_key_since(since) if since else None
        return self._store.deliveries(subscription_id, since_key=key, limit=limit)

    def resend(self, subscription_id: str, delivery_id: str) -> Delivery:
        subscription = self.get(subscription_id)
        found = self._store.get_delivery(subscription_id, delivery_id)
        if found is None:
            raise NotFound("No such delivery.")
        again = self._resent(subscription, found)
        self._queue.enqueue([(again.subscription_id, again.id)] if again.next_attempt_at else [])
        return again

    def resend_since(self, subscription_id: str, since: datetime) -> list[Delivery]:
        """Every delivery of the subscription whose event happened at or after `since`, sent again."""
        subscription = self.get(subscription_id)
        found = self._store.deliveries(subscription_id, since_key=delivery_key_since(since), limit=1000)
        again = [self._resent(subscription, d) for d in found]
        self._queue.enqueue([(d.subscription_id, d.id) for d in again if d.next_attempt_at])
        return again

    def _resent(self, subscription: Subscription, delivery: Delivery) -> Delivery:
        now = self._clock.now()
        again = resent(delivery, now)
        if subscription.state is SubscriptionState.PAUSED:
            again = replace(again, next_attempt_at=None)  # held until the subscription resumes
        self._store.put_delivery(again)
        return again

    # --- fan-out -------------------------------------------------------------------------------------------------
    def fan_out_batch(self) -> FanOutBatch:
        """A stream batch's fan-out, begun: the subscriptions that may want its events, listed once."""
        return FanOutBatch([s for s in self._store.list_subscriptions() if s.paused_reason != "gone"])

    def fan_out_change(
        self, change: Change | str | None, occurred_at: Callable[[Change], datetime], batch: FanOutBatch
    ) -> None:
        """One stream record: one delivery per (event, subscription that wants it), written once whatever the
        stream retries (side by side), queued with the batch (`queue_written`). A record the edge could not read
        (its sequence number only) is skipped; None (a record with no event) is nothing. A record whose deliveries
        cannot all be written raises, so the stream retries it alone (what was written is not written twice)."""
        if change is None:
            return
        if isinstance(change, str):
            batch.report.skipped += 1
            return
        planned: list[tuple[str, Delivery]] = []
        try:
            for event in events_of(change, occurred_at(change)):
                batch.report.events += 1
                for subscription in batch.subscriptions:
                    if subscription.wants(event):
                        body = message_body(event, subscription.include_reason, instant)
                        planned.append((change.sequence, new_delivery(subscription, event, self._clock.now(), body)))
        except Exception:
            log.exception("webhook fan-out of stream record %s failed; it will be retried", change.sequence)
            raise
        if self._write(planned, batch.report, batch.queued):
            raise DeliveriesNotWritten(f"stream record {change.sequence}: deliveries not written; it will be retried")

    def queue_written(self, batch: FanOutBatch) -> None:
        """Queue the batch's written deliveries in their order, in one go after its records."""
        self._enqueue(batch.queued)

    def publish(self, events: Iterable[Event]) -> FanOutReport:
        """Events that come from no stream (a calendar sync's new conflicts): one delivery per subscription that
        wants each, written and queued as the fan-out does. A delivery that cannot be written is logged and left
        out (`failed_records` holds its event id); nothing is raised for it."""
        report = FanOutReport()
        subscriptions = [s for s in self._store.list_subscriptions() if s.paused_reason != "gone"]
        planned: list[tuple[str, Delivery]] = []
        for event in events:
            report.events += 1
            for subscription in subscriptions:
                if subscription.wants(event):
                    body = message_body(event, subscription.include_reason, instant)
                    planned.append((event.id, new_delivery(subscription, event, self._clock.now(), body)))
        queued: list[DeliveryRef] = []
        report.failed_records = sorted(set(self._write(planned, report, queued)))
        self._enqueue(queued)
        return report

    def _write(self, planned: list[tuple[str, Delivery]], report: FanOutReport, queued: list[DeliveryRef]) -> list[str]:
        """Writes the planned deliveries (side by side), adding the written ones to `queued` in their order; the
        keys of those that could not be written."""
        written: list[bool | None] = []
        if planned:  # the puts side by side (each a network round trip); their order kept for the queue
            with ThreadPoolExecutor(max_workers=min(SEND_CONCURRENCY, len(planned))) as pool:
                written = list(pool.map(self._add, (d for _, d in planned)))
        failed: list[str] = []
        for (key, delivery), added in zip(planned, written, strict=True):
            if added is None:
                failed.append(key)
            elif added:
                report.deliveries += 1
                if delivery.next_attempt_at is not None:
                    queued.append((delivery.subscription_id, delivery.id))
        return failed

    def _enqueue(self, queued: list[DeliveryRef]) -> None:
        if queued:
            try:
                self._queue.enqueue(queued)
            except Exception:  # written already: the sweep sends them
                log.exception("%d webhook deliveries not queued; the sweep sends them", len(queued))

    def _add(self, delivery: Delivery) -> bool | None:
        """True: written; False: there already (a stream retry); None: not written (its record is retried)."""
        try:
            return self._store.add_delivery(delivery)
        except Exception:
            log.exception("webhook delivery %s/%s not written", delivery.subscription_id, delivery.id)
            return None

    # --- sending -------------------------------------------------------------------------------------------------
    def sweep(self, limit: int = 500, grace: timedelta = SWEEP_GRACE) -> int:
        """Queues deliveries whose next attempt is due (retries, and anything a lost queue message left). A first
        attempt is queued by the fan-out itself: the sweep takes one only once `grace` has passed, so it does
        not queue the same delivery a second time while that message is on its way. (`make run` sweeps with no
        grace: its API runs in a process of its own, whose in-process queue no sender drains. A delivery queued
        twice is still sent once: each attempt is claimed first.)"""
        due = self._store.due(self._clock.now() - grace, limit)
        if due:
            self._queue.enqueue(due)
        return len(due)

    def send(self, refs: Iterable[DeliveryRef]) -> SendReport:
        """One attempt per due delivery. Each subscription's deliveries go in order, one at a time; subscriptions
        go side by side (SEND_CONCURRENCY), so a slow or hanging receiver holds up only its own. Each delivery on its
        own: an error in one is logged and the rest go on."""
        groups: dict[str, list[str]] = {}
        for subscription_id, delivery_id in refs:
            wanted = groups.setdefault(subscription_id, [])
            if delivery_id not in wanted:
                wanted.append(delivery_id)
        if not groups:
            return SendReport()
        with ThreadPoolExecutor(max_workers=min(SEND_CONCURRENCY, len(groups))) as pool:
            reports = list(pool.map(self._send_group, groups.items()))
        total = SendReport()
        for r in reports:
            total.attempted += r.attempted
            total.delivered += r.delivered
            total.failed += r.failed
            total.held += r.held
            total.deferred += r.deferred
            total.paused += r.paused
        return total

    def _send_group(self, group: tuple[str, list[str]]) -> SendReport:
        subscription_id, delivery_ids = group
        report = SendReport()
        try:
            subscription = self._store.get_subscription(subscription_id)
        except Exception:
            log.exception("webhook subscription %s not read; its deliveries stay due", subscription_id)
            return report
        for delivery_id in delivery_ids:
            try:
                if subscription is None:  # deleted: its deliveries end, and stay in the log until their TTL
                    self._end_orphan(subscription_id, delivery_id)
                    continue
                subscription = self._send_one(subscription, delivery_id, report)
            except Exception:
                log.exception("webhook delivery %s/%s not attempted", subscription_id, delivery_id)
        return report

    def _end_orphan(self, subscription_id: str, delivery_id: str) -> None:
        now = self._clock.now()
        orphan = self._store.claim(subscription_id, delivery_id, now, now + SENDING_LEASE)
        if orphan is not None:
            ended = replace(
                orphan, status=DeliveryStatus.GIVEN_UP, next_attempt_at=None, last_error="subscription deleted"
            )
            self._store.put_delivery(ended)

    def _send_one(self, subscription: Subscription, delivery_id: str, report: SendReport) -> Subscription:
        """One delivery's turn; the subscription as it is afterwards (its failure bookkeeping)."""
        now = self._clock.now()
        sid = subscription.id
        if subscription.state is SubscriptionState.PAUSED:
            held = self._store.claim(sid, delivery_id, now, now + SENDING_LEASE)
            if held is not None:  # waits, unsent, until the subscription resumes
                self._store.put_delivery(replace(held, next_attempt_at=None))
                report.held += 1
            return subscription
        if subscription.backoff_until and subscription.backoff_until > now:
            # a failing receiver gets one probe at a time; its other deliveries wait for the next probe
            if self._store.claim(sid, delivery_id, now, subscription.backoff_until) is not None:
                report.deferred += 1
            return subscription
        claimed = self._store.claim(sid, delivery_id, now, now + SENDING_LEASE)
        if claimed is None:  # finished, not due, or taken by another run
            return subscription
        report.attempted += 1
        outcome = self._attempt(subscription, claimed)
        finished = after_attempt(claimed, outcome, self._clock.now(), self.jitter())
        self._store.put_delivery(finished)
        if outcome.ok:
            report.delivered += 1
        else:
            report.failed += 1
            log.warning(
                "webhook %s delivery %s attempt %d failed: %s",
                sid,
                delivery_id,
                finished.attempts,
                outcome.status_code or outcome.error,
            )
        health = subscription_after(subscription, outcome, finished, self._clock.now())
        if health != subscription:
            self._store.update_health(health)
            if health.state is SubscriptionState.PAUSED and subscription.state is SubscriptionState.ACTIVE:
                log.error("webhook subscription %s paused: %s", sid, health.paused_reason)
                report.paused.append(sid)
        return health

    def _attempt(self, subscription: Subscription, delivery: Delivery) -> Outcome:
        parts = urlsplit(subscription.url)
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
        try:
            addresses = self.transport.resolve(host, port)
        except OSError as exc:
            return Outcome(error=f"the host does not resolve ({type(exc).__name__})")
        if not addresses:
            return Outcome(error="the host does not resolve")
        for address in addresses:
            problem = refused_address(address, self.allow_loopback)
            if problem:
                return Outcome(error=f"refused: the URL {problem}")
        if parts.scheme == "http" and not self.allow_loopback:
            return Outcome(error="refused: http is allowed only for loopback in local runs")
        stamp = self._wall.now()
        secrets = subscription.signing_secrets(self._clock.now())
        headers = {
            "content-type": "application/json",
            "user-agent": "clinic-booking-webhooks/1",
            "webhook-id": delivery.event_id,
            "webhook-timestamp": str(int(stamp.timestamp())),
            "webhook-signature": self._sign(secrets, delivery.event_id, stamp, delivery.body),
        }
        return self.transport.post(subscription.url, addresses[0], headers, delivery.body, self.attempt_timeout)
