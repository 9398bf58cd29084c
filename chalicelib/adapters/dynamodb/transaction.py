"""One TransactWriteItems built from tagged operations, and its commit with the client-request-token retry.

A tag names what an item protects, so a cancelled transaction's reasons say which rule refused it
(`ConditionsFailed.tags`). The commit retries only what a resend can fix: contention (a new token), and an
unknown outcome (a timeout, TransactionInProgressException, a 5xx) with the same token, so a write that did land
is not applied twice.
"""

from __future__ import annotations

import logging
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from pynamodb.connection import Connection
from pynamodb.exceptions import TransactWriteError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from chalicelib.adapters.dynamodb.errors import (
    THROTTLING_CODES,
    UNKNOWN_OUTCOME_CODES,
    cancellation_codes,
    error_code,
    failed_conditions,
)
from chalicelib.domain.errors import ServiceBusy

log = logging.getLogger("clinic.store")
RETRYABLE_REASONS = frozenset({"TransactionConflict"}) | THROTTLING_CODES
MAX_ITEMS = 100
"""DynamoDB's limit of items in one transaction."""
RESENDS = 3
"""Sends of one token at most, when the outcome stays unknown."""


class ConditionsFailed(Exception):
    """DynamoDB cancelled the transaction because the conditions of these tagged items did not hold."""

    def __init__(self, tags: list[str]) -> None:
        super().__init__(f"conditions failed: {', '.join(tags)}")
        self.tags = tags


@dataclass(frozen=True)
class Op:
    """One item of a transaction, tagged so a cancellation reason can be traced to what it protects."""

    tag: str
    item: Model
    condition: Condition | None = None
    actions: list[Action] | None = None


@dataclass
class Transaction:
    deletes: list[Op] = field(default_factory=list)
    puts: list[Op] = field(default_factory=list)
    updates: list[Op] = field(default_factory=list)

    def ordered(self) -> list[Op]:
        """pynamodb sends deletes, then puts, then updates; DynamoDB's reasons follow that order."""
        return self.deletes + self.puts + self.updates

    def apply(self, transaction: TransactWrite) -> None:
        for op in self.deletes:
            transaction.delete(op.item, condition=op.condition)
        for op in self.puts:
            transaction.save(op.item, condition=op.condition)
        for op in self.updates:
            transaction.update(op.item, actions=op.actions or [], condition=op.condition)

    def send(self, connection: Connection, token: str | None = None) -> None:
        """One TransactWriteItems, no retry of our own."""
        with TransactWrite(connection=connection, client_request_token=token) as transaction:
            self.apply(transaction)

    def commit(
        self,
        connection: Connection,
        operation_id: str,
        landed: Callable[[], bool] | None = None,
        attempts: int = 4,
        base_delay: float = 0.05,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """Send the transaction, retrying contention and throttling with a new token and an unknown outcome with
        the same token. Raises ConditionsFailed when an item's condition refused it, ServiceBusy when retries ran
        out. If the outcome was ever unknown and the transaction then fails, `landed()` says whether an earlier
        send committed it: committed means done."""
        tags = [op.tag for op in self.ordered()]
        uncertain = False

        def backoff(step: int) -> None:
            sleep(base_delay * (2**step) * (0.5 + random.SystemRandom().random()))

        try:
            for attempt in range(attempts):
                token = str(uuid.uuid5(uuid.NAMESPACE_OID, f"{operation_id}#{attempt}"))  # at most 36 characters
                error: TransactWriteError | None = None
                for resend in range(RESENDS):
                    try:
                        self.send(connection, token)
                        return
                    except TransactWriteError as exc:
                        error = exc
                        if error_code(exc) not in UNKNOWN_OUTCOME_CODES:
                            break
                        uncertain = True  # the same token again: a write that did land is not applied twice
                        if resend < RESENDS - 1:
                            backoff(resend)
                else:
                    raise ServiceBusy("The database did not answer in time; please retry.") from error
                if error is None:  # the loop above either returned or caught an error
                    raise ServiceBusy("The database did not answer; please retry.")
                failed = [tags[i] for i in failed_conditions(error)]
                if failed:
                    raise ConditionsFailed(failed) from error
                code = error_code(error)
                retryable = code in THROTTLING_CODES or any(c in RETRYABLE_REASONS for c in cancellation_codes(error))
                if not retryable:
                    raise error
                if attempt + 1 < attempts:
                    backoff(attempt)
            raise ServiceBusy("The schedule is busy right now; nothing was changed, please retry.")
        except Exception:
            if uncertain and landed is not None and landed():
                log.warning("transaction %s: an earlier send committed; answering success", operation_id)
                return
            raise
