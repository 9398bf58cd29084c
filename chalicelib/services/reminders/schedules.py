"""A reminder's one-time schedule, created, moved or deleted by every reminder job; a failure never fails the
job (the reminder is flagged and the sweep re-creates its schedule)."""

from __future__ import annotations

import logging
from dataclasses import replace

from chalicelib.domain.reminders import Reminder, ReminderStatus
from chalicelib.services.ports.reminders import ReminderScheduler, ReminderSwitch

log = logging.getLogger("clinic.reminders")


class ReminderSchedules:
    def __init__(self, scheduler: ReminderScheduler, reminders: ReminderSwitch) -> None:
        self._scheduler = scheduler
        self._reminders = reminders

    def ensure(self, reminder: Reminder) -> None:
        """Create or move the reminder's schedule. A failure is logged and the reminder flagged: the sweep
        re-creates only flagged schedules (and delivers any reminder overdue, flagged or not)."""
        try:
            self._scheduler.ensure(reminder)
        except Exception:  # never lose the booking over it
            log.exception("could not create the schedule of reminder %s", reminder.id)
            self._flag(reminder, True)
            return
        if reminder.schedule_missing:
            self._flag(reminder, False)

    def _flag(self, reminder: Reminder, missing: bool) -> None:
        try:
            self._reminders.replace(replace(reminder, schedule_missing=missing), ReminderStatus.PENDING)
        except Exception:  # the overdue sweep still delivers it
            log.exception("could not flag the schedule of reminder %s", reminder.id)

    def delete(self, reminder: Reminder) -> None:
        try:
            self._scheduler.delete(reminder)
        except Exception:  # a leftover schedule finds the reminder not pending and does nothing
            log.exception("could not delete the schedule of reminder %s", reminder.id)
