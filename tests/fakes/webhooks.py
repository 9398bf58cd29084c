"""In-memory webhook store with the DynamoDB adapter's conditional semantics (the contract suite runs both)."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import datetime

from chalicelib.domain.webhooks import Delivery, Subscription


class InMemoryWebhookStore:
    def __init__(self) -> None:
        self.subscriptions: dict[str, Subscription] = {}
        self.delivery_items: dict[tuple[str, str], Delivery] = {}
        self._lock = threading.Lock()

    def add_subscription(self, subscription: Subscription) -> None:
        with self._lock:
            if subscription.id in self.subscriptions:
                raise ValueError("exists")
            self.subscriptions[subscription.id] = subscription

    def get_subscription(self, subscription_id: str) -> Subscription | None:
        return self.subscriptions.get(subscription_id)

    def list_subscriptions(self) -> list[Subscription]:
        return sorted(self.subscriptions.values(), key=lambda s: s.created_at)

    def put_subscription(self, subscription: Subscription) -> None:
        self.subscriptions[subscription.id] = subscription

    def update_health(self, subscription: Subscription) -> None:
        with self._lock:
            current = self.subscriptions.get(subscription.id)
            if current is not None:
                self.subscriptions[subscription.id] = replace(
                    current,
                    state=subscription.state,
                    failing_since=subscription.failing_since,
                    backoff_until=subscription.backoff_until,
                    paused_reason=subscription.paused_reason,
                    paused_at=subscription.paused_at,
                )

    def delete_subscription(self, subscription_id: str) -> None:
        self.subscriptions.pop(subscription_id, None)

    def add_delivery(self, delivery: Delivery) -> bool:
        with self._lock:
            key = (delivery.subscription_id, delivery.id)
            if key in self.delivery_items:
                return False
            self.delivery_items[key] = delivery
            return True

    def get_delivery(self, subscription_id: str, delivery_id: str) -> Delivery | None:
        return self.delivery_items.get((subscription_id, delivery_id))

    def put_delivery(self, delivery: Delivery) -> None:
        self.delivery_items[delivery.subscription_id, delivery.id] = delivery

    def deliveries(
        self, subscription_id: str, since_key: str | None = None, limit: int = 100, newest_first: bool = True
    ) -> list[Delivery]:
        found = sorted(
            (
                d
                for (s, i), d in self.delivery_items.items()
                if s == subscription_id and (not since_key or i >= since_key)
            ),
            key=lambda d: d.id,
            reverse=newest_first,
        )
        return found[:limit]

    def due(self, now: datetime, limit: int) -> list[tuple[str, str]]:
        found = sorted(
            (d for d in self.delivery_items.values() if _due(d) and d.next_attempt_at and d.next_attempt_at <= now),
            key=lambda d: d.next_attempt_at or now,
        )
        return [(d.subscription_id, d.id) for d in found[:limit]]

    def claim(self, subscription_id: str, delivery_id: str, now: datetime, until: datetime) -> Delivery | None:
        with self._lock:
            found = self.delivery_items.get((subscription_id, delivery_id))
            if found is None or not _due(found) or found.next_attempt_at is None or found.next_attempt_at > now:
                return None
            claimed = replace(found, next_attempt_at=until)
            self.delivery_items[subscription_id, delivery_id] = claimed
            return claimed


def _due(delivery: Delivery) -> bool:
    """The adapter's sparse `due` attribute: an unfinished delivery with a next attempt."""
    return delivery.next_attempt_at is not None and not delivery.finished
