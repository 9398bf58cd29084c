"""Real-time routes: a connection ticket over REST, and the WebSocket and stream handlers' work."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from chalice import Blueprint, Response

from chalicelib import container
from chalicelib.api import schemas as s
from chalicelib.api.http import Call, endpoint
from chalicelib.api.stream_batch import each_record
from chalicelib.domain.errors import Unauthenticated

if TYPE_CHECKING:
    from chalicelib.domain.realtime import SlotChange, UnreadableChange

realtime_api = Blueprint(__name__)


@endpoint(
    realtime_api,
    "/api/realtime/ticket",
    "POST",
    "A one-minute ticket to open the slot-updates WebSocket with (`?ticket=`)",
    response="TicketOut",
    status=201,
    tags=("realtime",),
)
def ticket(call: Call) -> s.TicketOut:
    issued = call.services.realtime.issue_ticket(call.caller)
    url = call.services.settings.websocket_url
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


def slot_changes(records: list[Any]) -> list[SlotChange | UnreadableChange]:
    """The stream's records as changes of appointments' fields, each on its own (an unreadable one is passed on
    as such); decoded by the adapter (`adapters/dynamodb/streams.py`), imported on the first batch, not at cold
    start."""
    return [slot_change(record) for record in records]


def slot_change(record: Any) -> SlotChange | UnreadableChange:
    from chalicelib.adapters.dynamodb.streams import slot_change as decoded

    return decoded(record)


def stream_records(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Each record on its own (Powertools' BatchProcessor), each changed doctor-day announced once per batch: only
    the records of days not announced are the partial batch response's, retried by the stream."""
    from chalicelib.services.realtime import PublishReport

    realtime, report = container.current().realtime, PublishReport()
    announced: dict[tuple[str, str], bool] = {}
    answer = each_record(records, lambda record: realtime.publish_change(slot_change(record), announced, report))
    return {
        **answer,
        "doctorDays": report.doctor_days,
        "sent": report.sent,
        "gone": report.gone,
        "failedPosts": report.failed_posts,
        "skipped": report.skipped,
    }
