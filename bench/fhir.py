"""The FHIR face next to the REST figure it wraps, in the same run: DynamoDB calls and latency of a Slot search
over 7 days of one schedule against 7 REST availability reads of those days (chalice's test client, DynamoDB
Local), of `Appointment/$find` over one day for one doctor, of the SMART Scheduling Links publication rebuilt,
unchanged and revalidated (304), and of the writes: `$book` next to the REST booking it wraps (of a proposed time,
and of a hold) and `$hold` next to the REST hold."""

from __future__ import annotations

import itertools
import json
import statistics
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from datetime import time as wall
from typing import Any
from zoneinfo import ZoneInfo

from bench.common import count_dynamodb_calls
from chalicelib.container import Container
from chalicelib.domain.appointments import AppointmentType
from chalicelib.domain.identity import Caller, Role
from chalicelib.services.booking import BookingRequest
from infra.local.tokens import unsigned_token


def bench_slots(wired: Container, clients: list[Any], doctor_id: str, first: date, repeat: int) -> dict[str, Any]:
    from chalice.test import Client

    from app import app

    counts: Counter[str] = Counter()
    count_dynamodb_calls(clients, counts)
    admin = Caller("bench-admin", Role.ADMIN)
    for n, at in enumerate((wall(9), wall(10, 30), wall(14))):  # a few busy slots on the first day
        wired.sign_in.record(Caller(f"fp{n}", Role.PATIENT))
        wired.booking.book(admin, BookingRequest(doctor_id, first, at, AppointmentType.IN_PERSON, "b", f"fp{n}"))
    headers = {
        "Authorization": unsigned_token({"sub": "bench-p", "cognito:username": "p", "cognito:groups": ["patients"]})
    }
    staff = {"Authorization": unsigned_token({"sub": "bench-a", "cognito:username": "a", "cognito:groups": ["admins"]})}
    days = [(first + timedelta(days=n)).isoformat() for n in range(7)]
    end = (first + timedelta(days=7)).isoformat()
    # the week's busy slots: all 7 days are read (a page of free ones fills on the first day of these long hours)
    slots = f"/fhir/R4/Slot?schedule={doctor_id}.in-person&start=ge{days[0]}&start=lt{end}&status=busy"
    first_page = f"/fhir/R4/Slot?schedule={doctor_id}.in-person&start=ge{days[0]}&start=lt{end}&_count=100"
    find = f"/fhir/R4/Appointment/$find?start={days[0]}&end={days[0]}&practitioner={doctor_id}&_count=10"

    with Client(app) as client:

        def rest_week() -> None:
            for day in days:
                answer = client.http.get(f"/api/appointments/availability/{doctor_id}/{day}", headers=headers)
                assert answer.status_code == 200, answer.body

        def fhir_get(path: str, who: dict[str, str] = headers) -> None:
            answer = client.http.get(path, headers=who)
            assert answer.status_code == 200, answer.body

        def calls(action: Any) -> dict[str, int]:
            counts.clear()
            action()
            return {name.removeprefix("dynamodb:"): n for name, n in counts.items()}

        def timed(action: Any) -> list[float]:
            samples = []
            for _ in range(repeat):
                started = time.perf_counter()
                action()
                samples.append(time.perf_counter() - started)
            return samples

        rest_calls = calls(rest_week)
        slot_calls = calls(lambda: fhir_get(slots, staff))
        page_calls = calls(lambda: fhir_get(first_page))
        one_day = calls(
            lambda: client.http.get(f"/api/appointments/availability/{doctor_id}/{days[0]}", headers=headers)
        )
        find_calls = calls(lambda: fhir_get(find))
        publish = bench_publish(client, calls, timed)
        writes = bench_writes(client, calls, doctor_id, first + timedelta(days=8), repeat)
        timed(rest_week)  # warm-up
        rest_ms = timed(rest_week)
        slot_ms = timed(lambda: fhir_get(slots, staff))
        find_ms = timed(lambda: fhir_get(find))
    return {
        "rest_7_availability_reads_calls": rest_calls,
        "fhir_slot_search_7_days_calls": slot_calls,
        "calls_fhir_to_rest": round(sum(slot_calls.values()) / sum(rest_calls.values()), 3),
        "goal": "<= 1.0",
        "rest_7_availability_reads_median_ms": round(statistics.median(rest_ms) * 1000, 2),
        "fhir_slot_search_7_days_median_ms": round(statistics.median(slot_ms) * 1000, 2),
        "ratio_fhir_to_rest_time": round(statistics.median(slot_ms) / statistics.median(rest_ms), 3),
        "fhir_first_page_of_100_free_slots_calls": page_calls,
        "rest_1_availability_read_calls": one_day,
        "fhir_find_1_day_1_doctor_calls": find_calls,
        "fhir_find_1_day_1_doctor_median_ms": round(statistics.median(find_ms) * 1000, 2),
        **publish,
        **writes,
    }


