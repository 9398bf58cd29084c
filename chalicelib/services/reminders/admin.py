"""Admins' bulk actions on reminders: list by status, retry failed ones, cancel pending ones. Each reminder on
its own: one that changed meanwhile is reported, the others go on."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime

from chalicelib.domain.errors import InvalidState
from chalicelib.domain.reminders import EPOCH, Reminder, ReminderStatus, resent
from chalicelib.services.ports.appointments import AppointmentReader
from chalicelib.services.ports.reminders import ReminderRecords
from chalicelib.services.ports.system import Clock
from chalicelib.services.reminders.schedules import ReminderSchedules


class ReminderAdmin:
    def __init__(
        self,
        reminders: ReminderRecords,
        appointments: AppointmentReader,
        schedules: ReminderSchedules,
        clock: Clock,
    ) -> None:
        self._reminders = reminders
        self._appointments = appointments
        self._schedules = schedules
        self._clock = clock

    def by_status(self, status: ReminderStatus, start: datetime | None, end: datetime | None) -> list[Reminder]:
        return self._reminders.by_status(status, start or EPOCH, end or datetime(9999, 1, 1, tzinfo=UTC))

    def retry_failed(
        self, reminder_ids: Sequence[str], confirm_unknown_outcome: bool = False, changed: list[Reminder] | None = None
    ) -> dict[str, str]:
        """Failed reminders go back to pending, due in a minute (if their appointment is still ahead); those
        retried are appended to `changed` (for the patients' access logs).

        A reminder whose delivery outcome is unknown may have reached the patient: resending it needs the
        caller's explicit confirmation, else nothing is retried (InvalidState names them)."""
        now = self._clock.now()
        if not confirm_unknown_outcome:
            unknown = [r.id for r in map(self._reminders.get, reminder_ids) if r is not None and r.outcome_unknown]
            if unknown:
                raise InvalidState(
                    "These reminders may have been delivered already; confirm to send them again.",
                    {"unknownOutcome": unknown, "confirmWith": "confirmUnknownOutcome"},
                )
        outcomes: dict[str, str] = {}
        for reminder_id in reminder_ids:
            reminder = self._reminders.get(reminder_id)
            if reminder is None or reminder.status is not ReminderStatus.FAILED:
                outcomes[reminder_id] = "not-failed"
                continue
            appointment = self._appointments.get(reminder.appointment_id)
            if appointment is None or not appointment.active or appointment.starts_at <= now:
                outcomes[reminder_id] = "appointment-not-ahead"
                continue
            again = resent(reminder, now)
            if self._reminders.replace(again, ReminderStatus.FAILED):
                self._schedules.ensure(again)
                outcomes[reminder_id] = "pending"
                if changed is not None:
                    changed.append(again)
            else:
                outcomes[reminder_id] = "changed-meanwhile"
        return outcomes

    def cancel_pending(self, reminder_ids: Sequence[str], changed: list[Reminder] | None = None) -> dict[str, str]:
        """Pending reminders cancelled; those cancelled are appended to `changed` (for the access logs)."""
        now = self._clock.now()
        outcomes: dict[str, str] = {}
        for reminder_id in reminder_ids:
            reminder = self._reminders.get(reminder_id)
            if reminder is None or reminder.status is not ReminderStatus.PENDING:
                outcomes[reminder_id] = "not-pending"
                continue
            done = replace(reminder, status=ReminderStatus.CANCELLED, updated_at=now, last_error="cancelled by admin")
            if self._reminders.replace(done, ReminderStatus.PENDING):
                self._schedules.delete(done)
                outcomes[reminder_id] = "cancelled"
                if changed is not None:
                    changed.append(done)
            else:
                outcomes[reminder_id] = "changed-meanwhile"
        return outcomes
