"""One TransactWriteItems built from tagged operations, and its commit with the client-request-token retry.

A tag names what an item protects, so a cancelled transaction's reasons say which rule refused it
(`ConditionsFailed.tags`). The commit retries only what a resend can fix and botocore did not retry already:
contention (TransactionConflict, with a new token), and an unknown outcome (a timeout, TransactionInProgress-
Exception, a 5xx) with the same token, so a write that did land is not applied twice. Throttling and 5xx answers
are botocore's to retry (standard mode, `models.RETRY_ATTEMPTS`); once it has spent its attempts on them, the
commit answers ServiceBusy instead of stacking its own retries on top.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace

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
    retries_spent,
)
from chalicelib.adapters.retrying import Backoff
from chalicelib.domain.errors import ServiceBusy

log = logging.getLogger("clinic.store")
RETRYABLE_REASONS = frozenset({"TransactionConflict"}) | THROTTLING_CODES
MAX_ITEMS = 100
"""DynamoDB's limit of items in one transaction."""
RESENDS = 3
"""Sends of one token at most, when the outcome stays unknown."""
BACKOFF = Backoff(attempts=4, base=0.05, cap=0.4)
"""A commit's tries (contention) and resends (unknown outcome) by default: about half a second in all at most."""
BUSY = "The schedule is busy right now; nothing was changed, please retry."


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
        backoff: Backoff | None = None,
    ) -> None:
        """Send the transaction, retrying contention (and throttling botocore did not retry) with a new token and
        an unknown outcome with the same token. Raises ConditionsFailed when an item's condition refused it,
        ServiceBusy when the retries ran out. If the outcome was ever unknown and the transaction then fails,
        `landed()` says whether an earlier send committed it: committed means done."""
        backoff = backoff or BACKOFF
        tags = [op.tag for op in self.ordered()]
        unknown: list[str] = []  # the tokens whose outcome was unknown at least once
        try:
            # Our own loop, because botocore's standard mode cannot run it: a transaction cancelled for
            # TransactionConflict is a TransactionCanceledException (400), which botocore never retries, and only
            # its cancellation reasons say that contention, not a condition, refused it. Each such try is a new
            # attempt with a new ClientRequestToken.
            for attempt in backoff.tries():
                token = str(uuid.uuid5(uuid.NAMESPACE_OID, f"{operation_id}#{attempt.number}"))  # <= 36 characters
                error = self._send_until_known(connection, token, backoff, unknown)
                if error is None:
                    return
                failed = [tags[i] for i in failed_conditions(error)]
                if failed:
                    raise ConditionsFailed(failed) from error
                code = error_code(error)
                if code in THROTTLING_CODES and retries_spent(error):  # botocore retried it already
                    raise ServiceBusy(BUSY) from error
                if not (code in THROTTLING_CODES or any(c in RETRYABLE_REASONS for c in cancellation_codes(error))):
                    raise error
            raise ServiceBusy(BUSY)
        except Exception:
            if unknown and landed is not None and landed():
                log.warning("transaction %s: an earlier send committed; answering success", operation_id)
                return
            raise

    def _send_until_known(
        self, connection: Connection, token: str, backoff: Backoff, unknown: list[str]
    ) -> TransactWriteError | None:
        """Send with this token until DynamoDB says what happened: None when it committed, else its refusal. An
        unknown outcome is resent with the same token (a write that did land is not applied twice), at most
        RESENDS sends and never after botocore spent its own retries on it; then ServiceBusy."""
        # Our own loop, because botocore's cannot do it: botocore resends a timed-out call only within its own
        # attempts, and a timeout that outlasts them carries no response saying so; this loop bounds those resends
        # and keeps the token, so DynamoDB applies the transaction at most once whichever send landed.
        last: TransactWriteError | None = None
        for _ in replace(backoff, attempts=RESENDS).tries():
            try:
                self.send(connection, token)
                return None
            except TransactWriteError as exc:
                if error_code(exc) not in UNKNOWN_OUTCOME_CODES:
                    return exc
                unknown.append(token)
                last = exc
                if retries_spent(exc):
                    break
        raise ServiceBusy("The database did not answer in time; please retry.") from last
