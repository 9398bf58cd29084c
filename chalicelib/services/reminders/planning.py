"""Planning reminders: at booking, on the reminder routes (schedule, list, move or cancel one), and following
the appointment's reschedules and cancellations."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from chalicelib.domain.appointments import Appointment, may_access, may_see_contacts
from chalicelib.domain.audit import reminder_audit
from chalicelib.domain.contact import e164, email, mask_email, mask_phone
from chalicelib.domain.errors import Forbidden, InvalidInput, InvalidState, NoRecipient, NotFound
from chalicelib.domain.identity import Caller, Role
from chalicelib.domain.language import DEFAULT as DEFAULT_LANGUAGE
from chalicelib.domain.language import supported
from chalicelib.domain.patients import PatientProfile
from chalicelib.domain.reminders import (
    Recipient,
    Reminder,
    ReminderRequest,
    ReminderStatus,
    Skipped,
    check_editable,
    check_not_duplicate,
    edited,
    follow,
    follows_moves,
    plan,
)
from chalicelib.services.ports.appointments import AppointmentReader, AuditRecorder
from chalicelib.services.ports.patients import PatientReader
from chalicelib.services.ports.reminders import ReminderPlans
from chalicelib.services.ports.system import Clock, IdGenerator
from chalicelib.services.reminders.schedules import ReminderSchedules


def contact_of(caller: Caller) -> PatientProfile:
    """A patient's directory record from its own claims: addresses as given, each with Cognito's verified flag."""
    return PatientProfile(
        id=caller.subject,
        email=email(caller.email),
        phone=e164(caller.phone),
        email_verified=caller.email_verified,
        phone_verified=caller.phone_verified,
        source="self",
        name=caller.display_name or None,
    )


def reminder_language(
    caller: Caller, appointment: Appointment, profile: PatientProfile | None, request_language: str | None
) -> str:
    """The patient's saved language; until it saves one, the language its own booking request asked for (a
    patient booking for itself); else the clinic's."""
    saved = supported(profile.language if profile else None)
    if saved:
        return saved
    own = caller.role is Role.PATIENT and caller.subject == appointment.patient_id
    return (supported(request_language) if own else None) or DEFAULT_LANGUAGE


def shown_to(caller: Caller, appointment: Appointment, reminder: Reminder) -> Reminder:
    """The reminder as this caller may see it: contact details masked unless `may_see_contacts`."""
    if may_see_contacts(caller, appointment):
        return reminder
    return replace(
        reminder,
        recipient_email=mask_email(reminder.recipient_email),
        recipient_phone=mask_phone(reminder.recipient_phone),
    )


