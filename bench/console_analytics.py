"""Console and analytics benchmarks.

- The console's day: the server work behind it (the doctors list and one day query per doctor) for 20 doctors
  x 20 appointments, its time and its DynamoDB calls.
- Analytics over 30 days for 10 doctors with 100,000 appointments in the table, as a ratio to 1,000: the
  report reads the doctor-day aggregates, so its cost does not grow with the appointments.
"""

from __future__ import annotations

import statistics
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from datetime import time as wall
from typing import Any

from bench.common import count_dynamodb_calls, tables_of
from chalicelib.adapters.dynamodb import keys
from chalicelib.container import Container
from chalicelib.domain.appointments import AppointmentType
from chalicelib.domain.identity import Caller, Role
from chalicelib.domain.schedule import Availability, WallInterval
from chalicelib.services.booking import BookingRequest
from infra.local.tokens import unsigned_token

WEEK = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
ADMIN = Caller("bench-admin", Role.ADMIN)


def _doctors(wired: Container, count: int, prefix: str) -> list[str]:
    hours = {d: (WallInterval(wall(8), wall(20)),) for d in WEEK}
    av = Availability(working_hours=hours, max_patients_per_day=500, appointment_duration=30)
    return [
        wired.doctors.register(f"Dr. {prefix} {n}", "GP", "Room", "America/New_York", False, None, av).id
        for n in range(count)
    ]


def bench_console_day(wired: Container, clients: list[Any], repeat: int = 20) -> dict[str, Any]:
    from chalice.test import Client

    from app import app

    day = wired.clock.now().date() + timedelta(days=2)
    doctors = _doctors(wired, 20, "Console")
    for doctor_id in doctors:
        for slot in range(20):
            at = wall(8 + slot // 2, 30 * (slot % 2))
            wired.sign_in.record(Caller(f"p-{doctor_id[:6]}-{slot}", Role.PATIENT))
            wired.booking.book(
                ADMIN,
                BookingRequest(
                    doctor_id, day, at, AppointmentType.IN_PERSON, "x", patient_id=f"p-{doctor_id[:6]}-{slot}"
                ),
            )
    counts: Counter[str] = Counter()
    count_dynamodb_calls(clients, counts)
    headers = {"Authorization": unsigned_token({"sub": "a", "cognito:username": "a", "cognito:groups": ["admins"]})}
    with Client(app) as client:

        def render() -> int:
            listed = client.http.get("/api/doctors?q=Console", headers=headers)
            rows = 0
            for doctor_id in doctors:
                answer = client.http.get(f"/api/appointments/doctor/{doctor_id}?from={day}&to={day}", headers=headers)
                rows += answer.body.count(b'"id":')
            return rows if listed.status_code == 200 else -1

        render()
        counts.clear()
        rows = render()
        calls = dict(counts)
        samples = []
        for _ in range(repeat):
            started = time.perf_counter()
            render()
            samples.append(time.perf_counter() - started)
    return {
        "doctors": 20,
        "appointments_shown": rows,
        "calls": calls,
        "server_median_ms": round(statistics.median(samples) * 1000, 1),
    }


def _fill(wired: Container, doctors: list[str], start: date, days: int, appointments: int) -> None:
    """`appointments` appointment items spread over the doctors and days, with the aggregates they produce."""
    per_cell = max(appointments // (len(doctors) * days), 1)

    tables = tables_of(wired)

    def write(doctor_index: int) -> None:
        doctor_id = doctors[doctor_index]
        with tables.appointments.batch_write() as appointments_batch, tables.schedule.batch_write() as counters:
            for d in range(days):
                day = start + timedelta(days=d)
                for n in range(per_cell):
                    starts = f"{day.isoformat()}T{8 + (n % 12):02d}:{(n * 5) % 60:02d}:00Z"
                    appointments_batch.save(
                        tables.appointments(
                            id=f"{doctor_id}-{d}-{n}",
                            doctor_id=doctor_id,
                            patient_id=f"p{n}",
                            starts_at=starts,
                            ends_at=starts,
                            doctor_name="Dr",
                            patient_name="P",
                            specialty="GP",
                            date=day.isoformat(),
                            time="08:00",
                            timezone="America/New_York",
                            duration=5,
                            type="in-person",
                            status="scheduled",
                            location="Room",
                            reason="x",
                            created_at=wired.clock.now(),
                            updated_at=wired.clock.now(),
                        )
                    )
                counters.save(
                    tables.schedule(
                        pk=keys.doctor_day_pk(doctor_id, day),
                        sk=keys.COUNTER_SK,
                        booked=per_cell,
                        n_booked=per_cell,
                        booked_minutes=per_cell * 5,
                        lead_minutes=per_cell * 600,
                        lead_count=per_cell,
                        sent_email=per_cell,
                    )
                )

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(write, range(len(doctors))))


def bench_analytics(wired: Container, clients: list[Any], small: int, large: int, repeat: int = 20) -> dict[str, Any]:
    start = wired.clock.now().date() + timedelta(days=400)
    counts: Counter[str] = Counter()
    count_dynamodb_calls(clients, counts)
    results: dict[str, Any] = {}
    for label, appointments in (("small", small), ("large", large)):
        doctors = _doctors(wired, 10, f"Stats {label}")
        shift = timedelta(days=0 if label == "small" else 60)
        began = time.perf_counter()
        _fill(wired, doctors, start + shift, 30, appointments)
        fill_seconds = time.perf_counter() - began
        end = start + shift + timedelta(days=29)
        samples = []
        for _ in range(repeat):
            counts.clear()
            began = time.perf_counter()
            for doctor_id in doctors:
                wired.analytics.report(start + shift, end, doctor_id)
            samples.append(time.perf_counter() - began)
        results[label] = {
            "appointments": appointments,
            "fill_seconds": round(fill_seconds, 1),
            "report_median_ms": round(statistics.median(samples) * 1000, 1),
            "calls": dict(counts),
        }
    results["ratio_large_to_small"] = round(
        results["large"]["report_median_ms"] / results["small"]["report_median_ms"], 3
    )
    return results
