"""What one booking costs in DynamoDB calls, counted with botocore's own event hook (nothing patched): at most two
reads and one write. The patient's limits are conditions and counters inside the booking's TransactWriteItems,
never a query before it; the directory's search entries ride in the same transaction."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

READS = frozenset({"GetItem", "Query", "Scan", "BatchGetItem", "TransactGetItems"})


@pytest.fixture
def calls(wired) -> Iterator[list[str]]:
    """The name of every DynamoDB operation the store's clients send, in order."""
    seen: list[str] = []

    def record(model, **_) -> None:
        seen.append(model.name)

    clients = wired.store.botocore_clients()
    for client in clients:
        client.meta.events.register("before-call.dynamodb.*", record, unique_id="count-booking-calls")
    yield seen
    for client in clients:
        client.meta.events.unregister("before-call.dynamodb.*", unique_id="count-booking-calls")


def test_a_booking_reads_at_most_twice_and_writes_one_transaction(api, calls):
    # GIVEN a doctor, and a patient who already holds a visit (so its limit items exist) and is in the directory
    doc = api.doctor_with_hours()
    api.book(doc, date="2026-12-03")
    calls.clear()
    # WHEN the patient books another visit
    made = api.try_book(doc)
    # THEN it is booked with at most two reads (the doctor, the day's busy times) and a single write, the transaction
    assert made.status_code == 201, made.data
    reads = [name for name in calls if name in READS]
    writes = [name for name in calls if name not in READS]
    assert len(reads) <= 2, calls
    assert writes == ["TransactWriteItems"], calls
