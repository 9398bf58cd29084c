"""DynamoDB repositories: doctors and the transactional appointment store.

Every appointment write is one TransactWriteItems holding the appointment, one lock item per 5-minute granule
for the doctor and for the patient (`attribute_not_exists`), the per-doctor-day counter (conditional on the
daily limit) and the audit entry, so DynamoDB itself makes overlapping bookings impossible. Contention
(`TransactionConflict`) and throttling are retried with backoff, then surface as ServiceBusy; a network
timeout is retried with the same client request token, so a write that did land is not applied twice.
"""

from __future__ import annotations

import logging
import random
import time as time_module
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from pynamodb.connection import Connection
from pynamodb.exceptions import PynamoDBException, TransactWriteError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.models import Model
from pynamodb.transactions import TransactGet, TransactWrite

from chalicelib.adapters import keys
from chalicelib.adapters.models import (
    ALL_MODELS,
    AppointmentModel,
    AuditModel,
    DoctorModel,
    PatientModel,
    ReminderModel,
    RoomModel,
    ScheduleModel,
)
from chalicelib.adapters.reminder_items import reminder_item
from chalicelib.adapters.room_items import room_item
from chalicelib.config import Settings
from chalicelib.domain.appointments import Appointment, AppointmentType, Status
from chalicelib.domain.audit import AccessEntry, AuditEntry, audit_sort_key
from chalicelib.domain.doctors import Doctor
from chalicelib.domain.errors import (
    BookingLimitReached,
    Conflict,
    DailyLimitReached,
    InvalidState,
    ServiceBusy,
    SlotUnavailable,
)
from chalicelib.domain.reminders import Reminder
from chalicelib.domain.schedule import Availability, DayState, availability_from_dict, availability_to_dict, granules
from chalicelib.domain.telehealth import Room
from chalicelib.services.ports import Booking, PatientProfile

log = logging.getLogger("clinic.store")
THROTTLING_CODES = frozenset(
    {
        "ThrottlingException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "ThrottlingError",
        "ProvisionedThroughputExceeded",
    }
)
RETRYABLE_REASONS = frozenset({"TransactionConflict"}) | THROTTLING_CODES
UNKNOWN_OUTCOME_CODES = frozenset({None, "TransactionInProgressException", "InternalServerError", "ServiceUnavailable"})
"""No answer, or an answer that does not say whether the transaction applied: resend it with the same token."""
TRANSIENT_CODES = THROTTLING_CODES | UNKNOWN_OUTCOME_CODES - {None}
log = logging.getLogger("clinic.store")


# --- doctors ---------------------------------------------------------------------------------------------------
def _doctor_from(item: DoctorModel) -> Doctor:
    return Doctor(
        id=item.id,
        name=item.name,
        specialty=item.specialty,
        location=item.location,
        timezone=item.timezone,
        telehealth=bool(item.telehealth),
        telehealth_platform=item.telehealth_platform,
        created_at=item.created_at,
        availability=availability_from_dict(item.availability) if item.availability else None,
        calendar_token_hash=item.calendar_token_hash,
    )


class DynamoDoctorRepository:
    def add(self, doctor: Doctor) -> None:
        with translated_errors():
            DoctorModel(
                id=doctor.id,
                name_key=f"{doctor.name.casefold()}#{doctor.id}",
                name=doctor.name,
                specialty=doctor.specialty,
                location=doctor.location,
                timezone=doctor.timezone,
                telehealth=doctor.telehealth,
                telehealth_platform=doctor.telehealth_platform,
                availability=availability_to_dict(doctor.availability) if doctor.availability else None,
                created_at=doctor.created_at,
            ).save(condition=DoctorModel.id.does_not_exist())

    def get(self, doctor_id: str) -> Doctor | None:
        with translated_errors():
            try:
                return _doctor_from(DoctorModel.get(doctor_id, consistent_read=True))
            except DoctorModel.DoesNotExist:
                return None

    def list_all(self) -> list[Doctor]:
        """One query of the directory index (a clinic's directory is small); never a scan."""
        with translated_errors():
            return [_doctor_from(d) for d in DoctorModel.directory_index.query("ALL")]

    def set_calendar_token_hash(self, doctor_id: str, token_hash: str | None) -> None:
        action = (
            DoctorModel.calendar_token_hash.set(token_hash) if token_hash else DoctorModel.calendar_token_hash.remove()
        )
        with translated_errors():
            DoctorModel(id=doctor_id).update(actions=[action], condition=DoctorModel.id.exists())

    def set_availability(self, doctor_id: str, availability: Availability) -> None:
        with translated_errors():
            DoctorModel(id=doctor_id).update(
                actions=[DoctorModel.availability.set(availability_to_dict(availability))],
                condition=DoctorModel.id.exists(),
            )


