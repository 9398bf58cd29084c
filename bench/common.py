"""What the benchmarks share: counting DynamoDB calls on the app's own botocore clients."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from chalicelib.adapters.dynamodb.models import Tables
    from chalicelib.container import Container


def count_dynamodb_calls(clients: list[Any], counts: Counter[str]) -> None:
    """Add one to `counts["dynamodb:<Operation>"]` for every call any of the clients makes from now on."""

    def tally(model: Any, **_: Any) -> None:
        counts[f"dynamodb:{model.name}"] += 1

    for client in clients:
        client.meta.events.register("before-call.dynamodb.*", tally)


def tables_of(wired: Container) -> Tables:
    """The model classes of the wired app's DynamoDB store: writes through them go over the clients counted."""
    from chalicelib.adapters.dynamodb.appointments import DynamoAppointmentStore

    store = wired.store
    assert isinstance(store, DynamoAppointmentStore)
    return store.tables
