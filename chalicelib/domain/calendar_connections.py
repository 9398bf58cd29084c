"""A doctor's connection to one of its own calendars (an ICS feed, or a CalDAV calendar with an app password):
its address (never with credentials in it), state, and what its syncs remember. The credentials themselves live
only in the vault (Secrets Manager), named by the connection's id; this object never holds them. And each booked
visit's copy in a calendar that receives visits, with the rules for what a copy needs and when it is retried."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from chalicelib.domain.appointments import Appointment, Status
from chalicelib.domain.errors import InvalidInput
from chalicelib.domain.webhooks import check_url

MAX_CONNECTIONS_PER_DOCTOR = 10


class Kind(StrEnum):
    ICS = "ics"
    CALDAV = "caldav"


class State(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"
    FAILING = "failing"


@dataclass(frozen=True)
class Conflict:
    """A booked visit that a busy time of this calendar now overlaps (flagged for staff; nothing is moved)."""

    appointment_id: str
    start: datetime
    end: datetime


class CopyState(StrEnum):
    """Where a booked visit stands in one CalDAV calendar that receives visits."""

    PENDING = "pending"
    """To be written: the calendar was connected after the visit was booked, or it is paused."""
    WRITTEN = "written"
    DELETED = "deleted"
    FAILED = "failed"


RETRY_FIRST = timedelta(minutes=5)
RETRY_MAX = timedelta(hours=6)
"""A failed copy is tried again after 5 minutes, then 10, 20... up to 6 hours between attempts."""


@dataclass(frozen=True)
class VisitCopy:
    """A booked visit's copy in one calendar (CalDAV with `writeVisits`): `written` at the visit's `version`,
    `deleted` (cancelled), `pending`, or `failed` with the server's answer in plain words and when it is tried
    again. One per visit and connection, written by the appointments stream's consumer and the retries."""

    doctor_id: str
    connection_id: str
    appointment_id: str
    version: int
    state: CopyState
    updated_at: datetime
    ends_at: datetime | None = None
    """The visit's end as last seen: the staff list shows the copies of visits not yet over."""
    error: str | None = None
    attempts: int = 0
    retry_at: datetime | None = None
    starts_at: datetime | None = None
    """The visit's start as last seen (what staff recognise it by)."""

    @property
    def due_again(self) -> bool:
        """In the retry list: failed or pending, with a next attempt (none once the visit needs nothing more)."""
        return self.state in (CopyState.FAILED, CopyState.PENDING) and self.retry_at is not None


@dataclass(frozen=True)
class DueCopy:
    """A copy in the retry list: which visit, in which calendar, and when it is due."""

    doctor_id: str
    connection_id: str
    appointment_id: str
    due_at: datetime


def copy_action(visit: Appointment | None, known: VisitCopy | None) -> str:
    """What a calendar that receives visits needs for this visit now: "put" (write or rewrite the event),
    "delete", or "none". A hold is not a visit; a visit never written needs no delete; a completed or missed
    visit stays as written; an event already written at this version is not written again."""
    if visit is None or visit.status is Status.CANCELLED:
        if known is None or known.state is CopyState.DELETED:
            return "none"
        return "delete"
    if visit.status is Status.HELD or not visit.active:
        return "none"
    if known is not None and known.state is CopyState.WRITTEN and known.version >= (visit.version or 1):
        return "none"
    return "put"


def retry_delay(attempts: int) -> timedelta:
    """The wait before attempt `attempts + 1`: exponential from 5 minutes, at most 6 hours."""
    doublings: int = 2 ** min(max(attempts, 1) - 1, 10)
    return min(RETRY_FIRST * doublings, RETRY_MAX)


def copy_record(c: VisitCopy) -> dict[str, object]:
    """How a visit's copy is stored (JSON); `copy_from_record` reads it back."""
    from chalicelib.domain.timefmt import instant

    return {
        "doctorId": c.doctor_id,
        "connectionId": c.connection_id,
        "appointmentId": c.appointment_id,
        "version": c.version,
        "state": c.state.value,
        "updatedAt": instant(c.updated_at),
        "endsAt": instant(c.ends_at) if c.ends_at else None,
        "error": c.error,
        "attempts": c.attempts,
        "retryAt": instant(c.retry_at) if c.retry_at else None,
        "startsAt": instant(c.starts_at) if c.starts_at else None,
    }


def copy_from_record(raw: dict[str, object]) -> VisitCopy:
    from chalicelib.domain.timefmt import parse_instant

    def when(value: object) -> datetime | None:
        return parse_instant(str(value)) if value else None

    updated = when(raw.get("updatedAt"))
    return VisitCopy(
        doctor_id=str(raw["doctorId"]),
        connection_id=str(raw["connectionId"]),
        appointment_id=str(raw["appointmentId"]),
        version=int(str(raw.get("version") or 0)),
        state=CopyState(str(raw["state"])),
        updated_at=updated or datetime.min.replace(tzinfo=UTC),
        ends_at=when(raw.get("endsAt")),
        error=str(raw["error"]) if raw.get("error") else None,
        attempts=int(str(raw.get("attempts") or 0)),
        retry_at=when(raw.get("retryAt")),
        starts_at=when(raw.get("startsAt")),
    )


