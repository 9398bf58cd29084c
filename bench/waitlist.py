"""Waitlist refill time: W patients waiting for one doctor's day, C of its visits cancelled at once. The appointments
table's stream on DynamoDB Local feeds the same offer consumer the Lambda runs (make run's poller, every 0.1 s).
Reported: per freed time, the wall time from its cancellation's commit to its offer being written (hold taken,
entry offered, message sent), as median, p95 and max; the stream batches; and DynamoDB calls per offer."""

from __future__ import annotations

import statistics
import threading
import time
from collections import Counter
from datetime import date, timedelta
from datetime import time as wall
from typing import Any

from bench.common import tables_of
from chalicelib.container import Container
from chalicelib.domain.appointments import AppointmentType
from chalicelib.domain.identity import Caller, Role

GOAL_SECONDS = 5.0
"""The goal under `make run`: the first offer within 5 s of the cancellation."""


class Quiet:
    """A message sender that only counts (the bench measures the offer, not an outbox's file writes)."""

    def __init__(self) -> None:
        self.sent = 0

    def send(self, reminder: Any, appointment: Any, endpoints: Any) -> Any:
        self.sent += 1


def bench_refill(
    wired: Container, doctor_id: str, day: date, waiting: int, cancelled: int, request: Any
) -> dict[str, Any]:
    from chalicelib.api.waitlist import offer_records
    from chalicelib.services.waitlist import JoinRequest
    from infra.local.webhooks_local import RecordPoller

    admin = Caller("bench-admin", Role.ADMIN)
    quiet = Quiet()
    wired.waitlist._sender = quiet
    bookers = [f"bench-b{i}" for i in range(cancelled)]
    for who in bookers:
        wired.sign_in.record(Caller(who, Role.PATIENT))
    # two days of visits (08:00 on), so any number up to 60 fits the doctor's hours
    visits = [
        wired.booking.book(
            admin, request(doctor_id, day + timedelta(days=i // 30), wall(8 + (i % 30) // 2, 30 * (i % 2)), who)
        ).appointment
        for i, who in enumerate(bookers)
    ]
    for i in range(waiting):
        wired.clock.current += timedelta(milliseconds=10)  # type: ignore[attr-defined]
        waiter = Caller(f"bench-w{i}", Role.PATIENT, email=f"w{i}@example.org", email_verified=True)
        last = day + timedelta(days=1)
        wired.waitlist.join(waiter, JoinRequest(doctor_id, day, last, AppointmentType.IN_PERSON, {"email": True}))

    counts: Counter[str] = Counter()

    def tally(model: Any, **_: Any) -> None:
        if threading.current_thread() is not threading.main_thread():
            counts[model.name] += 1

    for client in tables_of(wired).botocore_clients():
        client.meta.events.register("before-call.dynamodb.*", tally)
    offered_at: dict[str, float] = {}
    batches = {"n": 0}

    def consume(records: list[Any]) -> None:
        report = offer_records(records)
        batches["n"] += 1
        if report["offered"]:
            stamp = time.perf_counter()
            for record in records:
                old = (record.get("dynamodb") or {}).get("OldImage") or {}
                source = old.get("id", {}).get("S")
                if source and source not in offered_at:
                    offered_at[source] = stamp

    settings = wired.settings
    stopped = threading.Event()
    poller = RecordPoller(str(settings.dynamodb_endpoint), settings.appointments_table, consume, 0.1)
    poller.stopped = stopped
    poller.start()
    time.sleep(1.0)  # the poller has found the stream's shards
    cancelled_at: dict[str, float] = {}
    for visit in visits:
        # from the moment the cancel is asked for: the stream's consumer can offer the time before cancel() returns
        # (its bookkeeping after the commit), and a stamp taken after it made such a lag negative
        cancelled_at[visit.id] = time.perf_counter()
        wired.booking.cancel(admin, visit.id)
    deadline = time.monotonic() + 120
    while len(offered_at.keys() & cancelled_at.keys()) < len(visits) and time.monotonic() < deadline:
        time.sleep(0.05)
    stopped.set()
    poller.join(timeout=5)
    lags = sorted(offered_at[v] - cancelled_at[v] for v in cancelled_at if v in offered_at)
    offers = sum(1 for e in wired.waitlist.entries(admin, doctor_id) if e.offer is not None)
    return {
        "waiting": waiting,
        "cancelled": cancelled,
        "offered": offers,
        "messages": quiet.sent,
        "refill_median_s": round(statistics.median(lags), 3) if lags else None,
        "refill_p95_s": round(lags[int(0.95 * (len(lags) - 1))], 3) if lags else None,
        "refill_max_s": round(lags[-1], 3) if lags else None,
        "first_offer_s": round(lags[0], 3) if lags else None,
        "goal_first_offer_s": GOAL_SECONDS,
        "stream_batches": batches["n"],
        "dynamodb_calls_per_offer": round(sum(counts.values()) / offers, 1) if offers else None,
    }
