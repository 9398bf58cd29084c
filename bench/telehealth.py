"""The room endpoint: DynamoDB and platform calls per request (the signing key and platform credentials are
cached per container), and its latency as a ratio to `GET /health` in the same run (chalice's test client,
DynamoDB Local, a counting stand-in for the video platform)."""

from __future__ import annotations

import statistics
import time
from collections import Counter
from datetime import time as wall
from datetime import timedelta
from typing import Any

from bench.common import count_dynamodb_calls
from chalicelib.container import Container
from chalicelib.domain.appointments import AppointmentType
from chalicelib.domain.identity import Caller, Role
from chalicelib.services.booking import BookingRequest
from infra.local.tokens import unsigned_token


class CountingPlatform:
    def __init__(self, counts: Counter[str]) -> None:
        self.counts = counts

    def create(self, appointment: Any, consent: bool = False) -> dict[str, Any]:
        self.counts["platform:create"] += 1
        return {"externalMeetingId": appointment.id}

    def update(self, meeting: dict[str, Any], appointment: Any, consent: bool = False) -> dict[str, Any]:
        self.counts["platform:update"] += 1
        return meeting

    def delete(self, meeting: dict[str, Any]) -> None:
        self.counts["platform:delete"] += 1

    def join(self, meeting: dict[str, Any], role: str, subject: str) -> dict[str, Any]:
        self.counts["platform:join"] += 1
        return {"platform": "custom", "joinToken": f"jt-{subject}"}


def bench_room(wired: Container, clients: list[Any], doctor_id: str, repeat: int) -> dict[str, Any]:
    from chalice.test import Client

    from app import app

    counts: Counter[str] = Counter()

    count_dynamodb_calls(clients, counts)
    wired.telehealth.platforms = {**wired.telehealth.platforms, "custom": CountingPlatform(counts)}
    patient = Caller("bench-patient", Role.PATIENT, name="P")
    day = wired.clock.now().date() + timedelta(days=1)
    appointment = wired.booking.book(
        patient, BookingRequest(doctor_id, day, wall(10), AppointmentType.TELEHEALTH, "x")
    ).appointment
    wired.clock.current = appointment.starts_at - timedelta(minutes=5)  # type: ignore[attr-defined]
    doctor = Caller("bench-doctor", Role.DOCTOR, doctor_id=doctor_id)
    wired.telehealth.admit(doctor, appointment.room_id or "")
    link = wired.telehealth.generate_url(patient, appointment.id)
    headers = {
        "Authorization": unsigned_token(
            {"sub": "bench-patient", "cognito:username": "p", "cognito:groups": ["patients"]}
        )
    }
    room_path = f"/api/telehealth/room/{link.room_id}?token={link.token}"
    with Client(app) as client:
        client.http.get(room_path, headers=headers)  # first join: the room becomes in-progress
        counts.clear()
        answer = client.http.get(room_path, headers=headers)
        assert answer.status_code == 200, answer.body
        per_request = dict(counts)

        def timed(path: str, with_headers: dict[str, str]) -> list[float]:
            samples = []
            for _ in range(repeat):
                started = time.perf_counter()
                client.http.get(path, headers=with_headers)
                samples.append(time.perf_counter() - started)
            return samples

        timed("/health", {})
        health = timed("/health", {})
        room = timed(room_path, headers)
    return {
        "calls_per_room_request": per_request,
        "room_median_ms": round(statistics.median(room) * 1000, 2),
        "health_median_ms": round(statistics.median(health) * 1000, 2),
        "ratio_room_to_health": round(statistics.median(room) / statistics.median(health), 2),
    }
