"""The chaos test's machinery: a DynamoDB Local that can be frozen, killed and restarted, hooks on the app's
DynamoDB clients (a gate for quiet kills, lost answers), a delivery provider that loses answers, and a clock that
moves with the operations."""

from __future__ import annotations

import os
import random
import signal
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError

from infra.local.dynamodb_local import DynamoDBLocal

WRITES = frozenset({"TransactWriteItems", "PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem"})


class StepClock:
    """`now()` moves on by `step` with each operation the test starts: reminders fall due as the run goes on,
    and visits early in the window pass into the past (every check of time is against this clock)."""

    def __init__(self, start: datetime, step: timedelta) -> None:
        self.start = start
        self.step = step
        self.ticks = 0
        self._lock = threading.Lock()

    def tick(self) -> int:
        with self._lock:
            self.ticks += 1
            return self.ticks

    def now(self) -> datetime:
        return self.start + self.step * self.ticks


class FlakyDynamoDB:
    """DynamoDB Local persisted on disk (`-sharedDb -dbPath`), so a kill -9 keeps what it committed, with hooks on
    every botocore client the app calls it through.

    DynamoDB Local acknowledges a `TransactWriteItems` a few milliseconds before its SQLite commit (measured: a
    kill -9 right after the answer lost the last transaction in 4 of 4 tries, 1 of 3 with 10 ms between, none of
    12 with 50 ms or more), so a kill at a random instant can lose a write the app was told had committed: that is
    the emulator's fault, not the app's. So `kill_quietly` first holds every new request at a gate, waits until
    none is in flight and a quiet moment more has passed, kills, and opens the gate on the dead port while the
    database restarts (requests then find no listener: refused connections, then 503s). Freezing (SIGSTOP) needs
    no such care and happens at any instant, in the middle of requests."""

    def __init__(self, db_path: Any, lose_rate: float, seed: int) -> None:
        self.server = DynamoDBLocal(db_path=db_path)
        self.lose_rate = lose_rate
        self._random = random.Random(seed)
        self._random_lock = threading.Lock()
        self._open = threading.Event()
        self._open.set()
        self._in_flight = 0
        self._flight_lock = threading.Condition()
        self.clients: list[Any] = []
        self.lost: Counter[str] = Counter()
        self.pauses: list[float] = []
        self.kills: list[float] = []

    @property
    def endpoint(self) -> str:
        return self.server.endpoint

    def start(self) -> None:
        self.server.start()

    def stop(self) -> None:
        pid = self.server.process.pid if self.server.process else None
        if pid is not None:
            os.kill(pid, signal.SIGCONT)  # a frozen JVM would ignore the polite stop
        self.server.stop()

    def hook(self, clients: list[Any]) -> None:
        for client in clients:
            client.meta.events.register("before-send.dynamodb.*", self._before_send)
            client.meta.events.register("response-received.dynamodb.*", self._received)
            client.meta.events.register("after-call.dynamodb.*", self._after_call)
            self.clients.append(client)

    def unhook(self) -> None:
        for client in self.clients:
            client.meta.events.unregister("before-send.dynamodb.*", self._before_send)
            client.meta.events.unregister("response-received.dynamodb.*", self._received)
            client.meta.events.unregister("after-call.dynamodb.*", self._after_call)
        self.clients.clear()

    def _before_send(self, **_: Any) -> None:
        self._open.wait()
        with self._flight_lock:
            self._in_flight += 1

    def _received(self, **_: Any) -> None:
        with self._flight_lock:
            self._in_flight -= 1
            self._flight_lock.notify_all()

    def _after_call(self, model: Any, http_response: Any, **_: Any) -> None:
        """A write that DynamoDB applied, whose answer never reaches the app (below the app, above botocore's
        retries: the app sees a timeout of unknown outcome)."""
        if model.name not in WRITES or http_response.status_code >= 300:
            return
        with self._random_lock:
            lose = self._random.random() < self.lose_rate
        if lose:
            self.lost[model.name] += 1
            raise ReadTimeoutError(endpoint_url=self.endpoint)

    def pause(self, seconds: float) -> None:
        """SIGSTOP for `seconds`, whatever is in flight, then SIGCONT."""
        assert self.server.process is not None
        os.kill(self.server.process.pid, signal.SIGSTOP)
        try:
            time.sleep(seconds)
        finally:
            os.kill(self.server.process.pid, signal.SIGCONT)
        self.pauses.append(seconds)

    def kill_quietly(self, quiet: float = 0.3, drain: float = 20.0) -> None:
        """kill -9 with nothing in flight, then a restart on the same port (the requests held meanwhile go on to
        the dead port when the gate opens)."""
        assert self.server.process is not None
        started = time.monotonic()
        self._open.clear()
        try:
            with self._flight_lock:
                self._flight_lock.wait_for(lambda: self._in_flight == 0, timeout=drain)
            time.sleep(quiet)  # past DynamoDB Local's window between its answer and its commit
            self.server.process.kill()
            self.server.process.wait()
        finally:
            self._open.set()
        self.server.process = None
        self.server.start()
        self.kills.append(time.monotonic() - started)