@dataclass(frozen=True)
class Connection:
    id: str
    doctor_id: str
    kind: Kind
    url: str
    paused: bool
    write_visits: bool
    created_at: datetime
    username: str | None = None
    has_password: bool = False
    etag: str | None = None
    """ICS: the feed's last ETag; CalDAV: the calendar's last ctag/sync-token."""
    days: dict[str, str] = field(default_factory=dict)
    """Local date -> fingerprint of the busy intervals last written for that day (never the events)."""
    busy_intervals: int = 0
    last_sync_at: datetime | None = None
    next_sync_at: datetime | None = None
    failures: int = 0
    last_error: str | None = None
    failing_since: datetime | None = None
    truncated: bool = False
    conflicts: tuple[Conflict, ...] = ()
    legacy_visits: dict[str, tuple[int, str]] = field(default_factory=dict)
    """Read only: the visits an earlier release recorded in the connection itself (appointment id -> version and
    state); the next sync turns them into copies and the connection is saved without them."""

    @property
    def receives_visits(self) -> bool:
        return self.write_visits and self.kind is Kind.CALDAV

    @property
    def state(self) -> State:
        if self.paused:
            return State.PAUSED
        return State.FAILING if self.failures else State.ACTIVE

    def due(self, now: datetime) -> bool:
        return not self.paused and (self.next_sync_at is None or self.next_sync_at <= now)

    def with_paused(self, paused: bool, now: datetime) -> Connection:
        return replace(self, paused=paused, next_sync_at=None if paused else now)


def check_calendar_url(url: str, kind: Kind, allow_loopback: bool) -> str:
    """The address as it will be fetched (`webcal://` is https): https (http only to loopback where allowed), no
    credentials in it, and no literal private, loopback or link-local address. Host names are checked again
    after DNS resolution, at creation and at every fetch."""
    fetched = "https://" + url[len("webcal://") :] if url.lower().startswith("webcal://") else url
    try:
        check_url(fetched, allow_loopback)
    except InvalidInput as exc:
        problem = (exc.details or {}).get("fields", {}).get("url", "is not allowed")
        raise InvalidInput(f"The calendar address {problem}.", {"fields": {"url": problem}}) from exc
    return fetched


def to_record(c: Connection) -> dict[str, object]:
    """How a connection is stored (JSON); `from_record` reads it back."""
    from chalicelib.domain.timefmt import instant

    def when(value: datetime | None) -> str | None:
        return instant(value) if value else None

    return {
        "id": c.id,
        "doctorId": c.doctor_id,
        "kind": c.kind.value,
        "url": c.url,
        "paused": c.paused,
        "writeVisits": c.write_visits,
        "createdAt": instant(c.created_at),
        "username": c.username,
        "hasPassword": c.has_password,
        "etag": c.etag,
        "days": c.days,
        "busyIntervals": c.busy_intervals,
        "lastSyncAt": when(c.last_sync_at),
        "nextSyncAt": when(c.next_sync_at),
        "failures": c.failures,
        "lastError": c.last_error,
        "failingSince": when(c.failing_since),
        "truncated": c.truncated,
        "conflicts": [[x.appointment_id, instant(x.start), instant(x.end)] for x in c.conflicts],
    }


def from_record(raw: dict[str, object]) -> Connection:
    from chalicelib.domain.timefmt import parse_instant

    def when(value: object) -> datetime | None:
        return parse_instant(str(value)) if value else None

    conflicts = raw.get("conflicts")
    conflicts = conflicts if isinstance(conflicts, list) else []
    days = raw.get("days")
    days = days if isinstance(days, dict) else {}
    return Connection(
        id=str(raw["id"]),
        doctor_id=str(raw["doctorId"]),
        kind=Kind(str(raw["kind"])),
        url=str(raw["url"]),
        paused=bool(raw.get("paused")),
        write_visits=bool(raw.get("writeVisits")),
        created_at=parse_instant(str(raw["createdAt"])),
        username=str(raw["username"]) if raw.get("username") else None,
        has_password=bool(raw.get("hasPassword")),
        etag=str(raw["etag"]) if raw.get("etag") else None,
        days={str(k): str(v) for k, v in days.items()},
        busy_intervals=int(str(raw.get("busyIntervals") or 0)),
        last_sync_at=when(raw.get("lastSyncAt")),
        next_sync_at=when(raw.get("nextSyncAt")),
        failures=int(str(raw.get("failures") or 0)),
        last_error=str(raw["lastError"]) if raw.get("lastError") else None,
        failing_since=when(raw.get("failingSince")),
        truncated=bool(raw.get("truncated")),
        conflicts=tuple(Conflict(str(a), parse_instant(str(s)), parse_instant(str(e))) for a, s, e in conflicts),
        legacy_visits=_legacy_visits(raw.get("visits")),
    )


def _legacy_visits(raw: object) -> dict[str, tuple[int, str]]:
    """An earlier release's `visits` of a connection record: appointment id -> [version, state, ...]."""
    if not isinstance(raw, dict):
        return {}
    out: dict[str, tuple[int, str]] = {}
    for appointment_id, value in raw.items():
        if isinstance(value, list) and len(value) >= 2 and str(value[1]) in ("written", "deleted", "failed"):
            out[str(appointment_id)] = (int(str(value[0] or 0)), str(value[1]))
    return out
