"""Webhook adapters: the HTTP sender (connected to the address that was checked, 10 s for the whole attempt),
Standard Webhooks signing (the `standardwebhooks` library), new secrets, and the queues (SQS in AWS; an
in-process list in local runs and tests)."""

from __future__ import annotations

import base64
import contextlib
import http.client
import json
import secrets
import socket
import ssl
import threading
import time
from collections import deque
from collections.abc import Sequence
from datetime import datetime
from functools import cached_property
from typing import Any
from urllib.parse import urlsplit

from chalicelib.config import Settings
from chalicelib.domain.webhooks import Outcome

MAX_ANSWER_BYTES = 4096
"""Of a receiver's answer only the status matters; at most this much of its body is read."""


def new_secret() -> str:
    """`whsec_` + 32 random bytes in base64, the Standard Webhooks secret format."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def sign(signing_secrets: list[str], msg_id: str, timestamp: datetime, body: str) -> str:
    """The `webhook-signature` header: one `v1,<sig>` per current secret, space-separated (a receiver holding
    either the old or the new secret during a rotation verifies)."""
    from standardwebhooks.webhooks import Webhook

    return " ".join(Webhook(s).sign(msg_id, timestamp, body) for s in signing_secrets)


class HttpTransport:
    def __init__(self, resolver: Any = socket.getaddrinfo, resolve_timeout: float = 5.0) -> None:
        self._resolver = resolver
        self._resolve_timeout = resolve_timeout

    def resolve(self, host: str, port: int) -> list[str]:
        """Every address of `host`; a look-up that takes longer than `resolve_timeout` is an OSError (the system
        resolver has no timeout of its own: it runs in a daemon thread that is left to finish)."""
        answer: list[Any] = []
        failure: list[BaseException] = []

        def look_up() -> None:
            try:
                answer.extend(self._resolver(host.strip("[]"), port, type=socket.SOCK_STREAM))
            except BaseException as exc:
                failure.append(exc)

        worker = threading.Thread(target=look_up, name="webhook-resolve", daemon=True)
        worker.start()
        worker.join(self._resolve_timeout)
        if worker.is_alive():
            raise OSError("the host name did not resolve in time")
        if failure:
            raise OSError(str(failure[0])) from failure[0]
        return list(dict.fromkeys(str(info[4][0]) for info in answer))

    def post(self, url: str, address: str, headers: dict[str, str], body: str, timeout: float) -> Outcome:
        parts = urlsplit(url)
        https = parts.scheme == "https"
        port = parts.port or (443 if https else 80)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        started = time.monotonic()
        connection = _PinnedConnection(parts.hostname or "", port, address, https, timeout)
        watchdog = threading.Timer(timeout, connection.shut)
        watchdog.daemon = True
        watchdog.start()
        try:
            host_header = parts.hostname if parts.port is None else f"{parts.hostname}:{parts.port}"
            connection.request("POST", path, body=body.encode(), headers={"host": host_header or "", **headers})
            answer = connection.getresponse()
            answer.read(MAX_ANSWER_BYTES)
            status = answer.status
            if connection.cut:
                raise TimeoutError("the attempt's 10 s ran out")
            return Outcome(status_code=status, elapsed_ms=_ms(started))
        except Exception as exc:
            error = "timeout" if connection.cut or isinstance(exc, TimeoutError) else _error_name(exc)
            return Outcome(error=error, elapsed_ms=_ms(started))
        finally:
            watchdog.cancel()
            connection.close()


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _error_name(exc: Exception) -> str:
    if isinstance(exc, ssl.SSLError):
        return "tls error"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, http.client.RemoteDisconnected | ConnectionResetError | http.client.IncompleteRead):
        return "connection closed"
    return type(exc).__name__


class _PinnedConnection(http.client.HTTPConnection):
    """Connects to the checked `address` (no second DNS look-up an attacker could answer differently); for https
    the certificate is verified against the URL's host name."""

    def __init__(self, host: str, port: int, address: str, https: bool, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address
        self._https = https
        self.cut = False

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        if self._https:
            sock = ssl.create_default_context().wrap_socket(sock, server_hostname=self.host)
        self.sock = sock
        if self.cut:
            self.shut()

    def shut(self) -> None:
        """The watchdog: ends the attempt at its deadline, whatever it is waiting for."""
        self.cut = True
        sock = self.sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


class SqsQueue:
    """The sender's queue in AWS: one message per delivery, in batches of 10."""

    def __init__(self, settings: Settings, client: Any | None = None) -> None:
        self._settings = settings
        self._given = client

    @cached_property
    def client(self) -> Any:
        if self._given is not None:
            return self._given
        from chalicelib.adapters import aws

        return aws.client("sqs", self._settings.region)

    def enqueue(self, refs: Sequence[tuple[str, str]]) -> None:
        for start in range(0, len(refs), 10):
            batch = refs[start : start + 10]
            answer = self.client.send_message_batch(
                QueueUrl=self._settings.webhook_queue_url,
                Entries=[
                    {"Id": str(i), "MessageBody": json.dumps({"subscriptionId": s, "deliveryId": d})}
                    for i, (s, d) in enumerate(batch)
                ],
            )
            if answer.get("Failed"):  # written already: the sweep sends what was not queued
                raise RuntimeError(f"{len(answer['Failed'])} webhook messages not queued")


def refs_of_messages(bodies: Sequence[str]) -> list[tuple[str, str]]:
    refs = []
    for body in bodies:
        message = json.loads(body)
        refs.append((str(message["subscriptionId"]), str(message["deliveryId"])))
    return refs


class LocalQueue:
    """Local runs and tests: deliveries wait here until `drain()` (make run's sender thread, or a test)."""

    def __init__(self) -> None:
        self._waiting: deque[tuple[str, str]] = deque()
        self._lock = threading.Lock()

    def enqueue(self, refs: Sequence[tuple[str, str]]) -> None:
        with self._lock:
            self._waiting.extend(refs)

    def drain(self) -> list[tuple[str, str]]:
        with self._lock:
            taken = list(dict.fromkeys(self._waiting))
            self._waiting.clear()
        return taken
