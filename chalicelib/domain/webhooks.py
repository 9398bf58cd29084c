"""Webhooks for clinic systems: event types, which change fires which event, payload shaping (no contact details,
no visit reason unless opted in), the Standard Webhooks message, the retry schedule, delivery states, and the
address rules that keep a receiver URL outside the clinic's own network (SSRF)."""

from __future__ import annotations

import hashlib
import ipaddress
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from chalicelib.domain.errors import InvalidInput

APPOINTMENT_EVENTS = (
    "appointment.booked",
    "appointment.rescheduled",
    "appointment.cancelled",
    "appointment.status_changed",
)
REMINDER_EVENTS = ("reminder.sent", "reminder.failed")
TELEHEALTH_EVENTS = ("telehealth.room_ready",)
WAITLIST_EVENTS = ("waitlist.offered", "waitlist.accepted", "waitlist.declined", "waitlist.expired")
"""From the waitlist table's stream: an offer made, and its end by the patient's answer or its lapse. An offer
ended otherwise (taken by staff, withdrawn with its entry) fires nothing."""
CALENDAR_EVENTS = ("calendar.conflict",)
"""Not from a stream: a doctor's calendar sync hands over each visit that a busy time newly overlaps."""
EVENT_TYPES: tuple[str, ...] = (
    *APPOINTMENT_EVENTS,
    *REMINDER_EVENTS,
    *TELEHEALTH_EVENTS,
    *WAITLIST_EVENTS,
    *CALENDAR_EVENTS,
)
_OFFER_OUTCOME_EVENTS = {
    "pending": "waitlist.offered",
    "accepted": "waitlist.accepted",
    "declined": "waitlist.declined",
    "expired": "waitlist.expired",
}

ACTIVE_STATUSES = frozenset({"scheduled", "confirmed", "rescheduled"})
HELD = "held"
"""A slot hold is an appointment item with this status: no event until it is booked."""
CONTACT_KEYS = frozenset({"email", "phone", "phoneNumber", "recipientEmail", "recipientPhone", "address"})
"""Never sent, at any depth of a payload."""
CLINICAL_TEXT_KEYS = frozenset({"reason", "notes"})
"""Sent only to subscriptions that opt in (`includeReason`)."""

ATTEMPT_TIMEOUT_SECONDS = 10.0
RETRY_DELAYS: tuple[timedelta, ...] = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=10),
    timedelta(hours=12),
    timedelta(hours=12),
    timedelta(hours=12),
    timedelta(hours=12),
    timedelta(hours=12),
)
"""After the first attempt (at once), the waits before each retry: the Standard Webhooks schedule (seconds,
minutes, hours) stretched with 12-hour steps so that even with the shortest jitter the retries span > 3 days."""
JITTER = 0.1
"""Each wait is scaled by a factor in [1 - JITTER, 1 + JITTER], so receivers coming back are not stampeded."""
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
PAUSE_AFTER = timedelta(days=3)
"""A subscription whose every attempt failed for this long is paused (and an alert raised), not dropped."""
MAX_BACKOFF = timedelta(hours=1)
"""While a subscription fails, its other deliveries wait at most this long for the next probe."""
SECRET_GRACE = timedelta(hours=24)
"""After a rotation the old secret still signs (beside the new one) for this long."""
DELIVERY_RETENTION = timedelta(days=30)
"""A delivery log entry is kept this long (the deliveries table's TTL)."""
MAX_SUBSCRIPTIONS = 50
MAX_BODY_LOG_CHARS = 64 * 1024
SENDING_LEASE = timedelta(seconds=60)
"""A claimed delivery is not picked again by the sweep for this long (an attempt ends within 10 s)."""


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILING = "failing"
    GIVEN_UP = "given_up"


