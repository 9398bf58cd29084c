"""Reading a doctor's own calendar feed into busy times: one conditional request (ETag / If-None-Match), the
feed expanded (domain.busy), and a write only for the local days whose busy intervals changed. A failing feed
keeps the last good busy times, backs off, and says what went wrong in plain words."""

from __future__ import annotations

import logging
import time as time_module
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from chalicelib.domain.busy import FeedError, by_local_day, expand, fingerprint

log = logging.getLogger("clinic.calendars")
SYNC_EVERY = timedelta(minutes=5)
MAX_BACKOFF = timedelta(hours=6)
EXPAND_SECONDS = 10.0
"""Time limit of one feed's expansion: what was read by then is kept, the rest waits for the next run."""


class FeedUnavailable(Exception):
    """The feed could not be fetched; the message is for a person ("the feed answered 404")."""


@dataclass(frozen=True)
class FeedAnswer:
    """A 200 carries the body and its ETag; `not_modified` is a 304 to our If-None-Match."""

    body: bytes = b""
    etag: str | None = None
    not_modified: bool = False


class FeedFetcher(Protocol):
    def fetch(self, url: str, etag: str | None) -> FeedAnswer: ...


class BusyWriter(Protocol):
    def write_busy(
        self, doctor_id: str, day: date, connection_id: str, intervals: list[tuple[datetime, datetime]]
    ) -> None: ...


@dataclass(frozen=True)
class SyncState:
    """What a connection remembers between syncs (never the events themselves)."""

    etag: str | None = None
    days: dict[str, str] = field(default_factory=dict)
    """Local date -> fingerprint of that day's busy intervals as last written."""
    busy_intervals: int = 0
    last_sync_at: datetime | None = None
    """The last successful sync: the busy times are as old as this."""
    next_sync_at: datetime | None = None
    failures: int = 0
    last_error: str | None = None
    failing_since: datetime | None = None
    truncated: bool = False


@dataclass(frozen=True)
class SyncResult:
    state: SyncState
    writes: int
    requests: int
    busy: dict[date, tuple[tuple[datetime, datetime], ...]] | None = None
    """Every local day's busy intervals when the calendar was read anew (None: unchanged or failed)."""


class BusySync:
    def __init__(
        self,
        fetcher: FeedFetcher,
        store: BusyWriter,
        now: Callable[[], datetime],
        monotonic: Callable[[], float] = time_module.monotonic,
        jitter: Callable[[], float] = lambda: 0.0,
    ) -> None:
        self._fetcher = fetcher
        self._store = store
        self._now = now
        self._monotonic = monotonic
        self._jitter = jitter
        """Seconds added to each next poll, so connections made together do not poll together."""

    def sync(
        self,
        doctor_id: str,
        zone: ZoneInfo,
        connection_id: str,
        url: str,
        state: SyncState,
        horizon_days: int,
    ) -> SyncResult:
        now = self._now()
        try:
            answer = self._fetcher.fetch(url, state.etag)
        except FeedUnavailable as exc:
            return SyncResult(self._failed(state, str(exc), now), 0, 1)
        if answer.not_modified:
            return SyncResult(replace(self._ok(state, now, self._jitter()), etag=state.etag), 0, 1)
        today = now.astimezone(zone).date()
        window_start = datetime.combine(today, datetime.min.time(), tzinfo=zone)
        window = (window_start, window_start + timedelta(days=horizon_days + 1))
        deadline = self._monotonic() + EXPAND_SECONDS
        try:
            expansion = expand(answer.body, zone, window, out_of_time=lambda: self._monotonic() > deadline)
        except FeedError as exc:
            return SyncResult(self._failed(state, str(exc), now), 0, 1)
        days = by_local_day(expansion.intervals, zone)
        prints = {day.isoformat(): fingerprint(pieces) for day, pieces in days.items()}
        writes = 0
        for day_text in sorted(set(prints) | set(state.days)):
            if day_text < today.isoformat():
                continue  # past days are left as they were
            if prints.get(day_text) == state.days.get(day_text):
                continue
            day = date.fromisoformat(day_text)
            self._store.write_busy(doctor_id, day, connection_id, list(days.get(day, ())))
            writes += 1
        kept = {d: p for d, p in prints.items() if d >= today.isoformat()}
        new_state = replace(
            self._ok(state, now, self._jitter()),
            etag=answer.etag,
            days=kept,
            busy_intervals=sum(len(days[date.fromisoformat(d)]) for d in kept),
            truncated=expansion.truncated,
        )
        return SyncResult(new_state, writes, 1, {d: p for d, p in days.items() if d >= today})

    @staticmethod
    def _ok(state: SyncState, now: datetime, jitter: float = 0.0) -> SyncState:
        return replace(
            state,
            last_sync_at=now,
            next_sync_at=now + SYNC_EVERY + timedelta(seconds=jitter),
            failures=0,
            last_error=None,
            failing_since=None,
        )

    @staticmethod
    def _failed(state: SyncState, error: str, now: datetime) -> SyncState:
        """Keeps the last good busy times (nothing is written), backs off, and says since when it fails."""
        failures = state.failures + 1
        delay = min(SYNC_EVERY * (2 ** min(failures - 1, 10)), MAX_BACKOFF)
        since = state.failing_since or now
        log.warning("calendar sync failed (%s attempts): %s", failures, error)
        return replace(
            state,
            failures=failures,
            last_error=f"{error} since {since.strftime('%Y-%m-%d %H:%M')} UTC",
            failing_since=since,
            next_sync_at=now + delay,
        )
