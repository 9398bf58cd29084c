"""A doctor's own calendars: connect (an ICS feed, or CalDAV with an app password kept in the vault), list,
pause/resume, sync now, disconnect; the scheduled sweep that syncs every due connection (each on its own: one
failing calendar never stops the others); and the conflicts list (booked visits a busy time now overlaps:
flagged for staff, nothing moved). Visits out (our visits written into a CalDAV calendar) follow the appointments
stream: services.calendar_visits; this service queues the booked ones when such a calendar is connected, retries
a calendar's failed ones on "sync now", and forgets its copies when it is disconnected."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from chalicelib.domain.appointments import Appointment
from chalicelib.domain.calendar_connections import (
    MAX_CONNECTIONS_PER_DOCTOR,
    Conflict,
    Connection,
    Kind,
    check_calendar_url,
)
from chalicelib.domain.errors import Forbidden, InvalidInput, NotFound
from chalicelib.domain.identity import Caller, Role
from chalicelib.services.busy_sync import BusySync, FeedFetcher, FeedUnavailable, SyncState
from chalicelib.services.calendar_visits import VisitsOut
from chalicelib.services.ports.doctors import DoctorRepository
from chalicelib.services.ports.system import Clock, IdGenerator

log = logging.getLogger("clinic.calendars")
Interval = tuple[datetime, datetime]
ALERT_AFTER = timedelta(hours=1)
"""A connection failing this long raises the `CalendarSyncFailing` alarm (its busy times are getting old)."""
JITTER_SECONDS = 60.0
"""Up to this much is added to each next poll, spreading connections made together over the minute."""
_SPREAD = secrets.SystemRandom()
SWEEP_LOOKAHEAD = timedelta(seconds=JITTER_SECONDS)
"""The sweep syncs what is due within this much: the jitter added to a next poll never costs a whole run."""
REFRESH_UNCHANGED = timedelta(hours=1)
"""An unchanged calendar's poll writes nothing; its `lastSyncAt` is refreshed at most this often."""


class ConnectionStore(Protocol):
    def save(self, connection: Connection) -> None: ...

    def get(self, doctor_id: str, connection_id: str) -> Connection | None: ...

    def of_doctor(self, doctor_id: str) -> list[Connection]: ...

    def all(self) -> list[Connection]: ...

    def delete(self, doctor_id: str, connection_id: str) -> None: ...


class Vault(Protocol):
    def put(self, connection_id: str, username: str, password: str) -> None: ...

    def get(self, connection_id: str) -> tuple[str, str] | None: ...

    def delete(self, connection_id: str) -> None: ...


class BusyStore(Protocol):
    def write_busy(self, doctor_id: str, day: date, connection_id: str, intervals: list[Interval]) -> None: ...

    def list_for_doctor(self, doctor_id: str, start: datetime, end: datetime) -> list[Appointment]: ...

    def get_many(self, appointment_ids: list[str]) -> dict[str, Appointment]: ...


class Fetchers(Protocol):
    """The fetcher for a connection: ICS over HTTP, or CalDAV with the vault's credentials."""

    def for_connection(
        self, connection: Connection, credentials: tuple[str, str] | None, window: tuple[datetime, datetime]
    ) -> FeedFetcher: ...

    def check_address(self, url: str) -> None:
        """Resolves the host and refuses private, loopback (unless allowed) and link-local addresses."""
        ...


@dataclass(frozen=True)
class FlaggedConflict:
    calendar_id: str
    conflict: Conflict


