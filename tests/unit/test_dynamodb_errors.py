"""How a failed DynamoDB call is read: one decoder over pynamodb's public exception attributes."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, ReadTimeoutError
from pynamodb.exceptions import CancellationReason, PutError, QueryError, TransactWriteError, VerboseClientError

from chalicelib.adapters.dynamodb.errors import (
    cancellation_codes,
    cancelled,
    condition_failed,
    error_code,
    failed_conditions,
    retries_spent,
    translated_errors,
)
from chalicelib.domain.errors import ServiceBusy


def answered(code: str, reasons: list[CancellationReason | None] | None = None) -> VerboseClientError:
    return VerboseClientError({"Error": {"Code": code, "Message": code}}, "Op", cancellation_reasons=reasons or [])


def test_a_cancelled_transaction_names_the_items_whose_condition_failed():
    # GIVEN DynamoDB cancelled a three-item transaction: the second item's condition, the third a conflict
    reasons = [None, CancellationReason("ConditionalCheckFailed"), CancellationReason("TransactionConflict")]
    exc = TransactWriteError("failed", answered("TransactionCanceledException", reasons))
    # WHEN it is decoded THEN the codes follow the items and only the second failed its condition
    assert cancellation_codes(exc) == [None, "ConditionalCheckFailed", "TransactionConflict"]
    assert failed_conditions(exc) == [1]
    assert cancelled(exc) and not condition_failed(exc)


def test_a_single_write_refused_by_its_condition():
    exc = PutError("failed", answered("ConditionalCheckFailedException"))
    assert condition_failed(exc) and not cancelled(exc)
    assert error_code(exc) == "ConditionalCheckFailedException"


def test_no_answer_has_no_code_and_no_reasons():
    # GIVEN a read timeout: botocore's exception has `response = None`
    exc = TransactWriteError("failed", ReadTimeoutError(endpoint_url="http://dynamodb"))
    # THEN it has no code (an unknown outcome), no reasons, and is no condition failure
    assert error_code(exc) is None
    assert cancellation_codes(exc) == [] and failed_conditions(exc) == []
    assert not condition_failed(exc) and not cancelled(exc)


@pytest.mark.parametrize(
    "cause",
    [answered("ThrottlingException"), answered("InternalServerError"), ReadTimeoutError(endpoint_url="http://x")],
)
def test_throttling_and_no_answer_become_service_busy(cause):
    with pytest.raises(ServiceBusy), translated_errors():
        raise QueryError("failed", cause)


def test_other_errors_pass_through():
    with pytest.raises(PutError), translated_errors():
        raise PutError("failed", answered("ValidationException"))


def raised_from(botocore_error: ClientError) -> TransactWriteError:
    """The chain pynamodb builds: its TransactWriteError, caused by a VerboseClientError raised from botocore's."""
    try:
        try:
            raise botocore_error
        except ClientError as exc:
            raise answered(botocore_error.response["Error"]["Code"]) from exc
    except VerboseClientError as verbose:
        return TransactWriteError("failed", verbose)


def test_an_answer_botocore_retried_until_its_limit_has_its_retries_spent():
    # GIVEN botocore's standard mode retried a throttled call until its limit (its response metadata says so)
    spent = ClientError(
        {"Error": {"Code": "ThrottlingException"}, "ResponseMetadata": {"MaxAttemptsReached": True}}, "Op"
    )
    # THEN no retry of ours belongs on top; an answer botocore did not retry, or no answer at all, is not spent
    assert retries_spent(raised_from(spent))
    assert not retries_spent(raised_from(ClientError({"Error": {"Code": "ThrottlingException"}}, "Op")))
    assert not retries_spent(TransactWriteError("failed", ReadTimeoutError(endpoint_url="http://dynamodb")))
