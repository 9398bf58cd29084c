"""`make run`'s own CalDAV server: Radicale (PyPI `radicale`) on a loopback port, with the demo doctor Dr. Ada Smith's
calendar holding one recurring busy time (a hospital round, weekdays 13:00-14:00 New York time) and connected to
her through the API, so a newcomer sees a busy time take a slot and booked visits appear in her calendar.

Radicale is started first (it comes up while DynamoDB Local does) and the calendar is connected once the API
answers. The API keeps CalDAV passwords in its own memory under `make run`, so each start connects the calendar
again (replacing the previous run's connection) with a password made for this run; for the same reason the
calendar sync's schedule and the visits-out stream consumer run in the API's process (`LocalCalendars`).
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
from base64 import b64encode
from pathlib import Path
from typing import Any
from urllib.error import HTTPError
from urllib.request import Request, urlopen

DEMO_DOCTOR = "dr-ada-smith"
DEMO_USER = "dr-ada-smith"
DEMO_CALENDAR = "work"
DEMO_EVENT_UID = "demo-hospital-round"
DEMO_EVENT = "\r\n".join(
    [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//clinic make run//EN",
        "BEGIN:VEVENT",
        f"UID:{DEMO_EVENT_UID}",
        "DTSTAMP:20260101T000000Z",
        "DTSTART;TZID=America/New_York:20260105T130000",
        "DTEND;TZID=America/New_York:20260105T140000",
        "RRULE:FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
        "SUMMARY:Hospital round",
        "END:VEVENT",
        "END:VCALENDAR",
        "",
    ]
)
"""Weekdays 13:00-14:00 in the doctor's zone: her 13:00 and 13:30 slots are taken on every working day."""


def radicale_command(port: int, storage: Path, users: Path) -> list[str]:
    """Radicale on a loopback port: htpasswd (plain) auth from `users`, collections under `storage` (make run's
    and the tests' servers)."""
    return [
        sys.executable,
        "-m",
        "radicale",
        "--server-hosts",
        f"127.0.0.1:{port}",
        "--storage-filesystem-folder",
        str(storage),
        "--auth-type",
        "htpasswd",
        "--auth-htpasswd-filename",
        str(users),
        "--auth-htpasswd-encryption",
        "plain",
        "--auth-delay",  # Radicale waits 1 s before each 401/403 and 5xx (against guessing passwords);
        "0",  # on loopback that only slows the client, whose first request of a session is always a 401
        "--server-delay-on-error",
        "0",
    ]


