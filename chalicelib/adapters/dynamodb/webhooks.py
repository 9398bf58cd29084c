"""Webhook subscriptions and deliveries in DynamoDB (tables and keys in `models.py`), and the stream records of the
appointments and reminders tables read back as domain objects for the fan-out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pynamodb.exceptions import DoesNotExist, PutError, UpdateError
from pynamodb.expressions.update import Action

from chalicelib.adapters.dynamodb.errors import condition_failed, translated_errors
from chalicelib.adapters.dynamodb.items import appointment_from, reminder_from
from chalicelib.adapters.dynamodb.models import (
    AppointmentModel,
    ReminderModel,
    Tables,
    WaitlistModel,
    WebhookDeliveryModel,
    WebhookSubscriptionModel,
)
from chalicelib.adapters.dynamodb.waitlist import ENTRY, FREED, entry_from
from chalicelib.domain.appointments import Appointment
from chalicelib.domain.reminders import Reminder
from chalicelib.domain.waitlist import Entry
from chalicelib.domain.webhooks import Delivery, DeliveryStatus, SigningSecret, Subscription, SubscriptionState

DUE = "due"


def _when(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def _sortable(value: datetime) -> str:
    """Sortable UTC text with microseconds (index keys compare as text)."""
    return value.astimezone(UTC).isoformat(timespec="microseconds")


class DynamoWebhookStore:
    def __init__(self, tables: Tables) -> None:
        self._subs = tables.webhook_subscriptions
        self._deliveries = tables.webhook_deliveries

    # --- subscriptions -------------------------------------------------------------------------------------------
    def _sub_item(self, s: Subscription) -> WebhookSubscriptionModel:
        return self._subs(
            id=s.id,
            url=s.url,
            events=list(s.events),
            state=s.state.value,
            secrets=[
                {"secret": x.secret, "expiresAt": _sortable(x.expires_at) if x.expires_at else None} for x in s.secrets
            ],
            created_at=_sortable(s.created_at),
            updated_at=_sortable(s.updated_at),
            description=s.description,
            doctor_id=s.doctor_id,
            location=s.location,
            include_reason=s.include_reason,
            failing_since=_sortable(s.failing_since) if s.failing_since else None,
            backoff_until=_sortable(s.backoff_until) if s.backoff_until else None,
            paused_reason=s.paused_reason,
            paused_at=_sortable(s.paused_at) if s.paused_at else None,
        )

    @staticmethod
    def _sub_from(item: WebhookSubscriptionModel) -> Subscription:
        return Subscription(
            id=item.id,
            url=item.url,
            events=tuple(item.events or ()),
            state=SubscriptionState(item.state),
            secrets=tuple(SigningSecret(x["secret"], _when(x.get("expiresAt"))) for x in (item.secrets or [])),
            created_at=datetime.fromisoformat(item.created_at),
            updated_at=datetime.fromisoformat(item.updated_at),
            description=item.description,
            doctor_id=item.doctor_id,
            location=item.location,
            include_reason=bool(item.include_reason),
            failing_since=_when(item.failing_since),
            backoff_until=_when(item.backoff_until),
            paused_reason=item.paused_reason,
            paused_at=_when(item.paused_at),
        )

    def add_subscription(self, subscription: Subscription) -> None:
        with translated_errors():
            self._sub_item(subscription).save(condition=self._subs.id.does_not_exist())

    def put_subscription(self, subscription: Subscription) -> None:
        with translated_errors():
            self._sub_item(subscription).save()

    def get_subscription(self, subscription_id: str) -> Subscription | None:
        with translated_errors():
            try:
                return self._sub_from(self._subs.get(subscription_id))
            except DoesNotExist:
                return None

    def list_subscriptions(self) -> list[Subscription]:
        with translated_errors():
            return [self._sub_from(i) for i in self._subs.all_index.query("subscription")]

    def update_health(self, subscription: Subscription) -> None:
        m = self._subs
        s = subscription
        actions: list[Action] = [m.state.set(s.state.value)]
        for attr, value in (
            (m.failing_since, _sortable(s.failing_since) if s.failing_since else None),
            (m.backoff_until, _sortable(s.backoff_until) if s.backoff_until else None),
            (m.paused_reason, s.paused_reason),
            (m.paused_at, _sortable(s.paused_at) if s.paused_at else None),
        ):
            actions.append(attr.set(value) if value is not None else attr.remove())
        with translated_errors():
            try:
                m(id=s.id).update(actions=actions, condition=m.id.exists())
            except UpdateError as exc:
                if not condition_failed(exc):
                    raise

    def delete_subscription(self, subscription_id: str) -> None:
        with translated_errors():
            self._subs(id=subscription_id).delete()

    # --- deliveries ----------------------------------------------------------------------------------------------
    def _delivery_item(self, d: Delivery) -> WebhookDeliveryModel:
        return self._deliveries(
            subscription_id=d.subscription_id,
            id=d.id,
            event_id=d.event_id,
            type=d.type,
            appointment_id=d.appointment_id,
            body=d.body,
            created_at=_sortable(d.created_at),
            sequence=d.sequence,
            status=d.status.value,
            attempts=d.attempts,
            last_status_code=d.last_status_code,
            last_error=d.last_error,
            last_attempt_at=_sortable(d.last_attempt_at) if d.last_attempt_at else None,
            next_attempt_at=_sortable(d.next_attempt_at) if d.next_attempt_at else None,
            due=DUE if d.next_attempt_at and not d.finished else None,
            delivered_at=_sortable(d.delivered_at) if d.delivered_at else None,
            history=[
                {**h, "at": _sortable(h["at"]) if isinstance(h.get("at"), datetime) else h.get("at")} for h in d.history
            ]
            or None,
            expires_at=int(d.expires_at.timestamp()),
        )

    @staticmethod
    def _delivery_from(item: WebhookDeliveryModel) -> Delivery:
        return Delivery(
            subscription_id=item.subscription_id,
            id=item.id,
            event_id=item.event_id,
            type=item.type,
            appointment_id=item.appointment_id,
            body=item.body,
            created_at=datetime.fromisoformat(item.created_at),
            expires_at=datetime.fromtimestamp(int(item.expires_at), UTC),
            sequence=int(item.sequence) if item.sequence is not None else None,
            status=DeliveryStatus(item.status),
            attempts=int(item.attempts or 0),
            last_status_code=int(item.last_status_code) if item.last_status_code is not None else None,
            last_error=item.last_error,
            last_attempt_at=_when(item.last_attempt_at),
            next_attempt_at=_when(item.next_attempt_at),
            delivered_at=_when(item.delivered_at),
            history=tuple(
                {**h, "at": _when(h["at"]) if isinstance(h.get("at"), str) else h.get("at")} for h in item.history or []
            ),
        )

    def add_delivery(self, delivery: Delivery) -> bool:
        m = self._deliveries
        with translated_errors():
            try:
                self._delivery_item(delivery).save(condition=m.id.does_not_exist())
                return True
            except PutError as exc:
                if condition_failed(exc):
                    return False
                raise

    def put_delivery(self, delivery: Delivery) -> None:
        with translated_errors():
            self._delivery_item(delivery).save()

    def get_delivery(self, subscription_id: str, delivery_id: str) -> Delivery | None:
        with translated_errors():
            try:
                return self._delivery_from(self._deliveries.get(subscription_id, delivery_id))
            except DoesNotExist:
                return None

    def deliveries(
        self, subscription_id: str, since_key: str | None = None, limit: int = 100, newest_first: bool = True
    ) -> list[Delivery]:
        m = self._deliveries
        condition = m.id >= since_key if since_key else None
        with translated_errors():
            items = m.query(subscription_id, condition, scan_index_forward=not newest_first, limit=limit)
            return [self._delivery_from(i) for i in items]

    def due(self, now: datetime, limit: int) -> list[tuple[str, str]]:
        m = self._deliveries
        with translated_errors():
            items = m.due_index.query(DUE, m.next_attempt_at <= _sortable(now), limit=limit)
            return [(i.subscription_id, i.id) for i in items]

    def claim(self, subscription_id: str, delivery_id: str, now: datetime, until: datetime) -> Delivery | None:
        m = self._deliveries
        item = m(subscription_id=subscription_id, id=delivery_id)
        with translated_errors():
            try:
                item.update(
                    actions=[m.next_attempt_at.set(_sortable(until))],
                    condition=m.due.exists() & (m.next_attempt_at <= _sortable(now)),
                )
            except UpdateError as exc:
                if condition_failed(exc):
                    return None
                raise
        return self._delivery_from(item)


# --- the stream's records, read back --------------------------------------------------------------------------------
@dataclass(frozen=True)
class StreamChange:
    sequence: str
    kind: str
    """`appointment`, `reminder`, `waitlist` (an entry) or `freed` (the waitlist's log of a freed time: no
    event)."""
    old: Appointment | Reminder | Entry | None
    new: Appointment | Reminder | Entry | None
    created: float | None
    """The record's ApproximateCreationDateTime (epoch seconds), when present."""