class CalendarConnections:
    def __init__(
        self,
        store: ConnectionStore,
        busy: BusyStore,
        vault: Vault,
        fetchers: Fetchers,
        doctors: DoctorRepository,
        clock: Clock,
        ids: IdGenerator,
        horizon_days: int,
        allow_loopback: bool,
        announce: Callable[[str, date], None] = lambda doctor_id, day: None,
        on_conflicts: Callable[[int], None] = lambda n: None,
        on_failing: Callable[[], None] = lambda: None,
        publish_conflicts: Callable[[str, list[tuple[Conflict, Appointment]]], None] = lambda calendar_id, found: None,
        visits_out: VisitsOut | None = None,
    ) -> None:
        self._store = store
        self._busy = busy
        self._vault = vault
        self._fetchers = fetchers
        self._doctors = doctors
        self._clock = clock
        self._ids = ids
        self._horizon_days = horizon_days
        self._allow_loopback = allow_loopback
        self._announce_to = announce
        self._on_conflicts = on_conflicts
        self._on_failing = on_failing
        self._publish_conflicts = publish_conflicts
        """Hands the visits a busy time newly overlaps (after the sync's write) to the webhooks: `calendar.conflict`."""
        self._visits_out = visits_out

    # --- access ----------------------------------------------------------------------------------------------
    def _check(self, caller: Caller, doctor_id: str) -> ZoneInfo:
        if caller.role is Role.PATIENT or (caller.role is Role.DOCTOR and caller.doctor_id != doctor_id):
            raise Forbidden("Only an admin or this doctor may manage the doctor's calendars.")
        doctor = self._doctors.get(doctor_id)
        if doctor is None:
            raise NotFound("No such doctor.", {"doctorId": doctor_id})
        return doctor.zone

    def _get(self, doctor_id: str, connection_id: str) -> Connection:
        found = self._store.get(doctor_id, connection_id)
        if found is None:
            raise NotFound("No such calendar connection.", {"calendarId": connection_id})
        return found

    # --- use cases -------------------------------------------------------------------------------------------
    def create(
        self,
        caller: Caller,
        doctor_id: str,
        kind: Kind,
        url: str,
        username: str | None,
        password: str | None,
        write_visits: bool,
    ) -> Connection:
        zone = self._check(caller, doctor_id)
        fetched = check_calendar_url(url, kind, self._allow_loopback)
        if kind is Kind.CALDAV and not (username and password):
            raise InvalidInput(
                "A CalDAV calendar needs its username and an app password.",
                {"fields": {"username": "required for caldav", "password": "required for caldav"}},  # nosec B105 - field names
            )
        if kind is Kind.ICS and (password or write_visits):
            raise InvalidInput(
                "An ICS feed is read only: it takes no password and cannot receive visits.",
                {"fields": {"password" if password else "writeVisits": "not for an ics feed"}},
            )
        if len(self._store.of_doctor(doctor_id)) >= MAX_CONNECTIONS_PER_DOCTOR:
            raise InvalidInput(
                f"A doctor may connect at most {MAX_CONNECTIONS_PER_DOCTOR} calendars.", {"fields": {"url": "too many"}}
            )
        try:
            self._fetchers.check_address(fetched)
        except FeedUnavailable as exc:
            raise InvalidInput(f"The calendar address is not allowed: {exc}.", {"fields": {"url": str(exc)}}) from exc
        now = self._clock.now()
        connection = Connection(
            id=self._ids.new_id(),
            doctor_id=doctor_id,
            kind=kind,
            url=fetched,
            paused=False,
            write_visits=write_visits,
            created_at=now,
            username=username,
            has_password=bool(password),
        )
        if password and username:
            self._vault.put(connection.id, username, password)
        self._store.save(connection)
        synced = self._sync(connection, zone)
        if self._visits_out is not None and connection.receives_visits:
            self._visits_out.queue_booked(connection, now, now + timedelta(days=self._horizon_days + 2))
        return synced

    def of_doctor(self, caller: Caller, doctor_id: str) -> list[Connection]:
        self._check(caller, doctor_id)
        return sorted(self._store.of_doctor(doctor_id), key=lambda c: (c.created_at, c.id))

    def sync_now(self, caller: Caller, doctor_id: str, connection_id: str) -> Connection:
        zone = self._check(caller, doctor_id)
        synced = self._sync(self._get(doctor_id, connection_id), zone)
        if self._visits_out is not None and synced.receives_visits and not synced.paused:
            self._visits_out.retry_connection(synced)
        return synced

    def set_paused(self, caller: Caller, doctor_id: str, connection_id: str, paused: bool) -> Connection:
        self._check(caller, doctor_id)
        changed = self._get(doctor_id, connection_id).with_paused(paused, self._clock.now())
        self._store.save(changed)
        return changed

    def delete(self, caller: Caller, doctor_id: str, connection_id: str) -> None:
        """Disconnects: its busy times stop blocking at once, its credentials are destroyed."""
        self._check(caller, doctor_id)
        connection = self._get(doctor_id, connection_id)
        for day_text in sorted(connection.days):
            self._busy.write_busy(doctor_id, date.fromisoformat(day_text), connection.id, [])
            self._announce(doctor_id, date.fromisoformat(day_text))
        self._vault.delete(connection.id)
        if self._visits_out is not None:
            self._visits_out.forget(connection)
        self._store.delete(doctor_id, connection.id)

    def conflicts(self, caller: Caller, doctor_id: str) -> list[FlaggedConflict]:
        """Booked visits a busy time overlaps, of visits still active (a cancelled one drops off)."""
        self._check(caller, doctor_id)
        flagged = [FlaggedConflict(c.id, x) for c in self._store.of_doctor(doctor_id) for x in c.conflicts]
        active = self._busy.get_many([f.conflict.appointment_id for f in flagged]) if flagged else {}
        return sorted(
            (f for f in flagged if f.conflict.appointment_id in active
             and active[f.conflict.appointment_id].active),
            key=lambda f: (f.conflict.start, f.conflict.appointment_id),
        )  # fmt: skip

    def sweep(self, limit: int = 200) -> int:
        """Syncs every connection due by the time the next run would start, each on its own; returns how many were
        synced. A connection's next poll is 5 minutes plus up to a minute of jitter after its last, and the schedule
        runs every 5 minutes: looking a minute ahead keeps each on the next run (every 5 minutes), not the one after
        (every 10)."""
        now = self._clock.now()
        done = 0
        for connection in self._store.all():
            if done >= limit:
                break
            if not connection.due(now + SWEEP_LOOKAHEAD):
                continue
            try:
                doctor = self._doctors.get(connection.doctor_id)
                if doctor is None:
                    continue
                self._sync(connection, doctor.zone)
                done += 1
            except Exception:
                log.exception("calendar connection %s: sync failed; the next sweep retries", connection.id)
        return done

    def _announce(self, doctor_id: str, day: date) -> None:
        try:
            self._announce_to(doctor_id, day)
        except Exception:
            log.exception("doctor-day %s %s: busy-time change not announced to followers", doctor_id, day)

    # --- the sync ----------------------------------------------------------------------------------------------
    def _sync(self, connection: Connection, zone: ZoneInfo) -> Connection:
        credentials = self._vault.get(connection.id) if connection.has_password else None
        now = self._clock.now()
        window = (now - timedelta(days=1), now + timedelta(days=self._horizon_days + 2))
        fetcher = self._fetchers.for_connection(connection, credentials, window)
        sync = BusySync(fetcher, self._busy, self._clock.now, jitter=lambda: _SPREAD.uniform(0, JITTER_SECONDS))
        state = SyncState(
            etag=connection.etag,
            days=dict(connection.days),
            busy_intervals=connection.busy_intervals,
            last_sync_at=connection.last_sync_at,
            next_sync_at=connection.next_sync_at,
            failures=connection.failures,
            last_error=connection.last_error,
            failing_since=connection.failing_since,
            truncated=connection.truncated,
        )
        result = sync.sync(connection.doctor_id, zone, connection.id, connection.url, state, self._horizon_days)
        s = result.state
        changed_days = sorted(set(s.days.items()) ^ set(connection.days.items()))
        synced = replace(
            connection,
            etag=s.etag,
            days=dict(s.days),
            busy_intervals=s.busy_intervals,
            last_sync_at=s.last_sync_at,
            next_sync_at=s.next_sync_at,
            failures=s.failures,
            last_error=s.last_error,
            failing_since=s.failing_since,
            truncated=s.truncated,
        )
        fresh: list[Conflict] = []
        if result.busy is not None:
            synced = replace(synced, conflicts=self._conflicts_of(connection.doctor_id, result.busy))
            new = {c.appointment_id for c in synced.conflicts} - {c.appointment_id for c in connection.conflicts}
            if new:
                self._on_conflicts(len(new))
            fresh = [c for c in synced.conflicts if c.appointment_id in new]
        if synced.failing_since is not None and self._clock.now() - synced.failing_since >= ALERT_AFTER:
            self._on_failing()
        if connection.legacy_visits:  # an earlier release's record: its visits become copies, then it is saved
            if self._visits_out is not None and connection.receives_visits:
                self._visits_out.adopt(connection)
            synced = replace(synced, legacy_visits={})
        unchanged = (
            result.busy is None and not synced.failures and not connection.failures and not connection.legacy_visits
        )
        if unchanged and connection.last_sync_at and now - connection.last_sync_at < REFRESH_UNCHANGED:
            return replace(connection, last_sync_at=synced.last_sync_at, next_sync_at=synced.next_sync_at)
        self._store.save(synced)
        for day_text in sorted({d for d, _ in changed_days}):
            self._announce(connection.doctor_id, date.fromisoformat(day_text))
        if fresh:
            self._publish(connection.id, fresh)
        return synced

    def _publish(self, calendar_id: str, fresh: list[Conflict]) -> None:
        """Each new conflict to the webhooks, once its connection (the list it is new against) is written; a
        failure is logged and never fails the sync (the conflict stays listed for staff)."""
        try:
            visits = self._busy.get_many([c.appointment_id for c in fresh])
            found = [(c, visits[c.appointment_id]) for c in fresh if c.appointment_id in visits]
            if found:
                self._publish_conflicts(calendar_id, found)
        except Exception:
            log.exception("calendar %s: %d new conflicts not handed to the webhooks", calendar_id, len(fresh))

    def _conflicts_of(self, doctor_id: str, busy: dict[date, tuple[Interval, ...]]) -> tuple[Conflict, ...]:
        if not busy:
            return ()
        intervals = [i for pieces in busy.values() for i in pieces]
        start = min(s for s, _ in intervals) - timedelta(hours=12)
        end = max(e for _, e in intervals) + timedelta(hours=12)
        out: list[Conflict] = []
        for visit in self._busy.list_for_doctor(doctor_id, start, end):
            if not visit.active:
                continue
            for s, e in _overlapping(visit, intervals):
                out.append(Conflict(visit.id, s, e))
                break
        return tuple(sorted(out, key=lambda c: (c.start, c.appointment_id)))


def _overlapping(visit: Appointment, intervals: Iterable[Interval]) -> list[Interval]:
    return [(s, e) for s, e in intervals if s < visit.ends_at and visit.starts_at < e]
