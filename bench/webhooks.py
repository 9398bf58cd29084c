"""Webhook delivery under load: N bookings, 5 subscribers on loopback, one of them down (nothing listens on its
port: every attempt is refused at once). The appointments table's stream on DynamoDB Local feeds the same fan-out
the Lambda runs (make run's poller), and one sender thread does what the SQS-fed sender does. Reported: the
healthy subscribers' delivery lag (booking committed -> request arrived), events per second, and calls per event
(DynamoDB calls of the fan-out and the sender, and HTTP posts). The bookings come at a fixed rate, `RATE` a second,
so the lag measures delivery: as fast as the booking path allows, they outran the one sender (about 16 bookings'
deliveries a second here) and the lag measured the backlog, which grew whenever booking got faster."""

from __future__ import annotations

import socket
import statistics
import threading
import time
from collections import Counter
from datetime import date, timedelta
from datetime import time as wall
from typing import Any

from bench.common import tables_of
from chalicelib.container import Container
from chalicelib.domain.identity import Caller, Role
from tests.webhook_receiver import Receiver

RATE = 12.0
"""Bookings a second: below what the one in-process sender delivers to four receivers on this machine."""
LAG_BOUND_SECONDS = 10.0
"""The stated bound on a healthy subscriber's delivery lag (stream poll + fan-out + one in-process sender) on the
2-core machine, DynamoDB Local sharing its cores; the one down subscriber must not move it."""


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def count_calls_off_the_main_thread(wired: Container, counts: Counter[str]) -> None:
    """DynamoDB calls of the fan-out and the sender (their threads), not of the bookings (the main thread)."""

    def tally(model: Any, **_: Any) -> None:
        if threading.current_thread() is not threading.main_thread():
            counts[model.name] += 1

    for client in tables_of(wired).botocore_clients():
        client.meta.events.register("before-call.dynamodb.*", tally)


def _subscribers(wired: Container) -> tuple[list[Receiver], Any]:
    """Four receivers that answer at once, and one subscription whose port has nothing listening."""
    wired.webhooks.allow_loopback = True
    receivers = [Receiver().__enter__() for _ in range(4)]
    for r in receivers:
        r.secrets.append(wired.webhooks.create(r.url, ["appointment.booked"]).secrets[0].secret)
    down = wired.webhooks.create(f"http://127.0.0.1:{_closed_port()}/hook", ["appointment.booked"])
    return receivers, down


def bench_webhooks(wired: Container, doctor_id: str, bookings: int, request: Any) -> dict[str, Any]:
    from chalicelib.api.webhooks import fan_out_records, run_webhook_sweep
    from infra.local.webhooks_local import RecordPoller

    counts: Counter[str] = Counter()
    count_calls_off_the_main_thread(wired, counts)
    receivers, down = _subscribers(wired)

    settings = wired.settings
    stopped = threading.Event()
    spent: dict[str, float] = {"fan_out_s": 0.0, "send_s": 0.0, "stream_batches": 0}

    def fan_out(records: list[Any]) -> None:
        began = time.perf_counter()
        fan_out_records(records)
        spent["fan_out_s"] += time.perf_counter() - began
        spent["stream_batches"] += 1

    poller = RecordPoller(str(settings.dynamodb_endpoint), settings.appointments_table, fan_out, 0.1)
    poller.stopped = stopped
    poller.start()
    sent = {"posts": 0}

    def send_loop() -> None:
        while not stopped.wait(0.05):
            began = time.perf_counter()
            report = run_webhook_sweep()
            spent["send_s"] += time.perf_counter() - began
            sent["posts"] += int(report.get("attempted", 0))

    sender = threading.Thread(target=send_loop, daemon=True)
    sender.start()
    committed: dict[str, float] = {}
    counts.clear()
    started = time.monotonic()
    day0 = date(2027, 1, 4)
    for n in range(bookings):  # 40 half-hour visits a day, each by its own patient
        ahead = started + n / RATE - time.monotonic()
        if ahead > 0:
            time.sleep(ahead)
        day = day0 + timedelta(days=n // 40)
        at = wall(2 + (n % 40) // 2, (n % 2) * 30)
        patient = f"bench-wh-{n}"
        made = wired.booking.book(Caller(patient, Role.PATIENT), request(doctor_id, day, at, patient)).appointment
        committed[made.id] = time.monotonic()
    booked_in = time.monotonic() - started
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and min(len(r.got) for r in receivers) < bookings:
        time.sleep(0.2)
    finished = time.monotonic() - started
    stopped.set()
    sender.join(timeout=5)
    lags = [got.at - committed[got.message["data"]["id"]] for r in receivers for got in r.got]
    delivered = sum(len(r.got) for r in receivers)
    down_log = wired.webhooks.deliveries(down.id, limit=100)
    for r in receivers:
        r.__exit__()
    events = bookings
    dynamodb_calls = sum(counts.values())
    return {
        "bookings": bookings,
        "subscribers": 5,
        "down_subscribers": 1,
        "delivered_to_healthy": delivered,
        "expected_to_healthy": 4 * bookings,
        "all_signatures_verified": all(g.verified for r in receivers for g in r.got),
        "healthy_lag_p50_s": round(statistics.median(lags), 3) if lags else None,
        "healthy_lag_p95_s": round(statistics.quantiles(lags, n=20)[18], 3) if len(lags) > 20 else None,
        "healthy_lag_max_s": round(max(lags), 3) if lags else None,
        "lag_bound_s": LAG_BOUND_SECONDS,
        "bookings_per_s": round(bookings / booked_in, 1),
        "booking_rate_cap_per_s": RATE,
        "events_delivered_per_s": round(delivered / finished, 1),
        "http_posts": sent["posts"],
        "attempts_at_the_down_subscriber": sum(d.attempts for d in down_log),
        "dynamodb_calls_per_event": round(dynamodb_calls / events, 2),
        "http_posts_per_event": round(sent["posts"] / events, 2),
        "dynamodb_calls_by_operation": dict(counts),
        "busy_s": {name: round(value, 2) for name, value in spent.items()},
    }
