"""The reminders' store, as each job sees it, and the one-time schedules that fire them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from chalicelib.domain.appointments import Appointment
from chalicelib.domain.patients import PatientProfile
from chalicelib.domain.reminders import Claim, MessageSlot, Reminder, ReminderStatus


class ReminderSwitch(Protocol):
    """The one write every reminder job makes: replace a reminder if it still has the status it was read with."""

    def replace(self, reminder: Reminder, expected: ReminderStatus) -> bool: ...


class ReminderPlans(ReminderSwitch, Protocol):
    """What planning reminders and following their appointment's changes read and write."""

    def get(self, reminder_id: str) -> Reminder | None: ...

    def for_appointment(self, appointment_id: str) -> list[Reminder]: ...

    def add(self, reminders: Sequence[Reminder]) -> None: ...

    def follow(self, reminder: Reminder, version: int) -> bool: ...


class ReminderQueue(ReminderSwitch, Protocol):
    """What the dispatcher and the sweep read and write: due reminders, claimed once, finished once."""

    def by_status(
        self, status: ReminderStatus, start: datetime, end: datetime, limit: int | None = None
    ) -> list[Reminder]: ...

    def get(self, reminder_id: str) -> Reminder | None: ...

    def claim(self, reminder_id: str, now: datetime, due_slack_seconds: int = 60) -> Reminder | None:
        """pending -> sending alone (no message reserved): how a reminder refused at the cap is still claimed,
        to be recorded as failed at the cap (or cancelled, moved... whatever it would have come to)."""
        ...

    def claim_with_message(
        self,
        reminder_id: str,
        slot: MessageSlot,
        now: datetime,
        seen: Reminder | None = None,
        due_slack_seconds: int = 60,
    ) -> Claim:
        """pending -> sending and one of the patient's messages of the day reserved, both or neither, in one write;
        not claimed unless the reminder is the slot's patient's (a schedule's input names the patient).
        `seen`: the image the caller read (the sweep's): the claim is refused if the reminder changed since."""
        ...

    def replace(self, reminder: Reminder, expected: ReminderStatus, give_back: MessageSlot | None = None) -> bool:
        """As `ReminderSwitch.replace`, giving back the reserved message in the same write."""
        ...

    def finish(
        self,
        reminder: Reminder,
        mark_appointment_reminded: bool,
        appointment: Appointment | None = None,
        give_back: MessageSlot | None = None,
    ) -> str:
        """Record a claimed reminder's outcome, and give back its reserved message (nothing went out), in one write."""
        ...


class DispatchReads(Protocol):
    """A lone dispatch's read after its claim: the reminder, its visit and its patient together, in one call."""

    def claimed_visit_and_patient(
        self, reminder_id: str, patient_id: str
    ) -> tuple[Reminder | None, Appointment | None, PatientProfile | None]: ...


class ReminderRecords(ReminderSwitch, Protocol):
    """What the admins' bulk actions read and write."""

    def get(self, reminder_id: str) -> Reminder | None: ...

    def by_status(
        self, status: ReminderStatus, start: datetime, end: datetime, limit: int | None = None
    ) -> list[Reminder]: ...


class ReminderScheduler(Protocol):
    """One-time schedules that invoke the reminder dispatcher with a reminder id at its time."""

    def ensure(self, reminder: Reminder) -> None: ...

    def delete(self, reminder: Reminder) -> None: ...
