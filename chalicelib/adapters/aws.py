"""Every boto3 client of ours is made here: botocore's standard retry mode (exponential backoff with jitter on
throttling and transient errors) and bounded timeouts, configured once. No adapter loops on top of it; the one
exception is delivery, whose clients make a single attempt (a retried timeout may send a message twice) and
retry only refusals that prove nothing was sent.

DynamoDB (these clients and pynamodb's, `models.bind`) has tighter bounds of its own: it answers in
milliseconds, and a request must answer well within API Gateway's 29 s even when DynamoDB hangs (accepts the
connection, never answers). One call then costs at most DYNAMODB_ATTEMPTS x (connect + read timeout) plus one
backoff; pynamodb's defaults (15 s connect, 30 s read, four attempts) made it up to two minutes. And a request
waits on a hung DynamoDB once, not once per call: after a call of an API request went unanswered, the request's
further DynamoDB calls fail at once (`ServiceBusy`, 503; see `one_request`)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
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
class _Request(threading.local):
    open: bool = False
    """An API request is being answered on this thread (the Chalice middleware `each_request`)."""
    unanswered: bool = False
    """One of its DynamoDB calls went unanswered: its further calls fail at once."""


_request = _Request()


@contextmanager
def one_request() -> Iterator[None]:
    """The scope of one API request: a DynamoDB call of it that goes unanswered makes its later DynamoDB calls
    fail at once (API Gateway waits 29 s in all). Outside a request (the reminder Lambdas, the sweep, threads
    a request started) every call waits its own timeouts: no gateway is waiting, and a claim released or an
    outcome recorded a few seconds later is worth the wait."""
    _request.open, _request.unanswered = True, False
    try:
        yield
    finally:
        _request.open, _request.unanswered = False, False


def each_request(event: Any, get_response: Any) -> Any:
    """Chalice middleware for HTTP requests: the handler runs in `one_request`."""
    with one_request():
        return get_response(event)


def _fail_fast(**_: Any) -> None:
    if _request.open and _request.unanswered:
        from botocore.exceptions import ConnectTimeoutError

        raise ConnectTimeoutError(endpoint_url="dynamodb (not called: an earlier call of this request hung)")


def _note_unanswered(exception: BaseException | None = None, **_: Any) -> None:
    """After-call-error comes once per call, after botocore's own attempts: all of them went unanswered."""
    from botocore.exceptions import ConnectTimeoutError, ReadTimeoutError

    if _request.open and isinstance(exception, (ReadTimeoutError, ConnectTimeoutError)):
        _request.unanswered = True


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
