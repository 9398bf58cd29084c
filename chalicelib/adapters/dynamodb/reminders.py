"""The reminder store in DynamoDB: one item per reminder (channel and timing) of an appointment.

A reminder is delivered at most once: the dispatcher claims it with a conditional `pending -> sending` update in
one TransactWriteItems that also reserves one of the patient's messages of the day (the daily cap's counter item in
the patients table, `MESSAGES#<patientId>#<UTC date>`, conditioned below the cap), reads it with its visit and
patient in one TransactGetItems, and records the outcome conditioned on `sending` in one transaction (that gives
the message back when nothing was sent).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, time, timedelta

from pynamodb.exceptions import PutError, TransactGetError, TransactWriteError, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.transactions import TransactGet, TransactWrite

from chalicelib.adapters.dynamodb import keys
from chalicelib.adapters.dynamodb.errors import (
    CONDITION_FAILED,
    cancellation_codes,
    cancelled,
    condition_failed,
    translated_errors,
)
from chalicelib.adapters.dynamodb.items import appointment_from, profile_from, reminder_from, reminder_item
from chalicelib.adapters.dynamodb.models import AppointmentModel, PatientModel, ReminderModel, ScheduleModel, Tables
from chalicelib.adapters.retrying import Backoff
from chalicelib.domain import errors
from chalicelib.domain.appointments import Appointment
from chalicelib.domain.patients import PatientProfile
from chalicelib.domain.reminders import Claim, MessageSlot, Reminder, ReminderStatus, appointment_of
from chalicelib.domain.timefmt import instant

MESSAGES_KEPT = timedelta(days=2)
"""A patient's message count of a day is deleted by TTL this long after the day ends."""


