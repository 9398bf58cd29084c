"""A seeded chaos run through the app (chalice's test client, three client threads) against a DynamoDB Local of its
own that is frozen and killed while patients book, reschedule and cancel, and reminders are dispatched through a
provider that loses answers. At the end the database is read and the invariants checked: no overlapping active
visits of a doctor or of a patient, one visit per patient, doctor and day, at most one send per reminder plan and
recipient, every answer borne out by what is stored, and no 500."""

from __future__ import annotations

import json
import os
import random
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as dt_time
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from chalice.test import Client

from chalicelib import container
from chalicelib.adapters import aws
from chalicelib.adapters.delivery import AwsDeliverer
from chalicelib.adapters.dynamodb import models
from chalicelib.adapters.dynamodb.idempotency import PowertoolsIdempotency, create_idempotency_table
from chalicelib.adapters.dynamodb.items import appointment_from
from chalicelib.config import Settings
from chalicelib.domain.appointments import Appointment
from chalicelib.domain.idempotency import scoped_key
from tests.chaos import AttributingSender, FlakyDynamoDB, LossyProvider, StepClock
from tests.helpers import admin, patient

SEED = 20270301
THREADS = 3
OPS_PER_THREAD = 100
PATIENTS_PER_THREAD = 3
DOCTORS = 3
MAX_PER_DAY = 10
START = datetime(2027, 3, 1, 13, 0, tzinfo=UTC)  # Monday 08:00 in New York
STEP = timedelta(minutes=7)  # 300 operations: Monday 08:00 to Tuesday 19:00 in New York
DAYS = [date(2027, 3, 2), date(2027, 3, 3), date(2027, 3, 4)]  # Tuesday to Thursday: reminders fall due in the run
TIMES = [f"{h:02d}:{m:02d}" for h in range(9, 17) for m in (0, 30)]
CHANNELS = ("email", "sms", "push")
TIMINGS = ("24h", "2h")
TIMING_LEADS = {"24h": timedelta(hours=24), "2h": timedelta(hours=2)}
ZONE = ZoneInfo("America/New_York")
FAULTS = ("pause", "kill", "pause", "pause", "kill", "pause")
LOST_WRITE_ANSWERS = 0.02
"""The share of DynamoDB writes that land but whose answer is lost on the way back (the app sees a timeout)."""
OP_PATIENCE = 30.0
"""How long a client keeps retrying one operation (same Idempotency-Key) while the database is down."""
RUN_BUDGET = 240.0
"""Seconds the clients may take (about 45 are usual): past it they stop and the test fails, rather than hang."""
API_TIMEOUT = 6
"""The API Lambda's timeout in the test client's configuration (deployed: 29 s). A request whose idempotency
record was written but whose answer was lost leaves the record `in progress` until the Lambda's time is up, and
retries with its key get 409 meanwhile: a short timeout keeps those waits short."""


@dataclass
class Answer:
    op: int
    what: str
    status: int
    code: str | None
    retry_after: str | None


@dataclass
class Visit:
    """What the client was told about one appointment: its expected state after every answered change."""

    id: str
    """The appointment's id, once an answer told it ("" until then)."""
    patient: str
    doctor: str
    status: str
    date: str
    time: str
    undecided: bool = False
    mark: str = ""
    """The booking's Idempotency-Key scope, which the stored visit carries: how a booking never answered is found."""
    history: list[str] = field(default_factory=list)


@dataclass
class Run:
    """Everything the clients did and were told."""

    answers: list[Answer] = field(default_factory=list)
    visits: dict[str, Visit] = field(default_factory=dict)
    undecided: list[tuple[Callable[[], Any], Visit, Callable[[int, str | None, Any], None]]] = field(
        default_factory=list
    )
    lambda_outcomes: Counter[str] = field(default_factory=Counter)
    lambda_errors: Counter[str] = field(default_factory=Counter)
    seconds: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))
    """Wall time the client threads spent per kind of operation."""
    lock: threading.Lock = field(default_factory=threading.Lock)
    stop: threading.Event = field(default_factory=threading.Event)
    """Set when the run cannot go on (the faults could not be made, or it ran out of time): the clients stop."""
    broken: list[str] = field(default_factory=list)


