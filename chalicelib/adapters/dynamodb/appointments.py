"""The transactional appointment store.

Every appointment write is one TransactWriteItems holding the appointment, one lock item per 5-minute granule
for the doctor and for the patient (`attribute_not_exists`), the per-doctor-day counter (conditional on the
daily limit) and the audit entry, so DynamoDB itself makes overlapping bookings impossible. The builders of those
operations are public (`acquire`, `count_day`, `add_audit`...), so a benchmark can send the same items bare.
"""

from __future__ import annotations

import logging
import random
import time as time_module
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime
from typing import Any

from pynamodb.exceptions import PutError
from pynamodb.expressions.condition import Condition, size
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactGet

from chalicelib.adapters.dynamodb import keys
from chalicelib.adapters.dynamodb.errors import condition_failed, translated_errors
from chalicelib.adapters.dynamodb.items import (
    GRANULE,
    SHARED,
    WHOLE,
    Lock,
    access_from,
    access_item,
    appointment_from,
    appointment_item,
    audit_from,
    audit_item,
    contact_actions,
    doctor_from,
    doctor_locks,
    patient_locks,
    reminder_item,
    room_item,
    taken_granules,
)
from chalicelib.adapters.dynamodb.models import (
    AppointmentModel,
    AuditModel,
    DoctorModel,
    ReminderModel,
    RoomModel,
    ScheduleModel,
    Tables,
)
from chalicelib.adapters.dynamodb.search import index_contact
from chalicelib.adapters.dynamodb.transaction import MAX_ITEMS, ConditionsFailed, Op, Transaction
from chalicelib.config import Settings
from chalicelib.domain import errors
from chalicelib.domain.appointments import Appointment, Status
from chalicelib.domain.audit import AccessEntry, AuditEntry
from chalicelib.domain.booking import Booking
from chalicelib.domain.busy import BusyTimesChanged, decode, encode, merge
from chalicelib.domain.doctors import Doctor
from chalicelib.domain.errors import BookingLimitReached
from chalicelib.domain.holds import Hold, hold_lapsed
from chalicelib.domain.patients import PatientProfile
from chalicelib.domain.reminders import Reminder
from chalicelib.domain.schedule import DayState
from chalicelib.domain.telehealth import Room

log = logging.getLogger("clinic.store")
ACTIVE_ATTEMPTS = 6


class _ActiveItemTaken(BookingLimitReached):
    """A concurrent booking of the same patient took the free item this one chose: read again and retry."""


# --- transaction building ------------------------------------------------------------------------------------------
def put_new(tx: Transaction, tables: Tables, a: Appointment) -> None:
    tx.puts.append(Op("appointment", appointment_item(tables.appointments, a), AppointmentModel.id.does_not_exist()))


def put_changed(tx: Transaction, tables: Tables, before: Appointment, after: Appointment) -> None:
    """A full put conditioned on the version read and the status read: a concurrent change loses."""
    tx.puts.append(
        Op("appointment", appointment_item(tables.appointments, after), AppointmentModel.status == before.status.value)
    )


def acquire(tx: Transaction, locks: Mapping[str, Lock], tag: str) -> None:
    """Take lock items (`tag` names whose: `doctor-lock` or `patient-lock`)."""
    move_locks(tx, {}, locks, tag)


def release(tx: Transaction, locks: Mapping[str, Lock], owner: str) -> None:
    """Give back lock items, each conditioned on `owner` holding it."""
    move_locks(tx, {k: replace(lock, owner=owner) for k, lock in locks.items()}, {}, "release")


def move_locks(tx: Transaction, old: Mapping[str, Lock], new: Mapping[str, Lock], tag: str) -> None:
    """One operation per lock item that changes from `old` to `new` (one transaction may touch an item once):
    items held the same way before and after stay as they are; a block held whole becomes shared, or the
    reverse, in one update of its item. Every taking is conditioned on the item being free for it, every giving
    back on the owner holding it."""
    for key in sorted(old.keys() | new.keys()):
        change = _lock_op(old.get(key), new.get(key), tag)
        if change is not None:
            {"delete": tx.deletes, "put": tx.puts, "update": tx.updates}[change[0]].append(change[1])


