"""`Idempotency-Key` on the writes a client may retry: booking, and (here) cancel, reschedule, status changes and
reminder changes. A retry of a write that landed answers what the first attempt answered, through the same
Powertools idempotency layer as booking, instead of a 409 for a change already made."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from chalicelib import container
from chalicelib.api.http import Call
from chalicelib.api.schemas import OutModel
from chalicelib.domain.errors import InvalidInput
from chalicelib.domain.idempotency import scoped_key

MAX_IDEMPOTENCY_KEY = 128
Answer = TypeVar("Answer", bound=OutModel)


def checked_key(call: Call) -> str | None:
    """The request's `Idempotency-Key` (None without one); 400 for an empty, overlong or unprintable one."""
    key = call.headers.get("idempotency-key")
    if key is None:
        return None
    if not key.strip() or len(key) > MAX_IDEMPOTENCY_KEY or not key.isprintable():
        raise InvalidInput("Invalid Idempotency-Key.", {"fields": {"Idempotency-Key": "1-128 printable characters"}})
    return key


def keyed(call: Call, model: type[Answer], run: Callable[[], Answer], lambda_context: Any = None) -> Answer:
    """`run()` once per caller, route and key: a repeat with the same path and body gets the stored answer without
    running again; another path or body under the key is 409 `CONFLICT`. Without a key, `run()` as it is."""
    key = checked_key(call)
    if key is None:
        return run()
    # Scoped per caller and route: one key never names two different writes, nor anyone else's.
    scoped = scoped_key(call.caller.subject, f"{call.route}|{key}")
    payload = {"params": call.params, "body": call.raw_body or {}}
    stored = container.current().idempotency.run(scoped, payload, lambda: run().to_json(), lambda_context)
    return model.model_validate(stored)
