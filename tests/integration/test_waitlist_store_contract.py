"""One contract for the waitlist store, run against the in-memory fake, moto and DynamoDB Local: entries are written
once and then only on the version read (racing writers: exactly one wins), read back whole; a patient's and a
doctor's entries in join order; the queue holds only waiting and offered entries; a freed time's log is written
once and changed only on its version; a doctor's freed times by local day."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from moto import mock_aws

from chalicelib.adapters.dynamodb import models
from chalicelib.adapters.dynamodb.waitlist import DynamoWaitlistStore
from chalicelib.config import Settings
from chalicelib.domain.appointments import AppointmentType
from chalicelib.domain.errors import Conflict
from chalicelib.domain.waitlist import Entry, EntryStatus, FreedRecord, Offer, OfferOutcome, TimeRange
from tests.fakes.waitlist import InMemoryWaitlistStore
from tests.moto_cloud import fresh_tables

NOW = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)


def store_of(kind: str, request: Any) -> Iterator[Any]:
    if kind == "memory":
        yield InMemoryWaitlistStore()
    elif kind == "moto":
        with mock_aws():
            settings = Settings.from_env({"TABLE_PREFIX": "contract", "AWS_REGION": "us-east-1"})
            fresh_tables(settings)
            yield DynamoWaitlistStore(models.bind(settings))
    else:
        yield DynamoWaitlistStore(models.bind(request.getfixturevalue("settings")))  # DynamoDB Local, emptied


@pytest.fixture(params=["memory", "moto", "dynamodb-local"])
def store(request) -> Iterator[Any]:
    yield from store_of(request.param, request)


@pytest.fixture(params=["memory", "dynamodb-local"])
def racing_store(request) -> Iterator[Any]:
    """Conditional writes under racing threads, where they serialize as DynamoDB's do (not moto)."""
    yield from store_of(request.param, request)


def entry(n: int = 1, **changes: Any) -> Entry:
    base = Entry(
        id=f"e{n}",
        doctor_id="d1",
        patient_id=f"p{n}",
        date_from=date(2027, 3, 2),
        date_to=date(2027, 3, 9),
        type=AppointmentType.TELEHEALTH,
        duration=30,
        notify=("email", "sms"),
        joined_at=NOW + timedelta(seconds=n),
        days=("monday", "friday"),
        times=(TimeRange(time(9), time(12, 30)),),
        recipient_email="p@example.org",
        recipient_phone="+16175550100",
        updated_at=NOW,
    )
    return replace(base, **changes)


def freed(n: int = 1, day: str = "2027-03-02", **changes: Any) -> FreedRecord:
    start = datetime.fromisoformat(f"{day}T15:00:00+00:00") + timedelta(minutes=30 * n)
    base = FreedRecord(f"F-{n}-{day}", "d1", day, start, start + timedelta(minutes=30), NOW, "cancelled", f"a{n}")
    return replace(base, **changes)


def test_an_entry_is_read_back_whole_with_its_offer_and_history(store):
    offer = Offer("h1", "2027-03-02", "10:00", NOW, NOW + timedelta(minutes=30), NOW + timedelta(minutes=15), NOW,
                  "F-1", messages=("email",))  # fmt: skip
    past = replace(offer, hold_id="h0", outcome=OfferOutcome.DECLINED, ended_at=NOW)
    full = entry(status=EntryStatus.OFFERED, offer=offer, past_offers=(past,), passed=("2027-03-02T14:00:00Z",),
                 move_earlier="a9", move_earlier_starts_at=NOW + timedelta(days=3), priority=2)  # fmt: skip
    store.add(full)
    assert store.get("e1") == replace(full, version=1)
    assert store.get("nope") is None


def test_an_entry_is_written_once_then_only_on_the_version_read(store):
    store.add(entry())
    with pytest.raises(Conflict):
        store.add(entry())
    read = store.get("e1")
    saved = store.save(replace(read, status=EntryStatus.LEFT))
    assert saved.version == read.version + 1 and store.get("e1").status is EntryStatus.LEFT
    with pytest.raises(Conflict):
        store.save(replace(read, status=EntryStatus.BOOKED))  # a stale copy
    assert store.get("e1").status is EntryStatus.LEFT


def test_lists_are_in_join_order_and_the_queue_holds_only_active_entries(store):
    for n in (3, 1, 2):
        store.add(entry(n))
    store.add(entry(4, doctor_id="d2"))
    store.save(replace(store.get("e2"), status=EntryStatus.LEFT))
    store.save(replace(store.get("e3"), status=EntryStatus.OFFERED))
    assert [e.id for e in store.of_doctor("d1")] == ["e1", "e2", "e3"]
    assert [e.id for e in store.queue("d1")] == ["e1", "e3"]
    assert [e.id for e in store.of_patient("p2")] == ["e2"]
    assert [e.id for e in store.queue("d2")] == ["e4"]


def test_a_freed_time_is_logged_once_changed_on_its_version_and_listed_by_day(store):
    assert store.add_freed(freed(1)) is True
    assert store.add_freed(freed(1)) is False  # the same stream record again
    record, version = store.get_freed("F-1-2027-03-02")
    assert record == freed(1)
    store.save_freed(replace(record, status="refilled", offers=({"entryId": "e1", "outcome": "accepted"},)), version)
    with pytest.raises(Conflict):
        store.save_freed(replace(record, status="unfilled"), version)
    assert store.get_freed("F-1-2027-03-02")[0].status == "refilled"
    store.add_freed(freed(2, "2027-03-03"))
    store.add_freed(freed(3, "2027-03-05"))
    store.add(entry())  # entries never appear among freed times
    assert [r.id for r in store.freed_of("d1", date(2027, 3, 2), date(2027, 3, 3))] == [
        "F-1-2027-03-02",
        "F-2-2027-03-03",
    ]
    assert [r.id for r in store.freed_of("d1", date(2027, 3, 4), date(2027, 3, 9))] == ["F-3-2027-03-05"]
    assert store.get("F-1-2027-03-02") is None and store.get_freed("e1") is None


def test_racing_offers_for_one_entry_land_exactly_once(racing_store):
    racing_store.add(entry())
    read = racing_store.get("e1")

    def offer(n: int) -> str:
        o = Offer(f"h{n}", "2027-03-02", "10:00", NOW, NOW, NOW, NOW, f"F-{n}")
        try:
            racing_store.save(replace(read, status=EntryStatus.OFFERED, offer=o))
        except Conflict:
            return "lost"
        return "won"

    with ThreadPoolExecutor(max_workers=10) as pool:
        outcomes = list(pool.map(offer, range(20)))
    assert outcomes.count("won") == 1
    assert racing_store.get("e1").offer is not None
