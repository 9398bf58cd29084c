"""Busy times from doctors' own calendars (issue 28), measured in one run (no timed assertions; figures only):

1. Availability of a doctor-day with 500 busy intervals in the 180-day horizon, and with 500 on that very day,
   as ratios to a day with none (goal: <= 1.3x for the horizon case).
2. An unchanged calendar's poll: conditional requests and busy-time writes (goal: 1 and 0).
3. Sync of a feed with 5,000 events (recurring included) over a 180-day window: time and writes; then one event
   moved: writes only for the days that changed.

Run: `.venv/bin/python -m bench.calendars` (in-memory store: the figures are the domain and sync work).
First run (2 shared cores): availability 0.96x with 500 busy intervals in the horizon (3 on the day) and 1.08x
with all 500 on the day itself; an unchanged poll: 1 request, 0 writes; the 5,000-event feed (every 50th a weekly
series) over 180 days: 1.7 s, 180 day writes the first time, and 1 day write after one event moved.
"""

from __future__ import annotations

import statistics
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from chalicelib.domain.busy import by_local_day
from chalicelib.domain.doctors import Doctor
from chalicelib.domain.schedule import Availability, DayState, WallInterval, generate_slots
from chalicelib.services.busy_sync import BusySync, FeedAnswer, SyncState
from tests.fakes.memory import InMemoryAppointmentStore

ZONE = ZoneInfo("America/New_York")
NOW = datetime(2029, 12, 31, 12, tzinfo=UTC)
DAY = date(2030, 1, 8)


def _hours() -> Availability:
    from datetime import time as wall

    week = ("monday", "tuesday", "wednesday", "thursday", "friday")
    return Availability(working_hours={d: (WallInterval(wall(8), wall(18)),) for d in week})


def _timed(fn: Any, rounds: int = 2000) -> float:
    samples = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(rounds):
            fn()
        samples.append((time.perf_counter() - start) / rounds)
    return statistics.median(samples)


def availability_ratio() -> dict[str, float]:
    hours = _hours()
    start = datetime(2030, 1, 1, 14, tzinfo=UTC)
    horizon = [(start + timedelta(hours=9 * k), start + timedelta(hours=9 * k, minutes=45)) for k in range(500)]
    on_day = by_local_day(horizon, ZONE).get(DAY, ())
    dense_start = datetime(2030, 1, 8, 13, tzinfo=UTC)
    dense = tuple(
        (dense_start + timedelta(minutes=k), dense_start + timedelta(minutes=k, seconds=30)) for k in range(500)
    )

    def run(busy: tuple[Any, ...]) -> Any:
        return lambda: generate_slots(hours, ZONE, DAY, 30, DayState(busy=busy), NOW, timedelta(hours=1))

    none = _timed(run(()))
    return {
        "busy_on_the_day_from_500_in_horizon": len(on_day),
        "ratio_500_in_horizon": round(_timed(run(tuple(on_day))) / none, 2),
        "ratio_500_on_the_day": round(_timed(run(dense)) / none, 2),
    }


def _feed(events: int, moved: bool = False) -> bytes:
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//bench//EN"]
    base = datetime(2030, 1, 1, 13, tzinfo=UTC)
    for k in range(events):
        lines += ["BEGIN:VEVENT", f"UID:e{k}", "DTSTAMP:20291201T000000Z"]
        if k % 50 == 0:  # every 50th is a weekly rule for the whole window
            lines.append("RRULE:FREQ=WEEKLY;COUNT=26")
        start = base + timedelta(hours=(k * 7) % (180 * 24))
        if moved and k == 1:
            start += timedelta(minutes=45)  # every other event starts on the hour and lasts 40 minutes
        lines += [f"DTSTART:{start:%Y%m%dT%H%M%SZ}", f"DTEND:{start + timedelta(minutes=40):%Y%m%dT%H%M%SZ}"]
        lines += ["SUMMARY:private", "END:VEVENT"]
    lines.append("END:VCALENDAR")
    return "\r\n".join(lines).encode()


class _Feed:
    def __init__(self, body: bytes) -> None:
        self.body, self.requests = body, 0

    def fetch(self, url: str, etag: str | None) -> FeedAnswer:
        self.requests += 1
        tag = str(hash(self.body))
        return FeedAnswer(not_modified=True) if etag == tag else FeedAnswer(body=self.body, etag=tag)


class _Store(InMemoryAppointmentStore):
    writes = 0

    def write_busy(self, *args: Any) -> None:
        self.writes += 1
        super().write_busy(*args)


def sync_figures() -> dict[str, Any]:
    feed, store = _Feed(_feed(5000)), _Store()
    store.doctors.add(Doctor("d", "Dr. Bench", "GP", "Room 1", ZONE.key, False, NOW))  # a busy-times write needs it
    sync = BusySync(feed, store, lambda: NOW)
    started = time.perf_counter()
    first = sync.sync("d", ZONE, "c", "https://feed", SyncState(), 180)
    seconds = time.perf_counter() - started
    store.writes = feed.requests = 0
    unchanged = sync.sync("d", ZONE, "c", "https://feed", first.state, 180)
    poll = {"requests": feed.requests, "writes": store.writes, "not_modified": unchanged.state.etag == first.state.etag}
    feed.body, store.writes = _feed(5000, moved=True), 0
    moved = sync.sync("d", ZONE, "c", "https://feed", unchanged.state, 180)
    return {
        "first_sync_seconds": round(seconds, 2),
        "first_sync_day_writes": first.writes,
        "busy_intervals": first.state.busy_intervals,
        "unchanged_poll": poll,
        "one_event_moved_day_writes": moved.writes,
    }


def main() -> dict[str, Any]:
    results = {"availability": availability_ratio(), "sync": sync_figures()}
    print(results)
    return results


if __name__ == "__main__":
    main()
