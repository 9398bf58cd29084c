"""A doctor's connection to one of its own calendars (an ICS feed, or a CalDAV calendar with an app password):
its address (never with credentials in it), state, and what its syncs remember. The credentials themselves live
only in the vault (Secrets Manager), named by the connection's id; this object never holds them."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum

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


@dataclass(frozen=True)
class VisitCopy:
    """Where a booked visit stands in this calendar (CalDAV with `writeVisits`): `written` at `version`,
    `deleted` (cancelled), or `failed` with the server's answer in plain words and when it is tried again."""

    version: int
    state: str
    error: str | None = None
    attempts: int = 0
    retry_at: datetime | None = None


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
    visits: dict[str, VisitCopy] = field(default_factory=dict)
    """Appointment id -> its copy in this calendar (only with `write_visits`)."""

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
        "visits": {k: [v.version, v.state, v.error, v.attempts, when(v.retry_at)] for k, v in sorted(c.visits.items())},
    }


def from_record(raw: dict[str, object]) -> Connection:
    from chalicelib.domain.timefmt import parse_instant

    def when(value: object) -> datetime | None:
        return parse_instant(str(value)) if value else None

    conflicts = raw.get("conflicts")
    conflicts = conflicts if isinstance(conflicts, list) else []
    days = raw.get("days")
    days = days if isinstance(days, dict) else {}
    visits = raw.get("visits")
    visits = visits if isinstance(visits, dict) else {}
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
        visits={
            str(k): VisitCopy(int(v[0]), str(v[1]), str(v[2]) if v[2] else None, int(v[3]), when(v[4]))
            for k, v in visits.items()
        },
    )