READS = ("GetItem", "Query", "BatchGetItem", "TransactGetItems")


def bench_writes(client: Any, calls: Any, doctor_id: str, first: date, repeat: int) -> dict[str, Any]:
    """`$book` of a proposed time next to the REST booking of that time, `$hold` and `$book` of the hold next to
    `POST /api/holds` and the REST booking of the hold: DynamoDB calls of one each, the reads `$book` adds, the
    transactions of a hold, and median latencies. Each write books a fresh time for a fresh patient."""
    zone = ZoneInfo("America/New_York")
    times: Iterator[tuple[date, wall]] = (
        (first + timedelta(days=d), wall(h, m)) for d in range(30) for h in range(1, 23) for m in (0, 30)
    )
    patients = itertools.count()

    def who() -> dict[str, str]:
        sub = f"bench-w{next(patients)}"
        claims = {"sub": sub, "cognito:username": sub, "cognito:groups": ["patients"], "name": "Bench Writer"}
        return {"Authorization": unsigned_token(claims), "Content-Type": "application/json"}

    def slot_id(day: date, at: wall) -> str:
        start = datetime.combine(day, at, zone).astimezone(UTC)
        return f"{doctor_id}.in-person.{start:%Y%m%d%H%M}.30"

    def post(path: str, headers: dict[str, str], body: dict[str, Any], status: int) -> dict[str, Any]:
        answer = client.http.post(path, headers=headers, body=json.dumps(body))
        assert answer.status_code == status, answer.body
        parsed: dict[str, Any] = json.loads(answer.body)
        return parsed

    def parameters(**values: str) -> dict[str, Any]:
        return {
            "resourceType": "Parameters",
            "parameter": [{"name": k.replace("_", "-"), "valueString": v} for k, v in values.items()],
        }

    def rest_book() -> None:
        day, at = next(times)
        body = {"doctorId": doctor_id, "date": day.isoformat(), "time": at.strftime("%H:%M"), "type": "in-person"}
        post("/api/appointments", who(), {**body, "reason": "bench"}, 201)

    def fhir_book() -> None:
        post("/fhir/R4/Appointment/$book", who(), parameters(appt_id=slot_id(*next(times))), 200)

    held: list[tuple[dict[str, str], str]] = []

    def rest_hold() -> None:
        day, at = next(times)
        person = who()
        body = {"doctorId": doctor_id, "date": day.isoformat(), "time": at.strftime("%H:%M"), "type": "in-person"}
        held.append((person, post("/api/holds", person, body, 201)["id"]))

    def rest_book_hold() -> None:
        person, hold_id = held.pop()
        post("/api/appointments", person, {"holdId": hold_id, "reason": "bench"}, 201)

    def fhir_hold() -> None:
        person = who()
        held.append(
            (person, post("/fhir/R4/Appointment/$hold", person, parameters(appt_id=slot_id(*next(times))), 200)["id"])
        )

    def fhir_book_hold() -> None:
        person, hold_id = held.pop()
        post("/fhir/R4/Appointment/$book", person, parameters(appt_id=hold_id), 200)

    def reads(counted: dict[str, int]) -> int:
        return sum(counted.get(name, 0) for name in READS)

    book_rest, book_fhir = calls(rest_book), calls(fhir_book)
    hold_rest = calls(rest_hold)
    book_hold_rest = calls(rest_book_hold)
    hold_fhir = calls(fhir_hold)
    book_hold_fhir = calls(fhir_book_hold)

    def median_ms(action: Any, before: Any = None) -> float:
        samples = []
        for _ in range(repeat):
            if before is not None:
                before()
            started = time.perf_counter()
            action()
            samples.append(time.perf_counter() - started)
        return round(statistics.median(samples) * 1000, 2)

    return {
        "rest_booking_calls": book_rest,
        "fhir_book_proposed_calls": book_fhir,
        "fhir_book_reads_added": reads(book_fhir) - reads(book_rest),
        "rest_booking_of_a_hold_calls": book_hold_rest,
        "fhir_book_of_a_hold_calls": book_hold_fhir,
        "fhir_book_of_a_hold_reads_added": reads(book_hold_fhir) - reads(book_hold_rest),
        "book_goal": "reads added <= 1",
        "rest_hold_calls": hold_rest,
        "fhir_hold_calls": hold_fhir,
        "fhir_hold_transactions": hold_fhir.get("TransactWriteItems", 0),
        "hold_goal": "1 transaction",
        "rest_booking_median_ms": median_ms(rest_book),
        "fhir_book_proposed_median_ms": median_ms(fhir_book),
        "rest_hold_median_ms": median_ms(rest_hold),
        "fhir_hold_median_ms": median_ms(fhir_hold),
        "rest_booking_of_a_hold_median_ms": median_ms(rest_book_hold, rest_hold),
        "fhir_book_of_a_hold_median_ms": median_ms(fhir_book_hold, fhir_hold),
    }


