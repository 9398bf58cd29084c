"""The transactional appointment store: booking, holding, moving, cancelling and ending visits, each one
TransactWriteItems holding the appointment, one lock item per 5-minute granule for the doctor and for the patient
(`attribute_not_exists`), the per-doctor-day counter (conditional on the daily limit), the patient's limits and
the audit entry, so DynamoDB itself makes overlapping bookings impossible (`changes` builds those operations).

`DynamoAppointmentStore` is the one object the composition root hands the services; its reads and its other jobs
live in their own modules: `appointment_lists`, `booking_reads`, `doctor_days`, `holds`, `audit_log`, `access_log`,
`day_stats`, `active_limit`, `search`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib.adapters.dynamodb import active_limit, search
from chalicelib.adapters.dynamodb.access_log import DynamoAccessLog
from chalicelib.adapters.dynamodb.appointment_lists import DynamoAppointmentLists
from chalicelib.adapters.dynamodb.audit_log import DynamoAuditLog
from chalicelib.adapters.dynamodb.booking_reads import DynamoBookingReads
from chalicelib.adapters.dynamodb.changes import (
    ActiveLimitFull,
    acquire,
    add_audit,
    booked_stats,
    busy_guard,
    commit,
    count_day,
    landed,
    move_locks,
    per_doctor_day,
    put_changed,
    put_new,
    release,
    release_limits,
)
from chalicelib.adapters.dynamodb.day_stats import DynamoDayStats
from chalicelib.adapters.dynamodb.doctor_days import DynamoDoctorDays
from chalicelib.adapters.dynamodb.holds import DynamoHolds, hold_items
from chalicelib.adapters.dynamodb.items import (
    contact_actions,
    doctor_locks,
    patient_locks,
    reminder_item,
    room_item,
)
from chalicelib.adapters.dynamodb.models import ReminderModel, RoomModel, ScheduleModel, Tables
from chalicelib.adapters.dynamodb.transaction import Op, Transaction
from chalicelib.adapters.retrying import Backoff
from chalicelib.config import Settings
from chalicelib.domain.appointments import Appointment, Status
from chalicelib.domain.audit import AuditEntry
from chalicelib.domain.booking import Booking
from chalicelib.domain.errors import BookingLimitReached

__all__ = ["DynamoAppointmentStore", "acquire", "add_audit", "count_day", "put_new"]  # the bench's bare booking

PRUNES = 3
"""Rounds of `active_limit.prune` and a new try one booking may take when the patient's set is full. Not a retry
botocore's standard mode could make: the condition refused the booking, and only reading the set tells whether
visits that no longer count filled it (removed, the booking may go) or it is really full (BOOKING_LIMIT_REACHED);
more rounds only when concurrent bookings of the same patient keep filling what a round freed."""


class DynamoAppointmentStore(
    DynamoAppointmentLists,
    DynamoBookingReads,
    DynamoDoctorDays,
    DynamoHolds,
    DynamoAuditLog,
    DynamoAccessLog,
    DynamoDayStats,
):
    def __init__(self, settings: Settings, tables: Tables, backoff: Backoff | None = None) -> None:
        DynamoHolds.__init__(self, tables, backoff)
        self._settings = settings
        self.connection = tables.connection

    def botocore_clients(self) -> list[Any]:
        """The botocore clients this layer calls DynamoDB through, so benchmarks can count calls and tests can
        inject faults through botocore's own event hooks."""
        return self.tables.botocore_clients()

    def book(self, booking: Booking) -> None:
        """The booking with its reminders, its video room and the patient's contact details and search entries:
        all or nothing.

        With `max_active`, the transaction also counts the visit in the patient's active-booking set, on
        condition that it holds fewer (`active_limit`): a storm of bookings can never hold more. When the set is
        full, the visits in it that no longer count are removed and the booking tries again."""
        self._book(booking, None)

    def hold(self, booking: Booking, expires_at: datetime) -> None:
        """A hold: the booking's transaction with the appointment in status `held`, and the hold's two items
        (`keys.hold_sk` in the doctor-day, `keys.HOLDS_PK`) carrying its expiry. The day's analytics count it
        only when it is booked."""
        self._book(booking, expires_at)

    def _book(self, booking: Booking, hold_expires: datetime | None) -> None:
        appointment, audit = booking.appointment, booking.audit
        tx = self._booking(booking, hold_expires)
        for attempt in range(PRUNES + 1):
            try:
                operation = audit.id if attempt == 0 else f"{audit.id}#active{attempt}"
                commit(self.tables, tx, operation, landed(self.tables, appointment), self._backoff)
                return
            except ActiveLimitFull:
                if booking.max_active is None or attempt == PRUNES:
                    break
                active_limit.prune(self.tables, appointment.patient_id, appointment.created_at, booking.max_active)
        raise BookingLimitReached(
            "Too many bookings are being made for this patient at once; please retry.", {"limit": booking.max_active}
        )

    def _booking(self, booking: Booking, hold_expires: datetime | None) -> Transaction:
        t = self.tables
        appointment, audit, contact = booking.appointment, booking.audit, booking.contact
        tx = Transaction()
        put_new(tx, t, appointment)
        acquire(tx, doctor_locks(t.schedule, appointment), "doctor-lock")
        acquire(tx, patient_locks(t.schedule, appointment), "patient-lock")
        stats = booked_stats(appointment) if hold_expires is None else None
        count_day(tx, t, appointment.doctor_id, appointment.date, +1, booking.max_per_day, stats)
        if hold_expires is not None:
            for item in hold_items(t, appointment, hold_expires):
                tx.puts.append(Op("hold", item, ScheduleModel.pk.does_not_exist()))
        add_audit(tx, t, audit)
        tx.puts.extend(
            Op("reminder", reminder_item(t.reminders, r), ReminderModel.id.does_not_exist()) for r in booking.reminders
        )
        if booking.room is not None:
            tx.puts.append(Op("room", room_item(t.rooms, booking.room), RoomModel.id.does_not_exist()))
        if contact is not None:
            tx.updates.append(Op("patient", t.patients(id=contact.id), None, contact_actions(contact, audit.at)))
            search.index_in(tx, t.patients, contact)
        per_doctor_day(tx, t, appointment, +1, strict=audit.actor_role == "patient")
        if booking.max_active is not None:
            active_limit.take(tx, t, appointment, booking.max_active)
        if booking.busy_version is not None:
            busy_guard(tx, t, appointment.doctor_id, appointment.date, booking.busy_version)
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
        active_limit.keep(tx, t, after)
        commit(t, tx, audit.id, landed(t, after), self._backoff)

    def cancel(self, before: Appointment, after: Appointment, audit: AuditEntry) -> None:
        t = self.tables
        tx = Transaction()
        put_changed(tx, t, before, after)
        release(tx, doctor_locks(t.schedule, before), before.id)
        release(tx, patient_locks(t.schedule, before), before.id)
        stats = {"n_cancelled": 1, "booked_minutes": -before.duration}
        count_day(tx, t, before.doctor_id, before.date, -1, 0, stats)
        release_limits(tx, t, before)
        add_audit(tx, t, audit)
        commit(t, tx, audit.id, landed(t, after), self._backoff)

    def update_status(self, before: Appointment, after: Appointment, audit: AuditEntry) -> None:
        t = self.tables
        tx = Transaction()
        put_changed(tx, t, before, after)
        counted = {Status.COMPLETED: "n_completed", Status.NO_SHOW: "n_no_show"}.get(after.status)
        if counted:
            count_day(tx, t, after.doctor_id, after.date, 0, 0, {counted: 1}, bump_version=False)
        if before.active and not after.active:
            release_limits(tx, t, before)
        add_audit(tx, t, audit)
        commit(t, tx, audit.id, landed(t, after), self._backoff)