def _size(path: Any) -> Any:
    """DynamoDB's `size()` in a condition (pynamodb's function is untyped)."""
    return size(path)  # type: ignore[no-untyped-call]


def _lock_op(before: Lock | None, after: Lock | None, tag: str) -> tuple[str, Op] | None:
    s = ScheduleModel
    if before is not None and after is not None and before.kind == after.kind:
        return None
    lock = after or before
    if lock is None:  # neither side holds it: nothing to write
        return None
    item, owner = lock.item, lock.owner
    unshared = s.sharers.does_not_exist() | (_size(s.sharers) == 0)
    if before is None:  # take
        if lock.kind == GRANULE:
            return "put", Op(tag, item, s.pk.does_not_exist())
        if lock.kind == WHOLE:
            return "update", Op(tag, item, s.appointment_id.does_not_exist() & unshared, [s.appointment_id.set(owner)])
        return "update", Op(tag, item, s.appointment_id.does_not_exist(), [s.sharers.add({owner})])
    if after is None:  # give back
        if lock.kind in (GRANULE, WHOLE):
            return "delete", Op("release", item, s.appointment_id == owner)
        return "update", Op("release", item, s.sharers.contains(owner), [s.sharers.delete({owner})])
    if before.kind == SHARED:  # shared -> whole: the only sharer takes the block whole
        condition = s.sharers.contains(owner) & (_size(s.sharers) == 1) & s.appointment_id.does_not_exist()
        return "update", Op(tag, item, condition, [s.sharers.delete({owner}), s.appointment_id.set(owner)])
    # whole -> shared: give the block up and join its sharers (no one else can hold any of it meanwhile)
    return "update", Op("release", item, s.appointment_id == owner, [s.appointment_id.remove(), s.sharers.add({owner})])


def count_day(
    tx: Transaction,
    tables: Tables,
    doctor_id: str,
    day: str,
    delta: int,
    max_per_day: int,
    stats: Mapping[str, int] | None = None,
    bump_version: bool = True,
) -> None:
    """Book (+1), release (-1) or just touch (0) a doctor-day, adding to its analytics aggregates; a change
    of its slots bumps the day's version, which availability reports as its ETag."""
    counter = tables.schedule(pk=keys.doctor_day_pk(doctor_id, day), sk=keys.COUNTER_SK)
    condition: Condition | None
    if delta > 0:
        condition = ScheduleModel.booked.does_not_exist() | (ScheduleModel.booked < max_per_day)
        tag = "counter"
    elif delta < 0:
        condition = ScheduleModel.booked > 0
        tag = "counter-release"
    else:
        condition, tag = None, "counter-touch"
    actions: list[Action] = [ScheduleModel.booked.add(delta)]
    if bump_version:
        actions.append(ScheduleModel.day_version.add(1))
    actions.extend(getattr(ScheduleModel, name).add(value) for name, value in (stats or {}).items() if value)
    tx.updates.append(Op(tag, counter, condition, actions))


def per_doctor_day(tx: Transaction, tables: Tables, a: Appointment, delta: int, strict: bool = False) -> None:
    """The patient's active bookings with this doctor that day; a patient booking for itself needs none."""
    item = tables.schedule(pk=keys.doctor_day_pk(a.doctor_id, a.date), sk=keys.patient_on_day_sk(a.patient_id))
    condition = (ScheduleModel.booked.does_not_exist() | (ScheduleModel.booked < 1)) if strict else None
    tx.updates.append(
        Op("patient-day" if strict else "patient-day-touch", item, condition, [ScheduleModel.booked.add(delta)])
    )


def add_audit(tx: Transaction, tables: Tables, entry: AuditEntry) -> None:
    """The change's audit entry, written once: never over an existing entry (the API may put into the audit
    table, so nothing it writes may replace what is there)."""
    tx.puts.append(Op("audit", audit_item(tables.audit, entry), AuditModel.sk.does_not_exist()))


