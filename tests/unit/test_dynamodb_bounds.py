"""The deployed bounds on a DynamoDB call: a request facing a hung DynamoDB waits for one call's attempts and then
fails fast (tests/integration/test_hung_dynamodb.py shows the 503, with shorter timeouts), so those attempts must
fit well within API Gateway's 29 s."""

from __future__ import annotations

from chalicelib.adapters import aws
from chalicelib.adapters.dynamodb import models
from chalicelib.config import Settings

API_GATEWAY_TIMEOUT = 29.0
FIRST_RETRY_BACKOFF = 1.0
"""botocore's standard mode waits a random share of 2**0 seconds before the first retry."""


def test_one_unanswered_dynamodb_call_costs_well_under_api_gateways_timeout():
    # GIVEN the deployed bounds WHEN every attempt of a call goes unanswered
    worst = aws.DYNAMODB_ATTEMPTS * (aws.DYNAMODB_CONNECT_TIMEOUT + aws.DYNAMODB_READ_TIMEOUT) + FIRST_RETRY_BACKOFF
    # THEN the request still answers (503) with most of API Gateway's 29 s to spare
    assert worst <= API_GATEWAY_TIMEOUT / 3


def test_pynamodb_models_and_our_dynamodb_clients_take_those_bounds():
    # GIVEN the store's models bound to their tables, and a DynamoDB client made the one way we make clients
    tables = models.bind(Settings.from_env({}))
    made = aws.client("dynamodb", "us-east-1", read_timeout=30, connect_timeout=15, attempts=5)
    # THEN both wait at most the bounds, and retry an unanswered call once
    for model in tables.all():
        assert model.Meta.connect_timeout_seconds == aws.DYNAMODB_CONNECT_TIMEOUT, model
        assert model.Meta.read_timeout_seconds == aws.DYNAMODB_READ_TIMEOUT, model
        assert model.Meta.max_retry_attempts == aws.DYNAMODB_ATTEMPTS - 1, model
    assert (made.meta.config.connect_timeout, made.meta.config.read_timeout) == (1.0, 2.0)
    assert made.meta.config.retries == {"mode": "standard", "total_max_attempts": aws.DYNAMODB_ATTEMPTS}
