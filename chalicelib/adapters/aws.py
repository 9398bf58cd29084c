"""Every boto3 client of ours is made here: botocore's standard retry mode (exponential backoff with jitter on
throttling and transient errors) and bounded timeouts, configured once. No adapter loops on top of it; the one
exception is delivery, whose clients make a single attempt (a retried timeout may send a message twice) and
retry only refusals that prove nothing was sent.

DynamoDB (these clients and pynamodb's, `models.bind`) has tighter bounds of its own: it answers in
milliseconds, and a request must answer well within API Gateway's 29 s even when DynamoDB hangs (accepts the
connection, never answers). One call then costs at most DYNAMODB_ATTEMPTS x (connect + read timeout) plus one
backoff; pynamodb's defaults (15 s connect, 30 s read, four attempts) made it up to two minutes. And a request
waits on a hung DynamoDB once, not once per call: after a call went unanswered, the thread's further DynamoDB
calls fail at once (`ServiceBusy`, 503) until its next request (or UNANSWERED_WINDOW) begins."""

from __future__ import annotations

import threading
import time
from typing import Any

ATTEMPTS = 3
"""botocore's standard mode default: the first call and two retries."""
DYNAMODB_CONNECT_TIMEOUT = 1.0
DYNAMODB_READ_TIMEOUT = 2.0
"""Seconds; a TransactWriteItems of 100 items answers in tens of milliseconds (DynamoDB Local under load: well
under one second)."""
DYNAMODB_ATTEMPTS = 2
"""The call and one retry (a throttled or unanswered call is tried once more; the store's own retries of a
transaction come on top, within the store's own limits)."""


def client(
    service: str,
    region: str,
    *,
    attempts: int = ATTEMPTS,
    connect_timeout: float = 3,
    read_timeout: float = 10,
    endpoint_url: str | None = None,
) -> Any:
    import boto3
    from botocore.config import Config

    if service == "dynamodb":
        attempts = min(attempts, DYNAMODB_ATTEMPTS)
        connect_timeout = min(connect_timeout, DYNAMODB_CONNECT_TIMEOUT)
        read_timeout = min(read_timeout, DYNAMODB_READ_TIMEOUT)
    config = Config(
        retries={"mode": "standard", "total_max_attempts": attempts},
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
    )
    made = boto3.client(service, region_name=region, endpoint_url=endpoint_url, config=config)
    if service == "dynamodb":
        _guard(made.meta.events)
    return made


# --- a hung DynamoDB costs a request one wait ---------------------------------------------------------------------
UNANSWERED_WINDOW = 10.0
"""Seconds after a DynamoDB call went unanswered during which the same thread's DynamoDB calls fail at once (one
request's worth: each request starts afresh, see `new_request`)."""


class _Unanswered(threading.local):
    since: float | None = None


_unanswered = _Unanswered()


def new_request() -> None:
    """A request (or invocation) begins: it may wait on DynamoDB again."""
    _unanswered.since = None


def each_request(event: Any, get_response: Any) -> Any:
    """Chalice middleware (every kind of event): `new_request`, then the handler."""
    new_request()
    return get_response(event)


def _fail_fast(**_: Any) -> None:
    since = _unanswered.since
    if since is not None and time.monotonic() - since < UNANSWERED_WINDOW:
        from botocore.exceptions import ConnectTimeoutError

        raise ConnectTimeoutError(endpoint_url="dynamodb (not called: an earlier call of this request hung)")


def _note_unanswered(exception: BaseException | None = None, **_: Any) -> None:
    """After-call-error comes once per call, after botocore's own attempts: all of them went unanswered."""
    from botocore.exceptions import ConnectTimeoutError, ReadTimeoutError

    if isinstance(exception, (ReadTimeoutError, ConnectTimeoutError)):
        _unanswered.since = time.monotonic()


def _guard(events: Any) -> None:
    events.register("before-call.dynamodb", _fail_fast, unique_id="clinic-dynamodb-fail-fast")
    events.register("after-call-error.dynamodb", _note_unanswered, unique_id="clinic-dynamodb-unanswered")


def guard_every_dynamodb_client() -> None:
    """Every botocore session made from now on (pynamodb makes its own, per connection and thread) registers the
    two handlers above on its DynamoDB clients: botocore's documented list of built-in handlers is the one place
    pynamodb's clients can be reached before they are made."""
    from botocore import handlers

    for spec in (("before-call.dynamodb", _fail_fast), ("after-call-error.dynamodb", _note_unanswered)):
        if spec not in handlers.BUILTIN_HANDLERS:
            handlers.BUILTIN_HANDLERS.append(spec)
