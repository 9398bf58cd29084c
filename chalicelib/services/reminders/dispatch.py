"""Reminder delivery: the dispatcher sends one reminder at most once (claim, re-read, send, record); the sweep
delivers overdue ones whose schedule was lost, re-creates missing schedules and fails reminders stuck sending."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from chalicelib.domain.appointments import Appointment
from chalicelib.domain.contact import redact
from chalicelib.domain.delivery import Delivery, PermanentDeliveryError, TransientDeliveryError, UnknownDeliveryOutcome
from chalicelib.domain.patients import PatientProfile
from chalicelib.domain.reminders import (
    EPOCH,
    MAX_ATTEMPTS,
    OUTCOME_UNKNOWN,
    Channel,
    Reminder,
    ReminderStatus,
    follow,
    matches_appointment,
    retry_at,
)
from chalicelib.services.ports.appointments import AppointmentReader
from chalicelib.services.ports.delivery import MessageSender
from chalicelib.services.ports.patients import PatientInbox
from chalicelib.services.ports.reminders import ReminderQueue
from chalicelib.services.ports.system import Clock
from chalicelib.services.reminders.schedules import ReminderSchedules

log = logging.getLogger("clinic.reminders")
READ_BATCH = 100
"""Reminders whose appointments and patients the sweep reads in one BatchGetItem each (its per-call maximum)."""
DEFAULT_MESSAGES_PER_DAY = 12
"""Per patient and UTC day: one visit's reminders on every channel and timing fit; a pumping loop does not."""


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


class ReminderDispatcher:
    def __init__(
        self,
        reminders: ReminderQueue,
        appointments: AppointmentReader,
        patients: PatientInbox,
        sender: MessageSender,
        schedules: ReminderSchedules,
        clock: Clock,
        sweep_policy: SweepPolicy | None = None,
        messages_per_day: int = DEFAULT_MESSAGES_PER_DAY,
    ) -> None:
        self._reminders = reminders
        self._appointments = appointments
        self._patients = patients
        self._sender = sender
        self._schedules = schedules
        self._clock = clock
        self.sweep_policy = sweep_policy or SweepPolicy()
        self.messages_per_day = messages_per_day

    def dispatch(self, reminder_id: str) -> str:
        """Deliver one reminder at most once: claim, re-read the appointment, send, record. Returns the outcome."""
        return self._dispatch(reminder_id, None)

    def _dispatch(self, reminder_id: str, read: _Read | None) -> str:
        """`read`: the appointments and patients the sweep read in one batch for the chunk this reminder is in
        (up to a second before the claim). An appointment older than the plan of the reminder it claimed is read
        again; any other change after the batch read is caught when the outcome is recorded (conditioned on the
        version read: a reschedule plans the reminder again for the new time).

        Whatever raises before the message goes to the provider (the appointment or patient unreadable, a
        store fault) releases the claim: nothing was sent, so the reminder is pending again for the next run
        (failed as not sent after MAX_ATTEMPTS), not left in `sending` for the stuck sweep to fail as an
        unknown outcome."""
        now = self._clock.now()
        claimed = self._reminders.claim(reminder_id, now)
        if claimed is None:
            return "not-claimed"
        try:
            ready = self._before_send(claimed, now, read)
        except Exception as exc:
            self._release(claimed, now, exc)
            raise
        if isinstance(ready, str):
            return ready
        appointment, endpoints = ready
        return self._send(claimed, appointment, endpoints, now, read)

    def _before_send(self, claimed: Reminder, now: datetime, read: _Read | None) -> str | tuple[Appointment, list[str]]:
        """Everything up to the send: an outcome when there is nothing to send, else what to send it for."""
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
                self._schedules.ensure(moved)
            return "moved"
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
        return appointment, endpoints

    def _release(self, claimed: Reminder, now: datetime, error: Exception) -> None:
        """Give the claim back: pending again, still due (the schedule's retry or the next sweep delivers it),
        this attempt counted; after MAX_ATTEMPTS such tries it is failed as not sent (a reminder that can never
        be prepared does not loop forever; staff may retry it without confirming, nothing went out). Both
        conditioned on `sending`, so an outcome recorded meanwhile stands. If even that write fails, the stuck
        sweep is the last resort."""
        try:
            if claimed.attempts >= MAX_ATTEMPTS:
                reason = f"not sent: {type(error).__name__} before the send, {claimed.attempts} times"
                failed = replace(claimed, status=ReminderStatus.FAILED, last_error=reason, updated_at=now)
                self._reminders.finish(failed, mark_appointment_reminded=False)
            else:
                self._reminders.replace(
                    replace(claimed, status=ReminderStatus.PENDING, updated_at=now), ReminderStatus.SENDING
                )
        except Exception:
            log.exception("reminder %s: nothing was sent, and its claim could not be released", claimed.id)

    def _send(
        self, claimed: Reminder, appointment: Appointment, endpoints: list[str], now: datetime, read: _Read | None
    ) -> str:
        try:
            delivery = self._sender.send(claimed, appointment, endpoints)
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
        """Devices served (or maybe served) are recorded, the unknown ones apart too; a retry goes only to the
        throttled ones (and, once an admin confirms, to the unknown ones)."""
        reached_before = bool(set(claimed.served) - set(claimed.unknown_devices))
        claimed = replace(
            claimed,
            served=tuple(sorted({*claimed.served, *delivery.served, *delivery.unknown})),
            unknown_devices=tuple(sorted({*claimed.unknown_devices, *delivery.unknown})),
        )
        if delivery.pending:
            return self._later(claimed, delivery.refused or "a device was unavailable", now, appointment)
        if delivery.served or reached_before:
            return self._sent(claimed, appointment, now, read)
        if claimed.unknown_devices:
            self._fail(
                claimed, f"{OUTCOME_UNKNOWN} (push to {len(claimed.unknown_devices)} device(s))", now, appointment
            )
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
            self._schedules.ensure(again)

    def _later(self, claimed: Reminder, reason: str, now: datetime, appointment: Appointment) -> str:
        """Back to pending with backoff (keeping the devices already served), or failed after MAX_ATTEMPTS."""
        at = retry_at(claimed.attempts, now)
        if at is None:
            self._fail(claimed, f"gave up after {claimed.attempts} attempts: {reason}", now, appointment)
            return "failed"
        later = replace(
            claimed,
            status=ReminderStatus.PENDING,
            scheduled_time=at,
            last_error=redact(reason),
            updated_at=now,
        )
        if self._reminders.replace(later, ReminderStatus.SENDING):
            self._schedules.ensure(later)
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
                self._schedules.ensure(reminder)
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
