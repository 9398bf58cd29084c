"""A waitlist storm on DynamoDB Local: 200 waiting patients, 50 visits cancelled at once, their stream records
handled by parallel consumers and each batch delivered twice (as a stream retry would). No time is offered twice,
no entry holds two offers, every freed time is offered or its log says why, and the acceptances racing REST
bookings never make a double booking."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import time, timedelta
from itertools import combinations
from typing import Any

import pytest

from chalicelib import container
from chalicelib.adapters import aws
from chalicelib.api.waitlist import offer_records
from chalicelib.container import Container
from chalicelib.domain.appointments import AppointmentType
from chalicelib.domain.errors import DomainError
from chalicelib.domain.identity import Caller, Role
from chalicelib.domain.schedule import overlaps
from chalicelib.domain.waitlist import EntryStatus
from chalicelib.services.booking import BookingRequest
from chalicelib.services.waitlist import JoinRequest
from tests.helpers import BOOKING_DAY
from tests.integration.test_concurrency import ADMIN, doctor, known
from tests.waitlist_stream import StreamTap

DOCTORS = 5
WAITING = 200
CANCELLED = 50
CONSUMERS = 8


class Messages:
    def __init__(self) -> None:
        self.sent: list[str] = []

    def send(self, reminder: Any, appointment: Any, endpoints: Any) -> Any:
        self.sent.append(reminder.id)


def patient(sub: str) -> Caller:
    return Caller(sub, Role.PATIENT, name=sub, email=f"{sub}@example.org", email_verified=True)


def consume(tap: StreamTap) -> int:
    """Until the stream is quiet: each round's records split over parallel consumers, every batch delivered
    twice at once (a retry racing the first delivery). How many rounds it took."""
    for round_no in range(1, 20):
        records = tap.records()
        if not records:
            return round_no - 1
        batches = [records[i::CONSUMERS] for i in range(CONSUMERS)]
        with ThreadPoolExecutor(max_workers=2 * CONSUMERS) as pool:
            reports = list(pool.map(offer_records, [b for b in batches if b] * 2))
        assert all(r["batchItemFailures"] == [] for r in reports)
    raise AssertionError("the stream never went quiet")


@pytest.fixture
def adapters() -> container.Adapters:
    """Offers are counted, not sent."""
    return container.Adapters(deliverer=Messages())


def test_a_storm_of_cancellations_offers_each_freed_time_once_and_books_nothing_twice(wired: Container):
    messages = wired.adapters.deliverer
    doctors = [doctor(wired, end=time(17)) for _ in range(DOCTORS)]
    bookers = [f"b{i}" for i in range(CANCELLED)]
    known(wired, *bookers, "walk-in")
    # GIVEN ten visits a doctor on the day (9:00, 9:30, ...) and 200 patients waiting, 40 for each doctor
    visits = []
    for i, who in enumerate(bookers):
        at = time(9 + (i // DOCTORS) // 2, 30 * ((i // DOCTORS) % 2))
        request = BookingRequest(doctors[i % DOCTORS], BOOKING_DAY, at, AppointmentType.IN_PERSON, "r", patient_id=who)
        visits.append(wired.booking.book(ADMIN, request).appointment)
    client = aws.client("dynamodb", wired.settings.region, endpoint_url=wired.settings.dynamodb_endpoint)
    tap = StreamTap(client, wired.settings.appointments_table)
    for i in range(WAITING):
        wired.clock.current += timedelta(seconds=1)  # type: ignore[attr-defined]
        wired.waitlist.join(
            patient(f"w{i}"),
            JoinRequest(doctors[i % DOCTORS], BOOKING_DAY, BOOKING_DAY, AppointmentType.IN_PERSON, {"email": True}),
        )
    # WHEN all fifty visits are cancelled at once, and the stream is consumed by racing consumers
    with ThreadPoolExecutor(max_workers=25) as pool:
        list(pool.map(lambda v: wired.booking.cancel(ADMIN, v.id).appointment, visits))
    consume(tap)
    entries = [e for d in doctors for e in wired.waitlist.entries(ADMIN, d)]
    offered = [e for e in entries if e.status is EntryStatus.OFFERED]
    # THEN every freed time is offered, to one entry only; each entry holds at most one offer
    times = Counter((e.doctor_id, e.offer.starts_at) for e in offered if e.offer)
    assert len(offered) == CANCELLED and max(times.values()) == 1
    assert {(v.doctor_id, v.starts_at) for v in visits} == set(times)
    # AND the first to join each doctor's waitlist got its times (fair order)
    for d in doctors:
        mine = sorted((e for e in entries if e.doctor_id == d), key=lambda e: e.joined_at)
        assert all(e.status is EntryStatus.OFFERED for e in mine[:10])
        assert all(e.status is EntryStatus.WAITING for e in mine[10:])
    # AND every freed time's log says offered (none left unexplained), one message per offer
    logs = [r for d in doctors for r in wired.waitlist.day_view(ADMIN, d, BOOKING_DAY).freed]
    assert all(r.status in ("open", "explained", "unfilled") for r in logs)
    assert all(r.reason for r in logs if r.status != "open")
    assert len([r for r in logs if r.status == "open"]) == CANCELLED
    assert len(messages.sent) == CANCELLED == len(set(messages.sent))

    # WHEN the offered patients accept while a walk-in tries to book each of those times over REST
    def accept(e: Any) -> str:
        try:
            wired.waitlist.accept(patient(e.patient_id), e.id)
        except DomainError as exc:
            return type(exc).__name__
        return "booked"

    def walk_in(e: Any) -> str:
        request = BookingRequest(e.doctor_id, BOOKING_DAY, e.offer.starts_at.astimezone(wired.booking_queries.doctor(
            e.doctor_id).zone).time(), AppointmentType.IN_PERSON, "r", patient_id="walk-in")  # fmt: skip
        try:
            wired.booking.book(ADMIN, request)
        except DomainError as exc:
            return type(exc).__name__
        return "booked"

    with ThreadPoolExecutor(max_workers=32) as pool:
        accepted = list(pool.map(accept, offered))
        walked = list(pool.map(walk_in, offered))
    consume(tap)
    # THEN every acceptance booked and no walk-in got a held time; nothing overlaps anywhere
    assert accepted.count("booked") == CANCELLED and walked.count("booked") == 0
    for d in doctors:
        active = [a for a in wired.store.list_for_doctor(d, visits[0].starts_at - timedelta(days=1),
                  visits[0].starts_at + timedelta(days=1)) if a.active]  # fmt: skip
        for a, b in combinations(active, 2):
            assert not overlaps((a.starts_at, a.ends_at), (b.starts_at, b.ends_at)), (a, b)
        assert len(active) == CANCELLED // DOCTORS