@contextmanager
def requests_per_thread(app: Any) -> Iterator[None]:
    """Chalice keeps the current request on the app object (one request at a time, as in Lambda); the client
    threads each get their own, as `chalice local`'s threaded server does. chalice's test client also swaps
    `os.environ` per call, which threads undo in the wrong order: it is put back afterwards."""
    original_class, original_environ = app.__class__, os.environ
    local = threading.local()

    class PerThread(original_class):  # type: ignore[misc, valid-type]
        @property
        def current_request(self) -> Any:
            return getattr(local, "request", None)

        @current_request.setter
        def current_request(self, value: Any) -> None:
            local.request = value

        @property
        def lambda_context(self) -> Any:
            return getattr(local, "context", None)

        @lambda_context.setter
        def lambda_context(self, value: Any) -> None:
            local.context = value

    app.__class__ = PerThread
    try:
        yield
    finally:
        app.__class__ = original_class
        os.environ = original_environ  # noqa: B003 - the object, not its contents


@pytest.fixture
def chaos(tmp_path) -> Iterator[tuple[FlakyDynamoDB, LossyProvider, StepClock, container.Container]]:
    flaky = FlakyDynamoDB(tmp_path / "dynamodb", 0.0, SEED)
    flaky.start()
    try:
        settings = Settings.from_env(
            {
                "TABLE_PREFIX": "chaos",
                "AWS_REGION": "us-east-1",
                "DYNAMODB_ENDPOINT": flaky.endpoint,
                "SCHEDULER_MODE": "none",  # the sweep and the dispatcher Lambda deliver, as in local runs
                "SIGNING_KEY": "chaos-signing-key",
                "SNS_FCM_APPLICATION_ARN": "arn:aws:sns:us-east-1:123456789012:app/GCM/clinic",
            }
        )
        models.create_tables(settings)
        idempotency_client = aws.client("dynamodb", settings.region, endpoint_url=settings.dynamodb_endpoint)
        create_idempotency_table(settings, idempotency_client)
        clock = StepClock(START, STEP)
        provider = LossyProvider(SEED)
        # the app's deliverer on the provider's fake SES and SNS clients, its retries without waits, wrapped so the
        # provider learns which reminder each call is for
        deliverer = AwsDeliverer(settings, ses=provider.ses, sns=provider.sns, clock=clock.now, sleep=lambda _: None)
        sender = AttributingSender(deliverer, provider.current)
        built = container.build(settings, clock=clock, adapters=container.Adapters(deliverer=sender))
        built.idempotency = PowertoolsIdempotency(settings, client=idempotency_client)
        flaky.hook([*built.store.botocore_clients(), idempotency_client])  # type: ignore[attr-defined]
        container.use(built)
        yield flaky, provider, clock, built
    finally:
        container.use(None)
        flaky.unhook()
        flaky.stop()


class Clinic:
    """The clients: HTTP calls through chalice's test client, each answer recorded."""

    def __init__(self, client: Client, run: Run) -> None:
        self.client = client
        self.run = run

    def call(self, op: int, method: str, path: str, who: dict[str, str], body: Any = None, key: str | None = None):
        headers = {"Content-Type": "application/json", **who}
        if key is not None:
            headers["Idempotency-Key"] = key
        response = self.client.http.request(
            method, path, headers=headers, body=json.dumps(body).encode() if body is not None else b""
        )
        data = json.loads(response.body) if response.body else None
        code = data.get("error", {}).get("code") if isinstance(data, dict) and "error" in data else None
        what = f"{method} {path.split('/')[2] if path.count('/') > 1 else path}"
        with self.run.lock:
            self.run.answers.append(Answer(op, what, response.status_code, code, response.headers.get("Retry-After")))
        return response.status_code, code, data

    def until_decided(self, attempt: Callable[[], tuple[int, str | None, Any]], patience: float = OP_PATIENCE):
        """Retries with the same Idempotency-Key while the answer says to (503, or 409 for a request with this
        key still in progress); None if it never decided within `patience` seconds."""
        deadline = time.monotonic() + patience
        while True:
            status, code, data = attempt()
            in_progress = status == 409 and code == "CONFLICT" and "Idempotency-Key" in json.dumps(data)
            if status != 503 and not in_progress and status < 500:
                return status, code, data
            if time.monotonic() > deadline:
                return None
            time.sleep(0.3)

    def invoke(self, name: str, payload: dict[str, Any]) -> None:
        try:
            answer = self.client.lambda_.invoke(name, payload).payload
            outcome = answer.get("outcome") if name == "reminder_dispatcher" else "sweep"
            with self.run.lock:
                self.run.lambda_outcomes[f"{name}: {outcome}"] += 1
        except Exception as exc:  # the Lambda failed: its schedule (or the next sweep) runs it again
            with self.run.lock:
                self.run.lambda_errors[f"{name}: {type(exc).__name__}"] += 1


