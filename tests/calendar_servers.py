"""Real calendar servers for tests: an ICS feed on loopback (http.server, with ETag and faults) and Radicale, a
real CalDAV server (PyPI `radicale`), each started on a free port and stopped by the test's fixture."""

from __future__ import annotations

import hashlib
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from infra.local.caldav_local import radicale_command


def ics(*events: tuple[str, str, str]) -> bytes:
    """A feed of (uid, DTSTART, DTEND) events, UTC times as `20261202T150000Z`."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//clinic tests//EN"]
    for uid, start, end in events:
        lines += ["BEGIN:VEVENT", f"UID:{uid}", "DTSTAMP:20261101T000000Z", f"DTSTART:{start}", f"DTEND:{end}"]
        lines += ["SUMMARY:private - never stored", "END:VEVENT"]
    return ("\r\n".join([*lines, "END:VCALENDAR"]) + "\r\n").encode()


class Feed:
    """What the loopback feed answers: `body` with its ETag, or `status`; every request's headers are kept."""

    def __init__(self, body: bytes = b"") -> None:
        self.body = body
        self.status = 200
        self.requests: list[dict[str, str]] = []
        self.url = ""


@contextmanager
def feed_server(feed: Feed) -> Iterator[Feed]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            feed.requests.append({k.lower(): v for k, v in self.headers.items()})
            etag = '"' + hashlib.sha256(feed.body).hexdigest()[:16] + '"'
            if feed.status == 200 and self.headers.get("If-None-Match") == etag:
                self.send_response(304)
                self.end_headers()
                return
            self.send_response(feed.status)
            self.send_header("ETag", etag)
            self.send_header("Content-Length", str(len(feed.body)))
            self.end_headers()
            self.wfile.write(feed.body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    # shutdown() waits for serve_forever's next poll (every 0.5 s by default): poll often, stop at once
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    feed.url = f"http://127.0.0.1:{server.server_address[1]}/calendar.ics"
    try:
        yield feed
    finally:
        server.shutdown()
        server.server_close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Radicale:
    def __init__(self, folder: Path, port: int, process: subprocess.Popen[bytes]) -> None:
        self.folder = folder
        self.port = port
        self.process = process
        self.base = f"http://127.0.0.1:{port}/"

    def set_password(self, user: str, password: str) -> None:
        """Radicale re-reads its htpasswd file on each request: changing it revokes the old password."""
        (self.folder / "users").write_text(f"{user}:{password}\n")

    def calendar(self, user: str, password: str, name: str = "work") -> Any:
        """Creates (or opens) a user's calendar through the caldav client; its caldav Calendar object."""
        from caldav.davclient import DAVClient

        client = DAVClient(url=self.base, username=user, password=password, require_tls=False, enable_rfc6764=False)
        principal = client.principal()
        try:
            return principal.make_calendar(name=name, cal_id=name)
        except Exception:
            return client.calendar(url=f"{self.base}{user}/{name}/")


@contextmanager
def radicale_server(folder: Path, user: str = "dr", password: str = "app-password-1") -> Iterator[Radicale]:
    """Radicale on a free loopback port, htpasswd (plain) auth, storage under `folder`; stopped afterwards."""
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    (folder / "users").write_text(f"{user}:{password}\n")
    process = subprocess.Popen(
        radicale_command(port, folder / "storage", folder / "users"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError:
                if process.poll() is not None:
                    raise RuntimeError("radicale did not start") from None
                time.sleep(0.05)
        yield Radicale(folder, port, process)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
