"""What the benchmarks share: counting DynamoDB calls on the app's own botocore clients."""

from __future__ import annotations

from collections import Counter
from typing import Any


def count_dynamodb_calls(clients: list[Any], counts: Counter[str]) -> None:
    """Add one to `counts["dynamodb:<Operation>"]` for every call any of the clients makes from now on."""

    def tally(model: Any, **_: Any) -> None:
        counts[f"dynamodb:{model.name}"] += 1

    for client in clients:
        client.meta.events.register("before-call.dynamodb.*", tally)
