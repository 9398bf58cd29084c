"""Reminder use cases: plan at booking, follow reschedules and cancellations, the reminder routes, delivery by
the dispatcher (at most once), the sweep, device registration and admin bulk management."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib.domain.appointments import Appointment, may_access, may_see_contacts
from chalicelib.domain.audit import reminder_audit
from chalicelib.domain.contact import e164, email, mask_email, mask_phone, redact
from chalicelib.domain.errors import Forbidden, InvalidInput, InvalidState, NoRecipient, NotFound
from chalicelib.domain.identity import Caller, Role
from chalicelib.domain.reminders import (
    DEFAULT_TIMING,
    MAX_ATTEMPTS,
    OUTCOME_UNKNOWN,
    TIMINGS,
    Channel,
    Recipient,
    Reminder,
    ReminderStatus,
    Skipped,
    check_editable,
    custom_timing,
    follow,
    follows_moves,
    matches_appointment,
    plan,
    render,
)
from chalicelib.services.ports import (
    AppointmentStore,
    Clock,
    Deliverer,
    Delivery,
    IdGenerator,
    PatientProfile,
    PatientRepository,
    PermanentDeliveryError,
    ReminderScheduler,
    ReminderStore,
    TransientDeliveryError,
    UnknownDeliveryOutcome,
)

log = logging.getLogger("clinic.reminders")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MAX_DEVICES = 10
READ_BATCH = 100
"""Reminders whose appointments and patients the sweep reads in one BatchGetItem each (its per-call maximum)."""
DEFAULT_MESSAGES_PER_DAY = 12
"""Per patient and UTC day: one visit's reminders on every channel and timing fit; a pumping loop does not."""


@dataclass(frozen=True)
class ReminderRequest:
    channels: list[Channel]
    timings: list[str]
    custom_message: str | None = None

    @classmethod
    def from_preferences(cls, prefs: dict[str, Any]) -> ReminderRequest:
        channels = [c for c in Channel if prefs.get(c.value)]
        timings = prefs.get("timings") or [prefs.get("timing") or DEFAULT_TIMING]
        return cls(channels, list(timings), prefs.get("customMessage"))


@dataclass(frozen=True)
class SweepPolicy:
    grace: timedelta = timedelta(seconds=60)
    """A due reminder is left to its own schedule this long before the sweep delivers it."""
    lookahead: timedelta = timedelta(hours=1)
    """Schedules of pending reminders due within this window are (re)created if missing."""
    stuck_after: timedelta = timedelta(minutes=15)
    batch: int = 500
    concurrency: int = 16
    """Reminders delivered at once by one sweep (each is its own claim, send and write)."""
    budget_seconds: float = 120.0
    """The reminders' share of a sweep run; rooms come after, with their own."""


@dataclass(frozen=True)
class _Read:
    """What the sweep read in batches for the reminders it is about to deliver."""

    appointments: dict[str, Appointment]
    """Kept current as the sweep flags `reminderSent` (one worker delivers all of a visit's reminders)."""
    patients: Mapping[str, PatientProfile]


@dataclass
class SweepReport:
    delivered: dict[str, int] = field(default_factory=dict)
    schedules_ensured: int = 0
    stuck_failed: int = 0
    errors: int = 0
    deferred: int = 0


def contact_of(caller: Caller) -> PatientProfile:
    """A patient's directory record from its own claims: addresses as given, each with Cognito's verified flag."""
    return PatientProfile(
        id=caller.subject,
        email=email(caller.email),
        phone=e164(caller.phone),
        email_verified=caller.email_verified,
        phone_verified=caller.phone_verified,
        source="self",
        name=caller.name or caller.username or None,
    )


def shown_to(caller: Caller, appointment: Appointment, reminder: Reminder) -> Reminder:
    """The reminder as this caller may see it: contact details masked unless `may_see_contacts`."""
    if may_see_contacts(caller, appointment):
        return reminder
    return replace(
        reminder,
        recipient_email=mask_email(reminder.recipient_email),
        recipient_phone=mask_phone(reminder.recipient_phone),
    )


