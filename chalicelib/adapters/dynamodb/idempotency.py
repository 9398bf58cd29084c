"""The one idempotency mechanism: Powertools' idempotency utility, its records in a DynamoDB table of ours (keyed by
the caller- and route-scoped key hash, `id`), for every write that takes an `Idempotency-Key` (api/idempotent.py)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import cached_property
from typing import Any

from chalicelib.config import Settings
from chalicelib.domain.errors import Conflict, ServiceBusy

log = logging.getLogger("clinic.idempotency")


class PowertoolsIdempotency:
    """`run(key, payload, action)`: the first call runs `action` and stores its result for the key; a repeat
    with the same payload returns it without running `action`; another payload under the key is a Conflict.

    The record is bookkeeping around the action, never the answer: once the action returned, a failure to save
    its result is logged and the result answered; a record the store cannot read or write before the action is
    503; a record left `in progress` (its request's answer lost, or its result not saved) defers to `recover()`,
    the answer of the change if it shows as made (409, retry shortly, otherwise)."""

    def __init__(self, settings: Settings, client: Any | None = None) -> None:
        self._settings = settings
        self._given = client

    @cached_property
    def _config(self) -> Any:
        # Powertools' idempotency package imports boto3 (and s3transfer): only a guarded request pays for it.
        from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig

        return IdempotencyConfig(
            event_key_jmespath="key",
            payload_validation_jmespath="payload",
            raise_on_no_idempotency_key=True,
            expires_after_seconds=self._settings.idempotency_ttl_seconds,
        )

    @cached_property
    def _persistence(self) -> Any:
        """Made on the first guarded request (its DynamoDB client too), not at cold start."""
        from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

        client = self._given
        if client is None:
            from chalicelib.adapters import aws

            s = self._settings
            client = aws.client("dynamodb", s.region, endpoint_url=s.dynamodb_endpoint)
        return DynamoDBPersistenceLayer(table_name=self._settings.idempotency_table, boto3_client=client)

    def botocore_clients(self) -> list[Any]:
        """The DynamoDB client of its records (tests hook faults and counts onto its events)."""
        return [self._persistence.client]

    @cached_property
    def _guarded(self) -> Any:
        from aws_lambda_powertools.utilities.idempotency import idempotent_function

        @idempotent_function(data_keyword_argument="request", persistence_store=self._persistence, config=self._config)
        def guarded(request: dict[str, Any], action: Callable[[], dict[str, Any]]) -> dict[str, Any]:
            return action()

        return guarded

    def run(
        self,
        key: str,
        payload: dict[str, Any],
        action: Callable[[], dict[str, Any]],
        lambda_context: Any = None,
        recover: Callable[[], dict[str, Any] | None] | None = None,
    ) -> dict[str, Any]:
        from aws_lambda_powertools.utilities.idempotency.exceptions import (
            IdempotencyAlreadyInProgressError,
            IdempotencyPersistenceLayerError,
            IdempotencyValidationError,
        )

        if lambda_context is not None:
            # lets an in-progress record expire with the Lambda's own timeout, not the default hour
            self._config.register_lambda_context(lambda_context)
        outcome: dict[str, Any] = {}

        def tracked() -> dict[str, Any]:
            try:
                answer = action()
            except Exception as exc:
                outcome["error"] = exc
                raise
            outcome["result"] = answer
            return answer

        try:
            result: dict[str, Any] = self._guarded(request={"key": key, "payload": payload}, action=tracked)
            return result
        except IdempotencyValidationError as exc:
            raise Conflict(
                "This Idempotency-Key was already used with a different request.",
                {"header": "Idempotency-Key"},
            ) from exc
        except IdempotencyAlreadyInProgressError as exc:
            recovered = recover() if recover is not None else None
            if recovered is not None:
                return recovered
            raise Conflict(
                "A request with this Idempotency-Key is still in progress; retry shortly.",
                {"header": "Idempotency-Key"},
            ) from exc
        except IdempotencyPersistenceLayerError as exc:
            if "result" in outcome:  # done: only the bookkeeping failed; a retry recovers the same answer
                log.warning("idempotency record not saved after success: %s", type(exc.__cause__).__name__)
                return dict(outcome["result"])
            if "error" in outcome:  # the action's own answer, not the record's cleanup
                raise outcome["error"] from None
            raise ServiceBusy("The idempotency store is unavailable right now; please retry.") from exc


def create_idempotency_table(settings: Settings, client: Any) -> None:
    """Local runs and tests only; deployed stacks create it from template.yaml."""
    existing = client.list_tables()["TableNames"]
    if settings.idempotency_table in existing:
        return
    client.create_table(
        TableName=settings.idempotency_table,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
