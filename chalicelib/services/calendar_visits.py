"""Visits out: each booked visit written into its doctor's CalDAV calendars that receive visits (`writeVisits`),
driven by the appointments table's stream, so every booking path (REST, console, FHIR, holds, waitlist) is
covered once per change. One copy per visit and calendar says where it stands (written, deleted, pending, or
failed with the server's answer in plain words and its next attempt); failed copies are retried with backoff by
the calendar sync's schedule, only the due ones. The event's UID is the appointment's, so a retry replaces the
event (a PUT to the same resource) and never makes a second one."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Protocol

from chalicelib.domain.appointments import Appointment
from chalicelib.domain.busy import own_uid
from chalicelib.domain.calendar import doctor_feed_ics
from chalicelib.domain.calendar_connections import (
    Connection,
    CopyState,
    DueCopy,
    VisitCopy,
    copy_action,
    retry_delay,
)
from chalicelib.services.busy_sync import FeedUnavailable
from chalicelib.services.ports.system import Clock

log = logging.getLogger("clinic.calendars")
SHOWN_AFTER_END = timedelta(days=1)
"""A connection's list of copies shows visits until a day after they end (failed and pending ones always)."""
RETRIES_PER_RUN = 100
"""Copies retried by one run of the calendar sync (the rest wait for the next run, five minutes later)."""


@dataclass(frozen=True)
class VisitChange:
    """An appointments-table change as the consumer needs it: which visit, whose; the visit itself is read again
    (its current version is what gets written, whatever order the records came in)."""

    sequence: str
    appointment_id: str
    doctor_id: str


@dataclass
class VisitsReport:
    written: int = 0
    deleted: int = 0
    failed: int = 0
    """Copies the calendar server refused or did not answer for: recorded failed, retried with backoff."""
    pending: int = 0
    skipped: int = 0


class CopyStore(Protocol):
    def get(self, doctor_id: str, connection_id: str, appointment_id: str) -> VisitCopy | None: ...

    def save(self, copy: VisitCopy) -> bool:
        """False when a newer version of the visit was recorded meanwhile (nothing written)."""
        ...

    def of_connection(self, doctor_id: str, connection_id: str) -> list[VisitCopy]: ...

    def due(self, now: datetime, doctor_id: str | None = None, connection_id: str | None = None) -> list[DueCopy]: ...

    def drop_due(self, doctor_id: str, connection_id: str, appointment_id: str) -> None: ...

    def forget_connection(self, doctor_id: str, connection_id: str) -> None: ...


class ConnectionReader(Protocol):
    def get(self, doctor_id: str, connection_id: str) -> Connection | None: ...

    def of_doctor(self, doctor_id: str) -> list[Connection]: ...


class VisitReader(Protocol):
    def get(self, appointment_id: str) -> Appointment | None: ...

    def list_for_doctor(self, doctor_id: str, start: datetime, end: datetime) -> list[Appointment]: ...


class CredentialReader(Protocol):
    def get(self, connection_id: str) -> tuple[str, str] | None: ...


class VisitWriter(Protocol):
    """Our visits into a CalDAV calendar; failures raise FeedUnavailable with the reason in plain words."""

    def put(self, url: str, credentials: tuple[str, str] | None, uid: str, ics: bytes) -> None: ...

    def delete(self, url: str, credentials: tuple[str, str] | None, uid: str) -> None: ...


def visit_event(visit: Appointment, now: datetime) -> bytes:
    """The visit as one event: UID `<appointment id>@clinic-booking`, its time, the place or "Video visit", SEQUENCE
    from its version; no patient name, no reason, no notes."""
    return doctor_feed_ics([visit], now).replace(b"METHOD:PUBLISH\r\n", b"")


class VisitsRun:
    """One batch's or one sweep's memory: connections and credentials read once, and the calendars that already
    failed in it (their other visits are recorded failed without another wait on the same server)."""

    def __init__(self) -> None:
        self.connections: dict[str, list[Connection]] = {}
        self.credentials: dict[str, tuple[str, str] | None] = {}
        self.broken: dict[str, str] = {}
        self.report = VisitsReport()


