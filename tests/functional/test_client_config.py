"""Every AWS client the adapters make retries the same way (botocore's standard mode, configured once) and has
bounded timeouts; the senders alone make a single attempt, so a timed-out send is never sent twice."""

from __future__ import annotations

import pytest
from botocore.exceptions import ReadTimeoutError

from chalicelib.adapters import aws
from chalicelib.adapters.delivery import AwsDeliverer
from chalicelib.adapters.scheduler import EventBridgeReminderScheduler
from chalicelib.domain.errors import ServiceBusy


def retries(client) -> tuple[str, int, float]:
    config = client.meta.config
    return config.retries["mode"], config.retries["total_max_attempts"], config.read_timeout


def test_each_client_retries_in_standard_mode_and_the_senders_send_once(wired):
    # GIVEN the deliverer the composition root built, and a scheduler built from the same settings
    deliverer = wired.deliverer
    assert isinstance(deliverer, AwsDeliverer)
    scheduler = EventBridgeReminderScheduler(wired.settings)
    # WHEN their clients are made (on first use)
    made = {
        "scheduler": scheduler.botocore_clients()[0],
        "idempotency": wired.idempotency.botocore_clients()[0],
        "email": deliverer.ses,
        "sms and push": deliverer.sns,
    }
    # THEN the ones that may retry use botocore's standard mode, 3 attempts (DynamoDB's: 2, and a 2 s read
    # timeout); the senders make exactly one
    assert retries(made["scheduler"]) == ("standard", 3, 10)
    assert retries(made["idempotency"]) == ("standard", 2, 2)
    assert retries(made["email"]) == ("standard", 1, 10)
    assert retries(made["sms and push"]) == ("standard", 1, 10)


API_GATEWAY_TIMEOUT = 29
"""Seconds API Gateway waits for the Lambda's answer before it answers 504 itself."""


def test_a_hung_dynamodb_costs_one_call_a_few_seconds_not_minutes(wired):
    # GIVEN the store's clients (pynamodb's, per model and for transactions) and the idempotency table's
    clients = [*wired.store.botocore_clients(), wired.idempotency.botocore_clients()[0]]
    for client in clients:
        config = client.meta.config
        # WHEN a call gets no answer THEN each attempt gives up within its connect and read timeouts, and the
        # attempts of one call together stay far inside what API Gateway waits (pynamodb's defaults: 4 x 45 s)
        worst = config.retries["total_max_attempts"] * (config.connect_timeout + config.read_timeout)
        assert worst <= API_GATEWAY_TIMEOUT / 4, (client.meta.service_model.service_name, worst)


@pytest.fixture
def unanswered(wired):
    """DynamoDB that takes every call and never answers (a read timeout below botocore's retries)."""
    sent: list[str] = []

    def no_answer(request, **_):
        sent.append(request.url)
        raise ReadTimeoutError(endpoint_url=request.url)

    clients = wired.store.botocore_clients()
    for client in clients:
        client.meta.events.register_first("before-send.dynamodb", no_answer)
    yield sent
    for client in clients:
        client.meta.events.unregister("before-send.dynamodb", no_answer)


def test_after_one_unanswered_call_the_rest_of_the_request_fails_at_once(wired, unanswered):
    # GIVEN a DynamoDB that never answers, and an API request whose first read gets no answer
    with aws.one_request():
        with pytest.raises(ServiceBusy):
            wired.store.get("visit-1")
        first = len(unanswered)
        # WHEN the same request reads again (a follow-up, an access-log write, the check of what landed)
        with pytest.raises(ServiceBusy):
            wired.store.get("visit-2")
        # THEN that call is not sent at all: the request waited on the hung DynamoDB once, not twice
        assert (first, len(unanswered)) == (2, 2)
    # WHEN the next request begins THEN it may wait on DynamoDB again
    with aws.one_request(), pytest.raises(ServiceBusy):
        wired.store.get("visit-3")
    assert len(unanswered) == 4
    # AND outside a request (the reminder Lambdas, the sweep) every call waits for itself: a claim is released,
    # an outcome recorded, a few seconds later rather than not at all
    for visit in ("visit-4", "visit-5"):
        with pytest.raises(ServiceBusy):
            wired.store.get(visit)
    assert len(unanswered) == 8
