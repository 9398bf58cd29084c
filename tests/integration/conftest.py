"""Integration tests: the real adapters against DynamoDB Local, started once per worker on a free port. The tables
are made once per worker too and emptied before each test (creating ten tables costs about 0.4 s, emptying the
few items a test leaves a few milliseconds)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib import container
from chalicelib.adapters import aws
from chalicelib.adapters.dynamodb import models
from chalicelib.adapters.dynamodb.idempotency import create_idempotency_table
from chalicelib.config import Settings
from infra.local.dynamodb_local import DynamoDBLocal
from tests.helpers import NOW, FixedClock


@pytest.fixture(scope="session")
def dynamodb_local() -> Iterator[DynamoDBLocal]:
    with DynamoDBLocal() as ddb:
        yield ddb


@pytest.fixture(scope="session")
def worker_tables(dynamodb_local: DynamoDBLocal) -> Settings:
    """The worker's tables in its DynamoDB Local, made once."""
    settings = Settings.from_env(
        {"TABLE_PREFIX": "it", "AWS_REGION": "us-east-1", "DYNAMODB_ENDPOINT": dynamodb_local.endpoint}
    )
    models.create_tables(settings)
    create_idempotency_table(settings, dynamodb_client(settings))
    return settings


@pytest.fixture
def settings(worker_tables: Settings) -> Settings:
    """The worker's tables with nothing in them, so tests never see each other's items."""
    empty_tables(worker_tables)
    return worker_tables


def dynamodb_client(settings: Settings) -> Any:
    return aws.client("dynamodb", settings.region, endpoint_url=settings.dynamodb_endpoint)


_KEYS: dict[tuple[str | None, str], list[str]] = {}
"""Each table's key attributes, read once."""


def empty_tables(settings: Settings) -> None:
    """Deletes every item of the configuration's tables (indexes follow their tables), keeping the tables."""
    client = dynamodb_client(settings)
    names = [*models.table_names(settings).values(), settings.idempotency_table]
    for name in names:
        if (settings.dynamodb_endpoint, name) not in _KEYS:
            described = client.describe_table(TableName=name)["Table"]["KeySchema"]
            _KEYS[settings.dynamodb_endpoint, name] = [k["AttributeName"] for k in described]
        key = _KEYS[settings.dynamodb_endpoint, name]
        projection = {"ProjectionExpression": ", ".join(f"#k{i}" for i in range(len(key)))}
        projection["ExpressionAttributeNames"] = {f"#k{i}": k for i, k in enumerate(key)}  # type: ignore[assignment]
        for page in client.get_paginator("scan").paginate(TableName=name, ConsistentRead=True, **projection):
            items = page["Items"]
            for start in range(0, len(items), 25):
                pending = {name: [{"DeleteRequest": {"Key": item}} for item in items[start : start + 25]]}
                while pending:
                    pending = client.batch_write_item(RequestItems=pending)["UnprocessedItems"]


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def adapters() -> container.Adapters:
    """Adapters handed to the container instead of the real ones (none by default); a test module overrides this."""
    return container.Adapters()


@pytest.fixture
def wired(settings: Settings, clock: FixedClock, adapters: container.Adapters) -> Iterator[container.Container]:
    built = container.build(settings, clock=clock, adapters=adapters)
    container.use(built)
    yield built
    container.use(None)
