"""One contract for the webhook store, run against the in-memory fake, moto and DynamoDB Local: deliveries are
written once, claimed once and only when due, listed by time, and found by the sweep's sparse index only while they
have an attempt to make; a subscription's health update never touches its URL, events or secrets."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from moto import mock_aws

from chalicelib.adapters.dynamodb import models
from chalicelib.adapters.dynamodb.webhooks import DynamoWebhookStore
from chalicelib.config import Settings
from chalicelib.domain.webhooks import (
    Delivery,
    DeliveryStatus,
    Outcome,
    SigningSecret,
    Subscription,
    SubscriptionState,
    after_attempt,
    delivery_id,
    delivery_key_since,
)
from tests.fakes.webhooks import InMemoryWebhookStore
from tests.moto_cloud import fresh_tables

NOW = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)


def store_of(kind: str, request: Any) -> Iterator[Any]:
    if kind == "memory":
        yield InMemoryWebhookStore()
    elif kind == "moto":
        with mock_aws():
            settings = Settings.from_env({"TABLE_PREFIX": "contract", "AWS_REGION": "us-east-1"})
            fresh_tables(settings)
            yield DynamoWebhookStore(models.bind(settings))
    else:
        yield DynamoWebhookStore(models.bind(request.getfixturevalue("settings")))  # DynamoDB Local, emptied


@pytest.fixture(params=["memory", "moto", "dynamodb-local"])
def store(request) -> Iterator[Any]:
    yield from store_of(request.param, request)


@pytest.fixture(params=["memory", "dynamodb-local"])
def racing_store(request) -> Iterator[Any]:
    """Conditional writes under racing threads are checked where they serialize as DynamoDB's do (not moto)."""
    yield from store_of(request.param, request)


def subscription(**changes: Any) -> Subscription:
    secrets = (SigningSecret("whsec_a"), SigningSecret("whsec_b", NOW + timedelta(hours=1)))
    base = Subscription("sub-1", "https://ehr.example/h", ("appointment.booked",), SubscriptionState.ACTIVE, secrets,
                        NOW, NOW)  # fmt: skip
    return replace(base, **changes)


def delivery(n: int = 1, at: datetime = NOW, **changes: Any) -> Delivery:
    base = Delivery("sub-1", delivery_id(at, f"evt_{n}"), f"evt_{n}", "appointment.booked", "appt-1", '{"a":1}', at,
                    at + timedelta(days=30), sequence=n, next_attempt_at=at)  # fmt: skip
    return replace(base, **changes)


def test_a_subscription_is_read_back_whole_and_health_updates_touch_nothing_else(store):
    store.add_subscription(subscription(doctor_id="d1", include_reason=True))
    assert store.get_subscription("sub-1") == subscription(doctor_id="d1", include_reason=True)
    # WHEN the sender records its failure bookkeeping from a stale copy with other events and secrets
    stale = subscription(events=("appointment.cancelled",), secrets=(SigningSecret("whsec_old"),))
    store.update_health(replace(stale, failing_since=NOW, backoff_until=NOW + timedelta(minutes=5)))
    # THEN only the health fields changed
    read = store.get_subscription("sub-1")
    assert read.failing_since == NOW and read.backoff_until == NOW + timedelta(minutes=5)
    assert read.events == ("appointment.booked",) and read.secrets == subscription().secrets
    # AND a health update of a deleted subscription does not bring it back
    store.delete_subscription("sub-1")
    store.update_health(subscription(failing_since=NOW))
    assert store.get_subscription("sub-1") is None and store.list_subscriptions() == []


def test_a_delivery_is_written_once_and_read_back_whole(store):
    first = delivery()
    assert store.add_delivery(first) is True
    assert store.add_delivery(replace(first, body="other")) is False  # a stream retry
    assert store.get_delivery("sub-1", first.id) == first


def test_a_delivery_is_claimed_once_and_only_when_due(store):
    store.add_delivery(delivery(next_attempt_at=NOW + timedelta(minutes=1)))
    d = delivery()
    assert store.claim("sub-1", d.id, NOW, NOW + timedelta(seconds=60)) is None  # not due yet
    claimed = store.claim("sub-1", d.id, NOW + timedelta(minutes=1), NOW + timedelta(minutes=2))
    assert claimed is not None and claimed.body == '{"a":1}' and claimed.next_attempt_at == NOW + timedelta(minutes=2)
    assert store.claim("sub-1", d.id, NOW + timedelta(minutes=1), NOW + timedelta(minutes=3)) is None  # leased
    # AND a delivered one is never claimed again
    store.put_delivery(after_attempt(claimed, Outcome(status_code=200), NOW, 0.0))
    assert store.claim("sub-1", d.id, NOW + timedelta(days=1), NOW + timedelta(days=2)) is None
    assert store.get_delivery("sub-1", d.id).status is DeliveryStatus.DELIVERED


def test_racing_claims_take_a_delivery_once(racing_store):
    racing_store.add_delivery(delivery())
    with ThreadPoolExecutor(max_workers=8) as pool:
        won = list(pool.map(lambda _: racing_store.claim("sub-1", delivery().id, NOW, NOW + timedelta(minutes=1)),
                            range(8)))  # fmt: skip
    assert sum(w is not None for w in won) == 1


def test_the_sweep_finds_only_deliveries_with_an_attempt_due_oldest_first(store):
    store.add_delivery(delivery(1, next_attempt_at=NOW - timedelta(minutes=1)))
    store.add_delivery(delivery(2, next_attempt_at=NOW - timedelta(minutes=5)))
    store.add_delivery(delivery(3, next_attempt_at=NOW + timedelta(minutes=5)))  # later
    store.add_delivery(delivery(4, next_attempt_at=None))  # held while paused
    done = after_attempt(delivery(5), Outcome(status_code=204), NOW, 0.0)
    store.add_delivery(done)
    assert store.due(NOW, 10) == [("sub-1", delivery(2).id), ("sub-1", delivery(1).id)]
    assert store.due(NOW, 1) == [("sub-1", delivery(2).id)]


def test_the_log_lists_newest_first_and_since_a_time(store):
    for n in range(1, 4):
        store.add_delivery(delivery(n, at=NOW + timedelta(minutes=n)))
    assert [d.sequence for d in store.deliveries("sub-1")] == [3, 2, 1]
    since = store.deliveries("sub-1", since_key=delivery_key_since(NOW + timedelta(minutes=2)), newest_first=False)
    assert [d.sequence for d in since] == [2, 3]
    assert [d.sequence for d in store.deliveries("sub-1", limit=1)] == [3]
    assert store.deliveries("sub-2") == []