def bench_publish(client: Any, calls: Any, timed: Any) -> dict[str, Any]:
    """SMART Scheduling Links: the manifest and its files when the slots changed (the publication is rebuilt:
    one availability read per doctor and published day), when they did not (served from the container's cache
    after the ETag's reads), and revalidated with If-None-Match (304)."""
    from chalicelib import container

    manifest = "/fhir/R4/$bulk-publish"
    outputs = json.loads(client.http.get(manifest).body)["output"]
    paths = [manifest, *(o["url"][o["url"].index(manifest) :] for o in outputs)]

    def read_all() -> None:
        for path in paths:
            answer = client.http.get(path)
            assert answer.status_code == 200, answer.body

    def rebuilt() -> None:
        container.current().publications.clear()  # as after a booking: the cached publication no longer matches
        read_all()

    etag = client.http.get(manifest).headers["ETag"]

    def revalidate() -> None:
        assert client.http.get(manifest, headers={"If-None-Match": etag}).status_code == 304

    rebuilt_calls = calls(rebuilt)
    unchanged_calls = calls(read_all)
    not_modified_calls = calls(revalidate)
    rebuilt_ms = timed(rebuilt)
    unchanged_ms = timed(read_all)
    not_modified_ms = timed(revalidate)
    slots = sum(client.http.get(path).body.count(b"\n") for path in paths[1:] if "/Slot-" in path)
    return {
        "bulk_publish_files": len(paths) - 1,
        "bulk_publish_slots_published": slots,
        "bulk_publish_rebuilt_manifest_and_files_calls": rebuilt_calls,
        "bulk_publish_unchanged_manifest_and_files_calls": unchanged_calls,
        "bulk_publish_304_calls": not_modified_calls,
        "bulk_publish_rebuilt_median_ms": round(statistics.median(rebuilt_ms) * 1000, 2),
        "bulk_publish_unchanged_median_ms": round(statistics.median(unchanged_ms) * 1000, 2),
        "bulk_publish_304_median_ms": round(statistics.median(not_modified_ms) * 1000, 2),
    }