def busy_guard(tx: Transaction, tables: Tables, doctor_id: str, day: str, version: int) -> None:
    """The doctor-day's busy times are still the ones the change was checked against (a sync that landed since
    bumped `busy_version`): a condition in the change's own transaction, so a stale read cannot book over a
    busy time. Adds 0 to the version (creating the item at 0 when no busy time was ever written)."""
    item = tables.schedule(pk=keys.doctor_day_pk(doctor_id, day), sk=keys.BUSY_SK)
    same = ScheduleModel.busy_version == version
    condition = (ScheduleModel.busy_version.does_not_exist() | same) if version == 0 else same
    tx.updates.append(Op("busy", item, condition, [ScheduleModel.busy_version.add(0)]))


def _domain_error_for(failed_tags: list[str]) -> Exception:
    if "hold-live" in failed_tags:  # the hold lapsed, or was released or booked, before this change
        return hold_lapsed()
    if "appointment" in failed_tags:
        return errors.appointment_changed()
    if "doctor-lock" in failed_tags:
        return errors.slot_taken()
    if "busy" in failed_tags:
        return BusyTimesChanged("The doctor's busy times changed; please retry.")
    if "patient-lock" in failed_tags:
        return errors.patient_busy()
    if "counter" in failed_tags:
        return errors.day_full()
    if "patient-day" in failed_tags:
        return errors.patient_day_taken()
    if "patient-active" in failed_tags:
        return _ActiveItemTaken("Another booking took this active-booking item first.")
    if "audit" in failed_tags:
        return errors.audit_entry_exists()
    if "hold" in failed_tags:  # a hold's own items exist already: the same hold id twice
        return errors.appointment_changed()
    return errors.schedule_raced(failed_tags)