# --- appointments ------------------------------------------------------------------------------------------------
def _appointment_item(a: Appointment) -> AppointmentModel:
    item = AppointmentModel(
        id=a.id,
        doctor_id=a.doctor_id,
        patient_id=a.patient_id,
        starts_at=keys.instant(a.starts_at),
        ends_at=keys.instant(a.ends_at),
        doctor_name=a.doctor_name,
        patient_name=a.patient_name,
        specialty=a.specialty,
        date=a.date,
        time=a.time,
        timezone=a.timezone,
        duration=a.duration,
        type=a.type.value,
        status=a.status.value,
        location=a.location,
        reason=a.reason,
        notes=a.notes,
        telehealth_url=a.telehealth_url,
        room_id=a.room_id,
        reminder_sent=a.reminder_sent,
        reminder_preferences=a.reminder_preferences or None,
        idempotency_key=a.idempotency_key,
        created_at=a.created_at,
        updated_at=a.updated_at,
    )
    if a.version is not None:
        item.version = a.version
    return item


def _appointment_from(item: AppointmentModel) -> Appointment:
    return Appointment(
        id=item.id,
        doctor_id=item.doctor_id,
        patient_id=item.patient_id,
        doctor_name=item.doctor_name,
        patient_name=item.patient_name,
        specialty=item.specialty,
        date=item.date,
        time=item.time,
        duration=int(item.duration),
        starts_at=keys.parse_instant(item.starts_at),
        ends_at=keys.parse_instant(item.ends_at),
        type=AppointmentType(item.type),
        status=Status(item.status),
        location=item.location,
        reason=item.reason,
        notes=item.notes,
        telehealth_url=item.telehealth_url,
        room_id=item.room_id,
        reminder_sent=bool(item.reminder_sent),
        reminder_preferences=dict(item.reminder_preferences or {}),
        created_at=item.created_at,
        updated_at=item.updated_at,
        timezone=item.timezone,
        version=item.version,
        idempotency_key=item.idempotency_key,
    )


def _audit_item(entry: AuditEntry) -> AuditModel:
    return AuditModel(
        appointment_id=entry.appointment_id,
        sk=audit_sort_key(entry),
        seq=entry.seq,
        id=entry.id,
        at=entry.at,
        actor_id=entry.actor_id,
        actor_role=entry.actor_role,
        action=entry.action,
        status_before=entry.status_before,
        status_after=entry.status_after,
        changes=entry.changes or None,
    )


def _audit_from(item: AuditModel) -> AuditEntry:
    return AuditEntry(
        id=item.id,
        appointment_id=item.appointment_id,
        at=item.at,
        actor_id=item.actor_id,
        actor_role=item.actor_role,
        action=item.action,
        status_before=item.status_before,
        status_after=item.status_after,
        changes=dict(item.changes or {}),
        seq=int(item.seq or 0),
    )


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
            yield _appointment_from(item)


def contact_actions(contact: PatientProfile, at: datetime) -> list[Action]:
    """The directory record as the patient's claims have it now: a changed address replaces the old one with
    its own verified flag, so a reminder planned for the old address is not sent to the new one unverified."""
    actions: list[Action] = [
        PatientModel.updated_at.set(at),
        PatientModel.email_verified.set(contact.email_verified),
        PatientModel.phone_verified.set(contact.phone_verified),
        PatientModel.contact_source.set(contact.source),
    ]
    for attribute, value in (
        (PatientModel.email, contact.email),
        (PatientModel.phone, contact.phone),
        (PatientModel.name, contact.name),
    ):
        actions.append(attribute.set(value) if value else attribute.remove())
    return actions


def _index_for_search(contact: PatientProfile) -> None:
    """After the commit, the directory's search entries follow the record the booking wrote; a failure is
    logged, never answered (the next sign-in or booking writes them again)."""
    from chalicelib.adapters.patient_search import index_contact

    try:
        index_contact(contact)
    except Exception:
        log.exception("patient %s booked; its directory search entries were not written", contact.id)


