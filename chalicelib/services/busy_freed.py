"""The busy-time writes of the calendar sync, watched for time they free: after a write of one doctor-day
committed, the day's busy intervals before and after (all connections, merged) go to a listener - the waitlist,
which offers what a removed or shortened busy event gave back. The listener's failure is logged and never fails
the sync."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from typing import Protocol

from chalicelib.domain.appointments import Appointment

log = logging.getLogger("clinic.calendars")

Interval = tuple[datetime, datetime]
LONGEST_VISIT = timedelta(hours=12)
"""How far before the freed time a booked visit that overlaps it may start (visits are indexed by start)."""
FreedListener = Callable[[str, date, Sequence[Interval], Sequence[Interval], Sequence[Interval]], object]
"""Told (doctor id, local day, busy before, busy after, booked visits over the time busy before)."""


class BusyTimes(Protocol):
    def busy_of_day(self, doctor_id: str, day: date) -> tuple[int, tuple[Interval, ...]]: ...

    def write_busy(self, doctor_id: str, day: date, connection_id: str, intervals: Sequence[Interval]) -> None: ...

    def list_for_doctor(self, doctor_id: str, start: datetime, end: datetime) -> list[Appointment]: ...

    def get_many(self, appointment_ids: list[str]) -> dict[str, Appointment]: ...


class FreedBusyStore:
    """The calendar sync's busy store: writes pass through; a write that leaves busy less than before tells the
    listener once it committed."""

    def __init__(self, inner: BusyTimes, on_freed: FreedListener) -> None:
        self._inner = inner
        self._on_freed = on_freed

    def write_busy(self, doctor_id: str, day: date, connection_id: str, intervals: list[Interval]) -> None:
        try:
            _, before = self._inner.busy_of_day(doctor_id, day)
        except Exception:
            log.exception("busy time of %s on %s not read before the sync's write", doctor_id, day)
            before = ()
        self._inner.write_busy(doctor_id, day, connection_id, intervals)
        if not before:
            return  # nothing was busy (or it could not be read): nothing to offer
        try:
            _, after = self._inner.busy_of_day(doctor_id, day)
            if after == before:
                return
            span = (min(s for s, _ in before) - LONGEST_VISIT, max(e for _, e in before))
            taken = [(a.starts_at, a.ends_at) for a in self._inner.list_for_doctor(doctor_id, *span) if a.active]
            self._on_freed(doctor_id, day, before, after, taken)
        except Exception:
            log.exception("busy time freed on %s for %s not handed to the waitlist", day, doctor_id)

    def list_for_doctor(self, doctor_id: str, start: datetime, end: datetime) -> list[Appointment]:
        return self._inner.list_for_doctor(doctor_id, start, end)

    def get_many(self, appointment_ids: list[str]) -> dict[str, Appointment]:
        return self._inner.get_many(appointment_ids)
