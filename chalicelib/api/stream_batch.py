"""A DynamoDB stream batch through Powertools' `BatchProcessor`: each record is handled on its own, and the records
whose handler raised are the batch's `batchItemFailures` (the event source mapping's `ReportBatchItemFailures`:
the stream retries from the first of them; the others are done). A record that cannot be read is the handler's to
skip (it raises nothing), so a poison record never holds its shard."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def each_record(records: list[Any], handle: Callable[[Any], None]) -> dict[str, Any]:
    """Run `handle` on each raw record (a dict as the stream sends it, or whatever a malformed batch holds) and
    answer the partial batch response: `{"batchItemFailures": [{"itemIdentifier": <sequence number>}, ...]}`.
    Even a batch whose every record failed is answered, not raised: the stream retries them just the same."""
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType

    processor = BatchProcessor(event_type=EventType.DynamoDBStreams, raise_on_entire_batch_failure=False)
    with processor(records=records, handler=lambda record: handle(record.raw_event)):
        processor.process()
    return dict(processor.response())
