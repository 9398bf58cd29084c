"""A transaction's answer that botocore already retried to its limit is not retried again by the commit: the
request answers 503 after that one call (botocore's own attempts are inside it)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.faults import HttpAnswer
from tests.helpers import admin


def spent(code: str) -> tuple[HttpAnswer, dict[str, Any]]:
    """DynamoDB's answer after botocore's standard mode spent its attempts on it (its response metadata)."""
    return HttpAnswer(400), {
        "Error": {"Code": code, "Message": code},
        "ResponseMetadata": {"HTTPStatusCode": 400, "MaxAttemptsReached": True, "RetryAttempts": 3},
    }


@pytest.mark.parametrize("code", ["ThrottlingException", "TransactionInProgressException"])
def test_an_answer_botocore_retried_to_its_limit_is_503_after_one_call(api, faults, code):
    # GIVEN a doctor, and the booking's transaction answered with an error botocore already retried to its limit
    doc = api.doctor_with_hours()
    faults.fail("TransactWriteItems", *[spent(code)] * 20)
    # WHEN the patient books
    busy = api.try_book(doc)
    # THEN 503 with Retry-After after that one call, and nothing booked
    assert (busy.status_code, busy.data["error"]["code"]) == (503, "SERVICE_UNAVAILABLE")
    assert busy.headers["Retry-After"]
    assert faults.calls["TransactWriteItems"] == 1
    listed = api.call("GET", f"/api/appointments/doctor/{doc['id']}", admin()).data["appointments"]
    assert listed == []
