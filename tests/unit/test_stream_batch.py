"""A stream batch through Powertools' BatchProcessor: each record on its own, the failed ones reported by their
sequence numbers for the stream to retry."""

from __future__ import annotations

from typing import Any

from chalicelib.api.stream_batch import each_record


def record(sequence: str) -> dict[str, Any]:
    return {"eventName": "MODIFY", "dynamodb": {"SequenceNumber": sequence, "Keys": {"id": {"S": sequence}}}}


def failing(*sequences: str):
    handled: list[Any] = []

    def handle(raw: Any) -> None:
        handled.append(raw)
        if isinstance(raw, dict) and raw["dynamodb"]["SequenceNumber"] in sequences:
            raise RuntimeError("store busy")

    return handle, handled


def test_only_the_records_whose_handler_raised_are_reported_and_every_record_is_handled():
    # GIVEN three records, the second of which cannot be handled
    handle, handled = failing("2")
    # WHEN the batch is processed THEN all three were handled, each with its raw record, and only the second failed
    answer = each_record([record("1"), record("2"), record("3")], handle)
    assert answer == {"batchItemFailures": [{"itemIdentifier": "2"}]}
    assert handled == [record("1"), record("2"), record("3")]


def test_a_batch_whose_every_record_failed_is_answered_not_raised():
    # GIVEN two records that both fail WHEN processed THEN both are reported (the stream retries them), no error
    handle, _ = failing("1", "2")
    answer = each_record([record("1"), record("2")], handle)
    assert answer == {"batchItemFailures": [{"itemIdentifier": "1"}, {"itemIdentifier": "2"}]}


def test_malformed_records_reach_the_handler_as_they_are():
    # GIVEN records that are not stream records at all WHEN processed THEN the handler sees each as it came (to
    # skip it) and, raising nothing, none is reported
    handle, handled = failing()
    assert each_record([None, "junk", 5, record("4")], handle) == {"batchItemFailures": []}
    assert handled == [None, "junk", 5, record("4")]


def test_an_empty_batch_is_answered_with_no_failures():
    handle, handled = failing()
    assert each_record([], handle) == {"batchItemFailures": []} and handled == []