def stream_change(record: Any) -> StreamChange:
    """One stream record of the appointments, reminders or waitlist table as domain objects (raises on anything
    else). A waitlist item is told by its `kind` attribute (`entry` or `freed`), which the others do not carry."""
    if not isinstance(record, dict) or not isinstance(record.get("dynamodb"), dict):
        raise TypeError("not a stream record")
    change = record["dynamodb"]
    keys = change.get("Keys") or {}
    old = change.get("OldImage")
    new = change.get("NewImage")
    waitlist_kind = ((new or old or {}).get("kind") or {}).get("S")
    model: Any = ReminderModel if "appointment_id" in keys else AppointmentModel
    convert: Any = reminder_from if model is ReminderModel else appointment_from
    kind = "reminder" if model is ReminderModel else "appointment"
    if waitlist_kind in (ENTRY, FREED):
        model, convert, kind = WaitlistModel, entry_from, ("waitlist" if waitlist_kind == ENTRY else "freed")
        if waitlist_kind == FREED:
            old = new = None
    created = change.get("ApproximateCreationDateTime")
    stamp = created.timestamp() if hasattr(created, "timestamp") else (float(created) if created else None)
    return StreamChange(
        sequence=str(change.get("SequenceNumber") or ""),
        kind=kind,
        old=convert(model.from_raw_data(old)) if old else None,
        new=convert(model.from_raw_data(new)) if new else None,
        created=stamp,
    )
