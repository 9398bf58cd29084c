"""A reminder dispatcher on the test's DynamoDB Local tables, with a delivery stand-in and no scheduler: how the
race tests run many dispatchers at once against one store."""

from __future__ import annotations

from typing import Any

from chalicelib.adapters.dynamodb import models
from chalicelib.adapters.dynamodb.patients import DynamoPatientRepository
from chalicelib.adapters.dynamodb.reminders import DynamoReminderStore
from chalicelib.adapters.scheduler import NoScheduler
from chalicelib.container import Container
from chalicelib.services.reminders.dispatch import ReminderDispatcher
from chalicelib.services.reminders.schedules import ReminderSchedules


def dispatcher_on(
    wired: Container, deliverer: Any, clock: Any, *, store_reads: bool = False, **options: Any
) -> tuple[ReminderDispatcher, DynamoReminderStore]:
    """The dispatcher and the reminder store it uses; `store_reads` makes that store its `reads` too, `options` are
    ReminderDispatcher's other keyword arguments."""
    tables = models.bind(wired.settings)
    store = DynamoReminderStore(tables)
    if store_reads:
        options["reads"] = store
    dispatcher = ReminderDispatcher(
        store,
        wired.store,
        DynamoPatientRepository(tables),
        deliverer,
        ReminderSchedules(NoScheduler(), store),
        clock,
        **options,
    )
    return dispatcher, store