def _doctor_locks(a: Appointment) -> dict[str, ScheduleModel]:
    pk = keys.doctor_day_pk(a.doctor_id, a.date)
    return {
        f"{pk}|{keys.slot_sk(g)}": ScheduleModel(pk=pk, sk=keys.slot_sk(g), appointment_id=a.id)
        for g in granules(a.starts_at, a.ends_at)
    }


def _patient_locks(a: Appointment) -> dict[str, ScheduleModel]:
    return {
        f"{keys.patient_day_pk(a.patient_id, g)}|{keys.slot_sk(g)}": ScheduleModel(
            pk=keys.patient_day_pk(a.patient_id, g), sk=keys.slot_sk(g), appointment_id=a.id
        )
        for g in granules(a.starts_at, a.ends_at)
    }


@dataclass(frozen=True)
class _Op:
    """One item of a transaction, tagged so a cancellation reason can be traced to what it protects."""

    tag: str
    item: Model
    condition: Condition | None = None
    actions: list[Action] | None = None


@dataclass
class _Transaction:
    deletes: list[_Op] = field(default_factory=list)
    puts: list[_Op] = field(default_factory=list)
    updates: list[_Op] = field(default_factory=list)

    def ordered(self) -> list[_Op]:
        """pynamodb sends deletes, then puts, then updates; DynamoDB's reasons follow that order."""
        return self.deletes + self.puts + self.updates

    def apply(self, transaction: TransactWrite) -> None:
        for op in self.deletes:
            transaction.delete(op.item, condition=op.condition)
        for op in self.puts:
            transaction.save(op.item, condition=op.condition)
        for op in self.updates:
            transaction.update(op.item, actions=op.actions or [], condition=op.condition)


