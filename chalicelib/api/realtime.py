"""Real-time routes: a connection ticket over REST, and the WebSocket and stream handlers' work."""

from __future__ import annotations

import json
import os
from typing import Any

from chalice import Blueprint, Response

from chalicelib import container
from chalicelib.api import schemas as s
from chalicelib.api.http import Call, endpoint
from chalicelib.domain.errors import Unauthenticated

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
    url = os.environ.get("WEBSOCKET_URL")
    return s.TicketOut.model_validate({**issued, "url": f"{url}?ticket={issued['ticket']}" if url else None})


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


def stream_records(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Partial batch response (`ReportBatchItemFailures`): only the records of days not announced are retried."""
    report = container.current().realtime.publish(records)
    return {
        "batchItemFailures": [{"itemIdentifier": s} for s in report.failed_records],
        "doctorDays": report.doctor_days,
        "sent": report.sent,
        "gone": report.gone,
        "failedPosts": report.failed_posts,
        "skipped": report.skipped,
    }
