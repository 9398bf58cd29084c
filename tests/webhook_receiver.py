"""A real webhook receiver on loopback for tests and the bench: verifies each request's Standard Webhooks signature
with the `standardwebhooks` library, records what it got, and answers as told (a status, a hang longer than the
sender's timeout, a slow answer, or a connection closed without an answer)."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    verified: bool
    answered: str
    at: float = 0.0
    """`time.monotonic()` when the request arrived (the bench's lag)."""

    @property
    def message(self) -> dict[str, Any]:
        return json.loads(self.body)


@dataclass
class Receiver:
    """`behaviours`: what to do with each next request, in order (`ok`, a status code like `500`, `hang`, `slow`,
    `close`); once used up, `default`. `secrets`: the secrets a signature may verify with (any one)."""

    secrets: list[str] = field(default_factory=list)
    behaviours: deque[str] = field(default_factory=deque)
    default: str = "ok"
    hang_seconds: float = 2.0
    slow_seconds: float = 0.2
    got: list[Received] = field(default_factory=list)
    on_arrival: Any = None
    """Called as each request arrives (a test's way to act while another receiver is still busy)."""

    def __post_init__(self) -> None:
        self.lock = threading.Lock()
        """Held while a request is recorded (the handler runs on its own thread)."""
        self.released = threading.Event()
        """Set: every hang ends at once."""
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                arrived = time.monotonic()
                if receiver.on_arrival is not None:
                    receiver.on_arrival()
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length)
                with receiver.lock:
                    behaviour = receiver.behaviours.popleft() if receiver.behaviours else receiver.default
                headers = {k.lower(): v for k, v in self.headers.items()}
                verified = receiver.verify(body, headers)
                with receiver.lock:
                    receiver.got.append(Received(self.path, headers, body, verified, behaviour, arrived))
                if behaviour == "close":
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if behaviour == "hang":
                    receiver.released.wait(receiver.hang_seconds)
                elif behaviour == "slow":
                    time.sleep(receiver.slow_seconds)
                status = 200 if behaviour in ("ok", "slow", "hang") else int(behaviour)
                answer = b'{"ok": true}'
                try:
                    self.send_response(status)
                    self.send_header("content-length", str(len(answer)))
                    self.end_headers()
                    self.wfile.write(answer)
                except OSError:
                    pass  # the sender gave up first

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        # shutdown() waits for serve_forever's next poll (every 0.5 s by default): poll often, stop at once
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,), daemon=True)

    def verify(self, body: bytes, headers: dict[str, str]) -> bool:
        for secret in self.secrets:
            try:
                Webhook(secret).verify(body, headers)
                return True
            except WebhookVerificationError:
                continue
        return False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/hook"

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def release(self) -> None:
        """Ends every hang now (and any later one at once)."""
        self.released.set()

    def __exit__(self, *exc: object) -> None:
        self.released.set()
        self._server.shutdown()
        self._server.server_close()

    def types(self) -> list[str]:
        return [r.message["type"] for r in self.got if r.answered in ("ok", "slow")]

    def ids(self) -> list[str]:
        return [r.headers["webhook-id"] for r in self.got]
