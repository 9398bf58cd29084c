"""Fan-out of one doctor-day change to 1,000 WebSocket subscribers, as a ratio to 1 subscriber x 1,000.

The sender is a counting stand-in for API Gateway's management API (no network here) that waits 5 ms per post
as a round trip would; the rest is our own work and DynamoDB Local: one subscribers query, one availability
read, then one post per connection, 16 at a time.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.common import count_dynamodb_calls, tables_of
from chalicelib.adapters.dynamodb.models import RealtimeModel
from chalicelib.adapters.dynamodb.subscriptions import DynamoSubscriptionStore
from chalicelib.adapters.realtime import StaticKey
from chalicelib.api.realtime import slot_changes
from chalicelib.api.schemas.realtime import live_message
from chalicelib.container import Container
from chalicelib.services.realtime import RealtimeService


class CountingSender:
    """Counts posts, and waits `latency` seconds for each, as a round trip to API Gateway would take."""

    def __init__(self, counts: Counter[str], latency: float) -> None:
        self.counts = counts
        self.latency = latency
        self._lock = threading.Lock()

    def send(self, connection_id: str, payload: str) -> None:
        with self._lock:
            self.counts["apigateway:PostToConnection"] += 1
        time.sleep(self.latency)


def follow(realtime: type[RealtimeModel], doctor_id: str, day: str, connections: list[str]) -> None:
    expires = int((datetime.now(UTC) + timedelta(hours=2)).timestamp())
    with realtime.batch_write() as batch:
        for connection_id in connections:
            batch.save(realtime(pk=f"CONN#{connection_id}", sk="META", subscriptions=1, expires_at=expires))
            batch.save(realtime(pk=f"SUB#{doctor_id}#{day}", sk=connection_id, expires_at=expires))


def record(doctor_id: str, day: str) -> dict[str, Any]:
    return {
        "eventName": "INSERT",
        "dynamodb": {
            "NewImage": {
                "doctor_id": {"S": doctor_id},
                "date": {"S": day},
                "time": {"S": "10:00"},
                "duration": {"N": "30"},
                "status": {"S": "scheduled"},
            }
        },
    }


def bench_fanout(
    wired: Container, clients: list[Any], doctor_id: str, subscribers: int, latency: float = 0.005
) -> dict[str, Any]:
    counts: Counter[str] = Counter()

    count_dynamodb_calls(clients, counts)
    service = RealtimeService(
        DynamoSubscriptionStore(tables_of(wired)),
        CountingSender(counts, latency),
        wired.booking_queries,
        StaticKey("bench"),
        wired.clock,
        encode=live_message,
    )
    day0 = wired.clock.now().date() + timedelta(days=1)

    # one subscriber per doctor-day, 50 days: the unit cost
    singles = [(day0 + timedelta(days=n)).isoformat() for n in range(50)]
    for n, day in enumerate(singles):
        follow(tables_of(wired).realtime, doctor_id, day, [f"single-{n}"])
    counts.clear()
    service.publish(slot_changes([record(doctor_id, singles[0])]))
    single_calls = dict(counts)
    samples = []
    for day in singles[1:]:
        started = time.perf_counter()
        service.publish(slot_changes([record(doctor_id, day)]))
        samples.append(time.perf_counter() - started)
    single = statistics.median(samples)

    # many subscribers of one doctor-day
    crowded = (day0 + timedelta(days=60)).isoformat()
    follow(tables_of(wired).realtime, doctor_id, crowded, [f"fan-{n}" for n in range(subscribers)])
    counts.clear()
    started = time.perf_counter()
    report = service.publish(slot_changes([record(doctor_id, crowded)]))
    fanout = time.perf_counter() - started
    fanout_calls = dict(counts)
    return {
        "subscribers": subscribers,
        "modelled_post_latency_ms": latency * 1000,
        "one_subscriber": {"calls": single_calls, "median_ms": round(single * 1000, 2)},
        "fan_out": {
            "sent": report.sent,
            "seconds": round(fanout, 3),
            "calls": fanout_calls,
            "ms_per_subscriber": round(fanout * 1000 / subscribers, 3),
        },
        "time_ratio_to_one_subscriber_times_n": round(fanout / (single * subscribers), 3),
        "calls_ratio_to_one_subscriber_times_n": round(
            sum(fanout_calls.values()) / (sum(single_calls.values()) * subscribers), 3
        ),
    }
