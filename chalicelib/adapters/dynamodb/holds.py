"""Holds in DynamoDB: a held appointment plus two items carrying its expiry (`keys.hold_sk` in its doctor-day, and
its entry among the live holds, `keys.HOLDS_PK`), read back, booked, booked in place of a later visit, released.
(A hold is made by the booking's own transaction: `appointments.DynamoAppointmentStore.hold`.)"""

from __future__ import annotations

from datetime import date, datetime

from pynamodb.transactions import TransactGet

from chalicelib.adapters.dynamodb import keys, search
from chalicelib.adapters.dynamodb.appointment_lists import by_ids, stored
from chalicelib.adapters.dynamodb.changes import (
    add_audit,
    booked_stats,
    busy_guard,
    commit,
    count_day,
    landed,
    put_changed,
    release,
    release_limits,
)
from chalicelib.adapters.dynamodb.errors import translated_errors
from chalicelib.adapters.dynamodb.items import (
    appointment_from,
    appointment_item,
    contact_actions,
    doctor_locks,
    patient_locks,
    reminder_item,
    room_item,
)
from chalicelib.adapters.dynamodb.models import AppointmentModel, ReminderModel, RoomModel, ScheduleModel, Tables
from chalicelib.adapters.dynamodb.transaction import Op, Transaction
from chalicelib.adapters.retrying import Backoff
from chalicelib.domain.appointments import Appointment, Status
from chalicelib.domain.audit import AuditEntry
from chalicelib.domain.booking import Booking
from chalicelib.domain.holds import Hold


def hold_items(tables: Tables, a: Appointment, expires: datetime | None = None) -> tuple[ScheduleModel, ScheduleModel]:
    """The hold's item in its doctor-day and its item among the live holds (with its expiry, when given)."""
    ends = keys.instant(expires) if expires else None
    schedule = tables.schedule
    return (
        schedule(pk=keys.doctor_day_pk(a.doctor_id, a.date), sk=keys.hold_sk(a.id), appointment_id=a.id, ends_at=ends),
        schedule(pk=keys.HOLDS_PK, sk=a.id, appointment_id=a.id, ends_at=ends),
    )


def _end_hold(tx: Transaction, tables: Tables, hold: Hold, now: datetime) -> None:
    """The hold's two items go, the live one conditioned on the hold not having expired at `now`: against the
    sweep's release, conditioned on it having expired, exactly one commits."""
    marker, live = hold_items(tables, hold.appointment)
    tx.deletes.append(Op("hold", marker, ScheduleModel.appointment_id == hold.id))
    alive = (ScheduleModel.appointment_id == hold.id) & (ScheduleModel.ends_at > keys.instant(now))
    tx.deletes.append(Op("hold-live", live, alive))


def _add_extras(tx: Transaction, tables: Tables, booking: Booking) -> None:
    """The booked visit's reminders and video room, new items each."""
    tx.puts.extend(
        Op("reminder", reminder_item(tables.reminders, r), ReminderModel.id.does_not_exist()) for r in booking.reminders
    )
    if booking.room is not None:
        tx.puts.append(Op("room", room_item(tables.rooms, booking.room), RoomModel.id.does_not_exist()))


class DynamoHolds:
    def __init__(self, tables: Tables, backoff: Backoff | None = None) -> None:
        self.tables = tables
        self._backoff = backoff

    def get_hold(self, hold_id: str) -> Hold | None:
        """The held appointment and its live-hold item, in one strongly consistent call (TransactGetItems)."""
        with translated_errors(), TransactGet(connection=self.tables.connection) as tx:
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
        found = by_ids(self.tables, list(expiries))
        held = [Hold(a, expiries[a.id]) for a in found.values() if a.status is Status.HELD]
        return sorted(held, key=lambda h: (h.appointment.starts_at, h.id))

    def book_hold(self, hold: Hold, booking: Booking, now: datetime) -> None:
        """The hold becomes the visit in one transaction: the appointment item changes status (conditioned on
        `held` and its version) and keeps its id, so its lock items, day count and limit items stay exactly as
        they are (no moment without them); the hold's items go (`_end_hold`). The patient's directory record and
        search entries, when it books for itself, are written in the same transaction."""
        t = self.tables
        after, audit = booking.appointment, booking.audit
        tx = Transaction()
        put_changed(tx, t, hold.appointment, after)
        _end_hold(tx, t, hold, now)
        count_day(tx, t, after.doctor_id, after.date, 0, 0, booked_stats(after), bump_version=False)
        add_audit(tx, t, audit)
        _add_extras(tx, t, booking)
        if booking.contact is not None:
            tx.updates.append(
                Op("patient", t.patients(id=booking.contact.id), None, contact_actions(booking.contact, audit.at))
            )
            search.index_in(tx, t.patients, booking.contact)
        if booking.busy_version is not None:
            busy_guard(tx, t, after.doctor_id, after.date, booking.busy_version)
        commit(t, tx, audit.id, landed(t, after), self._backoff)

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
        doctor-day's counter are one update of it. With `booking.busy_version`, the busy-times guard of the new
        visit's day, as `book_hold` has it."""
        t = self.tables
        after, audit = booking.appointment, booking.audit
        tx = Transaction()
        put_changed(tx, t, hold.appointment, after)
        _end_hold(tx, t, hold, now)
        put_changed(tx, t, before, cancelled)
        release(tx, doctor_locks(t.schedule, before), before.id)
        release(tx, patient_locks(t.schedule, before), before.id)
        gone = {"n_cancelled": 1, "booked_minutes": -before.duration}
        if (before.doctor_id, before.date) == (after.doctor_id, after.date):  # one doctor-day counter
            merged = dict(booked_stats(after))
            for name, value in gone.items():
                merged[name] = merged.get(name, 0) + value
            count_day(tx, t, before.doctor_id, before.date, -1, 0, merged)
        else:
            count_day(tx, t, after.doctor_id, after.date, 0, 0, booked_stats(after), bump_version=False)
            count_day(tx, t, before.doctor_id, before.date, -1, 0, gone)
        release_limits(tx, t, before)  # the hold's own counts stay, for the new visit
        add_audit(tx, t, audit)
        add_audit(tx, t, cancel_audit)
        _add_extras(tx, t, booking)
        if booking.busy_version is not None:
            busy_guard(tx, t, after.doctor_id, after.date, booking.busy_version)
        commit(t, tx, audit.id, landed(t, after), self._backoff)

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
        release_limits(tx, t, a)
        marker, live = hold_items(t, a)
        tx.deletes.append(Op("hold", marker, ScheduleModel.appointment_id == a.id))
        owned = ScheduleModel.appointment_id == a.id
        if lapsed_at is not None:
            owned = owned & (ScheduleModel.ends_at <= keys.instant(lapsed_at))
        tx.deletes.append(Op("hold-live", live, owned))
        add_audit(tx, t, audit)
        commit(t, tx, audit.id, lambda: stored(t, a.id) is None, self._backoff)

    def expired_holds(self, now: datetime, limit: int) -> list[str]:
        """One query of the live holds (each lives minutes), keeping those expired at `now`."""
        with translated_errors():
            items = self.tables.schedule.query(
                keys.HOLDS_PK,
                filter_condition=ScheduleModel.ends_at <= keys.instant(now),
                consistent_read=True,
            )
            return [i.sk for i in items][:limit]