@dataclass
class Sending:
    """What the dispatcher is sending on this thread: one reminder as planned for one version of its visit."""

    reminder_id: str
    for_version: int | None
    for_start: str


class AttributingSender:
    """Wraps the app's deliverer: the provider's fake clients learn which reminder each call is for."""

    def __init__(self, inner: Any, current: threading.local) -> None:
        self._inner = inner
        self._current = current

    def send(self, reminder: Any, appointment: Any, push_endpoints: Any) -> Any:
        self._current.sending = Sending(reminder.id, reminder.for_version, reminder.for_start.isoformat())
        try:
            return self._inner.send(reminder, appointment, push_endpoints)
        finally:
            self._current.sending = None

    def register_device(self, patient_id: str, platform: str, token: str) -> str:
        return str(self._inner.register_device(patient_id, platform, token))


@dataclass
class LossyProvider:
    """SES v2 and SNS as fakes that count every message they accept, per reminder plan and recipient, and then
    at random lose the answer (a read timeout), or answer 500 after accepting; sometimes they refuse before
    accepting (no connection made: nothing sent)."""

    seed: int
    lose_rate: float = 0.15
    error_after_rate: float = 0.03
    refuse_rate: float = 0.03
    current: threading.local = field(default_factory=threading.local)
    sends: Counter[tuple[str, int | None, str, str]] = field(default_factory=Counter)
    outcomes: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)
        self._lock = threading.Lock()
        self.ses = _FakeClient(self, "SendEmail")
        self.sns = _FakeClient(self, "Publish")

    def accept(self, operation: str, recipient: str) -> dict[str, str]:
        with self._lock:
            roll = self._random.random()
            sending: Sending | None = getattr(self.current, "sending", None)
            if roll < self.refuse_rate:
                self.outcomes["refused before sending"] += 1
                raise EndpointConnectionError(endpoint_url="https://provider")
            key = (
                sending.reminder_id if sending else "?",
                sending.for_version if sending else None,
                sending.for_start if sending else "?",
                recipient,
            )
            self.sends[key] += 1
            roll -= self.refuse_rate
            if roll < self.lose_rate:
                self.outcomes["answer lost"] += 1
                raise ReadTimeoutError(endpoint_url="https://provider")
            roll -= self.lose_rate
            if roll < self.error_after_rate:
                self.outcomes["500 after accepting"] += 1
                raise ClientError(
                    {
                        "Error": {"Code": "InternalFailure", "Message": "internal failure"},
                        "ResponseMetadata": {"HTTPStatusCode": 500},
                    },
                    operation,
                )
            self.outcomes["sent"] += 1
            return {"MessageId": f"m-{sum(self.sends.values())}"}

    def duplicates(self) -> dict[tuple[str, int | None, str, str], int]:
        return {key: n for key, n in self.sends.items() if n > 1}


class _FakeClient:
    def __init__(self, provider: LossyProvider, operation: str) -> None:
        self._provider = provider
        self._operation = operation

    def send_email(self, **request: Any) -> dict[str, str]:
        return self._provider.accept("SendEmail", request["Destination"]["ToAddresses"][0])

    def publish(self, **request: Any) -> dict[str, str]:
        return self._provider.accept("Publish", request.get("PhoneNumber") or request.get("TargetArn") or "?")

    def create_platform_endpoint(self, **request: Any) -> dict[str, str]:
        return {"EndpointArn": f"arn:aws:sns:us-east-1:123456789012:endpoint/GCM/clinic/{request['Token']}"}