class LocalRadicale:
    def __init__(self, port: int, folder: Path) -> None:
        self.port = port
        self.folder = folder
        self.password = secrets.token_urlsafe(16)
        self.base = f"http://127.0.0.1:{port}/"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def calendar_url(self) -> str:
        return f"{self.base}{DEMO_USER}/{DEMO_CALENDAR}/"

    def start(self) -> LocalRadicale:
        """Starts Radicale without waiting for it (htpasswd auth, one user, storage under `folder`)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        users = self.folder / "users"
        users.write_text(f"{DEMO_USER}:{self.password}\n")
        users.chmod(0o600)
        self.process = subprocess.Popen(
            radicale_command(self.port, self.folder / "storage", users),
            stdout=subprocess.DEVNULL,
            stderr=open(self.folder / "radicale.log", "ab"),  # noqa: SIM115 (kept open while it runs)
        )
        return self

    def wait(self, timeout: float = 30.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                return False
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return True
            except OSError:
                time.sleep(0.05)
        return False

    def _dav(self, method: str, url: str, body: str | None = None, content_type: str | None = None) -> int:
        auth = b64encode(f"{DEMO_USER}:{self.password}".encode()).decode()
        headers = {"Authorization": f"Basic {auth}", "Depth": "0"}
        if content_type:
            headers["Content-Type"] = content_type
        request = Request(url, data=body.encode() if body else None, method=method, headers=headers)  # noqa: S310
        try:
            with urlopen(request, timeout=10) as answer:  # noqa: S310 (our own loopback address)
                return int(answer.status)
        except HTTPError as exc:
            return exc.code

    def fill_demo_calendar(self) -> None:
        """The demo calendar and its busy time (both idempotent: the event's URL is its UID)."""
        self._dav("PROPFIND", f"{self.base}{DEMO_USER}/")  # Radicale makes the user's collection on first sight
        made = self._dav("MKCALENDAR", self.calendar_url)
        if made not in (201, 405, 409):  # 405/409: it exists from an earlier run
            raise RuntimeError(f"Radicale answered {made} to MKCALENDAR")
        put = self._dav("PUT", f"{self.calendar_url}{DEMO_EVENT_UID}.ics", DEMO_EVENT, "text/calendar")
        if put not in (201, 204):
            raise RuntimeError(f"Radicale answered {put} to the demo event's PUT")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()


def _api(base: str, token: str, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    headers = {"Authorization": token, "Content-Type": "application/json"}
    data = json.dumps(body).encode() if body is not None else None
    request = Request(f"{base}{path}", data=data, method=method, headers=headers)  # noqa: S310
    with urlopen(request, timeout=60) as answer:  # noqa: S310 (our own loopback address)
        text = answer.read()
        return json.loads(text) if text else None


def connect_demo_calendar(api_base: str, admin_token: str, radicale: LocalRadicale) -> dict[str, Any]:
    """Connects the demo calendar to the demo doctor through the API (replacing an earlier run's connection, whose
    password the API no longer holds); returns the connection, synced once."""
    path = f"/api/admin/doctors/{DEMO_DOCTOR}/calendars"
    for old in _api(api_base, admin_token, "GET", path)["calendars"]:
        if old["url"].startswith("http://127.0.0.1:") and old["url"].endswith(f"/{DEMO_USER}/{DEMO_CALENDAR}/"):
            _api(api_base, admin_token, "DELETE", f"{path}/{old['id']}")
    body = {
        "kind": "caldav",
        "url": radicale.calendar_url,
        "username": DEMO_USER,
        "password": radicale.password,
        "writeVisits": True,
    }
    made: dict[str, Any] = _api(api_base, admin_token, "POST", path, body)
    return made


class CalendarSweeper(threading.Thread):
    """What the `calendar_sync` schedule does in AWS: syncs every connection that is due (each polled every 5
    minutes plus up to a minute of jitter, as deployed) and retries the visits' copies that are due. It looks
    every `interval` seconds, so a connection waits at most that long past its due time."""

    def __init__(self, interval: float = 60.0) -> None:
        super().__init__(name="calendar-sync", daemon=True)
        self.interval = interval
        self.stopped = threading.Event()

    def run(self) -> None:
        from chalicelib.api.own_calendars import run_calendar_sweep

        while not self.stopped.wait(self.interval):
            try:
                report = run_calendar_sweep()
                if report.get("synced") or any((report.get("visits") or {}).values()):
                    print(f"calendar sync: {report}", flush=True)
            except Exception as exc:  # keep sweeping; show what went wrong
                print(f"calendar sync failed: {exc!r}", flush=True)


def visits_and_tell(records: list[dict[str, Any]]) -> dict[str, Any]:
    """The `calendar_visits` Lambda's work on one batch, with a line on the console when a calendar was written."""
    from chalicelib.api.own_calendars import visit_records

    report = visit_records(records)
    if report.get("written") or report.get("deleted") or report.get("failed"):
        print(f"calendar visits: {report}", flush=True)
    return report


class LocalCalendars:
    """`make run`'s calendar followers, run inside the API's own process (`api_server --calendars`), where make
    run keeps the CalDAV app passwords (memory only): the appointments stream on DynamoDB Local feeds the same
    visits-out consumer the `calendar_visits` Lambda runs, and the sweeper does the `calendar_sync` schedule."""

    def __init__(self, endpoint: str, appointments_table: str, interval: float = 60.0) -> None:
        from infra.local.webhooks_local import RecordPoller

        self.poller = RecordPoller(endpoint, appointments_table, visits_and_tell, interval=0.3)
        self.poller.name = "calendar-visits-stream"
        self.sweeper = CalendarSweeper(interval)
        self.sweeper.stopped = self.poller.stopped

    @classmethod
    def from_env(cls) -> LocalCalendars:
        return cls(os.environ["DYNAMODB_ENDPOINT"], os.environ["APPOINTMENTS_TABLE"])

    def start(self) -> LocalCalendars:
        self.poller.start()
        self.sweeper.start()
        return self

    def stop(self) -> None:
        self.poller.stopped.set()