def booked_stats(a: Appointment) -> dict[str, int]:
    """What a booking adds to its doctor-day's analytics aggregates."""
    lead = int((a.starts_at - a.created_at).total_seconds() // 60)
    return {"n_booked": 1, "booked_minutes": a.duration, "lead_minutes": lead, "lead_count": 1}


class DynamoAppointmentStore:
    def __init__(
        self,
        settings: Settings,
        tables: Tables,
        attempts: int = 4,
        base_delay: float = 0.05,
        sleep: Callable[[float], None] = time_module.sleep,
    ) -> None:
        self._settings = settings
        self.tables = tables
        self._attempts = attempts
        self._base_delay = base_delay
        self._sleep = sleep
        self.connection = tables.connection

    def botocore_clients(self) -> list[Any]:
        """The botocore clients this layer calls DynamoDB through, so benchmarks can count calls and tests can
        inject faults through botocore's own event hooks."""
        return self.tables.botocore_clients()

    # --- reads ---------------------------------------------------------------------------------------------
    def get(self, appointment_id: str) -> Appointment | None:
        with translated_errors():
            try:
                return appointment_from(self.tables.appointments.get(appointment_id, consistent_read=True))
            except AppointmentModel.DoesNotExist:
                return None

    def get_many(self, appointment_ids: Sequence[str]) -> dict[str, Appointment]:
        """BatchGetItem, 100 keys a call (pynamodb splits and re-asks for unprocessed keys)."""
        with translated_errors():
            items = self.tables.appointments.batch_get(sorted(set(appointment_ids)), consistent_read=True)
            return {item.id: appointment_from(item) for item in items}

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
        version (+1, which refuses any booking checked against the old busy times) and its availability
        version (+1: the slot list's ETag changes and live followers are told)."""
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
        self._commit(tx, f"busy#{uuid.uuid4()}")  # a fresh token: the same content may come back later

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
        with translated_errors(), TransactGet(connection=self.connection) as tx:
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

    def list_for_patient(self, patient_id: str, start: datetime, end: datetime) -> list[Appointment]:
        with translated_errors():
            items = self.tables.appointments.patient_index.query(
                patient_id, AppointmentModel.starts_at.between(keys.instant(start), keys.instant(end))
            )
            return [appointment_from(i) for i in items]

    def list_for_doctor(self, doctor_id: str, start: datetime, end: datetime) -> list[Appointment]:
        with translated_errors():
            items = self.tables.appointments.doctor_index.query(
                doctor_id, AppointmentModel.starts_at.between(keys.instant(start), keys.instant(end))
            )
            return [appointment_from(i) for i in items]

    def iter_for_patient(
        self, patient_id: str, start: datetime, end: datetime, after: tuple[str, str] | None, page_size: int
    ) -> Iterator[Appointment]:
        index = self.tables.appointments.patient_index
        return _iter_index(index, "patient_id", patient_id, start, end, after, page_size)

    def iter_for_doctor(
        self, doctor_id: str, start: datetime, end: datetime, after: tuple[str, str] | None, page_size: int
    ) -> Iterator[Appointment]:
        index = self.tables.appointments.doctor_index
        return _iter_index(index, "doctor_id", doctor_id, start, end, after, page_size)

    def audit_trail(self, appointment_id: str) -> list[AuditEntry]:
        with translated_errors():
            return [audit_from(i) for i in self.tables.audit.query(appointment_id, consistent_read=True)]

    # --- writes --------------------------------------------------------------------------------------------
    def book(self, booking: Booking) -> None:
        """The booking with its reminders, its video room and the patient's contact details: all or nothing.

        With `max_active`, the transaction also takes one of the patient's active-booking items (free, or held
        by a visit that has ended): a storm of bookings can never hold more. Two bookings racing for the same
        free item: the loser reads again and takes another, if one is left."""
        self._book(booking, None)

    def hold(self, booking: Booking, expires_at: datetime) -> None:
        """A hold: the booking's transaction with the appointment in status `held`, and the hold's two items
        (`keys.hold_sk` in the doctor-day, `keys.HOLDS_PK`) carrying its expiry. The day's analytics count it
        only when it is booked."""
        self._book(booking, expires_at)

    def _book(self, booking: Booking, hold_expires: datetime | None) -> None:
        appointment, audit = booking.appointment, booking.audit
        contact, max_active = booking.contact, booking.max_active
        for attempt in range(ACTIVE_ATTEMPTS):
            tx = self._booking(
                appointment,
                audit,
                booking.max_per_day,
                booking.reminders,
                contact,
                booking.room,
                hold_expires,
                booking.busy_version,
            )
            if max_active is not None:
                self._take_active(tx, appointment, max_active)
            try:
                self._commit(tx, audit.id if attempt == 0 else f"{audit.id}#active{attempt}", self._landed(appointment))
                if contact is not None:
                    self._index_for_search(contact)
                return
            except _ActiveItemTaken:
                continue
        raise BookingLimitReached(
            "Too many bookings are being made for this patient at once; please retry.", {"limit": max_active}
        )

    def _booking(
        self,
        appointment: Appointment,
        audit: AuditEntry,
        max_per_day: int,
        reminders: Sequence[Reminder],
        contact: PatientProfile | None,
        room: Room | None,
        hold_expires: datetime | None = None,
        busy_version: int | None = None,
    ) -> Transaction:
        t = self.tables
        tx = Transaction()
        put_new(tx, t, appointment)
        acquire(tx, doctor_locks(t.schedule, appointment), "doctor-lock")
        acquire(tx, patient_locks(t.schedule, appointment), "patient-lock")
        stats = booked_stats(appointment) if hold_expires is None else None
        count_day(tx, t, appointment.doctor_id, appointment.date, +1, max_per_day, stats)
        if hold_expires is not None:
            for item in self._hold_items(appointment, hold_expires):
                tx.puts.append(Op("hold", item, ScheduleModel.pk.does_not_exist()))
        add_audit(tx, t, audit)
        tx.puts.extend(
            Op("reminder", reminder_item(t.reminders, r), ReminderModel.id.does_not_exist()) for r in reminders
        )
        if room is not None:
            tx.puts.append(Op("room", room_item(t.rooms, room), RoomModel.id.does_not_exist()))
        if contact is not None:
            tx.updates.append(Op("patient", t.patients(id=contact.id), None, contact_actions(contact, audit.at)))
        per_doctor_day(tx, t, appointment, +1, strict=audit.actor_role == "patient")
        if busy_version is not None:
            busy_guard(tx, t, appointment.doctor_id, appointment.date, busy_version)
        return tx

    def reschedule(
        self,
        before: Appointment,
        after: Appointment,
        audit: AuditEntry,
        max_per_day: int,
        busy_version: int | None = None,
    ) -> None:
        t = self.tables
        tx = Transaction()
        if busy_version is not None:
            busy_guard(tx, t, after.doctor_id, after.date, busy_version)
        put_changed(tx, t, before, after)
        move_locks(tx, doctor_locks(t.schedule, before), doctor_locks(t.schedule, after), "doctor-lock")
        move_locks(tx, patient_locks(t.schedule, before), patient_locks(t.schedule, after), "patient-lock")
        if before.date != after.date:
            count_day(tx, t, before.doctor_id, before.date, -1, max_per_day, {"booked_minutes": -before.duration})
            count_day(
                tx,
                t,
                after.doctor_id,
                after.date,
                +1,
                max_per_day,
                {"booked_minutes": after.duration, "n_rescheduled": 1},
            )
            # The patient's one visit a day with this doctor (when it moves itself) is a guard like the others:
            # in the transaction that makes the change, never checked after it.
            per_doctor_day(tx, t, after, +1, strict=audit.actor_role == "patient")
            per_doctor_day(tx, t, before, -1)
        else:
            count_day(tx, t, after.doctor_id, after.date, 0, max_per_day, {"n_rescheduled": 1})
        add_audit(tx, t, audit)
        tx.updates.extend(
            Op(
                "release",
                held,
                ScheduleModel.appointment_id == before.id,
                [ScheduleModel.ends_at.set(keys.instant(after.ends_at))],
            )
            for held in self._active_items_of(before)
        )
        self._commit(tx, audit.id, self._landed(after))

    def cancel(self, before: Appointment, after: Appointment, audit: AuditEntry) -> None:
        t = self.tables
        tx = Transaction()
        put_changed(tx, t, before, after)
        release(tx, doctor_locks(t.schedule, before), before.id)
        release(tx, patient_locks(t.schedule, before), before.id)
        stats = {"n_cancelled": 1, "booked_minutes": -before.duration}
        count_day(tx, t, before.doctor_id, before.date, -1, 0, stats)
        self._release_limits(tx, before)
        add_audit(tx, t, audit)
        self._commit(tx, audit.id, self._landed(after))

    # --- holds ---------------------------------------------------------------------------------------------------
    def _hold_items(self, a: Appointment, expires: datetime | None = None) -> tuple[ScheduleModel, ScheduleModel]:
        """The hold's item in its doctor-day and its item among the live holds (with its expiry, when given)."""
        ends = keys.instant(expires) if expires else None
        schedule = self.tables.schedule
        return (
            schedule(
                pk=keys.doctor_day_pk(a.doctor_id, a.date), sk=keys.hold_sk(a.id), appointment_id=a.id, ends_at=ends
            ),
            schedule(pk=keys.HOLDS_PK, sk=a.id, appointment_id=a.id, ends_at=ends),
        )

    def get_hold(self, hold_id: str) -> Hold | None:
        """The held appointment and its live-hold item, in one strongly consistent call (TransactGetItems)."""
        with translated_errors(), TransactGet(connection=self.connection) as tx:
            appointment = tx.get(self.tables.appointments, hold_id)
            live = tx.get(self.tables.schedule, keys.HOLDS_PK, hold_id)
        try:
            found = appointment_from(appointment.get())
            expires = live.get().ends_at
        except (AppointmentModel.DoesNotExist, ScheduleModel.DoesNotExist):
            return None
        if found.status is not Status.HELD or not expires:
            return None
        return Hold(found, keys.parse_instant(expires))

    def holds_of_day(self, doctor_id: str, day: date) -> list[Hold]:
        """One query of the doctor-day's hold items, then one BatchGetItem of their appointments."""
        with translated_errors():
            items = self.tables.schedule.query(
                keys.doctor_day_pk(doctor_id, day),
                ScheduleModel.sk.startswith(keys.HOLD_PREFIX),
                consistent_read=True,
            )
            expiries = {
                i.appointment_id: keys.parse_instant(i.ends_at) for i in items if i.appointment_id and i.ends_at
            }
        found = self.get_many(list(expiries)) if expiries else {}
        held = [Hold(a, expiries[a.id]) for a in found.values() if a.status is Status.HELD]
        return sorted(held, key=lambda h: (h.appointment.starts_at, h.id))

    def book_hold(self, hold: Hold, booking: Booking, now: datetime) -> None:
        """The hold becomes the visit in one transaction: the appointment item changes status (conditioned on
        `held` and its version) and keeps its id, so its lock items, day count and limit items stay exactly as
        they are (no moment without them); the live-hold item goes, conditioned on the hold not having expired
        at `now`: against the sweep's release, conditioned on it having expired, exactly one commits."""
        t = self.tables
        after, audit = booking.appointment, booking.audit
        tx = Transaction()
        put_changed(tx, t, hold.appointment, after)
        marker, live = self._hold_items(hold.appointment)
        tx.deletes.append(Op("hold", marker, ScheduleModel.appointment_id == hold.id))
        tx.deletes.append(
            Op(
                "hold-live",
                live,
                (ScheduleModel.appointment_id == hold.id) & (ScheduleModel.ends_at > keys.instant(now)),
            )
        )
        count_day(tx, t, after.doctor_id, after.date, 0, 0, booked_stats(after), bump_version=False)
        add_audit(tx, t, audit)
        tx.puts.extend(
            Op("reminder", reminder_item(t.reminders, r), ReminderModel.id.does_not_exist()) for r in booking.reminders
        )
        if booking.room is not None:
            tx.puts.append(Op("room", room_item(t.rooms, booking.room), RoomModel.id.does_not_exist()))
        if booking.contact is not None:
            tx.updates.append(
                Op("patient", t.patients(id=booking.contact.id), None, contact_actions(booking.contact, audit.at))
            )
        if booking.busy_version is not None:
            busy_guard(tx, t, after.doctor_id, after.date, booking.busy_version)
        self._commit(tx, audit.id, self._landed(after))
        if booking.contact is not None:
            self._index_for_search(booking.contact)

    def book_hold_replacing(
        self,
        hold: Hold,
        booking: Booking,
        now: datetime,
        before: Appointment,
        cancelled: Appointment,
        cancel_audit: AuditEntry,
    ) -> None:
        """A waitlist "move me earlier": the hold becomes the new visit and the patient's later visit `before` is
        cancelled, in one transaction (both or neither). The hold's items are kept as `book_hold` keeps them; the
        old visit's locks, limit items and day count are given back as `cancel` gives them. Two changes of one
        doctor-day's counter are one update of it."""
        t = self.tables
        after, audit = booking.appointment, booking.audit
        tx = Transaction()
        put_changed(tx, t, hold.appointment, after)
        marker, live = self._hold_items(hold.appointment)
        tx.deletes.append(Op("hold", marker, ScheduleModel.appointment_id == hold.id))
        tx.deletes.append(
            Op(
                "hold-live",
                live,
                (ScheduleModel.appointment_id == hold.id) & (ScheduleModel.ends_at > keys.instant(now)),
            )
        )
        put_changed(tx, t, before, cancelled)
        release(tx, doctor_locks(t.schedule, before), before.id)
        release(tx, patient_locks(t.schedule, before), before.id)
        gone = {"n_cancelled": 1, "booked_minutes": -before.duration}
        if before.date == after.date:
            merged = dict(booked_stats(after))
            for name, value in gone.items():
                merged[name] = merged.get(name, 0) + value
            count_day(tx, t, before.doctor_id, before.date, -1, 0, merged)
        else:
            count_day(tx, t, after.doctor_id, after.date, 0, 0, booked_stats(after), bump_version=False)
            count_day(tx, t, before.doctor_id, before.date, -1, 0, gone)
        per_doctor_day(tx, t, before, -1)  # the hold's own count stays, for the new visit
        for held in self._active_items_of(before):
            tx.deletes.append(Op("release", held, ScheduleModel.appointment_id == before.id))
        add_audit(tx, t, audit)
        add_audit(tx, t, cancel_audit)
        tx.puts.extend(
            Op("reminder", reminder_item(t.reminders, r), ReminderModel.id.does_not_exist()) for r in booking.reminders
        )
        if booking.room is not None:
            tx.puts.append(Op("room", room_item(t.rooms, booking.room), RoomModel.id.does_not_exist()))
        self._commit(tx, audit.id, self._landed(after))

    def release_hold(self, hold: Hold, audit: AuditEntry, lapsed_at: datetime | None = None) -> None:
        """Frees everything the hold took and removes it, in one transaction conditioned on it still being held
        at the version read (and, for the sweep, on its expiry having passed at `lapsed_at`)."""
        t = self.tables
        a = hold.appointment
        tx = Transaction()
        tx.deletes.append(
            Op("appointment", appointment_item(t.appointments, a), AppointmentModel.status == Status.HELD.value)
        )
        release(tx, doctor_locks(t.schedule, a), a.id)
        release(tx, patient_locks(t.schedule, a), a.id)
        count_day(tx, t, a.doctor_id, a.date, -1, 0)
        self._release_limits(tx, a)
        marker, live = self._hold_items(a)
        tx.deletes.append(Op("hold", marker, ScheduleModel.appointment_id == a.id))
        owned = ScheduleModel.appointment_id == a.id
        if lapsed_at is not None:
            owned = owned & (ScheduleModel.ends_at <= keys.instant(lapsed_at))
        tx.deletes.append(Op("hold-live", live, owned))
        add_audit(tx, t, audit)
        self._commit(tx, audit.id, lambda: self.get(a.id) is None)

    def expired_holds(self, now: datetime, limit: int) -> list[str]:
        """One query of the live holds (each lives minutes), keeping those expired at `now`."""
        with translated_errors():
            items = self.tables.schedule.query(
                keys.HOLDS_PK,
                filter_condition=ScheduleModel.ends_at <= keys.instant(now),
                consistent_read=True,
            )
            return [i.sk for i in items][:limit]

    def record_access(self, entries: list[AccessEntry]) -> None:
        """Accesses to patient data, under `PATIENT#<patientId>` in the audit table: PutItems, each only where no
        entry is (the API's role may only put into the audit table; one entry per patient a request showed)."""
        for e in entries:
            self._put_once(access_item(self.tables.audit, e))

    def access_history(self, patient_id: str) -> list[AccessEntry]:
        """Oldest first: one query of the patient's access partition."""
        with translated_errors():
            return [
                access_from(i, patient_id)
                for i in self.tables.audit.query(keys.patient_access_pk(patient_id), consistent_read=True)
            ]

    def record_audit(self, entry: AuditEntry) -> None:
        """An event that changes no appointment field (room joins, admits, consent): one put, only where no entry
        is."""
        self._put_once(audit_item(self.tables.audit, entry))

    def _put_once(self, item: AuditModel) -> None:
        """PutItem conditioned on `attribute_not_exists`: an entry under the key of another is refused
        (`audit_entry_exists`) and the stored one stays. When the stored entry is this very one, an earlier
        attempt whose answer was lost wrote it (botocore resends a PutItem after a timeout): done, not refused."""
        with translated_errors():
            try:
                item.save(condition=AuditModel.sk.does_not_exist())
                return
            except PutError as exc:
                if not condition_failed(exc):
                    raise
            try:
                stored = self.tables.audit.get(item.appointment_id, item.sk, consistent_read=True)
            except AuditModel.DoesNotExist:
                stored = None
        if stored is None or stored.serialize() != item.serialize():
            raise errors.audit_entry_exists()

    def update_status(self, before: Appointment, after: Appointment, audit: AuditEntry) -> None:
        t = self.tables
        tx = Transaction()
        put_changed(tx, t, before, after)
        counted = {Status.COMPLETED: "n_completed", Status.NO_SHOW: "n_no_show"}.get(after.status)
        if counted:
            count_day(tx, t, after.doctor_id, after.date, 0, 0, {counted: 1}, bump_version=False)
        if before.active and not after.active:
            self._release_limits(tx, before)
        add_audit(tx, t, audit)
        self._commit(tx, audit.id, self._landed(after))

    def day_stats(self, doctor_id: str, days: Sequence[date]) -> dict[date, dict[str, int]]:
        """The analytics aggregates of a doctor's days: one BatchGetItem per 100 days."""
        from chalicelib.domain.analytics import STAT_FIELDS

        keys_by_pk = {keys.doctor_day_pk(doctor_id, d): d for d in days}
        found: dict[date, dict[str, int]] = {}
        with translated_errors():
            for item in self.tables.schedule.batch_get([(pk, keys.COUNTER_SK) for pk in keys_by_pk]):
                found[keys_by_pk[item.pk]] = {n: int(getattr(item, n) or 0) for n in STAT_FIELDS}
        return found

    # --- helpers -------------------------------------------------------------------------------------------
    def _active_items_of(self, a: Appointment) -> list[ScheduleModel]:
        """The active-booking item an appointment holds (none for bookings made before the limit existed)."""
        schedule = self.tables.schedule
        with translated_errors():
            return [
                schedule(pk=item.pk, sk=item.sk)
                for item in schedule.query(keys.patient_active_pk(a.patient_id), consistent_read=True)
                if item.appointment_id == a.id
            ]

    def _take_active(self, tx: Transaction, a: Appointment, limit: int) -> None:
        schedule = self.tables.schedule
        now = keys.instant(a.created_at)
        with translated_errors():
            held = {i.sk: i for i in schedule.query(keys.patient_active_pk(a.patient_id), consistent_read=True)}
        free = [
            keys.active_sk(k)
            for k in range(limit)
            if keys.active_sk(k) not in held or (held[keys.active_sk(k)].ends_at or "") <= now
        ]
        if not free:
            raise errors.too_many_active(limit)
        item = schedule(
            pk=keys.patient_active_pk(a.patient_id),
            sk=random.SystemRandom().choice(free),  # spread racing bookings over the free items
            appointment_id=a.id,
            ends_at=keys.instant(a.ends_at),
        )
        tx.puts.append(Op("patient-active", item, ScheduleModel.pk.does_not_exist() | (ScheduleModel.ends_at <= now)))

    def _release_limits(self, tx: Transaction, before: Appointment) -> None:
        per_doctor_day(tx, self.tables, before, -1)
        for held in self._active_items_of(before):
            tx.deletes.append(Op("release", held, ScheduleModel.appointment_id == before.id))

    def _commit(self, tx: Transaction, operation_id: str, landed: Callable[[], bool] | None = None) -> None:
        """The transaction's commit; a refused condition becomes the domain error of the rule it protects. A change
        whose items do not fit one TransactWriteItems is refused before anything is sent: every guard it needs
        rides in the transaction that makes it, or the change is not made."""
        if len(tx.ordered()) > MAX_ITEMS:
            raise errors.change_too_large(len(tx.ordered()), MAX_ITEMS)
        try:
            tx.commit(
                self.connection,
                operation_id,
                landed,
                attempts=self._attempts,
                base_delay=self._base_delay,
                sleep=self._sleep,
            )
        except ConditionsFailed as exc:
            raise _domain_error_for(exc.tags) from exc.__cause__

    def _landed(self, after: Appointment) -> Callable[[], bool]:
        """True when the stored appointment is this change's result (its own update instant and state)."""

        def check() -> bool:
            stored = self.get(after.id)
            return (
                stored is not None
                and stored.updated_at == after.updated_at
                and stored.status is after.status
                and stored.starts_at == after.starts_at
            )

        return check

    def _index_for_search(self, contact: PatientProfile) -> None:
        """After the commit, the directory's search entries follow the record the booking wrote; a failure is
        logged, never answered (the next sign-in or booking writes them again)."""
        try:
            index_contact(self.tables.patients, contact)
        except Exception:
            log.exception("patient %s booked; its directory search entries were not written", contact.id)


def _iter_index(
    index: Any,
    attribute: str,
    value: str,
    start: datetime,
    end: datetime,
    after: tuple[str, str] | None,
    page_size: int,
) -> Iterator[Appointment]:
    """A list page's reads: Query with Limit (`page_size`) and ExclusiveStartKey (the index key and the table key
    of the last item shown), so a page reads about a page, whatever the window holds."""
    start_key = None
    if after is not None:
        start_key = {"id": {"S": after[1]}, attribute: {"S": value}, "starts_at": {"S": after[0]}}
    with translated_errors():
        items = index.query(
            value,
            AppointmentModel.starts_at.between(keys.instant(start), keys.instant(end)),
            page_size=page_size,
            last_evaluated_key=start_key,
        )
        for item in items:
            yield appointment_from(item)