class ReminderPlanner:
    def __init__(
        self,
        reminders: ReminderPlans,
        appointments: AppointmentReader,
        audit: AuditRecorder,
        patients: PatientReader,
        schedules: ReminderSchedules,
        clock: Clock,
        ids: IdGenerator,
    ) -> None:
        self._reminders = reminders
        self._appointments = appointments
        self._audit_log = audit
        self._patients = patients
        self._schedules = schedules
        self._clock = clock
        self._ids = ids

    # --- planning --------------------------------------------------------------------------------------------
    def plan_for(
        self, caller: Caller, appointment: Appointment, request: ReminderRequest
    ) -> tuple[list[Reminder], list[Skipped], PatientProfile | None]:
        """Reminders for an appointment, the timings skipped, and the contact details to remember.

        Only verified addresses count (a patient's own verified claims, or the stored verified contact when
        staff plan them): a chosen channel with no verified address fails here, clearly, not at send time."""
        if request.custom_message is not None and caller.role is Role.PATIENT:
            raise Forbidden("Only clinic staff can add a message to reminders.")
        if not request.channels:
            return [], [], None
        contact = None
        profile = None
        if caller.role is Role.PATIENT:
            contact = contact_of(caller)
        profile = self._patients.get(appointment.patient_id)  # its devices, its language
        source = contact or profile
        recipient = Recipient(
            email=source.email if source and source.email_verified else None,
            phone=source.phone if source and source.phone_verified else None,
            push_endpoints=tuple(d.endpoint for d in (profile.devices if profile else [])),
            language=reminder_language(caller, appointment, profile, request.request_language),
        )
        missing = [c.value for c in request.channels if recipient.address(c) is None]
        if missing:
            raise NoRecipient(
                "There is no verified address for these reminder channels: " + ", ".join(missing) + ".",
                {"channels": missing},
            )
        planned, skipped = plan(
            appointment, request.channels, request.timings, recipient, request.custom_message, self._clock.now()
        )
        return planned, skipped, contact

    def scheduled(self, reminders: Sequence[Reminder]) -> None:
        """Create the schedules of new reminders; a failure is logged and the sweep re-creates it."""
        for reminder in reminders:
            self._schedules.ensure(reminder)

    def follow_reschedule(self, appointment: Appointment) -> None:
        """Move the reminders to the committed `appointment` (its version as stored). Each write is conditioned
        on following an older version, so among racing reschedules the last one's plan wins; reminders a
        move had cancelled for lack of room come back when there is room again."""
        now = self._clock.now()
        version = appointment.version or 0
        for reminder in self._reminders.for_appointment(appointment.id):
            if not follows_moves(reminder):
                continue
            moved = follow(reminder, appointment, now)
            if not self._reminders.follow(moved, version):
                continue
            if moved.status is ReminderStatus.PENDING:
                self._schedules.ensure(moved)
            else:
                self._schedules.delete(moved)

    def follow_cancel(self, appointment: Appointment) -> None:
        now = self._clock.now()
        for reminder in self._reminders.for_appointment(appointment.id):
            if reminder.status is ReminderStatus.PENDING:
                done = replace(
                    reminder, status=ReminderStatus.CANCELLED, updated_at=now, last_error="appointment cancelled"
                )
                if self._reminders.replace(done, ReminderStatus.PENDING):
                    self._schedules.delete(done)

    # --- the reminder routes ---------------------------------------------------------------------------------------
    def _appointment_for(self, caller: Caller, appointment_id: str) -> Appointment:
        found = self._appointments.get(appointment_id)
        if found is None or not may_access(caller, found):
            raise NotFound("No such appointment.", {"appointmentId": appointment_id})
        return found

    def _reminder_for(self, caller: Caller, reminder_id: str) -> tuple[Reminder, Appointment]:
        reminder = self._reminders.get(reminder_id)
        if reminder is None:
            raise NotFound("No such reminder.", {"reminderId": reminder_id})
        try:
            return reminder, self._appointment_for(caller, reminder.appointment_id)
        except NotFound as exc:
            raise NotFound("No such reminder.", {"reminderId": reminder_id}) from exc

    def schedule(
        self, caller: Caller, appointment_id: str, request: ReminderRequest
    ) -> tuple[list[Reminder], list[Skipped]]:
        appointment = self._appointment_for(caller, appointment_id)
        if not appointment.active:
            raise InvalidInput(
                "Reminders can only be set for active appointments.",
                {"fields": {"appointmentId": f"appointment is {appointment.status.value}"}},
            )
        if not request.channels:
            raise InvalidInput("Choose at least one channel.", {"fields": {"email": "choose email, sms or push"}})
        planned, skipped, _ = self.plan_for(caller, appointment, request)
        existing = self._reminders.for_appointment(appointment.id)
        taken = {r.id for r in existing}
        for reminder in planned:
            if reminder.id not in taken:  # a second one of the same id is refused by the store itself
                check_not_duplicate(reminder, appointment, existing)
        self._reminders.add(planned)
        self._audit(caller, "reminders-scheduled", appointment, [r.id for r in planned])
        self.scheduled(planned)
        return [shown_to(caller, appointment, r) for r in planned], skipped

    def for_appointment(self, caller: Caller, appointment_id: str) -> list[Reminder]:
        appointment = self._appointment_for(caller, appointment_id)
        return [shown_to(caller, appointment, r) for r in self._reminders.for_appointment(appointment_id)]

    def update(
        self,
        caller: Caller,
        reminder_id: str,
        timing: str | None,
        scheduled_time: datetime | None,
        custom_message: str | None,
    ) -> Reminder:
        reminder, appointment = self._reminder_for(caller, reminder_id)
        if custom_message is not None and caller.role is Role.PATIENT:
            raise Forbidden("Only clinic staff can add a message to reminders.")
        others = self._reminders.for_appointment(appointment.id) if timing or scheduled_time else []
        changed = edited(reminder, appointment, self._clock.now(), timing, scheduled_time, custom_message, others)
        if not self._reminders.replace(changed, ReminderStatus.PENDING):
            raise InvalidState("The reminder changed meanwhile; reload it.")
        self._audit(caller, "reminder-changed", appointment, [changed.id])
        self._schedules.ensure(changed)
        return shown_to(caller, appointment, changed)

    def cancel(self, caller: Caller, reminder_id: str) -> Reminder:
        reminder, appointment = self._reminder_for(caller, reminder_id)
        check_editable(reminder)
        done = replace(
            reminder, status=ReminderStatus.CANCELLED, updated_at=self._clock.now(), last_error="cancelled on request"
        )
        if not self._reminders.replace(done, ReminderStatus.PENDING):
            raise InvalidState("The reminder changed meanwhile; reload it.")
        self._audit(caller, "reminder-cancelled", appointment, [done.id])
        self._schedules.delete(done)
        return shown_to(caller, appointment, done)

    def _audit(self, caller: Caller, action: str, appointment: Appointment, reminder_ids: list[str]) -> None:
        self._audit_log.record_audit(
            reminder_audit(self._ids.new_id(), caller, action, appointment, reminder_ids, self._clock.now())
        )
