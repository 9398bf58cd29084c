"""The appointments table's change stream, decoded: each record's typed images (Powertools' DynamoDBRecord) read
through the appointments' item mapper, so the domain sees an appointment's fields by their names, never the
stream's attribute names or DynamoDB's typed JSON."""

from __future__ import annotations

from typing import Any

from chalicelib.adapters.dynamodb.items import appointment_fields
from chalicelib.domain.realtime import SlotChange, UnreadableChange


def slot_change(record: Any) -> SlotChange | UnreadableChange:
    """One record as a change of an appointment's fields (as stored: dates and times as text). One that cannot be
    read (not an object, no change, an untyped or undecodable image such as `{"N": "abc"}`) is unreadable."""
    from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

    raw = record.get("dynamodb") if isinstance(record, dict) else None
    sequence = str(raw.get("SequenceNumber") or "") if isinstance(raw, dict) else ""
    try:
        if not isinstance(record, dict):
            raise TypeError("the record is not an object")
        change = DynamoDBRecord(record).dynamodb
        if change is None:
            raise ValueError("no dynamodb change in the record")
        old, new = change.old_image, change.new_image
        return SlotChange(sequence, appointment_fields(old) if old else None, appointment_fields(new) if new else None)
    except Exception as exc:  # any shape a decoder chokes on (decimal's InvalidOperation too) is this record's own
        return UnreadableChange(sequence, f"not a typed appointments change ({type(exc).__name__})")
