"""In-memory fakes for visits out: the copy store (with the version condition the DynamoDB one has), the
connections, the visits, and a CalDAV writer that keeps events by UID and fails on demand."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from chalicelib.domain.appointments import Appointment
from chalicelib.domain.calendar_connections import Connection, DueCopy, VisitCopy
from chalicelib.services.busy_sync import FeedUnavailable


class InMemoryCopyStore:
    def __init__(self) -> None:
        self.copies: dict[tuple[str, str, str], VisitCopy] = {}
        self.due_list: dict[tuple[str, str, str], datetime] = {}

    def get(self, doctor_id: str, connection_id: str, appointment_id: str) -> VisitCopy | None:
        return self.copies.get((doctor_id, connection_id, appointment_id))

    def save(self, copy: VisitCopy) -> bool:
        key = (copy.doctor_id, copy.connection_id, copy.appointment_id)
        known = self.copies.get(key)
        if known is not None and known.version > copy.version:
            return False
        self.copies[key] = copy
        if copy.due_again:
            self.due_list[key] = copy.retry_at or copy.updated_at
        else:
            self.due_list.pop(key, None)
        return True

    def of_connection(self, doctor_id: str, connection_id: str) -> list[VisitCopy]:
        return [c for (d, k, _), c in self.copies.items() if (d, k) == (doctor_id, connection_id)]

    def due(self, now: datetime, doctor_id: str | None = None, connection_id: str | None = None) -> list[DueCopy]:
        out = [
            DueCopy(d, k, a, at)
            for (d, k, a), at in self.due_list.items()
            if ((d, k) == (doctor_id, connection_id) if doctor_id else at <= now)
        ]
        return sorted(out, key=lambda x: (x.due_at, x.appointment_id))

    def drop_due(self, doctor_id: str, connection_id: str, appointment_id: str) -> None:
        self.due_list.pop((doctor_id, connection_id, appointment_id), None)

    def forget_connection(self, doctor_id: str, connection_id: str) -> None:
        for key in [k for k in self.copies if k[:2] == (doctor_id, connection_id)]:
            self.copies.pop(key)
            self.due_list.pop(key, None)


class InMemoryConnections:
    def __init__(self, *connections: Connection) -> None:
        self.by_id = {c.id: c for c in connections}

    def get(self, doctor_id: str, connection_id: str) -> Connection | None:
        found = self.by_id.get(connection_id)
        return found if found is not None and found.doctor_id == doctor_id else None

    def of_doctor(self, doctor_id: str) -> list[Connection]:
        return [c for c in self.by_id.values() if c.doctor_id == doctor_id]

    def set(self, connection: Connection, **changes: Any) -> Connection:
        self.by_id[connection.id] = replace(connection, **changes)
        return self.by_id[connection.id]


class InMemoryVisits:
    def __init__(self, *visits: Appointment) -> None:
        self.by_id = {v.id: v for v in visits}

    def get(self, appointment_id: str) -> Appointment | None:
        return self.by_id.get(appointment_id)

    def list_for_doctor(self, doctor_id: str, start: datetime, end: datetime) -> list[Appointment]:
        return [v for v in self.by_id.values() if v.doctor_id == doctor_id and start <= v.starts_at < end]


class RecordingCalDav:
    """A calendar server: events by (calendar URL, UID); `failure` makes every request fail with it."""

    def __init__(self) -> None:
        self.events: dict[tuple[str, str], bytes] = {}
        self.requests: list[tuple[str, str]] = []
        self.failure: str | None = None

    def put(self, url: str, credentials: tuple[str, str] | None, uid: str, ics: bytes) -> None:
        self.requests.append(("PUT", uid))
        if self.failure:
            raise FeedUnavailable(self.failure)
        self.events[(url, uid)] = ics

    def delete(self, url: str, credentials: tuple[str, str] | None, uid: str) -> None:
        self.requests.append(("DELETE", uid))
        if self.failure:
            raise FeedUnavailable(self.failure)
        self.events.pop((url, uid), None)


class NoVault:
    def get(self, connection_id: str) -> tuple[str, str] | None:
        return ("dr", "app-password")
