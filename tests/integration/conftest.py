"""Integration tests: the real adapters against DynamoDB Local, started once per session on a free port."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import boto3
import pytest

from chalicelib import container
from chalicelib.adapters.dynamodb import models
from chalicelib.adapters.dynamodb.idempotency import create_idempotency_table
from chalicelib.config import Settings
from infra.local.dynamodb_local import DynamoDBLocal
from tests.helpers import NOW, FixedClock

_prefixes = itertools.count(1)


@pytest.fixture(scope="session")
def dynamodb_local() -> Iterator[DynamoDBLocal]:
    with DynamoDBLocal() as ddb:
        yield ddb


@pytest.fixture
def settings(dynamodb_local: DynamoDBLocal, tmp_path) -> Settings:
    """Fresh tables per test (a new prefix), so tests never see each other's items."""
    return Settings.from_env(
        {
            "TABLE_PREFIX": f"it{next(_prefixes)}",
            "AWS_REGION": "us-east-1",
            "DYNAMODB_ENDPOINT": dynamodb_local.endpoint,
        }
    )


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def wired(settings: Settings, clock: FixedClock) -> Iterator[container.Container]:
    models.create_tables(settings)
    create_idempotency_table(
        settings, boto3.client("dynamodb", region_name=settings.region, endpoint_url=settings.dynamodb_endpoint)
    )
    built = container.build(settings, clock=clock)
    container.use(built)
    yield built
    container.use(None)