class DynamoAppointmentStore:
    def __init__(
        self,
        settings: Settings,
        attempts: int = 4,
        base_delay: float = 0.05,
        sleep: Callable[[float], None] = time_module.sleep,
    ) -> None:
        self._settings = settings
        self._attempts = attempts
        self._base_delay = base_delay
        self._sleep = sleep
        self.connection = Connection(region=settings.region, host=settings.dynamodb_endpoint, max_retry_attempts=3)

    def botocore_clients(self) -> list[Any]:
        """The botocore clients this layer calls DynamoDB through (its transactions' and each model's), so
        benchmarks can count calls and tests can inject faults through botocore's own event hooks."""
        clients = {id(self.connection.client): self.connection.client}
        for model in ALL_MODELS:
            client = model._get_connection().connection.client
            clients[id(client)] = client
        return list(clients.values())

    # --- reads ---------------------------------------------------------------------------------------------
    def get(self, appointment_id: str) -> Appointment | None:
        with translated_errors():
            try:
                return _appointment_from(AppointmentModel.get(appointment_id, consistent_read=True))
            except AppointmentModel.DoesNotExist:
                return None

    def get_many(self, appointment_ids: Sequence[str]) -> dict[str, Appointment]:
        """BatchGetItem, 100 keys a call (pynamodb splits and re-asks for unprocessed keys)."""
        with translated_errors():
            items = AppointmentModel.batch_get(sorted(set(appointment_ids)), consistent_read=True)
            return {item.id: _appointment_from(item) for item in items}

    def day_state(self, doctor_id: str, day: date) -> DayState:
        """One strongly consistent query of the doctor-day partition: its locks and its counter."""
        taken: set[datetime] = set()
        booked = version = 0
        with translated_errors():
            for item in ScheduleModel.query(keys.doctor_day_pk(doctor_id, day), consistent_read=True):
                if item.sk == keys.COUNTER_SK:
                    booked, version = int(item.booked or 0), int(item.day_version or 0)
                elif item.sk.startswith(keys.SLOT_PREFIX):
                    taken.add(keys.parse_instant(item.sk[len(keys.SLOT_PREFIX) :]))
        return DayState(frozenset(taken), booked, version)

    def doctor_and_day_version(self, doctor_id: str, day: date) -> tuple[Doctor | None, int]:
        """What an availability ETag is made of, in one strongly consistent call (TransactGetItems)."""
        with translated_errors(), TransactGet(connection=self.connection) as tx:
            doctor = tx.get(DoctorModel, doctor_id)
            counter = tx.get(ScheduleModel, keys.doctor_day_pk(doctor_id, day), keys.COUNTER_SK)
        try:
            found = _doctor_from(doctor.get())
        except DoctorModel.DoesNotExist:
            found = None
        try:
            version = int(counter.get().day_version or 0)
        except ScheduleModel.DoesNotExist:
            version = 0
        return found, version

    def list_for_patient(self, patient_id: str, start: datetime, end: datetime) -> list[Appointment]:
        with translated_errors():
            items = AppointmentModel.patient_index.query(
                patient_id, AppointmentModel.starts_at.between(keys.instant(start), keys.instant(end))
            )
            return [_appointment_from(i) for i in items]

    def list_for_doctor(self, doctor_id: str, start: datetime, end: datetime) -> list[Appointment]:
        with translated_errors():
            items = AppointmentModel.doctor_index.query(
                doctor_id, AppointmentModel.starts_at.between(keys.instant(start), keys.instant(end))
            )
            return [_appointment_from(i) for i in items]

    def iter_for_patient(
        self, patient_id: str, start: datetime, end: datetime, after: tuple[str, str] | None, page_size: int
    ) -> Iterator[Appointment]:
        return _iter_index(AppointmentModel.patient_index, "patient_id", patient_id, start, end, after, page_size)

    def iter_for_doctor(
        self, doctor_id: str, start: datetime, end: datetime, after: tuple[str, str] | None, page_size: int
    ) -> Iterator[Appointment]:
        return _iter_index(AppointmentModel.doctor_index, "doctor_id", doctor_id, start, end, after, page_size)

    def audit_trail(self, appointment_id: str) -> list[AuditEntry]:
        with translated_errors():
            return [_audit_from(i) for i in AuditModel.query(appointment_id, consistent_read=True)]

    # --- writes --------------------------------------------------------------------------------------------
    def book(self, booking: Booking) -> None:
        """The booking with its reminders, its video room and the patient's contact details: all or nothing.

        With `max_active`, the transaction also takes one of the patient's active-booking items (free, or held
        by a visit that has ended): a storm of bookings can never hold more. Two bookings racing for the same
        free item: the loser reads again and takes another, if one is left."""
        appointment, audit = booking.appointment, booking.audit
        contact, max_active = booking.contact, booking.max_active
        for attempt in range(ACTIVE_ATTEMPTS):
            tx = self._booking(appointment, audit, booking.max_per_day, booking.reminders, contact, booking.room)
            if max_active is not None:
                self._take_active(tx, appointment, max_active)
            try:
                self._commit(tx, audit.id if attempt == 0 else f"{audit.id}#active{attempt}", self._landed(appointment))
                if contact is not None:
                    _index_for_search(contact)
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
    ) -> _Transaction:
        tx = _Transaction()
        tx.puts.append(_Op("appointment", _appointment_item(appointment), AppointmentModel.id.does_not_exist()))
        self._acquire(tx, _doctor_locks(appointment), "doctor-lock")
        self._acquire(tx, _patient_locks(appointment), "patient-lock")
        lead = int((appointment.starts_at - appointment.created_at).total_seconds() // 60)
        self._count(
            tx,
            appointment.doctor_id,
            appointment.date,
            +1,
            max_per_day,
            {"n_booked": 1, "booked_minutes": appointment.duration, "lead_minutes": lead, "lead_count": 1},
        )
        self._audit(tx, audit)
        tx.puts.extend(_Op("reminder", reminder_item(r), ReminderModel.id.does_not_exist()) for r in reminders)
        if room is not None:
            tx.puts.append(_Op("room", room_item(room), RoomModel.id.does_not_exist()))
        if contact is not None:
            tx.updates.append(_Op("patient", PatientModel(id=contact.id), None, contact_actions(contact, audit.at)))
        self._per_doctor_day(tx, appointment, +1, strict=audit.actor_role == "patient")
        return tx

    def reschedule(self, before: Appointment, after: Appointment, audit: AuditEntry, max_per_day: int) -> None:
        tx = _Transaction()
        self._update_appointment(tx, before, after)
        for old, new, tag in (
            (_doctor_locks(before), _doctor_locks(after), "doctor-lock"),
            (_patient_locks(before), _patient_locks(after), "patient-lock"),
        ):
            # Granules held both before and after stay as they are: one transaction may touch an item once.
            self._release(tx, {k: v for k, v in old.items() if k not in new}, before.id)
            self._acquire(tx, {k: v for k, v in new.items() if k not in old}, tag)
        if before.date != after.date:
            self._count(tx, before.doctor_id, before.date, -1, max_per_day, {"booked_minutes": -before.duration})
            self._count(
                tx, after.doctor_id, after.date, +1, max_per_day, {"booked_minutes": after.duration, "n_rescheduled": 1}
            )
        else:
            self._count(tx, after.doctor_id, after.date, 0, max_per_day, {"n_rescheduled": 1})
        self._audit(tx, audit)
        extra = _Transaction()
        if before.date != after.date:
            self._per_doctor_day(extra, after, +1, strict=audit.actor_role == "patient")
            self._per_doctor_day(extra, before, -1)
        extra.updates.extend(
            _Op(
                "release",
                held,
                ScheduleModel.appointment_id == before.id,
                [ScheduleModel.ends_at.set(keys.instant(after.ends_at))],
            )
            for held in self._active_items_of(before)
        )
        # The limits' bookkeeping rides in the same transaction; only a 2-hour visit moved to another day fills
        # DynamoDB's 100 items without it, and then it follows right after the commit.
        deferred: list[_Op] = []
        for op in extra.updates:
            (tx.updates if len(tx.ordered()) < MAX_TRANSACTION_ITEMS else deferred).append(op)
        self._commit(tx, audit.id, self._landed(after))
        for op in deferred:  # committed means done: bookkeeping that fails now is logged, not answered
            try:
                op.item.update(actions=op.actions or [], condition=op.condition)
            except PynamoDBException:
                log.warning("limit bookkeeping after moving appointment %s failed", before.id)

    def cancel(self, before: Appointment, after: Appointment, audit: AuditEntry) -> None:
        tx = _Transaction()
        self._update_appointment(tx, before, after)
        self._release(tx, _doctor_locks(before), before.id)
        self._release(tx, _patient_locks(before), before.id)
        self._count(tx, before.doctor_id, before.date, -1, 0, {"n_cancelled": 1, "booked_minutes": -before.duration})
        self._release_limits(tx, before)
        self._audit(tx, audit)
        self._commit(tx, audit.id, self._landed(after))

    def record_access(self, entries: list[AccessEntry]) -> None:
        """Accesses to patient data, under `PATIENT#<patientId>` in the audit table: plain PutItems (the API's
        role may only put into the audit table; one entry per patient a request showed)."""
        with translated_errors():
            for e in entries:
                AuditModel(
                    appointment_id=keys.patient_access_pk(e.patient_id),
                    sk=f"{keys.instant(e.at)}#{e.id}",
                    id=e.id,
                    at=e.at,
                    actor_id=e.actor_id,
                    actor_role=e.actor_role,
                    action=e.action,
                    status_after="-",
                    changes={"route": e.route, "appointmentIds": list(e.appointment_ids)},
                ).save()

    def access_history(self, patient_id: str) -> list[AccessEntry]:
        """Oldest first: one query of the patient's access partition."""
        with translated_errors():
            return [
                AccessEntry(
                    id=i.id,
                    patient_id=patient_id,
                    at=i.at,
                    actor_id=i.actor_id,
                    actor_role=i.actor_role,
                    action=i.action,
                    route=str((i.changes or {}).get("route", "")),
                    appointment_ids=tuple((i.changes or {}).get("appointmentIds", [])),
                )
                for i in AuditModel.query(keys.patient_access_pk(patient_id), consistent_read=True)
            ]

    def record_audit(self, entry: AuditEntry) -> None:
        """An event that changes no appointment field (room joins, admits, consent): one put."""
        with translated_errors():
            _audit_item(entry).save()

    def update_status(self, before: Appointment, after: Appointment, audit: AuditEntry) -> None:
        tx = _Transaction()
        self._update_appointment(tx, before, after)
        counted = {Status.COMPLETED: "n_completed", Status.NO_SHOW: "n_no_show"}.get(after.status)
        if counted:
            self._count(tx, after.doctor_id, after.date, 0, 0, {counted: 1}, bump_version=False)
        if before.active and not after.active:
            self._release_limits(tx, before)
        self._audit(tx, audit)
        self._commit(tx, audit.id, self._landed(after))

    def day_stats(self, doctor_id: str, days: Sequence[date]) -> dict[date, dict[str, int]]:
        """The analytics aggregates of a doctor's days: one BatchGetItem per 100 days."""
        from chalicelib.domain.analytics import STAT_FIELDS

        keys_by_pk = {keys.doctor_day_pk(doctor_id, d): d for d in days}
        found: dict[date, dict[str, int]] = {}
        with translated_errors():
            for item in ScheduleModel.batch_get([(pk, keys.COUNTER_SK) for pk in keys_by_pk]):
                found[keys_by_pk[item.pk]] = {n: int(getattr(item, n) or 0) for n in STAT_FIELDS}
        return found

    # --- transaction building ------------------------------------------------------------------------------
    @staticmethod
    def _update_appointment(tx: _Transaction, before: Appointment, after: Appointment) -> None:
        """A full put conditioned on the version read and the status read: a concurrent change loses."""
        tx.puts.append(_Op("appointment", _appointment_item(after), AppointmentModel.status == before.status.value))

    @staticmethod
    def _acquire(tx: _Transaction, locks: dict[str, ScheduleModel], tag: str) -> None:
        tx.puts.extend(_Op(tag, lock, ScheduleModel.pk.does_not_exist()) for lock in locks.values())

    @staticmethod
    def _release(tx: _Transaction, locks: dict[str, ScheduleModel], owner: str) -> None:
        tx.deletes.extend(_Op("release", lock, ScheduleModel.appointment_id == owner) for lock in locks.values())

    @staticmethod
    def _count(
        tx: _Transaction,
        doctor_id: str,
        day: str,
        delta: int,
        max_per_day: int,
        stats: Mapping[str, int] | None = None,
        bump_version: bool = True,
    ) -> None:
        """Book (+1), release (-1) or just touch (0) a doctor-day, adding to its analytics aggregates; a change
        of its slots bumps the day's version, which availability reports as its ETag."""
        counter = ScheduleModel(pk=keys.doctor_day_pk(doctor_id, day), sk=keys.COUNTER_SK)
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
        tx.updates.append(_Op(tag, counter, condition, actions))

    @staticmethod
    def _per_doctor_day(tx: _Transaction, a: Appointment, delta: int, strict: bool = False) -> None:
        """The patient's active bookings with this doctor that day; a patient booking for itself needs none."""
        item = ScheduleModel(pk=keys.doctor_day_pk(a.doctor_id, a.date), sk=keys.patient_on_day_sk(a.patient_id))
        condition = (ScheduleModel.booked.does_not_exist() | (ScheduleModel.booked < 1)) if strict else None
        tx.updates.append(
            _Op("patient-day" if strict else "patient-day-touch", item, condition, [ScheduleModel.booked.add(delta)])
        )

    @staticmethod
    def _active_items_of(a: Appointment) -> list[ScheduleModel]:
        """The active-booking item an appointment holds (none for bookings made before the limit existed)."""
        with translated_errors():
            return [
                ScheduleModel(pk=item.pk, sk=item.sk)
                for item in ScheduleModel.query(keys.patient_active_pk(a.patient_id), consistent_read=True)
                if item.appointment_id == a.id
            ]

    def _take_active(self, tx: _Transaction, a: Appointment, limit: int) -> None:
        now = keys.instant(a.created_at)
        with translated_errors():
            held = {i.sk: i for i in ScheduleModel.query(keys.patient_active_pk(a.patient_id), consistent_read=True)}
        free = [
            keys.active_sk(k)
            for k in range(limit)
            if keys.active_sk(k) not in held or (held[keys.active_sk(k)].ends_at or "") <= now
        ]
        if not free:
            raise BookingLimitReached(
                f"This patient already holds {limit} active bookings, the most allowed.", {"limit": limit}
            )
        item = ScheduleModel(
            pk=keys.patient_active_pk(a.patient_id),
            sk=random.SystemRandom().choice(free),  # spread racing bookings over the free items
            appointment_id=a.id,
            ends_at=keys.instant(a.ends_at),
        )
        tx.puts.append(_Op("patient-active", item, ScheduleModel.pk.does_not_exist() | (ScheduleModel.ends_at <= now)))

    def _release_limits(self, tx: _Transaction, before: Appointment) -> None:
        self._per_doctor_day(tx, before, -1)
        for held in self._active_items_of(before):
            tx.deletes.append(_Op("release", held, ScheduleModel.appointment_id == before.id))

    @staticmethod
    def _audit(tx: _Transaction, entry: AuditEntry) -> None:
        tx.puts.append(_Op("audit", _audit_item(entry)))

    def _commit(self, tx: _Transaction, operation_id: str, landed: Callable[[], bool] | None = None) -> None:
        """Send the transaction, retrying contention and throttling with a new token and an unknown outcome
        (timeout, TransactionInProgressException, a 5xx) with the same token. If the outcome was ever unknown and
        the transaction then fails, `landed()` says whether an earlier send committed it: committed means done."""
        tags = [op.tag for op in tx.ordered()]
        uncertain = False
        try:
            for attempt in range(self._attempts):
                token = str(uuid.uuid5(uuid.NAMESPACE_OID, f"{operation_id}#{attempt}"))  # at most 36 characters
                error: TransactWriteError | None = None
                for resend in range(3):
                    try:
                        self._send(tx, token)
                        return
                    except TransactWriteError as exc:
                        error = exc
                        if _error_code(exc) not in UNKNOWN_OUTCOME_CODES:
                            break
                        uncertain = True  # the same token again: a write that did land is not applied twice
                        if resend < 2:
                            self._sleep(self._base_delay * (2**resend) * (0.5 + random.SystemRandom().random()))
                else:
                    raise ServiceBusy("The database did not answer in time; please retry.") from error
                if error is None:  # the loop above either returned or caught an error
                    raise ServiceBusy("The database did not answer; please retry.")
                reasons = [(r.code if r else None) for r in (getattr(error.cause, "cancellation_reasons", None) or [])]
                failed = [tags[i] for i, code in enumerate(reasons) if code == "ConditionalCheckFailed"]
                if failed:
                    raise _domain_error_for(failed) from error
                code = _error_code(error)
                retryable = code in THROTTLING_CODES or any(c in RETRYABLE_REASONS for c in reasons)
                if not retryable:
                    raise error
                if attempt + 1 < self._attempts:
                    self._sleep(self._base_delay * (2**attempt) * (0.5 + random.SystemRandom().random()))
            raise ServiceBusy("The schedule is busy right now; nothing was changed, please retry.")
        except Exception:
            if uncertain and landed is not None and landed():
                log.warning("transaction %s: an earlier send committed; answering success", operation_id)
                return
            raise

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

    def _send(self, tx: _Transaction, token: str) -> None:
        with TransactWrite(connection=self.connection, client_request_token=token) as transaction:
            tx.apply(transaction)


class _ActiveItemTaken(BookingLimitReached):
    """A concurrent booking of the same patient took the free item this one chose: read again and retry."""


ACTIVE_ATTEMPTS = 6
MAX_TRANSACTION_ITEMS = 100


def _error_code(exc: PynamoDBException) -> str | None:
    """DynamoDB's error code, or None when no response came back (timeout, connection error)."""
    response = getattr(exc.cause, "response", None)
    if not isinstance(response, dict):
        return None
    code = response.get("Error", {}).get("Code")
    return str(code) if code else None


def _domain_error_for(failed_tags: list[str]) -> Exception:
    if "appointment" in failed_tags:
        return InvalidState("The appointment was changed by someone else; reload it and try again.")
    if "doctor-lock" in failed_tags:
        return SlotUnavailable("This time is no longer available.")
    if "patient-lock" in failed_tags:
        return Conflict("The patient already has an appointment at this time.")
    if "counter" in failed_tags:
        return DailyLimitReached("The doctor's daily limit is reached.")
    if "patient-day" in failed_tags:
        return BookingLimitReached("The patient already has an appointment with this doctor that day.")
    if "patient-active" in failed_tags:
        return _ActiveItemTaken("Another booking took this active-booking item first.")
    return InvalidState("The schedule changed while saving; reload and try again.", {"failed": failed_tags})


@contextmanager
def translated_errors() -> Iterator[None]:
    """Throttling and timeouts of reads that outlast botocore's retries become ServiceBusy (503), not 500."""
    try:
        yield
    except PynamoDBException as exc:
        if _error_code(exc) in TRANSIENT_CODES or _error_code(exc) is None:
            raise ServiceBusy("The database is busy right now; please retry.") from exc
        raise