class SubscriptionState(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"


@dataclass(frozen=True)
class SigningSecret:
    secret: str
    """`whsec_<base64>`."""
    expires_at: datetime | None = None
    """None: current. Set on the previous secret by a rotation: it signs beside the new one until then."""


@dataclass(frozen=True)
class Subscription:
    id: str
    url: str
    events: tuple[str, ...]
    state: SubscriptionState
    secrets: tuple[SigningSecret, ...]
    created_at: datetime
    updated_at: datetime
    description: str | None = None
    doctor_id: str | None = None
    location: str | None = None
    include_reason: bool = False
    failing_since: datetime | None = None
    backoff_until: datetime | None = None
    paused_reason: str | None = None
    """`failing` (every attempt failed for PAUSE_AFTER), `gone` (the receiver answered 410), `admin`."""
    paused_at: datetime | None = None

    def signing_secrets(self, now: datetime) -> list[str]:
        return [s.secret for s in self.secrets if s.expires_at is None or s.expires_at > now]

    def wants(self, event: Event) -> bool:
        if event.type not in self.events:
            return False
        if self.doctor_id and event.doctor_id != self.doctor_id:
            return False
        return not (self.location and event.location != self.location)

    def rotated(self, new_secret: str, now: datetime, grace: timedelta = SECRET_GRACE) -> Subscription:
        """The new secret signs from now on; the current one keeps signing for `grace`; older ones are dropped."""
        kept = [
            replace(s, expires_at=now + grace) if s.expires_at is None else s
            for s in self.secrets
            if s.expires_at is None or s.expires_at > now
        ]
        return replace(self, secrets=(SigningSecret(new_secret), *kept[:1]), updated_at=now)


@dataclass(frozen=True)
class Change:
    """One changed resource from the stream, rendered as the API returns it (camelCase), before and after."""

    kind: str
    """`appointment`, `reminder` or `waitlist` (an entry, rendered as the API returns it)."""
    resource_id: str
    old: Mapping[str, Any] | None
    new: Mapping[str, Any] | None
    version: int | None
    """The appointment's version (the per-appointment sequence); a reminder change carries its appointment's
    latest known version only if the edge knows it (None otherwise)."""
    sequence: str = ""
    """The stream record's sequence number (for partial batch failures)."""


@dataclass(frozen=True)
class Event:
    id: str
    type: str
    occurred_at: datetime
    appointment_id: str
    sequence: int | None
    doctor_id: str | None
    location: str | None
    data: Mapping[str, Any]


def event_types_of(change: Change) -> list[str]:
    """The events one change fires: each change of an appointment fires at most one appointment event (plus
    `telehealth.room_ready` when its room link appears); a reminder fires when it turns sent or failed."""
    old, new = change.old or {}, change.new or {}
    if change.kind == "waitlist":
        return [event_type for event_type, _ in _offer_changes(old, new)]
    if change.kind == "reminder":
        before, after = old.get("status"), new.get("status")
        if after != before and after in ("sent", "failed"):
            return [f"reminder.{after}"]
        return []
    if change.kind != "appointment" or not new:
        return []
    found: list[str] = []
    status, before = new.get("status"), old.get("status")
    if not old or before == HELD:  # a hold is not yet a visit: booking it is the booking; its lapse is nothing
        if status in ACTIVE_STATUSES:
            found.append("appointment.booked")
    elif status == "cancelled" and before != "cancelled":
        found.append("appointment.cancelled")
    elif status in ACTIVE_STATUSES and (
        new.get("startsAt") != old.get("startsAt") or new.get("duration") != old.get("duration")
    ):
        found.append("appointment.rescheduled")
    elif status != before:
        found.append("appointment.status_changed")
    if new.get("telehealthUrl") and not old.get("telehealthUrl") and status in ACTIVE_STATUSES:
        found.append("telehealth.room_ready")
    return found


def _offers(entry: Mapping[str, Any]) -> dict[str, str]:
    """An entry's offers (open and past) by hold id, with their outcome."""
    found = [*(entry.get("pastOffers") or []), *([entry["offer"]] if entry.get("offer") else [])]
    return {str(o.get("holdId")): str(o.get("outcome")) for o in found if isinstance(o, Mapping)}


def _offer_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(event type, hold id) for each of the entry's offers made or ended by this change."""
    before, after = _offers(old), _offers(new)
    return [
        (_OFFER_OUTCOME_EVENTS[outcome], hold)
        for hold, outcome in after.items()
        if before.get(hold) != outcome and outcome in _OFFER_OUTCOME_EVENTS
    ]


def event_id(change: Change, event_type: str) -> str:
    """Stable across stream retries (the same change always names the same event), unique per change."""
    basis = f"{change.kind}:{change.resource_id}:{change.version}:{event_type}:{_status_marker(change)}"
    if change.kind == "waitlist":
        holds = sorted(hold for kind, hold in _offer_changes(change.old or {}, change.new or {}) if kind == event_type)
        basis = f"waitlist:{change.resource_id}:{event_type}:{','.join(holds)}"
    return "evt_" + hashlib.sha256(basis.encode()).hexdigest()[:26]


def _status_marker(change: Change) -> str:
    new = change.new or {}
    return f"{new.get('status')}:{new.get('updatedAt') or new.get('sentAt') or new.get('attempts')}"


def events_of(change: Change, occurred_at: datetime) -> list[Event]:
    new = change.new or {}
    appointment_id = str(new.get("appointmentId") or change.resource_id)
    if change.kind in ("appointment", "waitlist"):
        appointment_id = change.resource_id
    holds = dict(_offer_changes(change.old or {}, new)) if change.kind == "waitlist" else {}
    return [
        Event(
            id=event_id(change, event_type),
            type=event_type,
            occurred_at=occurred_at,
            appointment_id=appointment_id,
            sequence=change.version,
            doctor_id=new.get("doctorId"),
            location=new.get("location"),
            data={**new, "holdId": holds[event_type]} if event_type in holds else dict(new),
        )
        for event_type in event_types_of(change)
    ]


def conflict_event(
    appointment: Mapping[str, Any],
    calendar_id: str,
    start: datetime,
    end: datetime,
    occurred_at: datetime,
    instant: Callable[[datetime], str],
    sequence: int | None = None,
) -> Event:
    """`calendar.conflict`: the busy time (`start`, `end`) of the doctor's calendar `calendar_id` newly overlaps the
    visit `appointment` (rendered as the API returns it to staff), found by the sync at `occurred_at`. Its id names
    the calendar, the visit, its version, the busy time and that instant: handing the same finding over twice makes
    no second delivery, while a conflict that ended and came back later is a new event (receivers drop duplicates
    by id). `sequence` is the visit's version (the per-appointment sequence of its other events)."""
    appointment_id = str(appointment.get("id"))
    start_text, end_text = instant(start), instant(end)
    found = occurred_at.isoformat()
    basis = f"calendar.conflict:{calendar_id}:{appointment_id}:{sequence}:{start_text}:{end_text}:{found}"
    return Event(
        id="evt_" + hashlib.sha256(basis.encode()).hexdigest()[:26],
        type="calendar.conflict",
        occurred_at=occurred_at,
        appointment_id=appointment_id,
        sequence=sequence,
        doctor_id=appointment.get("doctorId"),
        location=appointment.get("location"),
        data={
            "appointmentId": appointment_id,
            "doctorId": appointment.get("doctorId"),
            "calendarId": calendar_id,
            "start": start_text,
            "end": end_text,
            "appointment": dict(appointment),
        },
    )


def shaped(data: Any, include_reason: bool) -> Any:
    """`data` without contact details (at any depth) and, unless opted in, without the visit's reason or notes."""
    if isinstance(data, Mapping):
        dropped = CONTACT_KEYS if include_reason else CONTACT_KEYS | CLINICAL_TEXT_KEYS
        return {k: shaped(v, include_reason) for k, v in data.items() if k not in dropped}
    if isinstance(data, list):
        return [shaped(v, include_reason) for v in data]
    return data


def message_body(event: Event, include_reason: bool, instant: Callable[[datetime], str]) -> str:
    """The Standard Webhooks body `{type, timestamp, data}`; `data` also names the event id and sequence."""
    data = dict(shaped(event.data, include_reason))
    data["eventId"] = event.id
    if event.sequence is not None:
        data["sequence"] = event.sequence
    return json.dumps(
        {"type": event.type, "timestamp": instant(event.occurred_at), "data": data},
        separators=(",", ":"),
        sort_keys=True,
    )


@dataclass(frozen=True)
class Delivery:
    subscription_id: str
    id: str
    event_id: str
    type: str
    appointment_id: str
    body: str
    created_at: datetime
    expires_at: datetime
    sequence: int | None = None
    status: DeliveryStatus = DeliveryStatus.PENDING
    attempts: int = 0
    last_status_code: int | None = None
    last_error: str | None = None
    last_attempt_at: datetime | None = None
    next_attempt_at: datetime | None = None
    """When the next attempt is due (the sweep's index); None: nothing to do (delivered, given up, or held while
    the subscription is paused)."""
    delivered_at: datetime | None = None
    history: tuple[dict[str, Any], ...] = field(default_factory=tuple)
    """The last attempts: `{at, statusCode?, error?, ms}`."""

    @property
    def finished(self) -> bool:
        return self.status in (DeliveryStatus.DELIVERED, DeliveryStatus.GIVEN_UP)


MAX_HISTORY = 15


def delivery_id(created_at: datetime, event_id_: str) -> str:
    """Sorts by time within a subscription (`since` queries), and is stable for one event."""
    return created_at.strftime("%Y%m%dT%H%M%S%fZ") + "-" + event_id_


def delivery_key_since(since: datetime) -> str:
    return since.strftime("%Y%m%dT%H%M%S%fZ")


def new_delivery(subscription: Subscription, event: Event, now: datetime, body: str) -> Delivery:
    held = subscription.state is SubscriptionState.PAUSED
    return Delivery(
        subscription_id=subscription.id,
        id=delivery_id(event.occurred_at, event.id),
        event_id=event.id,
        type=event.type,
        appointment_id=event.appointment_id,
        body=body,
        created_at=now,
        expires_at=now + DELIVERY_RETENTION,
        sequence=event.sequence,
        next_attempt_at=None if held else now,
    )


@dataclass(frozen=True)
class Outcome:
    status_code: int | None = None
    error: str | None = None
    elapsed_ms: int = 0

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    @property
    def gone(self) -> bool:
        return self.status_code == 410


def retry_delay(attempts: int, jitter: float) -> timedelta | None:
    """The wait after the `attempts`-th failed attempt (1-based), scaled by `jitter` in [-1, 1]; None: no more."""
    if attempts < 1 or attempts > len(RETRY_DELAYS):
        return None
    return RETRY_DELAYS[attempts - 1] * (1 + JITTER * max(-1.0, min(1.0, jitter)))


def after_attempt(delivery: Delivery, outcome: Outcome, now: datetime, jitter: float) -> Delivery:
    """The delivery once an attempt ended with `outcome`."""
    attempts = delivery.attempts + 1
    entry: dict[str, Any] = {"at": now, "ms": outcome.elapsed_ms}
    if outcome.status_code is not None:
        entry["statusCode"] = outcome.status_code
    if outcome.error:
        entry["error"] = outcome.error
    history = (*delivery.history, entry)[-MAX_HISTORY:]
    tried = replace(
        delivery,
        attempts=attempts,
        last_status_code=outcome.status_code,
        last_error=outcome.error,
        last_attempt_at=now,
        history=history,
    )
    if outcome.ok:
        return replace(tried, status=DeliveryStatus.DELIVERED, next_attempt_at=None, delivered_at=now)
    wait = None if outcome.gone else retry_delay(attempts, jitter)
    if wait is None:
        return replace(tried, status=DeliveryStatus.GIVEN_UP, next_attempt_at=None)
    return replace(tried, status=DeliveryStatus.FAILING, next_attempt_at=now + wait)


def resent(delivery: Delivery, now: datetime) -> Delivery:
    """Sent again at once by staff: the retry schedule starts over (the attempts so far stay in the history)."""
    return replace(delivery, status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=now, delivered_at=None)


def subscription_after(subscription: Subscription, outcome: Outcome, delivery: Delivery, now: datetime) -> Subscription:
    """A subscription's failure bookkeeping after one attempt: a success clears it; a failure starts or continues
    the failing period and sets the next probe; failing for PAUSE_AFTER or a 410 pauses it."""
    if outcome.ok:
        return replace(subscription, failing_since=None, backoff_until=None)
    if outcome.gone:
        return replace(
            subscription, state=SubscriptionState.PAUSED, paused_reason="gone", paused_at=now, backoff_until=None
        )
    since = subscription.failing_since or now
    if now - since >= PAUSE_AFTER:
        return replace(
            subscription,
            state=SubscriptionState.PAUSED,
            paused_reason="failing",
            paused_at=now,
            failing_since=since,
            backoff_until=None,
        )
    wait = delivery.next_attempt_at - now if delivery.next_attempt_at else MAX_BACKOFF
    return replace(subscription, failing_since=since, backoff_until=now + min(wait, MAX_BACKOFF))


def resumed(subscription: Subscription, now: datetime) -> Subscription:
    return replace(
        subscription,
        state=SubscriptionState.ACTIVE,
        paused_reason=None,
        paused_at=None,
        failing_since=None,
        backoff_until=None,
        updated_at=now,
    )


def paused(subscription: Subscription, now: datetime, reason: str = "admin") -> Subscription:
    return replace(subscription, state=SubscriptionState.PAUSED, paused_reason=reason, paused_at=now, updated_at=now)


# --- receiver URLs (SSRF) ----------------------------------------------------------------------------------------
def check_url(url: str, allow_loopback: bool) -> str:
    """A receiver URL as given: https (http only to loopback where loopback is allowed), a host, no credentials,
    and, when the host is a literal address, one outside the refused ranges. Names are checked again at delivery,
    after resolution (`refused_address`)."""
    parts = urlsplit(url)
    problem = None
    if parts.scheme not in ("https", "http"):
        problem = "must be an https URL"
    elif not parts.hostname:
        problem = "must name a host"
    elif parts.username or parts.password:
        problem = "must not carry credentials"
    elif parts.fragment:
        problem = "must not carry a fragment"
    else:
        try:
            parts.port  # noqa: B018 - raises for a port out of range
        except ValueError:
            problem = "has an invalid port"
    if problem is None and parts.hostname:
        host = parts.hostname
        literal = _literal_address(host)
        loopback_name = host == "localhost" or host.endswith(".localhost")
        if literal is not None:
            problem = refused_address(str(literal), allow_loopback)
        elif loopback_name and not allow_loopback:
            problem = "points at this machine (loopback)"
        if problem is None and parts.scheme == "http":
            is_loopback = loopback_name or (literal is not None and literal.is_loopback)
            if not (allow_loopback and is_loopback):
                problem = "must be an https URL (http only for loopback in local runs)"
    if problem:
        raise InvalidInput(f"The webhook URL {problem}.", {"fields": {"url": problem}})
    return url


def _literal_address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def refused_address(address: str, allow_loopback: bool) -> str | None:
    """Why a resolved address may not receive webhooks (None: it may): private ranges, loopback (unless allowed
    for local runs), link-local (cloud metadata at 169.254.169.254), multicast, reserved and unspecified."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return None if allow_loopback else "points at this machine (loopback)"
    if ip.is_link_local:
        return "points at a link-local address (cloud metadata)"
    if ip.is_private or ip.is_reserved or ip.is_multicast or ip.is_unspecified or not ip.is_global:
        return "points inside a private network"
    return None


def check_events(events: Sequence[str]) -> tuple[str, ...]:
    unknown = sorted(set(events) - set(EVENT_TYPES))
    if unknown:
        raise InvalidInput(
            f"Unknown event types: {', '.join(unknown)}.", {"fields": {"events": unknown}, "known": list(EVENT_TYPES)}
        )
    return tuple(dict.fromkeys(events))
