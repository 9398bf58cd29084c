"""Real-time routes: a connection ticket over REST, and the WebSocket and stream handlers' work."""

from __future__ import annotations

import json
from typing import Any

from chalice import Blueprint, Response

from chalicelib import container
from chalicelib.api import schemas as s
from chalicelib.api.http import Call, endpoint
from chalicelib.domain.errors import Unauthenticated
from chalicelib.domain.realtime import SlotChange, UnreadableChange

realtime_api = Blueprint(__name__)


@endpoint(
    realtime_api,
    "/api/realtime/ticket",
    "POST",
    "A one-minute ticket to open the slot-updates WebSocket with (`?ticket=`)",
    response=s.TicketOut,
    status=201,
    tags=("realtime",),
)
def ticket(call: Call) -> s.TicketOut:
    issued = container.current().realtime.issue_ticket(call.caller)
    url = container.current().settings.websocket_url
    return s.TicketOut.from_domain(issued, url=f"{url}?ticket={issued.ticket}" if url else None)


def ws_connect(connection_id: str, query: dict[str, Any] | None) -> Response | None:
    """Refuses (401) a connection without a valid ticket; otherwise lets API Gateway accept it."""
    try:
        container.current().realtime.connect(connection_id, (query or {}).get("ticket"))
    except Unauthenticated as exc:
        return Response(
            status_code=401, body=json.dumps({"error": {"code": "UNAUTHENTICATED", "message": exc.message}})
        )
    return None


def ws_message(connection_id: str, body: str | None) -> None:
    container.current().realtime.on_message(connection_id, body)


def ws_disconnect(connection_id: str) -> None:
    container.current().realtime.disconnect(connection_id)


def slot_changes(records: list[dict[str, Any]]) -> list[SlotChange | UnreadableChange]:
    """The stream's records as plain changes: Powertools' DynamoDBStreamEvent decodes the typed images here, at
    the edge, so the domain sees plain values. A record it cannot decode is passed on as unreadable (skipped)."""
    from aws_lambda_powertools.utilities.data_classes import DynamoDBStreamEvent

    changes: list[SlotChange | UnreadableChange] = []
    for record in DynamoDBStreamEvent({"Records": records}).records:
        raw = record.get("dynamodb")
        sequence = str(raw.get("SequenceNumber") or "") if isinstance(raw, dict) else ""
        try:
            change = record.dynamodb
            if change is None:
                raise ValueError("no dynamodb change in the record")
            changes.append(SlotChange(sequence, change.old_image or None, change.new_image or None))
        except (AttributeError, TypeError, ValueError, KeyError) as exc:
            changes.append(UnreadableChange(sequence, f"not a typed appointments change ({type(exc).__name__})"))
    return changes


def stream_records(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Partial batch response (`ReportBatchItemFailures`): only the records of days not announced are retried."""
    report = container.current().realtime.publish(slot_changes(records))
    return {
        "batchItemFailures": [{"itemIdentifier": s} for s in report.failed_records],
        "doctorDays": report.doctor_days,
        "sent": report.sent,
        "gone": report.gone,
        "failedPosts": report.failed_posts,
        "skipped": report.skipped,
    }