def setup_clinic(clinic: Clinic) -> tuple[list[str], list[str]]:
    doctors = []
    for n in range(DOCTORS):
        status, _, made = clinic.call(
            0,
            "POST",
            "/api/admin/doctors",
            admin(),
            {
                "name": f"Dr. Chaos {n}",
                "specialty": "GP",
                "location": f"Room {n}",
                "timezone": "America/New_York",
                "telehealth": False,
            },
        )
        assert status == 201, made
        hours = {d: [{"start": "09:00", "end": "17:00"}] for d in ("monday", "tuesday", "wednesday", "thursday")}
        availability = {"workingHours": hours, "maxPatientsPerDay": MAX_PER_DAY, "appointmentDuration": 30}
        status, _, done = clinic.call(0, "PUT", f"/api/admin/doctors/{made['id']}/availability", admin(), availability)
        assert status == 200, done
        doctors.append(made["id"])
    patients = [f"chaos-p{n}" for n in range(THREADS * PATIENTS_PER_THREAD)]
    for sub in patients:
        for device in ("a", "b"):
            status, _, done = clinic.call(
                0, "POST", "/api/patients/me/devices", who(sub), {"platform": "fcm", "token": f"tok-{sub}-{device}"}
            )
            assert status == 201, done
    return doctors, patients


def who(sub: str) -> dict[str, str]:
    return patient(sub, name=f"Pat {sub}", phone_number=f"+1617555{int(sub.removeprefix('chaos-p')):04d}")


