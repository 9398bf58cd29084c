"""`Idempotency-Key` on the writes a client may retry (booking, cancel, reschedule, status and reminder changes):
the one idempotency mechanism, Powertools' idempotency utility with its DynamoDB table (adapters/dynamodb/
idempotency.py). A retry answers what the first attempt answered instead of a 409 for a change already made."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from chalice import Response

from chalicelib.api.errors import NO_STORE
from chalicelib.api.http import Call
from chalicelib.domain.errors import InvalidInput
from chalicelib.domain.idempotency import scoped_key

if TYPE_CHECKING:
    from chalicelib.api.schemas.common import OutModel

MAX_IDEMPOTENCY_KEY = 128
Answer = TypeVar("Answer", bound="OutModel")


def checked_key(call: Call) -> str | None:
    """The request's `Idempotency-Key` (None without one); 400 for an empty, overlong or unprintable one."""
    key = call.headers.get("idempotency-key")
    if key is None:
        return None
    if not key.strip() or len(key) > MAX_IDEMPOTENCY_KEY or not key.isprintable():
        raise InvalidInput("Invalid Idempotency-Key.", {"fields": {"Idempotency-Key": "1-128 printable characters"}})
    return key


def scope(call: Call) -> str | None:
    """The request's key scoped per caller and route (one key never names two different writes, nor anyone
    else's): its record's name, and the mark a keyed booking carries. None without a key."""
    key = checked_key(call)
    return None if key is None else scoped_key(call.caller.subject, f"{call.route}|{key}")


def keyed(
    call: Call,
    run: Callable[[], Answer],
    lambda_context: Any = None,
    landed: Callable[[], Answer | None] | None = None,
) -> Answer | Response:
    """`run()` once per caller, route and key: a repeat with the same path and body gets the stored answer without
    running again; another path or body under the key is 409 `CONFLICT`. Without a key, `run()` as it is. With
    one, the answer is serialized once: that JSON is both the record's and the response's body.

    `landed()`: for a repeat that finds the first attempt's record still in progress (its answer lost before the
    record was completed), the answer the change gives once it shows as made, or None (then 409, retry shortly)."""
    scoped = scope(call)
    if scoped is None:
        return run()
    payload = {"params": call.params, "body": call.raw_body or {}}

    def recover() -> dict[str, Any] | None:
        found = landed() if landed is not None else None
        return found.to_json() if found is not None else None

    stored = call.services.idempotency.run(scoped, payload, lambda: run().to_json(), lambda_context, recover)
    return Response(body=stored, status_code=call.status, headers={**NO_STORE})
