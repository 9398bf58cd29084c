"""moto, as the functional tests run it, keeps every acknowledged write while other threads' transactions are
refused: the app's sweeps call from 16 threads, and moto alone (not thread-safe) puts back whole-table copies on a
refused transaction, erasing what other threads wrote meanwhile (`tests/patches.py`)."""

from __future__ import annotations

import contextlib
import threading

import boto3
from moto import mock_aws

from tests import patches

THREADS = 8
ROUNDS = 40


def test_refused_transactions_on_other_threads_lose_no_acknowledged_write():
    # GIVEN moto patched as tests/moto_cloud.py patches it, and a table with an item
    patches.moto_answers_one_request_at_a_time()
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName="t",
            KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        client.put_item(TableName="t", Item={"k": {"S": "there"}})

        def work(n: int) -> None:
            own = boto3.client("dynamodb", region_name="us-east-1")
            for r in range(ROUNDS):
                refused = [
                    {"Put": {"TableName": "t", "Item": {"k": {"S": f"refused-{n}-{r}"}}}},
                    {
                        "ConditionCheck": {
                            "TableName": "t",
                            "Key": {"k": {"S": "there"}},
                            "ConditionExpression": "attribute_not_exists(k)",
                        }
                    },
                ]
                with contextlib.suppress(own.exceptions.TransactionCanceledException):
                    own.transact_write_items(TransactItems=refused)
                own.put_item(TableName="t", Item={"k": {"S": f"kept-{n}-{r}"}})

        # WHEN threads write while their own transactions, and each other's, are refused
        threads = [threading.Thread(target=work, args=(n,)) for n in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        stored = {
            item["k"]["S"] for page in client.get_paginator("scan").paginate(TableName="t") for item in page["Items"]
        }
    # THEN every acknowledged write is there, and nothing of a refused transaction
    assert {f"kept-{n}-{r}" for n in range(THREADS) for r in range(ROUNDS)} <= stored
    assert not [k for k in stored if k.startswith("refused-")]
