"""Fake Zoom and Microsoft Graph servers on loopback that check requests as the real APIs would: OAuth token
issue and expiry, bearer tokens on every call, the meeting settings we promise (waiting room, no join before
host, a passcode; the Teams lobby for everyone outside the organisation), and injectable failures."""

from __future__ import annotations

import base64
import itertools
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


class FakeVideoServer:
    def __init__(self, client_id: str = "cid", client_secret: str = "csecret") -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.requests: list[dict[str, Any]] = []
        self.valid_tokens: set[str] = set()
        self.meetings: dict[str, dict[str, Any]] = {}
        self.failures: list[tuple[int, str]] = []
        self.trickles: list[tuple[float, bool]] = []
        self.trickled = threading.Event()
        """Set when a trickling answer ended (sent whole, or the client hung up)."""
        self.token_lifetime = 3600
        self.ids = itertools.count(1000)
        """The ids of the meetings and tokens it hands out."""
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        # a short poll: `stop()` waits up to one interval for the loop to notice (0.5 s by default, per test)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,), daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> FakeVideoServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def fail_next(self, status: int, times: int = 1, message: str = "failure") -> None:
        self.failures.extend([(status, message)] * times)

    def trickle_next(self, seconds_per_byte: float, times: int = 1, body_only: bool = False) -> None:
        """The next answers are sent a byte at a time, `seconds_per_byte` apart (status line, headers and body,
        or the body only): each read of the client gets something long before its socket timeout, the whole
        answer takes long."""
        self.trickles.extend([(seconds_per_byte, body_only)] * times)

    def revoke_tokens(self) -> None:
        self.valid_tokens.clear()

    def calls(self, method: str, prefix: str) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["method"] == method and r["path"].startswith(prefix)]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return

            def _answer(self, status: int, body: Any = None) -> None:
                raw = json.dumps(body).encode() if body is not None else b""
                if fake.trickles:
                    return self._trickle(*fake.trickles.pop(0), status, raw)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def _trickle(self, pause: float, body_only: bool, status: int, raw: bytes) -> None:
                head = (
                    f"HTTP/1.1 {status} OK\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(raw)}\r\nConnection: close\r\n\r\n"
                ).encode()
                self.close_connection = True
                try:
                    if body_only:
                        self.wfile.write(head)
                        self.wfile.flush()
                    for byte in raw if body_only else head + raw:
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                        time.sleep(pause)
                except OSError:  # the client hung up
                    pass
                finally:
                    fake.trickled.set()

            def _handle(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode() if length else ""
                url = urlsplit(self.path)
                record: dict[str, Any] = {
                    "method": method,
                    "path": url.path,
                    "query": parse_qs(url.query),
                    "raw": raw,
                    "auth": self.headers.get("Authorization", ""),
                }
                fake.requests.append(record)
                if fake.failures:
                    status, message = fake.failures.pop(0)
                    return self._answer(status, {"message": message})
                if url.path == "/oauth/token" or url.path.endswith("/oauth2/v2.0/token"):
                    return self._token(url, raw)
                if not record["auth"].startswith("Bearer ") or record["auth"][7:] not in fake.valid_tokens:
                    return self._answer(401, {"message": "Invalid access token."})
                body = json.loads(raw) if raw else {}
                return self._api(method, url.path, body)

            def _token(self, url: Any, raw: str) -> None:
                if url.path == "/oauth/token":  # Zoom Server-to-Server OAuth
                    expected = base64.b64encode(f"{fake.client_id}:{fake.client_secret}".encode()).decode()
                    query = parse_qs(url.query)
                    if (
                        self.headers.get("Authorization") != f"Basic {expected}"
                        or query.get("grant_type") != ["account_credentials"]
                        or not query.get("account_id")
                    ):
                        return self._answer(401, {"reason": "Invalid client"})
                else:  # Microsoft identity platform, client credentials
                    form = parse_qs(raw)
                    if (
                        form.get("client_secret") != [fake.client_secret]
                        or form.get("grant_type") != ["client_credentials"]
                        or form.get("scope") != ["https://graph.microsoft.com/.default"]
                    ):
                        return self._answer(401, {"error": "invalid_client"})
                token = f"tok-{next(fake.ids)}"
                fake.valid_tokens.add(token)
                return self._answer(
                    200, {"access_token": token, "expires_in": fake.token_lifetime, "token_type": "bearer"}
                )

            def _api(self, method: str, path: str, body: dict[str, Any]) -> None:
                parts = path.strip("/").split("/")
                if method == "POST" and parts[:2] == ["v2", "users"] and parts[-1] == "meetings":
                    settings = body.get("settings", {})
                    if (
                        settings.get("waiting_room") is not True
                        or settings.get("join_before_host") is not False
                        or not body.get("password")
                        or not body.get("start_time")
                    ):
                        return self._answer(400, {"message": "meeting settings not as required"})
                    meeting_id = str(next(fake.ids))
                    fake.meetings[meeting_id] = body
                    return self._answer(
                        201,
                        {
                            "id": int(meeting_id),
                            "join_url": f"https://zoom.example/j/{meeting_id}",
                            "start_url": f"https://zoom.example/s/{meeting_id}",
                            "password": body["password"],
                        },
                    )
                if parts[:2] == ["v2", "meetings"] and len(parts) == 3:
                    if parts[2] not in fake.meetings:
                        return self._answer(404, {"message": "Meeting does not exist."})
                    if method == "PATCH":
                        fake.meetings[parts[2]].update(body)
                    else:
                        del fake.meetings[parts[2]]
                    return self._answer(204)
                if parts[:2] == ["v1.0", "users"] and "onlineMeetings" in parts:
                    if method == "POST":
                        lobby = body.get("lobbyBypassSettings", {})
                        if lobby.get("scope") != "organization" or not body.get("startDateTime"):
                            return self._answer(400, {"error": {"message": "lobby must hold outsiders"}})
                        meeting_id = f"MSo{next(fake.ids)}"
                        fake.meetings[meeting_id] = body
                        return self._answer(
                            201, {"id": meeting_id, "joinWebUrl": f"https://teams.example/l/{meeting_id}"}
                        )
                    meeting_id = parts[-1]
                    if meeting_id not in fake.meetings:
                        return self._answer(404, {"error": {"code": "NotFound"}})
                    if method == "PATCH":
                        fake.meetings[meeting_id].update(body)
                    else:
                        del fake.meetings[meeting_id]
                    return self._answer(204)
                return self._answer(404, {"message": f"no route {method} {path}"})

            def do_POST(self) -> None:
                self._handle("POST")

            def do_PATCH(self) -> None:
                self._handle("PATCH")

            def do_DELETE(self) -> None:
                self._handle("DELETE")

        return Handler
