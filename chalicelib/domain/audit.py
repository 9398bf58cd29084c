"""Audit records: who changed an appointment, how, when, and its status before and after; and who read a
patient's data (or changed its reminders), from which route, when."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from chalicelib.domain.appointments import Appointment, Status
from chalicelib.domain.identity import Caller

CHANGE_ACTIONS = frozenset({"booked", *(s.value for s in Status)})
"""The actions of entries that write an appointment version (`audit_of`); any other action is an event seen at a
version (`side_audit`: a room join, a reminder change)."""


@dataclass(frozen=True)
class AuditEntry:
    id: str
    appointment_id: str
    at: datetime
    actor_id: str
    actor_role: str
    action: str
    status_before: str | None
    status_after: str
    changes: dict[str, Any] = field(default_factory=dict)
    seq: int = 0
    """The appointment version this entry wrote (1 for the booking); an event that changes no field (a room
    join) carries the version it saw. Orders the appointment's trail (`audit_sort_key`)."""


def audit_sort_key(entry: AuditEntry) -> str:
    """The audit table's sort key: `<version, 8 digits>#<0 wrote it | 1 saw it>#<instant, microseconds>#<id>`.

    An appointment's trail is ordered by its own versions, never by the clocks of the processes that wrote it
    (two Lambda containers' clocks may disagree by more than the time between two changes): the change that
    wrote version n comes before every event seen at version n, which come before the change to n + 1. The
    instant orders only events seen at one version, and the id breaks a tie of instants."""
    from chalicelib.domain.timefmt import precise_instant

    phase = 0 if entry.action in CHANGE_ACTIONS else 1
    return f"{entry.seq:08d}#{phase}#{precise_instant(entry.at)}#{entry.id}"


def audit_of(
    entry_id: str,
    caller: Caller,
    action: str,
    before: Appointment | None,
    after: Appointment,
    at: datetime,
) -> AuditEntry:
    """An entry with the changed scheduling fields; never the reason or notes (health detail)."""
    changes: dict[str, Any] = {}
    if before is not None:
        for name in ("date", "time", "duration", "status"):
            old, new = getattr(before, name), getattr(after, name)
            if old != new:
                changes[name] = {"from": getattr(old, "value", old), "to": getattr(new, "value", new)}
    return AuditEntry(
        id=entry_id,
        appointment_id=after.id,
        at=at,
        actor_id=caller.subject,
        actor_role=caller.role.value,
        action=action,
        status_before=before.status.value if before else None,
        status_after=after.status.value,
        changes=changes,
        seq=(before.version or 0) + 1 if before is not None else 1,
    )


@dataclass(frozen=True)
class AccessEntry:
    """One access to one patient's data: kept per patient, so an admin can list who saw what and when."""

    id: str
    patient_id: str
    at: datetime
    actor_id: str
    actor_role: str
    action: str
    """`read`, `reminder-change`, `contact-change` or `language-change`."""
    route: str
    """`METHOD /path/template` of the request."""
    appointment_ids: tuple[str, ...] = ()
    """The patient's appointments that the request showed (one entry per patient and request)."""


def side_audit(
    entry_id: str,
    caller: Caller,
    action: str,
    appointment: Appointment,
    at: datetime,
    changes: dict[str, Any] | None = None,
) -> AuditEntry:
    """An event on an appointment's trail that leaves the appointment unchanged (a reminder or room action)."""
    return AuditEntry(
        id=entry_id,
        appointment_id=appointment.id,
        at=at,
        actor_id=caller.subject,
        actor_role=caller.role.value,
        action=action,
        status_before=appointment.status.value,
        status_after=appointment.status.value,
        changes=changes or {},
        seq=appointment.version or 0,  # after the change that made the appointment as it is now
    )


def reminder_audit(
    entry_id: str, caller: Caller, action: str, appointment: Appointment, reminder_ids: list[str], at: datetime
) -> AuditEntry:
    """A reminder change on its appointment's trail (the appointment itself is unchanged)."""
    return side_audit(entry_id, caller, action, appointment, at, {"reminders": reminder_ids})