def _by_appointment(reminders: Sequence[Reminder], most: int = 16) -> list[list[Reminder]]:
    """The reminders of one visit together (one worker delivers them in turn, so each conditions on the version
    the one before left), at most `most` in a group so that no single visit holds a sweep back."""
    groups: dict[str, list[list[Reminder]]] = {}
    for reminder in reminders:
        runs = groups.setdefault(reminder.appointment_id, [[]])
        if len(runs[-1]) >= most:
            runs.append([])
        runs[-1].append(reminder)
    return [group for runs in groups.values() for group in runs]


def _stale(appointment: Appointment, claimed: Reminder) -> bool:
    """The batch read predates the plan of the claimed reminder (a reschedule's follow-up moved it since)."""
    return (claimed.for_version or 0) > (appointment.version or 0)


class ReminderService:
    def __init__(
        self,
        reminders: ReminderStore,
        appointments: AppointmentStore,
        patients: PatientRepository,
        scheduler: ReminderScheduler,
        deliverer: Deliverer,
        clock: Clock,
        sweep_policy: SweepPolicy | None = None,
        messages_per_day: int = DEFAULT_MESSAGES_PER_DAY,
        ids: IdGenerator | None = None,
    ) -> None:
        self._ids = ids
        self._reminders = reminders
        self._appointments = appointments
        self._patients = patients
        self._scheduler = scheduler
        self._deliverer = deliverer
        self._clock = clock
        self.sweep_policy = sweep_policy or SweepPolicy()
        self.messages_per_day = messages_per_day

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
        if caller.role is not Role.PATIENT or Channel.PUSH in request.channels:
            profile = self._patients.get(appointment.patient_id)
        source = contact or profile
        recipient = Recipient(
            email=source.email if source and source.email_verified else None,
            phone=source.phone if source and source.phone_verified else None,
            push_endpoints=tuple(d["endpoint"] for d in (profile.devices if profile else [])),
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
            self._ensure(reminder)

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
            if self._reminders.follow(moved, version):
                self._ensure(moved) if moved.status is ReminderStatus.PENDING else self._delete(moved)

    def follow_cancel(self, appointment: Appointment) -> None:
        now = self._clock.now()
        for reminder in self._reminders.for_appointment(appointment.id):
            if reminder.status is ReminderStatus.PENDING:
                done = replace(
                    reminder, status=ReminderStatus.CANCELLED, updated_at=now, last_error="appointment cancelled"
                )
                if self._reminders.replace(done, ReminderStatus.PENDING):
                    self._delete(done)

    # --- reminder routes ---------------------------------------------------------------------------------------
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
        self._reminders.add(planned)
        self._audit(caller, "reminders-scheduled", appointment, [r.id for r in planned])
        self.scheduled(planned)
        return planned, skipped

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
        check_editable(reminder)
        now = self._clock.now()
        changed = reminder
        if timing is not None:
            changed = replace(changed, timing=timing, scheduled_time=appointment.starts_at - TIMINGS[timing])
        elif scheduled_time is not None:
            changed = replace(changed, timing=custom_timing(scheduled_time), scheduled_time=scheduled_time)
        if changed.scheduled_time <= now or changed.scheduled_time >= appointment.starts_at:
            raise InvalidInput(
                "A reminder must be sent in the future and before the appointment.",
                {"fields": {"timing" if timing else "scheduledTime": "not between now and the appointment"}},
            )
        if custom_message is not None:
            changed = replace(changed, custom_message=custom_message or None)
        changed = replace(
            changed,
            message=render(changed.channel, appointment, changed.custom_message).text,
            updated_at=now,
        )
        if not self._reminders.replace(changed, ReminderStatus.PENDING):
            raise InvalidState("The reminder changed meanwhile; reload it.")
        self._audit(caller, "reminder-changed", appointment, [changed.id])
        self._ensure(changed)
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
        self._delete(done)
        return shown_to(caller, appointment, done)

    def register_device(self, caller: Caller, platform: str, token: str) -> dict[str, Any]:
        if caller.role is not Role.PATIENT:
            raise Forbidden("Only patients register devices for their own reminders.")
        endpoint = self._deliverer.register_device(caller.subject, platform, token)
        profile = self._patients.get(caller.subject) or PatientProfile(id=caller.subject)
        now = self._clock.now()
        device = {"endpoint": endpoint, "platform": platform, "registeredAt": now.strftime("%Y-%m-%dT%H:%M:%SZ")}
        others = [d for d in profile.devices if d.get("endpoint") != endpoint]
        self._patients.save_devices(caller.subject, [*others, device][-MAX_DEVICES:], now)
        return device

    # --- delivery ------------------------------------------------------------------------------------------------
    def dispatch(self, reminder_id: str) -> str:
        """Deliver one reminder at most once: claim, re-read the appointment, send, record. Returns the outcome."""
        return self._dispatch(reminder_id, None)

    def _dispatch(self, reminder_id: str, read: _Read | None) -> str:
        """`read`: the appointments and patients the sweep read in one batch for the chunk this reminder is in
        (up to a second before the claim). An appointment older than the plan of the reminder it claimed is read
        again; any other change after the batch read is caught when the outcome is recorded (conditioned on the
        version read: a reschedule plans the reminder again for the new time)."""
        now = self._clock.now()
        claimed = self._reminders.claim(reminder_id, now)
        if claimed is None:
            return "not-claimed"
        appointment = read.appointments.get(claimed.appointment_id) if read is not None else None
        if appointment is None or _stale(appointment, claimed):
            appointment = self._appointments.get(claimed.appointment_id)
        if appointment is None or not appointment.active:
            self._reminders.finish(
                replace(
                    claimed,
                    status=ReminderStatus.CANCELLED,
                    updated_at=now,
                    last_error="appointment is no longer active",
                ),
                mark_appointment_reminded=False,
            )
            return "cancelled"
        if not matches_appointment(claimed, appointment):
            moved = follow(replace(claimed, status=ReminderStatus.PENDING), appointment, now)
            if self._reminders.replace(moved, ReminderStatus.SENDING) and moved.status is ReminderStatus.PENDING:
                self._ensure(moved)
            return "moved"
        return self._deliver(claimed, appointment, now, read)

    def _deliver(self, claimed: Reminder, appointment: Appointment, now: datetime, read: _Read | None) -> str:
        endpoints: list[str] = []
        profile = self._patients.get(claimed.patient_id) if read is None else read.patients.get(claimed.patient_id)
        if claimed.channel is Channel.PUSH:
            devices = [d["endpoint"] for d in (profile.devices if profile else [])]
            endpoints = [e for e in devices if e not in claimed.served]  # a retry goes only to those not served
            if devices and not endpoints:
                return self._sent(claimed, appointment, now, read)
        else:
            address = claimed.recipient_phone if claimed.channel is Channel.SMS else claimed.recipient_email
            if profile is None or not profile.verified(address, phone=claimed.channel is Channel.SMS):
                # The patient changed its address since (or never verified it): the old one is not theirs.
                self._fail(claimed, "the address is no longer the patient's verified address", now, appointment)
                return "failed"
        if not self._patients.take_message(claimed.patient_id, now.date().isoformat(), self.messages_per_day):
            self._fail(
                claimed, f"the patient's limit of {self.messages_per_day} messages a day is reached", now, appointment
            )
            return "failed"
        try:
            delivery = self._deliverer.send(claimed, appointment, endpoints)
        except UnknownDeliveryOutcome as exc:
            self._fail(claimed, f"{OUTCOME_UNKNOWN} ({exc})", now, appointment)
            return "failed"
        except TransientDeliveryError as exc:
            return self._later(claimed, str(exc), now, appointment)
        except PermanentDeliveryError as exc:
            if exc.disabled_endpoint:
                self._patients.remove_device(claimed.patient_id, exc.disabled_endpoint, now)
            self._fail(claimed, str(exc), now, appointment)
            return "failed"
        except Exception as exc:  # our own message could not be built (not sent): fail this one, keep going
            log.exception("reminder %s: could not be sent", claimed.id)
            self._fail(claimed, f"could not send: {type(exc).__name__}", now, appointment)
            return "failed"
        for endpoint in delivery.disabled_endpoints:
            self._patients.remove_device(claimed.patient_id, endpoint, now)
        if claimed.channel is not Channel.PUSH:
            return self._sent(claimed, appointment, now, read)
        return self._push_outcome(claimed, delivery, appointment, now, read)

    def _push_outcome(
        self, claimed: Reminder, delivery: Delivery, appointment: Appointment, now: datetime, read: _Read | None
    ) -> str:
        """Devices served (or maybe served) are recorded; a retry goes only to the throttled ones."""
        reached_before = bool(claimed.served)
        claimed = replace(claimed, served=tuple(sorted({*claimed.served, *delivery.served, *delivery.unknown})))
        if delivery.pending:
            return self._later(claimed, delivery.refused or "a device was unavailable", now, appointment)
        if delivery.served or reached_before:
            return self._sent(claimed, appointment, now, read)
        if delivery.unknown:
            self._fail(claimed, f"{OUTCOME_UNKNOWN} (push to {len(delivery.unknown)} device(s))", now, appointment)
        else:
            self._fail(claimed, delivery.refused or "every registered device is disabled", now, appointment)
        return "failed"

    def _sent(self, claimed: Reminder, appointment: Appointment, now: datetime, read: _Read | None = None) -> str:
        sent = replace(claimed, status=ReminderStatus.SENT, sent_at=now, updated_at=now, last_error=None)
        recorded = self._reminders.finish(sent, mark_appointment_reminded=True, appointment=appointment)
        if recorded == "appointment-changed":
            self._replan_after_move(sent, now)
        elif recorded == "recorded" and read is not None and appointment.version is not None:
            # flagging `reminderSent` grew the version: the visit's next reminder in this sweep conditions on it
            read.appointments[appointment.id] = replace(
                appointment, reminder_sent=True, version=appointment.version + int(not appointment.reminder_sent)
            )
        return "sent"

    def _replan_after_move(self, sent: Reminder, now: datetime) -> None:
        """The visit was rescheduled while this reminder was being sent (its follow-up skipped it): the message
        named the old time, so the reminder is planned again for the new one."""
        current = self._appointments.get(sent.appointment_id)
        if current is None or not current.active or current.starts_at == sent.for_start:
            return
        again = follow(replace(sent, status=ReminderStatus.PENDING, sent_at=None, attempts=0), current, now)
        if again.status is ReminderStatus.PENDING and self._reminders.replace(again, ReminderStatus.SENT):
            self._ensure(again)

    def _later(self, claimed: Reminder, reason: str, now: datetime, appointment: Appointment) -> str:
        """Back to pending with backoff (keeping the devices already served), or failed after MAX_ATTEMPTS."""
        if claimed.attempts >= MAX_ATTEMPTS:
            self._fail(claimed, f"gave up after {claimed.attempts} attempts: {reason}", now, appointment)
            return "failed"
        later = replace(
            claimed,
            status=ReminderStatus.PENDING,
            scheduled_time=now + timedelta(minutes=2**claimed.attempts),
            last_error=redact(reason),
            updated_at=now,
        )
        if self._reminders.replace(later, ReminderStatus.SENDING):
            self._ensure(later)
        return "retry-later"

    def _fail(self, claimed: Reminder, reason: str, now: datetime, appointment: Appointment | None = None) -> None:
        failed = replace(claimed, status=ReminderStatus.FAILED, last_error=redact(reason)[:500], updated_at=now)
        self._reminders.finish(failed, mark_appointment_reminded=False, appointment=appointment)

    def sweep(self, timer: Callable[[], float] = time.monotonic) -> SweepReport:
        """Deliver overdue pending reminders (a lost schedule) a few at a time, re-create the schedules known to
        be missing, and fail reminders stuck in `sending` (never resend them: a crash may have happened after the
        send). Each reminder on its own: one that raises is counted and the rest go on; the run stops delivering
        when its time budget is spent (the next run picks up the rest)."""
        policy = self.sweep_policy
        now = self._clock.now()
        report = SweepReport()
        deadline = timer() + policy.budget_seconds

        def deliver(reminder: Reminder, read: _Read | None) -> str:
            if timer() >= deadline:
                return "deferred"
            try:
                return self._dispatch(reminder.id, read)
            except Exception:
                log.exception("sweep: reminder %s raised; the others go on", reminder.id)
                return "error"

        overdue = self._reminders.by_status(ReminderStatus.PENDING, EPOCH, now - policy.grace, policy.batch)
        groups = _by_appointment(overdue)
        outcomes: list[str] = []
        with ThreadPoolExecutor(max_workers=max(1, policy.concurrency)) as pool:
            for first in range(0, len(groups), READ_BATCH):  # one chunk at a time: its batch read stays fresh
                chunk = groups[first : first + READ_BATCH]
                read = self._read_for([r for group in chunk for r in group]) if timer() < deadline else None
                for done in pool.map(lambda group: [deliver(r, read) for r in group], chunk):  # noqa: B023
                    outcomes.extend(done)
            for outcome in outcomes:
                if outcome == "deferred":
                    report.deferred += 1
                elif outcome == "error":
                    report.errors += 1
                else:
                    report.delivered[outcome] = report.delivered.get(outcome, 0) + 1
        upcoming = self._reminders.by_status(ReminderStatus.PENDING, now, now + policy.lookahead, policy.batch)
        for reminder in upcoming:
            if reminder.schedule_missing and timer() < deadline:
                self._ensure(reminder)
                report.schedules_ensured += 1
        stuck_before = now - policy.stuck_after
        for reminder in self._reminders.by_status(ReminderStatus.SENDING, EPOCH, stuck_before, policy.batch):
            if reminder.updated_at <= stuck_before:
                try:
                    self._fail(reminder, f"{OUTCOME_UNKNOWN} (dispatcher stopped while sending)", now)
                    report.stuck_failed += 1
                except Exception:
                    log.exception("sweep: could not fail stuck reminder %s", reminder.id)
                    report.errors += 1
        return report

    def _read_for(self, reminders: Sequence[Reminder]) -> _Read | None:
        """The appointments and patients of these reminders in one batch read each (instead of two reads per
        reminder); if the batch read fails, each dispatch reads its own."""
        try:
            return _Read(
                dict(self._appointments.get_many([r.appointment_id for r in reminders])),
                self._patients.get_many([r.patient_id for r in reminders]),
            )
        except Exception:
            log.exception("sweep: the batch read of %d reminders failed; each reads its own", len(reminders))
            return None

    # --- admin ---------------------------------------------------------------------------------------------------
    def admin_list(self, status: ReminderStatus, start: datetime | None, end: datetime | None) -> list[Reminder]:
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
            again = replace(
                reminder,
                status=ReminderStatus.PENDING,
                attempts=0,
                scheduled_time=now + timedelta(minutes=1),
                updated_at=now,
                served=() if reminder.outcome_unknown else reminder.served,  # confirmed: resend to every device
            )
            if self._reminders.replace(again, ReminderStatus.FAILED):
                self._ensure(again)
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
                self._delete(done)
                outcomes[reminder_id] = "cancelled"
                if changed is not None:
                    changed.append(done)
            else:
                outcomes[reminder_id] = "changed-meanwhile"
        return outcomes

    def _audit(self, caller: Caller, action: str, appointment: Appointment, reminder_ids: list[str]) -> None:
        entry_id = self._ids.new_id() if self._ids is not None else uuid.uuid4().hex
        self._appointments.record_audit(
            reminder_audit(entry_id, caller, action, appointment, reminder_ids, self._clock.now())
        )

    # --- schedules -------------------------------------------------------------------------------------------------
    def _ensure(self, reminder: Reminder) -> None:
        """Create or move the reminder's schedule. A failure is logged and the reminder flagged: the sweep
        re-creates only flagged schedules (and delivers any reminder overdue, flagged or not)."""
        try:
            self._scheduler.ensure(reminder)
        except Exception:  # never lose the booking over it
            log.exception("could not create the schedule of reminder %s", reminder.id)
            self._flag_schedule(reminder, True)
            return
        if reminder.schedule_missing:
            self._flag_schedule(reminder, False)

    def _flag_schedule(self, reminder: Reminder, missing: bool) -> None:
        try:
            self._reminders.replace(replace(reminder, schedule_missing=missing), ReminderStatus.PENDING)
        except Exception:  # the overdue sweep still delivers it
            log.exception("could not flag the schedule of reminder %s", reminder.id)

    def _delete(self, reminder: Reminder) -> None:
        try:
            self._scheduler.delete(reminder)
        except Exception:  # a leftover schedule finds the reminder not pending and does nothing
            log.exception("could not delete the schedule of reminder %s", reminder.id)
