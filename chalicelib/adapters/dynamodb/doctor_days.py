"""A doctor-day's partition of the schedule table read as one (its locks, counter, holds and busy times), its busy
times written by a calendar sync, and the day versions availability reports as ETags."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime

from pynamodb.transactions import TransactGet

from chalicelib.adapters.dynamodb import keys
from chalicelib.adapters.dynamodb.changes import commit
from chalicelib.adapters.dynamodb.errors import translated_errors
from chalicelib.adapters.dynamodb.items import doctor_from, doctor_locks, taken_granules
from chalicelib.adapters.dynamodb.models import DoctorModel, ScheduleModel, Tables
from chalicelib.adapters.dynamodb.transaction import Op, Transaction
from chalicelib.domain.appointments import Appointment
from chalicelib.domain.busy import decode, encode, merge
from chalicelib.domain.doctors import Doctor
from chalicelib.domain.schedule import DayState


class DynamoDoctorDays:
    def __init__(self, tables: Tables) -> None:
        self.tables = tables

    def holders_of(self, attempt: Appointment) -> set[str]:
        """The ids of the visits holding the doctor's lock items `attempt` would take (a granule's or a whole
        block's owner, a shared block's sharers), read strongly consistent: what refused a keyed retry whose first
        answer was lost is found at once, where the doctor index could still lag the commit."""
        wanted = [(lock.item.pk, lock.item.sk) for lock in doctor_locks(self.tables.schedule, attempt).values()]
        holders: set[str] = set()
        with translated_errors():
            for item in self.tables.schedule.batch_get(wanted, consistent_read=True):
                holders.update(([item.appointment_id] if item.appointment_id else []) + list(item.sharers or ()))
        return holders

    def day_state(self, doctor_id: str, day: date) -> DayState:
        """One strongly consistent query of the doctor-day partition: its locks and its counter."""
        taken: set[datetime] = set()
        holds: list[tuple[str, datetime]] = []
        busy: list[tuple[datetime, datetime]] = []
        booked = version = busy_version = 0
        with translated_errors():
            for item in self.tables.schedule.query(keys.doctor_day_pk(doctor_id, day), consistent_read=True):
                if item.sk == keys.COUNTER_SK:
                    booked, version = int(item.booked or 0), int(item.day_version or 0)
                elif item.sk == keys.BUSY_SK:
                    busy_version = int(item.busy_version or 0)
                elif item.sk.startswith(keys.BUSY_PREFIX):
                    busy.extend(decode(item.busy))
                elif item.sk.startswith(keys.HOLD_PREFIX) and item.appointment_id and item.ends_at:
                    holds.append((item.appointment_id, keys.parse_instant(item.ends_at)))
                else:
                    taken.update(taken_granules(item))
        return DayState(frozenset(taken), booked, version, tuple(sorted(holds)), tuple(merge(busy)), busy_version)

    def busy_of_day(self, doctor_id: str, day: date) -> tuple[int, tuple[tuple[datetime, datetime], ...]]:
        """One strongly consistent query of the doctor-day's busy items (SK `BUSY...`)."""
        version, busy = 0, list[tuple[datetime, datetime]]()
        with translated_errors():
            for item in self.tables.schedule.query(
                keys.doctor_day_pk(doctor_id, day),
                ScheduleModel.sk.startswith(keys.BUSY_SK),
                consistent_read=True,
            ):
                if item.sk == keys.BUSY_SK:
                    version = int(item.busy_version or 0)
                else:
                    busy.extend(decode(item.busy))
        return version, tuple(merge(busy))

    def write_busy(
        self, doctor_id: str, day: date, connection_id: str, intervals: Sequence[tuple[datetime, datetime]]
    ) -> None:
        """One transaction: the connection's busy item of the day (put, or deleted when empty), the day's busy
        version (+1, which refuses any booking checked against the old busy times), its availability version
        (+1: the slot list's ETag changes and live followers are told) and the doctor's `has_busy_times` (set, on
        an existing doctor only: a booking reads the busy times of a doctor with it before its transaction)."""
        t = self.tables
        pk = keys.doctor_day_pk(doctor_id, day)
        tx = Transaction()
        item = t.schedule(pk=pk, sk=keys.busy_sk(connection_id))
        if intervals:
            item.busy = encode(intervals)
            tx.puts.append(Op("busy-times", item))
        else:
            tx.deletes.append(Op("busy-times", item))
        version = t.schedule(pk=pk, sk=keys.BUSY_SK)
        tx.updates.append(Op("busy-version", version, None, [ScheduleModel.busy_version.add(1)]))
        counter = t.schedule(pk=pk, sk=keys.COUNTER_SK)
        tx.updates.append(Op("counter-touch", counter, None, [ScheduleModel.day_version.add(1)]))
        doctor = t.doctors(id=doctor_id)
        tx.updates.append(Op("doctor", doctor, DoctorModel.id.exists(), [DoctorModel.has_busy_times.set(True)]))
        commit(t, tx, f"busy#{uuid.uuid4()}")  # a fresh token: the same content may come back later

    def day_versions(self, days: Sequence[tuple[str, date]]) -> dict[tuple[str, date], int]:
        """The day counters' versions, strongly consistent: one BatchGetItem per 100 doctor-days (pynamodb splits
        and re-asks for unprocessed keys)."""
        by_pk = {keys.doctor_day_pk(doctor_id, day): (doctor_id, day) for doctor_id, day in days}
        found = dict.fromkeys(by_pk.values(), 0)
        with translated_errors():
            for item in self.tables.schedule.batch_get([(pk, keys.COUNTER_SK) for pk in by_pk], consistent_read=True):
                found[by_pk[item.pk]] = int(item.day_version or 0)
        return found

    def doctor_and_day_version(self, doctor_id: str, day: date) -> tuple[Doctor | None, int]:
        """What an availability ETag is made of, in one strongly consistent call (TransactGetItems)."""
        with translated_errors(), TransactGet(connection=self.tables.connection) as tx:
            doctor = tx.get(self.tables.doctors, doctor_id)
            counter = tx.get(self.tables.schedule, keys.doctor_day_pk(doctor_id, day), keys.COUNTER_SK)
        try:
            found = doctor_from(doctor.get())
        except DoctorModel.DoesNotExist:
            found = None
        try:
            version = int(counter.get().day_version or 0)
        except ScheduleModel.DoesNotExist:
            version = 0
        return found, version
