"""`Idempotency-Key` on the writes a client may retry: booking, and (here) cancel, reschedule, status changes and
reminder changes. A retry of a write that landed answers what the first attempt answered, through the same
Powertools idempotency layer as booking, instead of a 409 for a change already made."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from chalicelib import container
from chalicelib.api.http import Call
from chalicelib.api.schemas.common import OutModel
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


def keyed(
    call: Call,
    model: type[Answer],
    run: Callable[[], Answer],
    lambda_context: Any = None,
    landed: Callable[[], Answer | None] | None = None,
) -> Answer:
    """`run()` once per caller, route and key: a repeat with the same path and body gets the stored answer without
    running again; another path or body under the key is 409 `CONFLICT`. Without a key, `run()` as it is.

    `landed()`: for a repeat that finds the first attempt's record still in progress (its answer lost before the
    record was completed), the answer the change gives once it shows as made, or None (then 409, retry shortly)."""
    key = checked_key(call)
    if key is None:
        return run()
    # Scoped per caller and route: one key never names two different writes, nor anyone else's.
    scoped = scoped_key(call.caller.subject, f"{call.route}|{key}")
    payload = {"params": call.params, "body": call.raw_body or {}}

    def recover() -> dict[str, Any] | None:
        found = landed() if landed is not None else None
        return found.to_json() if found is not None else None

    stored = container.current().idempotency.run(scoped, payload, lambda: run().to_json(), lambda_context, recover)
    return model.model_validate(stored)