class Worker:
    """One client thread: its own patients, so the changes to each appointment come one at a time and every
    answer can be checked against the stored state; the threads compete for the same doctors' times."""

    def __init__(self, index: int, clinic: Clinic, clock: StepClock, doctors: list[str], patients: list[str]):
        self.random = random.Random(SEED + index)
        self.clinic = clinic
        self.clock = clock
        self.doctors = doctors
        self.patients = patients
        self.mine: list[Visit] = []
        self.deadline = time.monotonic() + RUN_BUDGET

    def run(self) -> None:
        for _ in range(OPS_PER_THREAD):
            if self.clinic.run.stop.is_set():
                return
            if time.monotonic() > self.deadline:
                self.clinic.run.broken.append(f"out of time after {self.clock.ticks} operations")
                self.clinic.run.stop.set()
                return
            op = self.clock.tick()
            began = time.monotonic()
            kind = self.step(op)
            with self.clinic.run.lock:
                self.clinic.run.seconds[kind] += time.monotonic() - began

    def step(self, op: int) -> str:
        """One operation drawn from the thread's seeded random; its kind."""
        roll = self.random.random()
        booked = [v for v in self.mine if v.status != "refused" and v.id]
        changeable = [v for v in booked if v.status != "cancelled" and not v.undecided]
        if roll < 0.42 or not booked:
            self.book(op)
            return "book"
        if roll < 0.62 and changeable:
            self.reschedule(op, self.random.choice(changeable))
            return "reschedule"
        if roll < 0.72 and changeable:
            self.cancel(op, self.random.choice(changeable))
            return "cancel"
        if roll < 0.90:
            # a reminder due by now if its visit is where the client last saw it: its schedule firing
            due = [f"{v.id}_{timing}" for v in booked for timing in self.due_timings(v)]
            rid = self.random.choice(due) if due else f"{self.random.choice(booked).id}_email-24h"
            self.clinic.invoke("reminder_dispatcher", {"reminderId": rid})
            return "dispatch"
        if roll < 0.95:
            tick = self.clinic.client.events.generate_cw_event("aws.events", "Scheduled Event", {}, [], "us-east-1")
            self.clinic.invoke("reminder_sweep", tick)
            return "sweep"
        self.staff_retry(op, self.random.choice(booked))
        return "staff retry"

    def due_timings(self, visit: Visit) -> list[str]:
        start = datetime.combine(date.fromisoformat(visit.date), dt_time.fromisoformat(visit.time), tzinfo=ZONE)
        now = self.clock.now()
        return [
            f"{channel}-{timing}"
            for channel in CHANNELS
            for timing in TIMINGS
            if start - TIMING_LEADS[timing] <= now < start
        ]

    def book(self, op: int) -> None:
        sub = self.random.choice(self.patients)
        body: dict[str, Any] = {
            "doctorId": self.random.choice(self.doctors),
            "date": self.random.choice(DAYS).isoformat(),
            "time": self.random.choice(TIMES),
            "type": "in-person",
            "reason": f"chaos {op}",
            "reminderPreferences": {"email": True, "sms": True, "push": True, "timings": list(TIMINGS)},
        }
        key = f"book-{op}"
        mark = scoped_key(sub, f"POST /api/appointments|{key}")
        visit = Visit("", sub, body["doctorId"], "?", body["date"], body["time"], mark=mark)
        self.mine.append(visit)
        with self.clinic.run.lock:
            self.clinic.run.visits[mark] = visit

        def booked(status: int, code: str | None, data: Any) -> None:
            if status == 201:
                visit.id = data["id"]
                visit.status = "scheduled"
                visit.history.append(f"op {op}: booked {visit.date} {visit.time}")
            else:
                visit.status = "refused"
                visit.history.append(f"op {op}: booking refused {status} {code}")

        self.change(op, visit, "POST", "/api/appointments", who(sub), body, key, booked)

    def reschedule(self, op: int, visit: Visit) -> None:
        body = {"date": self.random.choice(DAYS).isoformat(), "time": self.random.choice(TIMES)}

        def moved(status: int, code: str | None, data: Any) -> None:
            if status == 200:
                visit.status, visit.date, visit.time = "rescheduled", body["date"], body["time"]
                visit.history.append(f"op {op}: moved to {visit.date} {visit.time}")
            else:
                visit.history.append(f"op {op}: move to {body['date']} {body['time']} refused {status} {code}")

        path = f"/api/appointments/{visit.id}/reschedule"
        self.change(op, visit, "PUT", path, who(visit.patient), body, f"move-{op}", moved)

    def cancel(self, op: int, visit: Visit) -> None:
        caller = admin() if self.random.random() < 0.25 else who(visit.patient)

        def cancelled(status: int, code: str | None, data: Any) -> None:
            if status == 200:
                visit.status = "cancelled"
                visit.history.append(f"op {op}: cancelled")
            else:
                visit.history.append(f"op {op}: cancel refused {status} {code}")

        self.change(op, visit, "DELETE", f"/api/appointments/{visit.id}", caller, None, f"cancel-{op}", cancelled)

    def change(
        self,
        op: int,
        visit: Visit,
        method: str,
        path: str,
        caller: dict[str, str],
        body: Any,
        key: str,
        answered: Callable[[int, str | None, Any], None],
    ) -> None:
        """One change, retried with its key until decided; one never decided in time is left for `settle`, and
        its visit gets no other change meanwhile."""

        def attempt() -> tuple[int, str | None, Any]:
            return self.clinic.call(op, method, path, caller, body, key)

        decided = self.clinic.until_decided(attempt)
        if decided is not None:
            answered(*decided)
            return
        visit.undecided = True
        visit.history.append(f"op {op}: {method} undecided")
        with self.clinic.run.lock:
            self.clinic.run.undecided.append((attempt, visit, answered))

    def staff_retry(self, op: int, visit: Visit) -> None:
        """The front desk retries the visit's failed reminders (without confirming unknown outcomes)."""
        status, _, listed = self.clinic.call(op, "GET", f"/api/reminders/appointment/{visit.id}", who(visit.patient))
        if status != 200:
            return
        failed = [r["id"] for r in listed["reminders"] if r["status"] == "failed"]
        if failed:
            self.clinic.call(op, "POST", "/api/admin/reminders/retry", admin(), {"reminderIds": failed})