class VisitsOut:
    def __init__(
        self,
        copies: CopyStore,
        connections: ConnectionReader,
        visits: VisitReader,
        vault: CredentialReader,
        writer: Callable[[], VisitWriter],
        clock: Clock,
        on_failed: Callable[[int], None] = lambda n: None,
    ) -> None:
        self._copies = copies
        self._connections = connections
        self._visits = visits
        self._vault = vault
        self._writer = writer
        self._clock = clock
        self._on_failed = on_failed
        """Counts the copies a server refused (the `CalendarVisitFailed` metric)."""

    # --- the stream's consumer ---------------------------------------------------------------------------------
    def new_run(self) -> VisitsRun:
        """A stream batch's memory, handed to `on_change` for each of its records and to `finish` after them."""
        return VisitsRun()

    def on_change(self, change: VisitChange | str | None, run: VisitsRun) -> None:
        """One changed visit brought into each of its doctor's calendars that receive visits. `None` is a change
        the event does not show, a string an unreadable record's sequence number: both are skipped (a retry cannot
        fix them). Raises when the copies could not be recorded: the stream retries that record alone."""
        if not isinstance(change, VisitChange):
            run.report.skipped += change is not None
            return
        receivers = self._receivers(run, change.doctor_id)
        if not receivers:
            run.report.skipped += 1
            return
        visit = self._visits.get(change.appointment_id)
        for connection in receivers:
            self._bring(run, connection, change.appointment_id, visit)

    def finish(self, run: VisitsRun) -> VisitsReport:
        """The batch counted (the `CalendarVisitFailed` metric) and its report."""
        self._count(run)
        return run.report

    # --- the retries (the calendar sync's schedule, and "sync now") --------------------------------------------
    def retry_due(self, limit: int = RETRIES_PER_RUN) -> VisitsReport:
        """The failed and pending copies whose time has come, oldest first; a paused calendar's wait."""
        return self._retry(self._copies.due(self._clock.now())[:limit])

    def retry_connection(self, connection: Connection) -> VisitsReport:
        """A person asked for a sync now: this calendar's failed and pending copies at once, due or not."""
        due = self._copies.due(self._clock.now(), connection.doctor_id, connection.id)
        return self._retry(due[:RETRIES_PER_RUN])

    def _retry(self, due: list[DueCopy]) -> VisitsReport:
        run = VisitsRun()
        for item in due:
            try:
                connection = self._connections.get(item.doctor_id, item.connection_id)
                if connection is None or not connection.receives_visits:
                    self._copies.drop_due(item.doctor_id, item.connection_id, item.appointment_id)
                    continue
                if connection.paused:
                    continue
                result = self._bring(run, connection, item.appointment_id, self._visits.get(item.appointment_id))
                if result is None or not result.due_again:
                    self._copies.drop_due(item.doctor_id, item.connection_id, item.appointment_id)
            except Exception:
                log.exception("calendar %s: a visit's copy was not retried; the next run tries", item.connection_id)
        self._count(run)
        return run.report

    # --- a connection's copies -----------------------------------------------------------------------------------
    def queue_booked(self, connection: Connection, start: datetime, end: datetime) -> int:
        """A calendar newly connected with `writeVisits`: the visits already booked in the window are queued as
        pending (the next run of the sync writes them; the stream writes every later change)."""
        if not connection.receives_visits:
            return 0
        now = self._clock.now()
        queued = 0
        for visit in self._visits.list_for_doctor(connection.doctor_id, start, end):
            if copy_action(visit, None) != "put":
                continue
            self._copies.save(self._pending(connection, visit, None, now))
            queued += 1
        return queued

    def copies_of(self, connection: Connection) -> list[VisitCopy]:
        """What staff see: the copies of visits not over for a day yet, and every failed or pending one."""
        if not connection.receives_visits:
            return []
        shown_from = self._clock.now() - SHOWN_AFTER_END
        kept = [
            c
            for c in self._copies.of_connection(connection.doctor_id, connection.id)
            if c.due_again or c.ends_at is None or c.ends_at >= shown_from
        ]
        return sorted(kept, key=lambda c: (c.ends_at or c.updated_at, c.appointment_id))

    def adopt(self, connection: Connection) -> int:
        """An earlier release kept the visits it wrote in the connection itself: each becomes a copy (a written one
        as written at its version, so a later cancel deletes its event; a failed one pending, so the next run
        writes it), unless the visit already has one."""
        now = self._clock.now()
        adopted = 0
        for appointment_id, (version, state) in sorted(connection.legacy_visits.items()):
            if self._copies.get(connection.doctor_id, connection.id, appointment_id) is not None:
                continue
            kept = {"written": CopyState.WRITTEN, "deleted": CopyState.DELETED}.get(state, CopyState.PENDING)
            due = now if kept is CopyState.PENDING else None
            adopted += self._copies.save(
                VisitCopy(connection.doctor_id, connection.id, appointment_id, version, kept, now, retry_at=due)
            )
        return adopted

    def forget(self, connection: Connection) -> None:
        if connection.receives_visits:
            self._copies.forget_connection(connection.doctor_id, connection.id)

    # --- one visit into one calendar -----------------------------------------------------------------------------
    def _receivers(self, run: VisitsRun, doctor_id: str) -> list[Connection]:
        if doctor_id not in run.connections:
            run.connections[doctor_id] = [c for c in self._connections.of_doctor(doctor_id) if c.receives_visits]
        return run.connections[doctor_id]

    def _bring(
        self, run: VisitsRun, connection: Connection, appointment_id: str, visit: Appointment | None, again: bool = True
    ) -> VisitCopy | None:
        """Writes, rewrites or deletes the visit's event as its copy says it needs, and records the outcome. When
        the record is refused (a newer version was recorded meanwhile, so what was just sent may be older than
        what the calendar held) the visit is read again and its event sent again as it is now."""
        known = self._copies.get(connection.doctor_id, connection.id, appointment_id)
        sent = known if again or known is None else replace(known, state=CopyState.WRITTEN, version=0)
        action = copy_action(visit, sent)
        now = self._clock.now()
        if action == "none":
            if known is not None and known.due_again:  # e.g. completed while its copy was failing
                settled = replace(known, retry_at=None, updated_at=now)
                self._copies.save(settled)
                return settled
            return known
        if connection.paused:
            result = self._pending(connection, visit, known, now)
            run.report.pending += 1
        elif connection.id in run.broken:
            result = self._failed(connection, appointment_id, visit, known, run.broken[connection.id], now, tried=False)
            run.report.failed += 1
        else:
            result = self._attempt(run, connection, appointment_id, visit, known, action, now)
        if self._copies.save(result):
            return result
        if again:  # a newer version of the visit was recorded meanwhile: bring that one
            return self._bring(run, connection, appointment_id, self._visits.get(appointment_id), again=False)
        return None

    def _attempt(
        self,
        run: VisitsRun,
        connection: Connection,
        appointment_id: str,
        visit: Appointment | None,
        known: VisitCopy | None,
        action: str,
        now: datetime,
    ) -> VisitCopy:
        if connection.id not in run.credentials:
            run.credentials[connection.id] = self._vault.get(connection.id) if connection.has_password else None
        credentials = run.credentials[connection.id]
        writer = self._writer()
        version = (visit.version or 1) if visit is not None else (known.version if known else 0)
        try:
            if action == "put" and visit is not None:
                writer.put(connection.url, credentials, own_uid(appointment_id), visit_event(visit, now))
                run.report.written += 1
                state = CopyState.WRITTEN
            else:
                writer.delete(connection.url, credentials, own_uid(appointment_id))
                run.report.deleted += 1
                state = CopyState.DELETED
        except FeedUnavailable as exc:
            run.broken[connection.id] = str(exc)
            run.report.failed += 1
            log.warning("visit %s not written to calendar %s: %s", appointment_id, connection.id, exc)
            return self._failed(connection, appointment_id, visit, known, str(exc), now, tried=True)
        ends_at = visit.ends_at if visit is not None else (known.ends_at if known else None)
        starts_at = visit.starts_at if visit is not None else (known.starts_at if known else None)
        return VisitCopy(
            connection.doctor_id, connection.id, appointment_id, version, state, now, ends_at, starts_at=starts_at
        )

    @staticmethod
    def _failed(
        connection: Connection,
        appointment_id: str,
        visit: Appointment | None,
        known: VisitCopy | None,
        error: str,
        now: datetime,
        tried: bool,
    ) -> VisitCopy:
        earlier = known.attempts if known is not None and known.state is CopyState.FAILED else 0
        attempts = earlier + 1 if tried else max(earlier, 1)
        return VisitCopy(
            connection.doctor_id,
            connection.id,
            appointment_id,
            (visit.version or 1) if visit is not None else (known.version if known else 0),
            CopyState.FAILED,
            now,
            visit.ends_at if visit is not None else (known.ends_at if known else None),
            error,
            attempts,
            now + retry_delay(attempts),
            visit.starts_at if visit is not None else (known.starts_at if known else None),
        )

    @staticmethod
    def _pending(
        connection: Connection, visit: Appointment | None, known: VisitCopy | None, now: datetime
    ) -> VisitCopy:
        appointment_id = visit.id if visit is not None else (known.appointment_id if known else "")
        return VisitCopy(
            connection.doctor_id,
            connection.id,
            appointment_id,
            (visit.version or 1) if visit is not None else (known.version if known else 0),
            CopyState.PENDING,
            now,
            visit.ends_at if visit is not None else (known.ends_at if known else None),
            known.error if known is not None else None,
            known.attempts if known is not None else 0,
            now,
            visit.starts_at if visit is not None else (known.starts_at if known else None),
        )

    def _count(self, run: VisitsRun) -> None:
        if run.report.failed:
            try:
                self._on_failed(run.report.failed)
            except Exception:
                log.exception("metric CalendarVisitFailed not recorded")
