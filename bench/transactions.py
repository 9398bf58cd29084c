"""Does DynamoDB Local run transactions one at a time? Concurrent `TransactWriteItems` on disjoint items.

The same number of transactions (each 4 puts on items no other transaction touches, as a reminder's final write
and a booking do) is sent from 1, 4 and 16 threads on one table of a fresh DynamoDB Local, and the same with
single `PutItem`s for comparison. If the wall time of the batch does not fall as threads are added while the
per-call latency grows with them, the server runs those calls one at a time: then no client-side concurrency can
make a sweep of transactions faster there, and the sweep's concurrency has to be measured elsewhere (see
bench/reminders.py's sweep on moto with latency injected).
"""

from __future__ import annotations

import os
import statistics
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from botocore.config import Config

THREADS = (1, 4, 16)


def _client(endpoint: str) -> Any:
    import boto3

    config = Config(max_pool_connections=32, retries={"mode": "standard", "max_attempts": 1})
    return boto3.client("dynamodb", region_name="us-east-1", endpoint_url=endpoint, config=config)


def _table(client: Any) -> str:
    name = f"bench-tx-{uuid.uuid4().hex[:8]}"
    client.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    return name


def server_cpu_seconds(pid: int | None) -> float:
    """CPU time the server process has used so far (user + system, from /proc); 0 when unknown."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def fill(client: Any, table: str, items: int) -> float:
    """`items` small items in the table with BatchWriteItem, 4 threads; seconds taken."""

    def write(start: int) -> None:
        for at in range(start, min(start + 2500, items), 25):
            request = {
                table: [
                    {"PutRequest": {"Item": {"pk": {"S": f"fill-{n}"}, "sk": {"S": "x"}, "n": {"N": str(n)}}}}
                    for n in range(at, min(at + 25, items))
                ]
            }
            while request:
                request = client.batch_write_item(RequestItems=request).get("UnprocessedItems") or {}

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(write, range(0, items, 2500)))
    return time.perf_counter() - started


def _run(calls: int, threads: int, call: Any, server_pid: int | None = None) -> dict[str, float]:
    latencies: list[float] = []

    def one(n: int) -> None:
        started = time.perf_counter()
        call(n)
        latencies.append(time.perf_counter() - started)

    cpu = server_cpu_seconds(server_pid)
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(one, range(calls)))
    wall = time.perf_counter() - started
    return {
        "wall_s": round(wall, 2),
        "calls_per_s": round(calls / wall, 1),
        "median_latency_ms": round(statistics.median(latencies) * 1000, 1),
        # cores the server kept busy on average: about 1 whatever the threads means it works one call at a time
        "server_cores_busy": round((server_cpu_seconds(server_pid) - cpu) / wall, 2),
    }


def bench_transactions(
    endpoint: str, calls: int = 400, prefill: int = 0, server_pid: int | None = None
) -> dict[str, Any]:
    client = _client(endpoint)
    table = _table(client)
    fill_seconds = fill(client, table, prefill) if prefill else 0.0

    def transaction(prefix: str) -> Any:
        def call(n: int) -> None:
            client.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": table,
                            "Item": {"pk": {"S": f"{prefix}-{n}-{i}"}, "sk": {"S": "x"}, "n": {"N": str(n)}},
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    }
                    for i in range(4)
                ]
            )

        return call

    def put(prefix: str) -> Any:
        def call(n: int) -> None:
            client.put_item(TableName=table, Item={"pk": {"S": f"{prefix}-{n}"}, "sk": {"S": "x"}})

        return call

    for warm in range(2):  # the JVM's JIT first: the first batch would time compilation, not the server
        _run(calls // 4, 4, transaction(f"warm{warm}"))
        _run(calls // 4, 4, put(f"warmput{warm}"))
    out: dict[str, Any] = {
        "calls": calls,
        "transaction": "4 conditional puts on new items",
        "items_in_table": prefill,
        "fill_seconds": round(fill_seconds, 1),
        "cpus": os.cpu_count(),
    }
    for kind, make in (("transact_write_items", transaction), ("put_item", put)):
        runs: dict[str, Any] = {
            f"{threads}_threads": _run(calls, threads, make(f"{kind}-{threads}"), server_pid) for threads in THREADS
        }
        base = runs["1_threads"]["wall_s"]
        for threads in THREADS[1:]:
            runs[f"speedup_{threads}_threads"] = round(base / runs[f"{threads}_threads"]["wall_s"], 2)
        out[kind] = runs
    return out


if __name__ == "__main__":
    import json
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    from infra.local.dynamodb_local import DynamoDBLocal

    prefill = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    calls = int(sys.argv[2]) if len(sys.argv) > 2 else 400
    with DynamoDBLocal() as ddb:
        pid = ddb.process.pid if ddb.process else None
        print(json.dumps(bench_transactions(ddb.endpoint, calls, prefill, pid), indent=2))
