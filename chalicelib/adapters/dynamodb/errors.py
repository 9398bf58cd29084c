"""What a failed DynamoDB call means, read in one place from pynamodb's public exception attributes
(`cause_response_code`, `TransactWriteError.cancellation_reasons`), and `translated_errors` for reads."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from pynamodb.exceptions import PynamoDBException, TransactWriteError

from chalicelib.domain.errors import ServiceBusy

THROTTLING_CODES = frozenset(
    {
        "ThrottlingException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "ThrottlingError",
        "ProvisionedThroughputExceeded",
    }
)
UNKNOWN_OUTCOME_CODES = frozenset({None, "TransactionInProgressException", "InternalServerError", "ServiceUnavailable"})
"""No answer, or an answer that does not say whether a transaction applied: resend it with the same token."""
TRANSIENT_CODES = THROTTLING_CODES | UNKNOWN_OUTCOME_CODES - {None}
CONDITION_FAILED = "ConditionalCheckFailed"
"""A transaction item's cancellation reason when its own condition did not hold."""


def error_code(exc: PynamoDBException) -> str | None:
    """DynamoDB's error code, or None when no response came back (timeout, connection error)."""
    if not isinstance(getattr(exc.cause, "response", None), dict):
        return None  # pynamodb's `cause_response_code` fails on a cause whose `response` is None (a timeout)
    code = exc.cause_response_code
    return str(code) if code else None


def condition_failed(exc: PynamoDBException) -> bool:
    """A single-item write refused by its condition (ConditionalCheckFailedException)."""
    return error_code(exc) == "ConditionalCheckFailedException"


def cancelled(exc: PynamoDBException) -> bool:
    """A transaction DynamoDB refused as a whole; its reasons say which items (TransactionCanceledException)."""
    return error_code(exc) == "TransactionCanceledException"


def retries_spent(exc: PynamoDBException) -> bool:
    """botocore's standard retry mode already spent its attempts on this answer (throttling, a 5xx,
    TransactionInProgressException): a retry of ours would stack on botocore's. pynamodb raises its error from
    botocore's, whose response metadata says so (`MaxAttemptsReached`)."""
    response = getattr(exc.cause.__cause__ if exc.cause is not None else None, "response", None)
    return isinstance(response, dict) and bool(response.get("ResponseMetadata", {}).get("MaxAttemptsReached"))


def cancellation_codes(exc: TransactWriteError) -> list[str | None]:
    """One code per transaction item, in the order the items were sent (None for an item that was fine)."""
    return [reason.code if reason else None for reason in exc.cancellation_reasons]


def failed_conditions(exc: TransactWriteError) -> list[int]:
    """The positions of the items whose condition did not hold."""
    return [i for i, code in enumerate(cancellation_codes(exc)) if code == CONDITION_FAILED]


@contextmanager
def translated_errors() -> Iterator[None]:
    """Throttling and timeouts of calls that outlast botocore's retries become ServiceBusy (503), not 500."""
    try:
        yield
    except PynamoDBException as exc:
        code = error_code(exc)
        if code in TRANSIENT_CODES or code is None:
            raise ServiceBusy("The database is busy right now; please retry.") from exc
        raise
