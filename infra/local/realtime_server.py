"""Local stand-ins for API Gateway WebSockets and the DynamoDB stream trigger, for `make run`.

- `LocalSocketHub` serves the same protocol as the deployed WebSocket API on a loopback port with the
  `websockets` library (`ws://127.0.0.1:<port>/?ticket=...`), and is the `ConnectionSender` of a
  RealtimeService, so the same publishing code pushes to it.
- `StreamPoller` reads the appointments table's stream from DynamoDB Local and hands its records to
  `RealtimeService.publish`, as the `slot_publisher` Lambda does with the real stream.
"""

from __future__ import annotations

import asyncio
import email.utils
import threading
import time
import uuid
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlsplit

from chalicelib.api.realtime import slot_changes
from chalicelib.domain.errors import Unauthenticated
from chalicelib.domain.realtime import ConnectionGone
from chalicelib.services.realtime import RealtimeService


class LocalSocketHub:
    def __init__(self, host: str = "127.0.0.1", port: int = 8002) -> None:
        self.host = host
        self.port = port
        self.realtime: RealtimeService | None = None
        self._sockets: dict[str, Any] = {}
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="websocket-hub", daemon=True)
        self._server: Any = None

    # --- ConnectionSender -------------------------------------------------------------------------------------
    def send(self, connection_id: str, payload: str) -> None:
        socket = self._sockets.get(connection_id)
        if socket is None:
            raise ConnectionGone(connection_id)
        future = asyncio.run_coroutine_threadsafe(socket.send(payload), self._loop)
        try:
            future.result(timeout=5)
        except Exception as exc:  # closed while sending: the same as API Gateway's GoneException
            raise ConnectionGone(connection_id) from exc

    # --- server ------------------------------------------------------------------------------------------------
    def start(self, realtime: RealtimeService) -> LocalSocketHub:
        self.realtime = realtime
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the local WebSocket server did not start")
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._loop.call_soon_threadsafe(self._server.close)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._serve())

    async def _serve(self) -> None:
        from websockets.asyncio.server import serve

        async with serve(self._session, self.host, self.port, process_request=self._check_ticket) as server:
            self._server = server
            self._ready.set()
            await server.wait_closed()

    def _check_ticket(self, connection: Any, request: Any) -> Any:
        """`$connect`: refuse the handshake with 401 unless the ticket is valid."""
        assert self.realtime is not None
        ticket = parse_qs(urlsplit(request.path).query).get("ticket", [None])[0]
        connection_id = uuid.uuid4().hex
        try:
            self.realtime.connect(connection_id, ticket)
        except Unauthenticated as exc:
            return connection.respond(HTTPStatus.UNAUTHORIZED, exc.message + "\n")
        connection.connection_id = connection_id
        return None

    async def _session(self, socket: Any) -> None:
        assert self.realtime is not None
        connection_id = socket.connection_id
        self._sockets[connection_id] = socket
        loop = asyncio.get_running_loop()
        try:
            async for message in socket:
                await loop.run_in_executor(None, self.realtime.on_message, connection_id, message)
        except Exception:  # noqa: S110 - a dropped client ends its session like a disconnect
            pass
        finally:
            self._sockets.pop(connection_id, None)
            await loop.run_in_executor(None, self.realtime.disconnect, connection_id)


def database_clock(answer: dict[str, Any]) -> float:
    """DynamoDB Local's own time (its answer's Date header): stream records are stamped on its clock, which keeps
    the real time while `make test-any-hour` moves ours."""
    header = answer.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get("date")
    return email.utils.parsedate_to_datetime(header).timestamp() if header else time.time()


class StreamPoller(threading.Thread):
    """Follows every shard of the appointments table's stream on DynamoDB Local, from its start time on.

    Iterators are (re)opened after the last record seen (or at the shard's start, skipping records older than
    the poller), since DynamoDB Local trims and expires them more eagerly than DynamoDB does."""

    def __init__(
        self, endpoint: str, table: str, realtime: RealtimeService, interval: float = 0.2, idle_interval: float = 0.6
    ) -> None:
        super().__init__(name="stream-poller", daemon=True)
        import boto3

        self._tables = boto3.client("dynamodb", region_name="us-east-1", endpoint_url=endpoint)
        self._streams = boto3.client("dynamodbstreams", region_name="us-east-1", endpoint_url=endpoint)
        self._table = table
        self._realtime = realtime
        self._interval = interval
        # polls slow down to `idle_interval` while nothing changes and speed up with the next record: an idle
        # `make run` (or browser test session) asks DynamoDB Local three times less often
        self._idle_interval = idle_interval
        self._iterators: dict[str, str | None] = {}
        self._last_seen: dict[str, str] = {}
        self._since = time.time() - 120  # creation times are rounded (to the minute on DynamoDB Local)
        self.stopped = threading.Event()

    def _open(self, arn: str, shard_id: str) -> str | None:
        request: dict[str, Any] = {"StreamArn": arn, "ShardId": shard_id, "ShardIteratorType": "TRIM_HORIZON"}
        if shard_id in self._last_seen:
            request.update(ShardIteratorType="AFTER_SEQUENCE_NUMBER", SequenceNumber=self._last_seen[shard_id])
        iterator: str | None = self._streams.get_shard_iterator(**request).get("ShardIterator")
        return iterator

    def _discover(self, arn: str) -> None:
        for shard in self._streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
            if shard["ShardId"] not in self._iterators:
                self._iterators[shard["ShardId"]] = self._open(arn, shard["ShardId"])

    def _read(self, arn: str, shard_id: str, iterator: str) -> list[dict[str, Any]]:
        try:
            answer = self._streams.get_records(ShardIterator=iterator)
        except (
            self._streams.exceptions.TrimmedDataAccessException,
            self._streams.exceptions.ExpiredIteratorException,
        ):
            self._iterators[shard_id] = self._open(arn, shard_id)
            return []
        self._iterators[shard_id] = answer.get("NextShardIterator")
        fresh = []
        for record in answer.get("Records", []):
            self._last_seen[shard_id] = record["dynamodb"]["SequenceNumber"]
            created = record["dynamodb"].get("ApproximateCreationDateTime")
            stamp = created.timestamp() if hasattr(created, "timestamp") else float(created or 0)
            if stamp >= self._since:
                fresh.append(record)
        return fresh

    def run(self) -> None:
        described = self._tables.describe_table(TableName=self._table)
        arn = described["Table"]["LatestStreamArn"]
        self._since = database_clock(described) - 120
        self._discover(arn)
        last_discovery = time.monotonic()
        wait = self._interval
        while not self.stopped.wait(wait):
            try:
                if time.monotonic() - last_discovery > 10:
                    self._discover(arn)
                    last_discovery = time.monotonic()
                records: list[dict[str, Any]] = []
                for shard_id, iterator in list(self._iterators.items()):
                    if iterator is not None:
                        records.extend(self._read(arn, shard_id, iterator))
                if records:
                    self._realtime.publish(slot_changes(records))
                wait = self._interval if records else min(wait * 1.5, self._idle_interval)
            except Exception as exc:  # keep following; show what went wrong
                print(f"stream poller: {exc!r}", flush=True)