class DynamoReminderStore:
    def __init__(self, tables: Tables, read_retry: Backoff | None = None) -> None:
        self._tables = tables
        self._reminders = tables.reminders
        self._read_retry = read_retry or Backoff(attempts=3, base=0.05)
        """For the transactions a concurrent one may cancel (TransactionConflict), which botocore's standard mode
        does not retry: the lone dispatch's claim and read."""

    def claimed_visit_and_patient(
        self, reminder_id: str, patient_id: str
    ) -> tuple[Reminder | None, Appointment | None, PatientProfile | None]:
        """A lone dispatch's read after its claim: the reminder, its appointment and the patient's record in one
        strongly consistent call.

        A TransactGetItems that meets a transaction writing one of its items is cancelled (TransactionConflict:
        say the outcome of the visit's other reminder, sent at the same moment, being recorded). botocore's
        standard mode does not retry that answer, so this read is tried again, a few times, with backoff."""
        conflict: TransactGetError | None = None
        for _ in self._read_retry.tries():
            try:
                return self._claimed_visit_and_patient(reminder_id, patient_id)
            except TransactGetError as exc:
                codes = [reason.code if reason else None for reason in exc.cancellation_reasons]
                if not (cancelled(exc) and "TransactionConflict" in codes):
                    raise
                conflict = exc
        raise errors.ServiceBusy("The database is busy right now; please retry.") from conflict

    def _claimed_visit_and_patient(
        self, reminder_id: str, patient_id: str
    ) -> tuple[Reminder | None, Appointment | None, PatientProfile | None]:
        with translated_errors(), TransactGet(connection=self._tables.connection) as tx:
            reminder = tx.get(self._reminders, appointment_of(reminder_id), reminder_id)
            appointment = tx.get(self._tables.appointments, appointment_of(reminder_id))
            patient = tx.get(self._tables.patients, patient_id)
        try:
            claimed: Reminder | None = reminder_from(reminder.get())
        except ReminderModel.DoesNotExist:
            claimed = None
        try:
            found: Appointment | None = appointment_from(appointment.get())
        except AppointmentModel.DoesNotExist:
            found = None
        try:
            item = patient.get()
            profile = None if item.patient_ref else profile_from(item)  # a search entry is nobody
        except PatientModel.DoesNotExist:
            profile = None
        return claimed, found, profile

    def get(self, reminder_id: str) -> Reminder | None:
        with translated_errors():
            try:
                return reminder_from(
                    self._reminders.get(appointment_of(reminder_id), reminder_id, consistent_read=True)
                )
            except ReminderModel.DoesNotExist:
                return None

    def for_appointment(self, appointment_id: str) -> list[Reminder]:
        with translated_errors():
            return [reminder_from(i) for i in self._reminders.query(appointment_id, consistent_read=True)]

    def by_status(
        self, status: ReminderStatus, start: datetime, end: datetime, limit: int | None = None
    ) -> list[Reminder]:
        """One query of the status index between two instants, oldest first."""
        with translated_errors():
            items = self._reminders.status_index.query(
                status.value, ReminderModel.scheduled_time.between(instant(start), instant(end)), limit=limit
            )
            return [reminder_from(i) for i in items]

    def add(self, reminders: Iterable[Reminder]) -> None:
        """New reminders; an id that exists already (the same channel and timing) is refused."""
        for r in reminders:
            with translated_errors():
                try:
                    reminder_item(self._reminders, r).save(condition=ReminderModel.id.does_not_exist())
                except PutError as exc:
                    if condition_failed(exc):
                        raise errors.reminder_exists(r.id) from exc
                    raise

    def replace(self, reminder: Reminder, expected: ReminderStatus, give_back: MessageSlot | None = None) -> bool:
        """Write the whole reminder if it still has the expected status; False when someone else moved it. With
        `give_back`, the patient's reserved message is given back in the same transaction (nothing was sent)."""
        if give_back is not None:
            with translated_errors():
                try:
                    with TransactWrite(connection=self._tables.connection) as tx:
                        tx.save(
                            reminder_item(self._reminders, reminder), condition=ReminderModel.status == expected.value
                        )
                        self._give_back(tx, give_back)
                    return True
                except TransactWriteError as exc:
                    if cancelled(exc) and cancellation_codes(exc)[:1] == [CONDITION_FAILED]:
                        return False
                    raise
        with translated_errors():
            try:
                reminder_item(self._reminders, reminder).save(condition=ReminderModel.status == expected.value)
                return True
            except PutError as exc:
                if condition_failed(exc):
                    return False
                raise

    def follow(self, reminder: Reminder, version: int) -> bool:
        """Write a reminder moved to follow appointment `version`, only if it still follows moves and no newer
        version's follow-up wrote it already (versions only grow: the last reschedule's plan wins)."""
        from chalicelib.domain.reminders import NO_ROOM

        follows = (ReminderModel.status == ReminderStatus.PENDING.value) | (
            (ReminderModel.status == ReminderStatus.CANCELLED.value) & (ReminderModel.last_error == NO_ROOM)
        )
        newer = ReminderModel.for_version.does_not_exist() | (ReminderModel.for_version < version)
        with translated_errors():
            try:
                reminder_item(self._reminders, reminder).save(condition=follows & newer)
                return True
            except PutError as exc:
                if condition_failed(exc):
                    return False
                raise

    def claim(self, reminder_id: str, now: datetime, due_slack_seconds: int = 60) -> Reminder | None:
        """pending -> sending with one more attempt, only when it is due; None if not pending or not due."""
        item = self._reminders(appointment_of(reminder_id), reminder_id)
        due_by = instant(now + timedelta(seconds=due_slack_seconds))
        with translated_errors():
            try:
                item.update(
                    actions=[
                        ReminderModel.status.set(ReminderStatus.SENDING.value),
                        ReminderModel.attempts.add(1),
                        ReminderModel.updated_at.set(now),
                    ],
                    condition=(ReminderModel.status == ReminderStatus.PENDING.value)
                    & (ReminderModel.scheduled_time <= due_by),
                )
            except UpdateError as exc:
                if condition_failed(exc):
                    return None
                raise
        return reminder_from(item)

    def claim_with_message(
        self,
        reminder_id: str,
        slot: MessageSlot,
        now: datetime,
        seen: Reminder | None = None,
        due_slack_seconds: int = 60,
    ) -> Claim:
        """pending -> sending with one more attempt (only when due, only if it is the slot's patient's reminder,
        and when `seen` is given only if the reminder is unchanged since: same attempts, same `updated_at`, which
        every write of a reminder sets) and one of the patient's messages of the day reserved (`ADD messages_sent
        1` conditioned below the cap), in one TransactWriteItems: both or neither, so concurrent dispatches never
        pass the cap. The cancellation reasons tell the two refusals apart. A TransactionConflict (another dispatch
        of the patient committing at that moment) is tried again with backoff, then answered as busy."""
        if not slot.open:
            return Claim.CAPPED
        conflict: TransactWriteError | None = None
        for _ in self._read_retry.tries():
            try:
                with translated_errors():
                    return self._claim_with_message(reminder_id, slot, now, seen, due_slack_seconds)
            except TransactWriteError as exc:
                if not (cancelled(exc) and "TransactionConflict" in cancellation_codes(exc)):
                    raise
                conflict = exc
        raise errors.ServiceBusy("The database is busy right now; please retry.") from conflict

    def _claim_with_message(
        self, reminder_id: str, slot: MessageSlot, now: datetime, seen: Reminder | None, due_slack_seconds: int
    ) -> Claim:
        due_by = instant(now + timedelta(seconds=due_slack_seconds))
        claimable: Condition = (
            (ReminderModel.status == ReminderStatus.PENDING.value)
            & (ReminderModel.scheduled_time <= due_by)
            & (ReminderModel.patient_id == slot.patient_id)  # the message is reserved under its own patient's cap
        )
        if seen is not None:
            claimable &= (ReminderModel.attempts == seen.attempts) & (ReminderModel.updated_at == seen.updated_at)
        try:
            with TransactWrite(connection=self._tables.connection) as tx:
                tx.update(
                    self._reminders(appointment_of(reminder_id), reminder_id),
                    actions=[
                        ReminderModel.status.set(ReminderStatus.SENDING.value),
                        ReminderModel.attempts.add(1),
                        ReminderModel.updated_at.set(now),
                    ],
                    condition=claimable,
                )
                tx.update(
                    self._tables.patients(id=keys.patient_messages_pk(slot.patient_id, slot.day)),
                    actions=[PatientModel.messages_sent.add(1), PatientModel.expires_at.set(_expiry(slot))],
                    condition=PatientModel.messages_sent.does_not_exist() | (PatientModel.messages_sent < slot.cap),
                )
            return Claim.CLAIMED
        except TransactWriteError as exc:
            if not cancelled(exc):
                raise
            codes = cancellation_codes(exc)
            if "TransactionConflict" in codes:
                raise
            if codes and codes[0] == CONDITION_FAILED:
                return Claim.NOT_CLAIMED
            if len(codes) > 1 and codes[1] == CONDITION_FAILED:
                return Claim.CAPPED
            raise

    def finish(
        self,
        reminder: Reminder,
        mark_appointment_reminded: bool,
        appointment: Appointment | None = None,
        give_back: MessageSlot | None = None,
    ) -> str:
        """Record the outcome of a claimed reminder (conditioned on `sending`), on success flag the appointment's
        `reminderSent` (conditioned on the version the dispatcher read, and growing it), count it in the
        doctor-day's delivery aggregates, and give back the patient's reserved message (`give_back`: nothing was
        sent), in one transaction. If the appointment changed since it was read, the outcome is still recorded,
        without the flag (a reschedule resets it anyway). A sent reminder also checks the version read when the
        flag is set already (no write). Returns "recorded", "appointment-changed" (recorded; the appointment
        changed since it was read) or "not-sending" (someone else moved it)."""
        check = mark_appointment_reminded and appointment is not None and appointment.version is not None
        mark = check and appointment is not None and not appointment.reminder_sent
        try:
            return "recorded" if self._finish(reminder, appointment, mark, check, give_back) else "not-sending"
        except _AppointmentMoved:
            recorded = self._finish(reminder, appointment, False, False, give_back)
            return "appointment-changed" if recorded else "not-sending"

    def _finish(
        self,
        reminder: Reminder,
        appointment: Appointment | None,
        mark: bool,
        check: bool,
        give_back: MessageSlot | None,
    ) -> bool:
        with translated_errors():
            try:
                with TransactWrite(connection=self._tables.connection) as tx:
                    tx.save(
                        reminder_item(self._reminders, reminder),
                        condition=ReminderModel.status == ReminderStatus.SENDING.value,
                    )
                    outcome = {ReminderStatus.SENT: "sent", ReminderStatus.FAILED: "failed"}.get(reminder.status)
                    if appointment is not None and outcome:
                        tx.update(
                            self._tables.schedule(
                                pk=keys.doctor_day_pk(appointment.doctor_id, appointment.date), sk=keys.COUNTER_SK
                            ),
                            actions=[getattr(ScheduleModel, f"{outcome}_{reminder.channel.value}").add(1)],
                        )
                    if mark and appointment is not None:
                        # the loaded version: pynamodb conditions on it and adds one (never resets it)
                        tx.update(
                            self._tables.appointments(id=reminder.appointment_id, version=appointment.version),
                            actions=[AppointmentModel.reminder_sent.set(True)],
                            condition=AppointmentModel.id.exists(),
                        )
                    elif check and appointment is not None:  # no write: only learn whether it moved meanwhile
                        tx.condition_check(
                            self._tables.appointments,
                            reminder.appointment_id,
                            condition=AppointmentModel.version == appointment.version,
                        )
                    if give_back is not None:
                        self._give_back(tx, give_back)
                return True
            except TransactWriteError as exc:
                if not cancelled(exc):
                    raise
                reasons = cancellation_codes(exc)
                if (mark or check) and reasons and reasons[0] != CONDITION_FAILED:
                    raise _AppointmentMoved() from exc
                return False

    def _give_back(self, tx: TransactWrite, slot: MessageSlot) -> None:
        """One message fewer on the patient's day (unconditioned: the outcome is recorded whatever the count)."""
        tx.update(
            self._tables.patients(id=keys.patient_messages_pk(slot.patient_id, slot.day)),
            actions=[PatientModel.messages_sent.add(-1)],
        )


def _expiry(slot: MessageSlot) -> int:
    """Epoch seconds MESSAGES_KEPT after the end of the slot's UTC day: the count's TTL."""
    day_end = datetime.combine(datetime.fromisoformat(slot.day).date(), time(), tzinfo=UTC) + timedelta(days=1)
    return int((day_end + MESSAGES_KEPT).timestamp())


class _AppointmentMoved(Exception):
    """The appointment changed after the dispatcher read it: record the reminder without flagging it."""
