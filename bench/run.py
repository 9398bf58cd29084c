"""`make bench`: figures and ratios measured in one run (no timed assertions anywhere). Each benchmark that needs
DynamoDB gets a DynamoDB Local of its own (fresh tables and a fresh JVM: a table filled with 100,000 visits, or a
JVM that served one, would slow the next benchmark's transactions and decide its ratio). The run writes
bench/results/latest.json and, when it ran every benchmark at full size, the README's performance table
(bench/readme.py), with the run's date, machine and commit.

1. DynamoDB calls per operation, counted from botocore events (and proof that nothing scans).
2. Availability latency with 100,000 appointments of other doctors and days, as a ratio to an empty table.
3. Booking overhead: the service's booking as a ratio to a bare pynamodb TransactWrite of the same items.
4. Cold start: `import app` and the first request's imports as ratios to `import boto3`, timed inside fresh
   interpreters, interleaved (bench/coldstart.py); the Lambda package's size and its cold start (bench/package.py).
5. Peak memory of a process that served 1,000 requests.
6. Reminders: calls per delivered reminder, and the sweep over 10,000 due reminders as a ratio to one x 10,000;
   whether DynamoDB Local overlaps concurrent transactions at all (bench/transactions.py), and the sweep's
   concurrency where it means something: with AWS-like latency injected on every call.
7. Real-time: fan-out of one change to 1,000 WebSocket subscribers as a ratio to 1 subscriber x 1,000.
8. Telehealth: calls per room request and its latency as a ratio to the health endpoint.
9. Console: the server work behind a day of 20 doctors x 20 appointments; analytics over 30 days with 100,000
   appointments as a ratio to 1,000.
10. FHIR: a Slot search over 7 days of one schedule next to 7 REST availability reads (calls and time), and
   `Appointment/$find`.
11. Webhooks: 1,000 bookings delivered to 5 subscribers on loopback, one of them down: the others' delivery lag,
   events per second and calls per event.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from datetime import time as wall
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
os.environ.setdefault("AWS_REGION", "us-east-1")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")

from bench.common import count_dynamodb_calls  # noqa: E402
from chalicelib import container  # noqa: E402
from chalicelib.adapters.dynamodb import models  # noqa: E402
from chalicelib.adapters.dynamodb.idempotency import create_idempotency_table  # noqa: E402
from chalicelib.config import Settings  # noqa: E402
from chalicelib.domain.appointments import AppointmentType  # noqa: E402
from chalicelib.domain.identity import Caller, Role  # noqa: E402
from chalicelib.domain.schedule import Availability, WallInterval  # noqa: E402
from chalicelib.services.booking import BookingRequest  # noqa: E402
from infra.local.dynamodb_local import DynamoDBLocal  # noqa: E402

ADMIN = Caller("bench-admin", Role.ADMIN)
NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
DAY = date(2026, 12, 2)
WEEK = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


class FrozenClock:
    def __init__(self) -> None:
        self.current = NOW

    def now(self) -> datetime:
        return self.current


def wire(ddb: DynamoDBLocal, prefix: str) -> container.Container:
    import boto3

    settings = Settings.from_env(
        {
            "TABLE_PREFIX": prefix,
            "AWS_REGION": "us-east-1",
            "DYNAMODB_ENDPOINT": ddb.endpoint,
            "SCHEDULER_MODE": "none",
            "DELIVERY_MODE": "outbox",
            "OUTBOX_DIR": str(ROOT / ".data" / "bench-outbox"),
            "SIGNING_KEY": "bench-signing-key",
        }
    )
    models.create_tables(settings)
    create_idempotency_table(settings, boto3.client("dynamodb", region_name="us-east-1", endpoint_url=ddb.endpoint))
    built = container.build(settings, clock=FrozenClock())
    container.use(built)
    return built


def all_clients(wired: container.Container) -> list[Any]:
    clients: list[Any] = wired.store.botocore_clients()  # type: ignore[attr-defined]
    return clients


class CallCounter:
    """Counts DynamoDB API calls by operation on every client the app uses (botocore before-call events)."""

    def __init__(self, wired: container.Container) -> None:
        self.counts: Counter[str] = Counter()
        count_dynamodb_calls(all_clients(wired), self.counts)

    def measure(self, action: Any) -> dict[str, int]:
        self.counts.clear()
        action()
        return {name.removeprefix("dynamodb:"): n for name, n in self.counts.items()}


def doctor(wired: container.Container, name: str = "Dr. Bench", max_per_day: int = 500) -> str:
    hours = {d: (WallInterval(wall(0), wall(23, 55)),) for d in WEEK}
    av = Availability(working_hours=hours, max_patients_per_day=max_per_day, appointment_duration=30)
    return wired.doctors.register(name, "GP", "Room 1", "America/New_York", True, "custom", av).id


def request(doctor_id: str, day: date, at: wall, patient: str, duration: int = 30) -> BookingRequest:
    return BookingRequest(doctor_id, day, at, AppointmentType.IN_PERSON, "bench", patient_id=patient, duration=duration)


def timed(action: Any, repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        samples.append(time.perf_counter() - start)
    return samples


def ms(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1000, 2)


# --- 1. calls per operation ------------------------------------------------------------------------------------
def bench_calls(ddb: DynamoDBLocal) -> dict[str, Any]:
    wired = wire(ddb, "bench-calls")
    counter = CallCounter(wired)
    doc = doctor(wired)
    booking = wired.booking
    queries = wired.booking_queries
    out: dict[str, Any] = {}
    made: list[Any] = []
    wired.sign_in.record(Caller("p1", Role.PATIENT))  # staff book patients of the directory
    out["book"] = counter.measure(
        lambda: made.append(booking.book(ADMIN, request(doc, DAY, wall(10), "p1")).appointment)
    )
    # a hold costs what a booking does: one transaction (and the doctor's read; the day's busy times only for a
    # doctor with any); booking it, one more
    from chalicelib.services.booking import HoldBooking, HoldRequest

    hold_at = HoldRequest(doc, DAY, wall(13), AppointmentType.IN_PERSON, patient_id="p1")
    held: list[Any] = []
    out["hold"] = counter.measure(lambda: held.append(booking.hold(ADMIN, hold_at)))
    out["book_hold"] = counter.measure(lambda: booking.book_hold(ADMIN, HoldBooking(held[0].id, reason="bench")))
    released = booking.hold(ADMIN, dataclasses.replace(hold_at, time=wall(15)))
    out["release_hold"] = counter.measure(lambda: booking.release_hold(ADMIN, released.id))
    out["availability"] = counter.measure(lambda: queries.availability(doc, DAY, None))
    out["get"] = counter.measure(lambda: queries.get(ADMIN, made[0].id))
    out["reschedule"] = counter.measure(lambda: booking.reschedule(ADMIN, made[0].id, DAY, wall(11)))
    out["cancel"] = counter.measure(lambda: booking.cancel(ADMIN, made[0].id))
    from chalicelib.services.booking import ListFilter

    out["list_for_doctor"] = counter.measure(lambda: queries.list_for_doctor(ADMIN, doc, ListFilter()))
    out["search_doctors"] = counter.measure(lambda: wired.doctors.search(q="bench"))
    out["scans_in_all_of_the_above"] = 0  # replaced below from the running total
    total: Counter[str] = Counter()
    for value in out.values():
        if isinstance(value, dict):
            total.update(value)
    out["scans_in_all_of_the_above"] = total.get("Scan", 0)
    return out


# --- 2. availability with 100,000 other appointments -------------------------------------------------------------
def fill(ddb: DynamoDBLocal, settings: Settings, count: int) -> float:
    """Write `count` 5-minute appointments of 200 other doctors over 365 days, each with its doctor lock and
    patient lock, and each doctor-day's counter once, at its final count, with BatchWriteItem (the same item shapes
    the store writes)."""
    import boto3

    from chalicelib.adapters.dynamodb import keys

    client = boto3.client("dynamodb", region_name="us-east-1", endpoint_url=ddb.endpoint)
    start_day = date(2027, 1, 1)

    def items(i: int) -> list[tuple[str, dict[str, Any]]]:
        doctor_id = f"other-{i % 200}"
        day = start_day + timedelta(days=(i // 200) % 365)
        slot = (i // (200 * 365)) % 200
        starts = datetime.combine(day, wall(0), tzinfo=UTC) + timedelta(minutes=5 * slot)
        appointment_id = f"bench-{i}"
        s = keys.instant(starts)
        made: list[tuple[str, dict[str, Any]]] = [
            (
                settings.appointments_table,
                {
                    "id": {"S": appointment_id},
                    "doctor_id": {"S": doctor_id},
                    "patient_id": {"S": f"pt-{i}"},
                    "starts_at": {"S": s},
                    "ends_at": {"S": keys.instant(starts + timedelta(minutes=5))},
                    "date": {"S": day.isoformat()},
                    "time": {"S": starts.strftime("%H:%M")},
                    "status": {"S": "scheduled"},
                    "duration": {"N": "5"},
                    "type": {"S": "in-person"},
                    "reason": {"S": "x"},
                    "version": {"N": "1"},
                },
            ),
            (
                settings.schedule_table,
                {
                    "pk": {"S": keys.doctor_day_pk(doctor_id, day)},
                    "sk": {"S": keys.slot_sk(starts)},
                    "appointment_id": {"S": appointment_id},
                },
            ),
            (
                settings.schedule_table,
                {
                    "pk": {"S": keys.patient_day_pk(f"pt-{i}", starts)},
                    "sk": {"S": keys.slot_sk(starts)},
                    "appointment_id": {"S": appointment_id},
                },
            ),
        ]
        if i + 200 * 365 >= count:  # the doctor-day's last appointment: its counter, written once
            made.append(
                (
                    settings.schedule_table,
                    {
                        "pk": {"S": keys.doctor_day_pk(doctor_id, day)},
                        "sk": {"S": keys.COUNTER_SK},
                        "booked": {"N": str(slot + 1)},
                    },
                )
            )
        return made

    def write(chunk: range) -> None:
        batch: list[tuple[str, dict[str, Any]]] = []
        for i in chunk:
            batch.extend(items(i))
        for at in range(0, len(batch), 25):
            request: dict[str, list[dict[str, Any]]] = {}
            for table, item in batch[at : at + 25]:
                request.setdefault(table, []).append({"PutRequest": {"Item": item}})
            while request:
                request = client.batch_write_item(RequestItems=request).get("UnprocessedItems") or {}

    started = time.perf_counter()
    chunks = [range(n, min(n + 500, count)) for n in range(0, count, 500)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(write, chunks))
    return time.perf_counter() - started


def bench_availability(ddb: DynamoDBLocal, appointments: int, repeat: int) -> dict[str, Any]:
    wired = wire(ddb, "bench-avail")
    doc = doctor(wired)
    for n, at in enumerate((wall(9), wall(10, 30), wall(14))):
        wired.sign_in.record(Caller(f"p{n}", Role.PATIENT))
        wired.booking.book(ADMIN, request(doc, DAY, at, f"p{n}"))
    read = lambda: wired.booking_queries.availability(doc, DAY, None)  # noqa: E731
    timed(read, 500)  # warm up DynamoDB Local's JIT, so the baseline is not its cold start
    empty = timed(read, repeat)
    fill_seconds = fill(ddb, wired.settings, appointments)
    timed(read, 100)
    full = timed(read, repeat)
    return {
        "other_appointments": appointments,
        "fill_seconds": round(fill_seconds, 1),
        "empty_median_ms": ms(empty),
        "full_median_ms": ms(full),
        "ratio_full_to_empty": round(statistics.median(full) / statistics.median(empty), 3),
        "goal": "<= 1.3",
    }


# --- 3. booking overhead -----------------------------------------------------------------------------------------
def bench_booking(ddb: DynamoDBLocal, repeat: int) -> dict[str, Any]:
    from bench.common import tables_of
    from chalicelib.adapters.dynamodb import active_limit
    from chalicelib.adapters.dynamodb import changes as store
    from chalicelib.adapters.dynamodb.items import doctor_locks, patient_locks
    from chalicelib.adapters.dynamodb.transaction import Transaction
    from chalicelib.domain.audit import audit_of

    wired = wire(ddb, "bench-book")
    doc = doctor(wired)
    tables = tables_of(wired)
    slots = [(DAY + timedelta(days=d), wall(h, m)) for d in range(30) for h in range(0, 23) for m in (0, 30)]
    service_samples: list[float] = []
    bare_samples: list[float] = []
    for n in range(repeat):
        # the service: read the doctor with the patient's record (one TransactGetItems), check the rules, one
        # transaction; the doctor has no busy times (no calendar), so they are not read (`_guarded`)
        day, at = slots[2 * n]
        for who in (f"svc-{n}", f"tpl-{n}"):  # staff book patients of the directory (not timed)
            wired.sign_in.record(Caller(who, Role.PATIENT))
        start = time.perf_counter()
        wired.booking.book(ADMIN, request(doc, day, at, f"svc-{n}"))
        service_samples.append(time.perf_counter() - start)
        # bare pynamodb: the same items as the service's transaction (appointment, locks, the day's counter and
        # aggregates, audit, the patient's visit with the doctor that day, its active-booking set, the busy-times
        # guard), prepared outside the timing
        day, at = slots[2 * n + 1]
        template = wired.booking.book(ADMIN, request(doc, day, at, f"tpl-{n}")).appointment
        wired.booking.cancel(ADMIN, template.id)
        appointment = dataclasses.replace(template, id=f"bare-{n}")
        audit = audit_of(f"bare-audit-{n}", ADMIN, "booked", None, appointment, NOW)
        tx = Transaction()
        store.put_new(tx, tables, appointment)
        store.acquire(tx, doctor_locks(tables.schedule, appointment), "doctor-lock")
        store.acquire(tx, patient_locks(tables.schedule, appointment), "patient-lock")
        store.count_day(tx, tables, appointment.doctor_id, appointment.date, +1, 500, store.booked_stats(appointment))
        store.add_audit(tx, tables, audit)
        store.per_doctor_day(tx, tables, appointment, +1)
        active_limit.take(tx, tables, appointment, wired.booking.policy.max_active_bookings)
        busy_version, _ = wired.adapters.store.busy_of_day(appointment.doctor_id, day)  # 0: the service's guard
        store.busy_guard(tx, tables, appointment.doctor_id, appointment.date, busy_version)
        start = time.perf_counter()
        tx.send(tables.connection)  # one TransactWriteItems, no retry of ours
        bare_samples.append(time.perf_counter() - start)
    return {
        "bookings": repeat,
        "service_median_ms": ms(service_samples),
        "bare_transact_write_median_ms": ms(bare_samples),
        "ratio_service_to_bare": round(statistics.median(service_samples) / statistics.median(bare_samples), 3),
        "goal": "<= 1.5",
    }


# --- 6. reminders ---------------------------------------------------------------------------------------------
def bench_reminder_delivery(ddb: DynamoDBLocal, due: int) -> dict[str, Any]:
    from bench.reminders import bench_reminders

    wired = wire(ddb, "bench-rem")
    return bench_reminders(wired, all_clients(wired), doctor(wired), due)


# --- 7. real-time fan-out ------------------------------------------------------------------------------------
def bench_realtime_fanout(ddb: DynamoDBLocal, subscribers: int) -> dict[str, Any]:
    from bench.fanout import bench_fanout

    wired = wire(ddb, "bench-fan")
    return bench_fanout(wired, all_clients(wired), doctor(wired), subscribers)


# --- 8. telehealth room ---------------------------------------------------------------------------------------
def bench_telehealth_room(ddb: DynamoDBLocal, repeat: int) -> dict[str, Any]:
    from bench.telehealth import bench_room

    wired = wire(ddb, "bench-room")
    return bench_room(wired, all_clients(wired), doctor(wired), repeat)


# --- 9. console and analytics -----------------------------------------------------------------------------------
def bench_console(ddb: DynamoDBLocal) -> dict[str, Any]:
    from bench.console_analytics import bench_console_day

    wired = wire(ddb, "bench-console")
    return bench_console_day(wired, all_clients(wired), repeat=10)


def bench_analytics_ratio(ddb: DynamoDBLocal, small: int, large: int) -> dict[str, Any]:
    from bench.console_analytics import bench_analytics

    wired = wire(ddb, "bench-analytics")
    return bench_analytics(wired, all_clients(wired), small, large)


# --- 10. FHIR ---------------------------------------------------------------------------------------------------
def bench_fhir_slots(ddb: DynamoDBLocal, repeat: int) -> dict[str, Any]:
    from bench.fhir import bench_slots

    wired = wire(ddb, "bench-fhir")
    return bench_slots(wired, all_clients(wired), doctor(wired), DAY, repeat)


def bench_webhook_delivery(ddb: DynamoDBLocal, bookings: int) -> dict[str, Any]:
    """11. Webhooks: N bookings, 5 subscribers on loopback, one down (see bench/webhooks.py)."""
    from bench.webhooks import bench_webhooks

    wired = wire(ddb, "bench-webhooks")
    return bench_webhooks(wired, doctor(wired, max_per_day=500), bookings, request)


def bench_waitlist_refill(ddb: DynamoDBLocal, waiting: int, cancelled: int) -> dict[str, Any]:
    """12. Waitlist: W waiting, C cancellations; cancellation -> offer through the stream (see bench/waitlist.py)."""
    from bench.waitlist import bench_refill

    wired = wire(ddb, "bench-waitlist")
    return bench_refill(wired, doctor(wired, max_per_day=500), DAY, waiting, cancelled, request)


# --- 5. memory after 1,000 requests --------------------------------------------------------------------------------
MEMORY_SCRIPT = r"""
import json, os, resource, sys
sys.path.insert(0, os.getcwd())
from chalice.test import Client
from datetime import date, timedelta
import app as entry
from chalicelib import container
from chalicelib.adapters.dynamodb import models
from chalicelib.config import Settings
from infra.local.tokens import demo_tokens, unsigned_token
settings = Settings.from_env()
models.create_tables(settings)
import boto3
from chalicelib.adapters.dynamodb.idempotency import create_idempotency_table
create_idempotency_table(settings, boto3.client("dynamodb", endpoint_url=settings.dynamodb_endpoint))
from infra.local.seed import seed
seed(container.current())
tokens = demo_tokens()
patient = {"Authorization": tokens["patient"], "Content-Type": "application/json"}
statuses = {}
with Client(entry.app) as client:
    day = date(2027, 3, 3)
    for n in range(1000):
        if n % 10 == 0:
            hour = (8, 9, 10, 11, 13, 14, 15, 16)[(n // 40) % 8]
            body = json.dumps({"doctorId": "dr-carmen-ruiz", "date": (day + timedelta(days=7 * (n // 400))).isoformat(),
                               "time": f"{hour:02d}:{(n // 10) % 4 * 15:02d}", "type": "in-person", "reason": "x"})
            # a patient of its own per booking: one patient may book a doctor once a day
            who = {"sub": f"mem-{n}", "cognito:username": f"mem-{n}", "cognito:groups": ["patients"], "name": "Mem"}
            booker = {**patient, "Authorization": unsigned_token(who)}
            r = client.http.post("/api/appointments", headers=booker, body=body)
        elif n % 2:
            r = client.http.get(f"/api/appointments/availability/dr-ada-smith/{day.isoformat()}", headers=patient)
        else:
            r = client.http.get("/api/doctors?specialty=card", headers=patient)
        statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
print(json.dumps({"peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                  "statuses": statuses}))
"""


def bench_memory(ddb: DynamoDBLocal) -> dict[str, Any]:
    env = {**os.environ, "DYNAMODB_ENDPOINT": ddb.endpoint, "TABLE_PREFIX": "bench-mem", "MIN_NOTICE_MINUTES": "0"}
    for key in ("DOCTORS", "APPOINTMENTS", "SCHEDULE", "AUDIT", "IDEMPOTENCY"):
        env.pop(f"{key}_TABLE", None)
    done = subprocess.run(
        [sys.executable, "-c", MEMORY_SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["requests"] = 1000
    return result


def bench_reminder_sweep_with_latency(ddb: DynamoDBLocal, due: int, latency: float) -> dict[str, Any]:
    """6b. The sweep's own concurrency: every DynamoDB call and send delayed `latency` on the client."""
    from bench.reminders import bench_reminders

    wired = wire(ddb, "bench-rem-latency")
    result = bench_reminders(wired, all_clients(wired), doctor(wired), due, latency=latency)
    result["injected_latency_ms"] = round(latency * 1000, 1)
    return result


def server_pid(ddb: DynamoDBLocal) -> int | None:
    return ddb.process.pid if ddb.process else None


Benchmark = tuple[str, bool, Callable[[Any], dict[str, Any]]]


def benchmarks(args: argparse.Namespace) -> list[Benchmark]:
    """(name, needs DynamoDB Local, run): each that needs it gets a fresh one."""
    from bench.coldstart import bench_cold_start
    from bench.package import bench_package
    from bench.transactions import bench_transactions

    runs = 5 if args.quick else 15
    return [
        ("dynamodb_calls_per_operation", True, bench_calls),
        ("booking_overhead", True, lambda ddb: bench_booking(ddb, max(20, args.repeat // 2))),
        ("availability_latency", True, lambda ddb: bench_availability(ddb, args.appointments, args.repeat)),
        ("cold_start", False, lambda _: bench_cold_start(runs)),
        ("package", False, lambda _: bench_package(3)),
        ("peak_memory_1000_requests", True, bench_memory),
        (
            "dynamodb_local_transactions",
            True,
            lambda ddb: bench_transactions(ddb.endpoint, 400, 0, server_pid(ddb)),
        ),
        ("reminder_delivery", True, lambda ddb: bench_reminder_delivery(ddb, args.reminders)),
        (
            "reminder_sweep_with_latency",
            True,
            lambda ddb: bench_reminder_sweep_with_latency(ddb, max(100, args.reminders // 5), args.latency_ms / 1000),
        ),
        ("realtime_fanout", True, lambda ddb: bench_realtime_fanout(ddb, args.subscribers)),
        ("telehealth_room", True, lambda ddb: bench_telehealth_room(ddb, args.repeat)),
        ("console_day", True, bench_console),
        (
            "analytics_30_days",
            True,
            lambda ddb: bench_analytics_ratio(ddb, args.appointments // 100, args.appointments),
        ),
        ("fhir_slot_search", True, lambda ddb: bench_fhir_slots(ddb, max(20, args.repeat // 8))),
        ("webhook_delivery", True, lambda ddb: bench_webhook_delivery(ddb, args.webhook_bookings)),
        ("waitlist_refill", True, lambda ddb: bench_waitlist_refill(ddb, 200, 50)),
    ]


def run_one(needs_dynamodb: bool, run: Callable[[Any], dict[str, Any]]) -> dict[str, Any]:
    try:
        if not needs_dynamodb:
            return run(None)
        with DynamoDBLocal() as ddb:
            return run(ddb)
    except Exception as exc:  # one broken benchmark must not cost the run the others' figures
        return {"error": f"{type(exc).__name__}: {exc}"[:300]}


def main() -> int:
    from bench.readme import machine, write_readme

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--appointments", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--reminders", type=int, default=10_000, help="due reminders for the sweep benchmark")
    parser.add_argument("--latency-ms", type=float, default=10.0, help="injected per call in the latency sweep")
    parser.add_argument("--subscribers", type=int, default=1_000, help="WebSocket followers of one doctor-day")
    parser.add_argument("--webhook-bookings", type=int, default=1_000, help="bookings for the webhook benchmark")
    parser.add_argument("--only", help="run just this benchmark (a name printed by a full run)")
    parser.add_argument("--quick", action="store_true", help="small sizes, to check the benchmarks run")
    args = parser.parse_args()
    if args.quick:
        args.appointments, args.repeat, args.reminders, args.subscribers = 2_000, 20, 300, 100
        args.webhook_bookings = 100
    started = time.perf_counter()
    results: dict[str, Any] = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "run": {"machine": machine(), "quick": args.quick, "only": args.only, "seconds": {}},
    }
    for name, needs_dynamodb, run in benchmarks(args):
        if args.only and name != args.only:
            continue
        began = time.perf_counter()
        results[name] = run_one(needs_dynamodb, run)
        results["run"]["seconds"][name] = round(time.perf_counter() - began, 1)
        print(f"{name}: {json.dumps(results[name])}", flush=True)
    results["run"]["minutes"] = round((time.perf_counter() - started) / 60, 1)
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "latest.json").write_text(json.dumps(results, indent=2))
    print(f"written to {out / 'latest.json'} ({results['run']['minutes']} minutes)")
    if not args.quick and not args.only:
        write_readme(results)
        print("the README's performance table is rewritten from this run")
    return 0


if __name__ == "__main__":
    sys.exit(main())
