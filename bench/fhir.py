"""The FHIR face next to the REST figure it wraps, in the same run: DynamoDB calls and latency of a Slot search
over 7 days of one schedule against 7 REST availability reads of those days (chalice's test client, DynamoDB
Local), of `Appointment/$find` over one day for one doctor, and of the SMART Scheduling Links publication rebuilt,
unchanged and revalidated (304)."""

from __future__ import annotations

import json
import statistics
import time
from collections import Counter
from datetime import date, timedelta
from datetime import time as wall
from typing import Any

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
        wired.booking.sign_in(Caller(f"fp{n}", Role.PATIENT))
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
    }


def bench_publish(client: Any, calls: Any, timed: Any) -> dict[str, Any]:
    """SMART Scheduling Links: the manifest and its files when the slots changed (the publication is rebuilt:
    one availability read per doctor and published day), when they did not (served from the container's cache
    after the ETag's reads), and revalidated with If-None-Match (304)."""
    from chalicelib.api import fhir as fhir_api

    manifest = "/fhir/R4/$bulk-publish"
    outputs = json.loads(client.http.get(manifest).body)["output"]
    paths = [manifest, *(o["url"][o["url"].index(manifest) :] for o in outputs)]

    def read_all() -> None:
        for path in paths:
            answer = client.http.get(path)
            assert answer.status_code == 200, answer.body

    def rebuilt() -> None:
        fhir_api._published.clear()  # as after a booking: the cached publication no longer matches
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
