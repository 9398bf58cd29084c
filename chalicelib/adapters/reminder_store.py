"""DynamoDB repositories of reminders and patient profiles.

A reminder is delivered at most once: the dispatcher claims it with a conditional `pending -> sending` update
(one call that also returns the item), and records the outcome conditioned on `sending`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from pynamodb.exceptions import PutError, TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from chalicelib.adapters import keys
from chalicelib.adapters.dynamodb.errors import (
    CONDITION_FAILED,
    cancellation_codes,
    cancelled,
    condition_failed,
    translated_errors,
)
from chalicelib.adapters.models import AppointmentModel, PatientModel, ReminderModel, ScheduleModel
from chalicelib.adapters.reminder_items import reminder_from, reminder_item
from chalicelib.domain.appointments import Appointment
from chalicelib.domain.errors import InvalidState
from chalicelib.domain.reminders import Reminder, ReminderStatus, appointment_of
from chalicelib.domain.timefmt import instant
from chalicelib.services.ports import PatientProfile


class DynamoReminderStore:
    def get(self, reminder_id: str) -> Reminder | None:
        with translated_errors():
            try:
                return reminder_from(ReminderModel.get(appointment_of(reminder_id), reminder_id, consistent_read=True))
            except ReminderModel.DoesNotExist:
                return None

    def for_appointment(self, appointment_id: str) -> list[Reminder]:
        with translated_errors():
            return [reminder_from(i) for i in ReminderModel.query(appointment_id, consistent_read=True)]

    def by_status(
        self, status: ReminderStatus, start: datetime, end: datetime, limit: int | None = None
    ) -> list[Reminder]:
        """One query of the status index between two instants, oldest first."""
        with translated_errors():
            items = ReminderModel.status_index.query(
                status.value, ReminderModel.scheduled_time.between(instant(start), instant(end)), limit=limit
            )
            return [reminder_from(i) for i in items]

    def add(self, reminders: Iterable[Reminder]) -> None:
        """New reminders; an id that exists already (the same channel and timing) is refused."""
        for r in reminders:
            with translated_errors():
                try:
                    reminder_item(r).save(condition=ReminderModel.id.does_not_exist())
                except PutError as exc:
                    if condition_failed(exc):
                        raise InvalidState(
                            "A reminder for this channel and timing exists already.", {"reminderId": r.id}
                        ) from exc
                    raise

    def replace(self, reminder: Reminder, expected: ReminderStatus) -> bool:
        """Write the whole reminder if it still has the expected status; False when someone else moved it."""
        with translated_errors():
            try:
                reminder_item(reminder).save(condition=ReminderModel.status == expected.value)
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
                reminder_item(reminder).save(condition=follows & newer)
                return True
            except PutError as exc:
                if condition_failed(exc):
                    return False
                raise

    def claim(self, reminder_id: str, now: datetime, due_slack_seconds: int = 60) -> Reminder | None:
        """pending -> sending with one more attempt, only when it is due; None if not pending or not due."""
        item = ReminderModel(appointment_of(reminder_id), reminder_id)
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

    def finish(
        self, reminder: Reminder, mark_appointment_reminded: bool, appointment: Appointment | None = None
    ) -> str:
        """Record the outcome of a claimed reminder (conditioned on `sending`), on success flag the appointment's
        `reminderSent` (conditioned on the version the dispatcher read, and growing it), and count it in the
        doctor-day's delivery aggregates, in one transaction. If the appointment changed since it was read, the
        outcome is still recorded, without the flag (a reschedule resets it anyway). A sent reminder also checks
        the version read when the flag is set already (no write). Returns "recorded", "appointment-changed"
        (recorded; the appointment changed since it was read) or "not-sending" (someone else moved it)."""
        check = mark_appointment_reminded and appointment is not None and appointment.version is not None
        mark = check and appointment is not None and not appointment.reminder_sent
        try:
            return "recorded" if self._finish(reminder, appointment, mark, check) else "not-sending"
        except _AppointmentMoved:
            return "appointment-changed" if self._finish(reminder, appointment, False, False) else "not-sending"

    def _finish(self, reminder: Reminder, appointment: Appointment | None, mark: bool, check: bool) -> bool:
        with translated_errors():
            try:
                with TransactWrite(connection=ReminderModel._get_connection().connection) as tx:
                    tx.save(reminder_item(reminder), condition=ReminderModel.status == ReminderStatus.SENDING.value)
                    outcome = {ReminderStatus.SENT: "sent", ReminderStatus.FAILED: "failed"}.get(reminder.status)
                    if appointment is not None and outcome:
                        tx.update(
                            ScheduleModel(
                                pk=keys.doctor_day_pk(appointment.doctor_id, appointment.date), sk=keys.COUNTER_SK
                            ),
                            actions=[getattr(ScheduleModel, f"{outcome}_{reminder.channel.value}").add(1)],
                        )
                    if mark and appointment is not None:
                        # the loaded version: pynamodb conditions on it and adds one (never resets it)
                        tx.update(
                            AppointmentModel(id=reminder.appointment_id, version=appointment.version),
                            actions=[AppointmentModel.reminder_sent.set(True)],
                            condition=AppointmentModel.id.exists(),
                        )
                    elif check and appointment is not None:  # no write: only learn whether it moved meanwhile
                        tx.condition_check(
                            AppointmentModel,
                            reminder.appointment_id,
                            condition=AppointmentModel.version == appointment.version,
                        )
                return True
            except TransactWriteError as exc:
                if not cancelled(exc):
                    raise
                reasons = cancellation_codes(exc)
                if (mark or check) and reasons and reasons[0] != CONDITION_FAILED:
                    raise _AppointmentMoved() from exc
                return False


class _AppointmentMoved(Exception):
    """The appointment changed after the dispatcher read it: record the reminder without flagging it."""


def _profile_from(item: PatientModel) -> PatientProfile:
    return PatientProfile(
        id=item.id,
        email=item.email,
        phone=item.phone,
        devices=[dict(d) for d in (item.devices or [])],
        email_verified=bool(item.email_verified),
        phone_verified=bool(item.phone_verified),
        source=item.contact_source or "self",
        name=item.name,
        staff_email=item.staff_email,
        staff_phone=item.staff_phone,
    )


class DynamoPatientRepository:
    def get(self, patient_id: str) -> PatientProfile | None:
        with translated_errors():
            try:
                item = PatientModel.get(patient_id, consistent_read=True)
            except PatientModel.DoesNotExist:
                return None
        return None if item.patient_ref else _profile_from(item)  # a search entry is nobody

    def get_many(self, patient_ids: Sequence[str]) -> dict[str, PatientProfile]:
        """BatchGetItem, 100 keys a call (pynamodb splits and re-asks for unprocessed keys)."""
        with translated_errors():
            items = PatientModel.batch_get(sorted(set(patient_ids)), consistent_read=True)
            return {item.id: _profile_from(item) for item in items}

    def save_contact(self, contact: PatientProfile, now: datetime) -> None:
        from chalicelib.adapters.dynamo import contact_actions
        from chalicelib.adapters.patient_search import index_contact

        with translated_errors():
            PatientModel(id=contact.id).update(actions=contact_actions(contact, now))
        index_contact(contact)  # after the record: a search finds only patients that exist

    def save_staff_contact(self, patient_id: str, email: str | None, phone: str | None, now: datetime) -> bool:
        """One conditional update: only a patient already in the directory gets staff-entered contacts."""
        actions: list[Any] = [PatientModel.updated_at.set(now)]
        for attribute, value in ((PatientModel.staff_email, email), (PatientModel.staff_phone, phone)):
            actions.append(attribute.set(value) if value else attribute.remove())
        with translated_errors():
            try:
                PatientModel(id=patient_id).update(actions=actions, condition=PatientModel.id.exists())
                return True
            except UpdateError as exc:
                if condition_failed(exc):
                    return False
                raise

    def take_message(self, patient_id: str, day: str, cap: int) -> bool:
        """One conditional update per message: add one on the same day below the cap, or start a new day."""
        item = PatientModel(id=patient_id)
        for _ in range(2):
            with translated_errors():
                try:
                    item.update(
                        actions=[PatientModel.messages_sent.add(1)],
                        condition=(PatientModel.messages_day == day) & (PatientModel.messages_sent < cap),
                    )
                    return True
                except UpdateError as exc:
                    if not condition_failed(exc):
                        raise
                try:
                    item.update(
                        actions=[PatientModel.messages_day.set(day), PatientModel.messages_sent.set(1)],
                        condition=PatientModel.messages_day.does_not_exist() | (PatientModel.messages_day != day),
                    )
                    return cap >= 1
                except UpdateError as exc:
                    if not condition_failed(exc):
                        raise
        return False

    def save_devices(self, patient_id: str, devices: list[dict[str, Any]], now: datetime) -> None:
        with translated_errors():
            PatientModel(id=patient_id).update(
                actions=[PatientModel.devices.set(devices), PatientModel.updated_at.set(now)]
            )

    def remove_device(self, patient_id: str, endpoint: str, now: datetime) -> None:
        profile = self.get(patient_id)
        if profile is None:
            return
        remaining = [d for d in profile.devices if d.get("endpoint") != endpoint]
        self.save_devices(patient_id, remaining, now)
