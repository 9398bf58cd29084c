"""Inject DynamoDB faults through botocore's own event hooks (no patching of our modules).

A `before-call` handler that returns a response short-circuits the HTTP call, so the fault is exactly what
DynamoDB would answer; an `after-call` handler that raises simulates a response lost after the write landed.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ReadTimeoutError


@dataclass
class HttpAnswer:
    status_code: int
    headers: dict[str, str] = field(default_factory=dict)
    content: bytes = b""


def transaction_cancelled(items: int, reason: str = "TransactionConflict") -> tuple[HttpAnswer, dict[str, Any]]:
    return HttpAnswer(400), {
        "Error": {"Code": "TransactionCanceledException", "Message": f"Transaction cancelled [{reason}]"},
        "CancellationReasons": [{"Code": reason, "Message": reason}] + [{"Code": "None"}] * (items - 1),
        "ResponseMetadata": {"HTTPStatusCode": 400},
    }


def throttled() -> tuple[HttpAnswer, dict[str, Any]]:
    return HttpAnswer(400), {
        "Error": {"Code": "ThrottlingException", "Message": "Rate of requests exceeds the allowed throughput."},
        "ResponseMetadata": {"HTTPStatusCode": 400},
    }


LOSE = object()
UNREACHABLE = object()


def in_progress() -> tuple[HttpAnswer, dict[str, Any]]:
    """DynamoDB's answer to a resent client request token whose first transaction is still being applied."""
    return HttpAnswer(400), {
        "Error": {"Code": "TransactionInProgressException", "Message": "Transaction is ongoing for the token"},
        "ResponseMetadata": {"HTTPStatusCode": 400},
    }


class FaultInjector:
    """Queue faults for the next calls of an operation on the app's DynamoDB clients; counts every call."""

    def __init__(self, store: Any) -> None:
        self.clients = store.botocore_clients()
        self._lock = threading.Lock()
        """The sweep calls from 16 threads: a count or a scripted step must not be lost or taken twice."""
        self.calls: dict[str, int] = {}
        self._queued: dict[str, list[Any]] = {}
        self._lose_responses: dict[str, int] = {}
        self._scripts: dict[str, list[Any]] = {}
        for client in self.clients:
            client.meta.events.register("before-call.dynamodb.*", self._before)
            client.meta.events.register("after-call.dynamodb.*", self._after)

    def fail(self, operation: str, *responses: tuple[HttpAnswer, dict[str, Any]]) -> None:
        self._queued.setdefault(operation, []).extend(responses)

    def lose_response(self, operation: str, times: int = 1) -> None:
        """The call reaches DynamoDB, but the client sees a read timeout."""
        self._lose_responses[operation] = times

    def script(self, operation: str, *steps: Any) -> None:
        """One step per coming call: None (as is), LOSE (lands, then a read timeout), UNREACHABLE (a read timeout
        before DynamoDB sees it), or a fault response (short-circuits the call)."""
        self._scripts.setdefault(operation, []).extend(steps)

    def clear(self) -> None:
        self._queued.clear()
        self._lose_responses.clear()
        self._scripts.clear()

    def _before(self, model: Any, **_: Any) -> Any:
        name = model.name
        with self._lock:
            self.calls[name] = self.calls.get(name, 0) + 1
            script = self._scripts.get(name)
            if not script:
                queue = self._queued.get(name)
                return queue.pop(0) if queue else None
            step = script.pop(0)
            if step is LOSE:
                self._lose_responses[name] = self._lose_responses.get(name, 0) + 1
                return None
        if step is UNREACHABLE:
            raise ReadTimeoutError(endpoint_url="http://dynamodb")
        return step

    def _after(self, model: Any, http_response: Any, **_: Any) -> None:
        with self._lock:
            left = self._lose_responses.get(model.name, 0)
            lose = bool(left and http_response.status_code < 300)
            if lose:
                self._lose_responses[model.name] = left - 1
        if lose:
            raise ReadTimeoutError(endpoint_url="http://dynamodb")

    def close(self) -> None:
        for client in self.clients:
            client.meta.events.unregister("before-call.dynamodb.*", self._before)
            client.meta.events.unregister("after-call.dynamodb.*", self._after)