def settle(clinic: Clinic, run: Run) -> list[str]:
    """After the faults: each undecided change retried with its own key until it gets a real answer."""
    still = []
    for attempt, visit, answered in run.undecided:
        decided = clinic.until_decided(attempt, patience=20.0)
        if decided is None:
            still.append(visit.history[-1])
            continue
        visit.undecided = False
        answered(*decided)
    return still


def inject_faults(flaky: FlakyDynamoDB, clock: StepClock, run: Run) -> None:
    """Freezes and kills spread over the run, each at an operation count drawn from the seed. If one cannot be
    made (DynamoDB Local does not come back), the clients stop instead of waiting out a dead database."""
    rng = random.Random(SEED)
    total = THREADS * OPS_PER_THREAD
    span = total // (len(FAULTS) + 1)
    plan = [(span * (n + 1) + rng.randrange(-span // 3, span // 3), kind) for n, kind in enumerate(FAULTS)]
    try:
        for at_op, kind in plan:
            while clock.ticks < at_op:
                if run.stop.wait(0.05):
                    return
            if kind == "pause":
                flaky.pause(rng.uniform(1.5, 3.5))
            else:
                flaky.kill_quietly()
    except Exception as exc:
        run.broken.append(f"fault injection failed: {exc!r}")
        run.stop.set()


def overlapping(visits: list[Appointment]) -> list[tuple[str, str]]:
    ordered = sorted(visits, key=lambda a: a.starts_at)
    return [(a.id, b.id) for a, b in pairwise(ordered) if b.starts_at < a.ends_at]


def not_as_answered(run: Run, stored: dict[str, Appointment]) -> list[tuple[Any, ...]]:
    """Visits whose stored state is not what the answers to their changes said: a 2xx change missing, a refused
    one (or a refused booking) committed."""
    mismatches: list[tuple[Any, ...]] = []
    by_mark = {a.idempotency_key: a for a in stored.values() if a.idempotency_key}
    for visit in run.visits.values():
        if visit.undecided:
            continue
        found = stored.get(visit.id) if visit.id else by_mark.get(visit.mark)
        if visit.status == "refused":
            if found is not None:  # refused, yet committed
                mismatches.append((found.id, found.status.value, found.date, found.time, visit.history))
            continue
        seen = (found.status.value, found.date, found.time) if found else None
        expected_status = {"scheduled": {"scheduled", "confirmed"}}.get(visit.status, {visit.status})
        if seen is None or seen[0] not in expected_status or seen[1:] != (visit.date, visit.time):
            mismatches.append((visit.id, seen, visit.status, visit.date, visit.time, visit.history))
    return mismatches


def left_behind(
    built: container.Container,
    run: Run,
    by_doctor: dict[str, list[Appointment]],
    offered: dict[tuple[str, date], Any],
) -> list[tuple[Any, ...]]:
    """Doctor-days whose counter, or whose free times as availability shows them, do not match their active
    visits (a lock or a count left behind by a change that half happened)."""
    leftovers: list[tuple[Any, ...]] = []
    for doctor in {v.doctor for v in run.visits.values()}:
        for day in DAYS:
            times = {a.time for a in by_doctor.get(doctor, []) if a.date == day.isoformat()}
            counted = built.store.day_state(doctor, day).booked
            if counted != len(times):
                leftovers.append((doctor, day, f"counter {counted}, active {sorted(times)}"))
            answer = offered.get((doctor, day))
            for slot in answer["slots"] if answer else []:
                if slot["available"] == (slot["time"] in times or len(times) >= MAX_PER_DAY):
                    leftovers.append((doctor, day, slot, sorted(times)))
    return leftovers


def test_chaos_run_keeps_every_invariant(chaos, tmp_path):
    flaky, provider, clock, built = chaos
    from app import app

    run = Run()
    began = time.monotonic()
    # GIVEN three doctors, nine patients each with two push devices, and a database that will be frozen and killed
    config = tmp_path / "project" / ".chalice" / "config.json"
    config.parent.mkdir(parents=True)
    config.write_text(
        json.dumps({"version": "2.0", "app_name": app.app_name, "stages": {"dev": {"lambda_timeout": API_TIMEOUT}}})
    )
    with requests_per_thread(app), Client(app, project_dir=str(config.parent.parent)) as client:
        clinic = Clinic(client, run)
        doctors, patients = setup_clinic(clinic)
        workers = [
            Worker(n, clinic, clock, doctors, patients[n * PATIENTS_PER_THREAD : (n + 1) * PATIENTS_PER_THREAD])
            for n in range(THREADS)
        ]
        flaky.lose_rate = LOST_WRITE_ANSWERS
        chaos_thread = threading.Thread(target=inject_faults, args=(flaky, clock, run), name="chaos")
        # WHEN three clients book, move, cancel and dispatch reminders while the faults strike
        chaos_thread.start()
        threads = [threading.Thread(target=w.run, name=f"client-{n}") for n, w in enumerate(workers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        run.stop.set()
        chaos_thread.join()
        flaky.lose_rate = 0.0
        still_undecided = settle(clinic, run) if not run.broken else ["not settled: the run broke off"]
        elapsed = time.monotonic() - began
        offered = {
            (doctor, day): clinic.call(0, "GET", f"/api/appointments/availability/{doctor}/{day}", admin())[2]
            for doctor in doctors
            for day in DAYS[1:]  # days still ahead at the end
        }

    # THEN the database holds no overlap, no double booking, and what every answer said
    stored = [appointment_from(item) for item in built.store.tables.appointments.scan(consistent_read=True)]
    active = [a for a in stored if a.active]
    by_doctor: dict[str, list[Appointment]] = {}
    by_patient: dict[str, list[Appointment]] = {}
    per_day: Counter[tuple[str, str, str]] = Counter()
    for a in active:
        by_doctor.setdefault(a.doctor_id, []).append(a)
        by_patient.setdefault(a.patient_id, []).append(a)
        per_day[a.patient_id, a.doctor_id, a.date] += 1
    mismatches = not_as_answered(run, {a.id: a for a in stored})
    leftovers = left_behind(built, run, by_doctor, offered)
    server_errors = [a for a in run.answers if a.status >= 500 and a.status != 503]
    busy_without_retry_after = [a for a in run.answers if a.status == 503 and not a.retry_after]

    statuses = Counter(a.status for a in run.answers)
    figures = {
        "seconds": round(elapsed, 1),
        "operations": clock.ticks,
        "http answers": dict(sorted(Counter(f"{a.status} {a.code or ''}".strip() for a in run.answers).items())),
        "lambda outcomes": dict(run.lambda_outcomes),
        "lambda errors": dict(run.lambda_errors),
        "client seconds per kind": {k: round(t, 1) for k, t in sorted(run.seconds.items(), key=lambda kv: -kv[1])},
        "appointments stored": len(stored),
        "active": len(active),
        "pauses (s)": [round(p, 1) for p in flaky.pauses],
        "kills (s to restart)": [round(k, 1) for k in flaky.kills],
        "lost DynamoDB answers": dict(flaky.lost),
        "provider": dict(provider.outcomes),
        "messages accepted": sum(provider.sends.values()),
        "undecided after settling": still_undecided,
    }
    print("chaos run:", json.dumps(figures, indent=1))
    assert not run.broken, run.broken
    assert flaky.pauses and flaky.kills, figures
    assert statuses[201] > 20 and run.lambda_outcomes, figures  # the run did real work
    assert not server_errors, server_errors
    assert set(run.lambda_errors) <= {f"{name}: ServiceBusy" for name in ("reminder_dispatcher", "reminder_sweep")}
    assert not busy_without_retry_after, busy_without_retry_after
    assert not [pair for visits in by_doctor.values() for pair in overlapping(visits)]
    assert not [pair for visits in by_patient.values() for pair in overlapping(visits)]
    assert not {k: n for k, n in per_day.items() if n > 1}
    assert not still_undecided, figures
    assert not mismatches, mismatches
    assert not leftovers, leftovers
    assert not provider.duplicates(), provider.duplicates()
