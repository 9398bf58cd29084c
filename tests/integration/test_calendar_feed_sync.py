"""Busy times from a real ICS feed served on loopback (http.server): the first sync writes the days it finds,
an unchanged feed costs one conditional request and no write, a changed feed writes only the days that
changed, and a failing feed (down, slow, 404, 401, garbage, over the size cap) keeps the last good busy times
and says what went wrong. SSRF: loopback and metadata addresses are refused unless loopback is allowed."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from chalicelib.adapters.calendar_feeds import HttpFeedFetcher
from chalicelib.domain.doctors import Doctor
from chalicelib.services.busy_sync import BusySync, SyncState
from tests.fakes.memory import InMemoryAppointmentStore

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "calendars"
ZONE = ZoneInfo("America/New_York")
NOW = datetime(2029, 12, 20, 12, tzinfo=UTC)
DOCTOR, CONNECTION = "doc-1", "cal-1"


class Feed:
    """What the loopback server answers: a body with its ETag, or a fault."""

    def __init__(self) -> None:
        self.body = (FIXTURES / "outlook_windows_zones.ics").read_bytes()
        self.status = 200
        self.delay = 0.0
        self.requests: list[dict[str, str]] = []


@pytest.fixture
def feed() -> Iterator[tuple[Feed, str]]:
    state = Feed()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.requests.append({k.lower(): v for k, v in self.headers.items()})
            if state.delay:
                time.sleep(state.delay)
            etag = '"' + hashlib.sha256(state.body).hexdigest()[:16] + '"'
            if state.status == 200 and self.headers.get("If-None-Match") == etag:
                self.send_response(304)
                self.end_headers()
                return
            self.send_response(state.status)
            self.send_header("Content-Type", "text/calendar")
            self.send_header("ETag", etag)
            self.send_header("Content-Length", str(len(state.body)))
            self.end_headers()
            self.wfile.write(state.body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    # shutdown() waits for serve_forever's next poll (every 0.5 s by default): poll often, stop at once
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    yield state, f"http://127.0.0.1:{server.server_address[1]}/calendar.ics"
    server.shutdown()
    server.server_close()


class CountingStore(InMemoryAppointmentStore):
    def __init__(self) -> None:
        super().__init__()
        self.doctors.add(Doctor(DOCTOR, "Dr. Ada", "GP", "Room 1", ZONE.key, False, NOW))  # busy times need it
        self.writes: list[date] = []

    def write_busy(self, doctor_id: str, day: date, connection_id: str, intervals: Any) -> None:
        self.writes.append(day)
        super().write_busy(doctor_id, day, connection_id, intervals)


def sync(store: CountingStore, url: str, state: SyncState, **fetcher: Any) -> Any:
    service = BusySync(
        HttpFeedFetcher(allow_loopback=fetcher.pop("allow_loopback", True), **fetcher), store, lambda: NOW
    )
    return service.sync(DOCTOR, ZONE, CONNECTION, url, state, horizon_days=180)


def test_first_sync_writes_each_busy_day_and_an_unchanged_feed_costs_one_304_and_no_write(feed: Any) -> None:
    served, url = feed
    store = CountingStore()
    # WHEN the feed is read the first time
    first = sync(store, url, SyncState())
    # THEN each local day with busy times is written once, and the busy times are the feed's
    assert first.writes == 4 and sorted(first.state.days) == ["2030-01-07", "2030-01-09", "2030-01-21", "2030-01-28"]
    assert store.busy_of_day(DOCTOR, date(2030, 1, 7))[1] == (
        (datetime(2030, 1, 7, 15, tzinfo=UTC), datetime(2030, 1, 7, 16, tzinfo=UTC)),
    )
    assert first.state.busy_intervals == 4 and first.state.last_error is None
    # WHEN it is polled again unchanged
    store.writes.clear()
    again = sync(store, url, first.state)
    # THEN one conditional request (If-None-Match), a 304, and no write
    assert served.requests[-1]["if-none-match"] == first.state.etag
    assert (again.requests, again.writes, store.writes) == (1, 0, [])
    assert again.state.days == first.state.days


def test_a_changed_feed_writes_only_the_days_that_changed(feed: Any) -> None:
    served, url = feed
    store = CountingStore()
    first = sync(store, url, SyncState())
    store.writes.clear()
    # GIVEN the moved round of the 21st is deleted from the calendar
    text = served.body.decode()
    start = text.index("BEGIN:VEVENT\nUID:040000008200E00074C5B7101A82E00800000000A1B2C3D4E5F6\nRECURRENCE-ID")
    end = text.index("END:VEVENT\n", start) + len("END:VEVENT\n")
    served.body = (text[:start] + text[end:]).encode()
    # WHEN it syncs THEN only the 21st is written (its instance is back at 10:00)
    changed = sync(store, url, first.state)
    assert store.writes == [date(2030, 1, 21)]
    assert store.busy_of_day(DOCTOR, date(2030, 1, 21))[1] == (
        (datetime(2030, 1, 21, 15, tzinfo=UTC), datetime(2030, 1, 21, 16, tzinfo=UTC)),
    )
    assert changed.writes == 1


@pytest.mark.parametrize(
    ("fault", "words"),
    [
        ({"status": 404}, "the feed answered 404 since 2029-12-20 12:00 UTC"),
        ({"status": 401}, "refused our credentials (401)"),
        ({"body": b"<html>please sign in</html>"}, "not an iCalendar file"),
        ({"body": b"BEGIN:VCALENDAR\n" + b"X" * 4096}, "larger than"),
        ({"delay": 2.0}, "did not answer in time"),
    ],
)
def test_a_failing_feed_keeps_the_last_good_busy_times_and_says_why(
    feed: Any, fault: dict[str, Any], words: str
) -> None:
    served, url = feed
    store = CountingStore()
    good = sync(store, url, SyncState())
    store.writes.clear()
    for name, value in fault.items():
        setattr(served, name, value)
    # WHEN the feed fails (a 4 KB size cap and a 0.5 s time limit for this test)
    failed = sync(store, url, good.state, max_bytes=4000, timeout=0.5)
    # THEN nothing is written, the busy times stay, the error is in plain words, and the next try backs off
    assert store.writes == []
    assert store.busy_of_day(DOCTOR, date(2030, 1, 7))[1]
    assert failed.state.last_error and words in failed.state.last_error
    assert failed.state.last_sync_at == good.state.last_sync_at and failed.state.failures == 1
    assert failed.state.next_sync_at > NOW
    twice = sync(store, url, failed.state, max_bytes=4000, timeout=0.5)
    assert twice.state.next_sync_at - NOW > failed.state.next_sync_at - NOW


def test_a_server_that_is_down() -> None:
    store = CountingStore()
    with __import__("socket").socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    failed = sync(store, f"http://127.0.0.1:{port}/c.ics", SyncState())
    assert failed.state.last_error and "down (connection refused)" in failed.state.last_error


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:9/c.ics", "https://169.254.169.254/latest/meta-data/", "https://10.0.0.8/c.ics"]
)
def test_a_deployed_stack_refuses_loopback_private_and_metadata_addresses(url: str) -> None:
    failed = sync(CountingStore(), url, SyncState(), allow_loopback=False)
    assert failed.state.last_error and failed.state.last_error.startswith("refused")
