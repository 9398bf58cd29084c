"""Reminder delivery benchmarks against DynamoDB Local, with counting stand-ins for SES and SNS.

- calls per delivered reminder (goal: one claim, one read, one send, one final write);
- the sweep over N due reminders: time and calls, as a ratio to one dispatched reminder x N;
- with `latency`, every DynamoDB call and every send waits that long first (on the client, as a round trip to
  AWS would): DynamoDB Local answers in a few milliseconds and runs calls about one at a time, so only then
  does the ratio show whether the sweep's concurrency overlaps the waits.
"""

from __future__ import annotations

import statistics
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import time as wall
from datetime import timedelta
from typing import Any

from bench.common import count_dynamodb_calls, tables_of
from chalicelib.adapters.delivery import AwsDeliverer
from chalicelib.adapters.dynamodb.items import reminder_item
from chalicelib.adapters.dynamodb.patients import DynamoPatientRepository
from chalicelib.adapters.dynamodb.reminders import DynamoReminderStore
from chalicelib.adapters.scheduler import NoScheduler
from chalicelib.container import Container
from chalicelib.domain.appointments import AppointmentType
from chalicelib.domain.identity import Caller, Role
from chalicelib.domain.reminders import ReminderPreferences
from chalicelib.services.booking import BookingRequest
from chalicelib.services.reminders.dispatch import ReminderDispatcher, SweepPolicy
from chalicelib.services.reminders.schedules import ReminderSchedules


class CountingAws:
    """Stands in for the SES v2 and SNS clients: answers at once and counts calls by operation."""

    def __init__(self, counts: Counter[str], latency: float = 0.0) -> None:
        self.counts = counts
        self.latency = latency

    def send_email(self, **_: Any) -> dict[str, str]:
        time.sleep(self.latency)
        self.counts["ses:SendEmail"] += 1
        return {"MessageId": "m"}

    def publish(self, **_: Any) -> dict[str, str]:
        time.sleep(self.latency)
        self.counts["sns:Publish"] += 1
        return {"MessageId": "m"}


class Clock:
    def __init__(self, now: Any) -> None:
        self.current = now

    def now(self) -> Any:
        return self.current


def service_for(
    wired: Container, counts: Counter[str], clock: Clock, batch: int, latency: float = 0.0
) -> ReminderDispatcher:
    fake = CountingAws(counts, latency)
    deliverer = AwsDeliverer(wired.settings, ses=fake, sns=fake, clock=clock.now)
    reminders = DynamoReminderStore(tables_of(wired))
    return ReminderDispatcher(
        reminders,
        wired.store,
        DynamoPatientRepository(tables_of(wired)),
        deliverer,
        ReminderSchedules(NoScheduler(), reminders),
        clock,
        SweepPolicy(grace=timedelta(0), batch=batch, budget_seconds=3600),
        messages_per_day=10**9,  # thousands of reminders of one bench patient: the daily cap would stop them
        reads=reminders,  # as the container wires it: a lone dispatch reads the visit and the patient at once
    )


def delay_every_call(clients: list[Any], latency: float) -> None:
    """Each DynamoDB call waits `latency` before it is sent (botocore's before-call event; nothing patched)."""

    def wait(**_: Any) -> None:
        time.sleep(latency)

    for client in clients:
        client.meta.events.register("before-call.dynamodb.*", wait)


def bench_reminders(
    wired: Container, clients: list[Any], doctor_id: str, due: int, latency: float = 0.0
) -> dict[str, Any]:
    counts: Counter[str] = Counter()
    patient = Caller(
        "bench-patient",
        Role.PATIENT,
        email="pat@example.org",
        phone="+16175550123",
        email_verified=True,
        phone_verified=True,
    )
    first = wired.booking.book(
        patient,
        BookingRequest(
            doctor_id,
            wired.clock.now().date() + timedelta(days=2),
            wall(10),
            AppointmentType.IN_PERSON,
            "x",
            reminder_preferences=ReminderPreferences.of_stored({"email": True, "timing": "24h"}),
        ),
    ).appointment
    clock = Clock(first.starts_at - timedelta(hours=24))
    service = service_for(wired, counts, clock, due + 10, latency)
    count_dynamodb_calls(clients, counts)

    store = DynamoReminderStore(tables_of(wired))
    template = store.get(f"{first.id}_email-24h")
    assert template is not None
    overdue = clock.current - timedelta(minutes=1)

    def add_due(prefix: str, count: int) -> list[str]:
        model = tables_of(wired).reminders

        reminders = [
            replace(template, id=f"{first.id}_email-{prefix}{n}", scheduled_time=overdue, timing=f"{prefix}{n}")
            for n in range(count)
        ]
        chunks = [reminders[n : n + 500] for n in range(0, len(reminders), 500)]

        def write(chunk: list[Any]) -> None:
            with model.batch_write() as batch:
                for reminder in chunk:
                    batch.save(reminder_item(model, reminder))

        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(write, chunks))
        return [r.id for r in reminders]

    if latency:
        delay_every_call(clients, latency)  # the setup's batch writes below wait too, untimed
    # one delivered reminder at a time: calls of the first, median time of 50
    singles = add_due("s", 50)
    counts.clear()
    outcome = service.dispatch(singles[0], patient_id=template.patient_id)  # as its schedule's input names it
    per_reminder = dict(counts)
    samples = []
    for reminder_id in singles[1:]:
        started = time.perf_counter()
        service.dispatch(reminder_id, patient_id=template.patient_id)
        samples.append(time.perf_counter() - started)
    single_seconds = statistics.median(samples)

    # N due reminders at once: one sweep delivers them all
    add_due("w", due)
    counts.clear()
    started = time.perf_counter()
    report = service.sweep()
    sweep_seconds = time.perf_counter() - started
    sweep_calls = dict(counts)
    return {
        "single_dispatch": {"outcome": outcome, "calls": per_reminder, "median_ms": round(single_seconds * 1000, 2)},
        "sweep": {
            "due_reminders": due,
            "delivered": report.delivered,
            "seconds": round(sweep_seconds, 2),
            "calls": sweep_calls,
            "ms_per_reminder": round(sweep_seconds * 1000 / max(due, 1), 2),
            "ratio_to_single_dispatch_times_n": round(sweep_seconds / (single_seconds * due), 3),
            "calls_ratio_to_single_times_n": round(sum(sweep_calls.values()) / (sum(per_reminder.values()) * due), 3),
        },
    }
