"""Delivering one reminder at most once: claim it, read its visit and patient, send, record the outcome (with the
message counted against the patient's daily cap in that same write). The sweep (`sweep`) hands overdue reminders
here with what it read for them in batches."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from chalicelib.domain.appointments import Appointment
from chalicelib.domain.contact import redact
from chalicelib.domain.delivery import Delivery, PermanentDeliveryError, TransientDeliveryError, UnknownDeliveryOutcome
from chalicelib.domain.patients import PatientProfile
from chalicelib.domain.reminders import (
    MAX_ATTEMPTS,
    OUTCOME_UNKNOWN,
    Channel,
    MessageCount,
    Reminder,
    ReminderStatus,
    follow,
    matches_appointment,
    message_count,
    retry_at,
)
from chalicelib.services.ports.appointments import AppointmentReader
from chalicelib.services.ports.delivery import MessageSender
from chalicelib.services.ports.patients import PatientInbox
from chalicelib.services.ports.reminders import DispatchReads, ReminderQueue
from chalicelib.services.ports.system import Clock
from chalicelib.services.reminders.schedules import ReminderSchedules
from chalicelib.services.reminders.sweep import ReminderSweep, SweepPolicy, SweepReport

__all__ = [
    "DEFAULT_MESSAGES_PER_DAY",
    "Prefetched",
    "ReminderDispatcher",
    "SeparateReads",
    "SweepPolicy",
    "SweepReport",
]
"""SweepPolicy and SweepReport live in `sweep`; named here too for callers that build a dispatcher with them."""
log = logging.getLogger("clinic.reminders")
DEFAULT_MESSAGES_PER_DAY = 12
"""Per patient and UTC day: one visit's reminders on every channel and timing fit; a pumping loop does not."""


@dataclass
class Prefetched:
    """What the sweep read in batches for the reminders it is about to deliver, kept current as they go: an
    appointment's `reminderSent` flag (one worker delivers all of a visit's reminders) and each patient's daily
    message count."""

    appointments: dict[str, Appointment]
    patients: dict[str, PatientProfile]
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def reminded(self, appointment: Appointment) -> None:
        """Flagging `reminderSent` grew the version: the visit's next reminder conditions on it."""
        if appointment.version is not None:
            grown = appointment.version + int(not appointment.reminder_sent)
            self.appointments[appointment.id] = replace(appointment, reminder_sent=True, version=grown)

    def counted(self, message: MessageCount) -> None:
        """The patient's next message in this sweep sees this one counted."""
        with self._lock:
            profile = self.patients.get(message.patient_id)
            if profile is not None:
                day, sent = message.counted()
                self.patients[message.patient_id] = replace(profile, messages_day=day, messages_sent=sent)


@dataclass(frozen=True)
class _Ready:
    """What a claimed reminder is sent for, once every check before the send passed."""

    appointment: Appointment
    endpoints: list[str]
    message: MessageCount | None
    """None when the patient has no directory record (nothing to count on)."""


class SeparateReads:
    """A visit and its patient as two reads, for stores that cannot read them in one call (the fakes)."""

    def __init__(self, appointments: AppointmentReader, patients: PatientInbox) -> None:
        self._appointments = appointments
        self._patients = patients

    def visit_and_patient(
        self, appointment_id: str, patient_id: str
    ) -> tuple[Appointment | None, PatientProfile | None]:
        return self._appointments.get(appointment_id), self._patients.get(patient_id)


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
        reads: DispatchReads | None = None,
    ) -> None:
        self._reminders = reminders
        self._appointments = appointments
        self._patients = patients
        self._reads = reads or SeparateReads(appointments, patients)
        self._sender = sender
        self._schedules = schedules
        self._clock = clock
        self.sweep_policy = sweep_policy or SweepPolicy()
        self.messages_per_day = messages_per_day

    def dispatch(self, reminder_id: str, prefetched: Prefetched | None = None) -> str:
        """Deliver one reminder at most once: claim, read, send, record. Returns the outcome.

        `prefetched`: the appointments and patients the sweep read in one batch for the chunk this reminder is in
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
            ready = self._before_send(claimed, now, prefetched)
        except Exception as exc:
            self._release(claimed, now, exc)
            raise
        if isinstance(ready, str):
            return ready
        return self._send(claimed, ready, now, prefetched)

    def sweep(self, timer: Callable[[], float] = time.monotonic) -> SweepReport:
        """The periodic sweep's three jobs (`sweep.ReminderSweep`), delivering through this dispatcher."""
        return ReminderSweep(self._reminders, self._schedules, self._clock, self, self.sweep_policy).run(timer)

    def prefetch(self, reminders: Sequence[Reminder]) -> Prefetched:
        """The appointments and patients of these reminders in one batch read each (the sweep's reads)."""
        return Prefetched(
            dict(self._appointments.get_many([r.appointment_id for r in reminders])),
            dict(self._patients.get_many([r.patient_id for r in reminders])),
        )

    def _read(
        self, claimed: Reminder, prefetched: Prefetched | None
    ) -> tuple[Appointment | None, PatientProfile | None]:
        """The visit and the patient: from the sweep's batch (the visit read again if the batch predates the
        reminder's plan), else in one read."""
        if prefetched is None:
            return self._reads.visit_and_patient(claimed.appointment_id, claimed.patient_id)
        appointment = prefetched.appointments.get(claimed.appointment_id)
        if appointment is None or _stale(appointment, claimed):
            appointment = self._appointments.get(claimed.appointment_id)
        return appointment, prefetched.patients.get(claimed.patient_id)

    def _before_send(self, claimed: Reminder, now: datetime, prefetched: Prefetched | None) -> str | _Ready:
        """Everything up to the send: an outcome when there is nothing to send, else what to send it for."""
        appointment, profile = self._read(claimed, prefetched)
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
        if claimed.channel is Channel.PUSH:
            devices = [d.endpoint for d in (profile.devices if profile else [])]
            endpoints = [e for e in devices if e not in claimed.served]  # a retry goes only to those not served
            if devices and not endpoints:
                return self._sent(claimed, appointment, now, prefetched, None)
        else:
            address = claimed.recipient_phone if claimed.channel is Channel.SMS else claimed.recipient_email
            if profile is None or not profile.verified(address, phone=claimed.channel is Channel.SMS):
                # The patient changed its address since (or never verified it): the old one is not theirs.
                self._fail(claimed, "the address is no longer the patient's verified address", now, appointment)
                return "failed"
        message = None
        if profile is not None:
            message = message_count(claimed.patient_id, profile.messages_day, profile.messages_sent, now)
            if message.over(self.messages_per_day):
                reason = f"the patient's limit of {self.messages_per_day} messages a day is reached"
                self._fail(claimed, reason, now, appointment)
                return "failed"
        return _Ready(appointment, endpoints, message)

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

    def _send(self, claimed: Reminder, ready: _Ready, now: datetime, prefetched: Prefetched | None) -> str:
        """Hand the message to the provider and record what came of it. Every outcome recorded after the hand-over
        counts the message against the patient's cap (a throttled one, not sent, is counted when it is)."""
        appointment, message = ready.appointment, ready.message
        try:
            delivery = self._sender.send(claimed, appointment, ready.endpoints)
        except UnknownDeliveryOutcome as exc:
            self._fail(claimed, f"{OUTCOME_UNKNOWN} ({exc})", now, appointment, message, prefetched)
            return "failed"
        except TransientDeliveryError as exc:
            return self._later(claimed, str(exc), now, appointment)
        except PermanentDeliveryError as exc:
            if exc.disabled_endpoint:
                self._patients.remove_device(claimed.patient_id, exc.disabled_endpoint, now)
            self._fail(claimed, str(exc), now, appointment, message, prefetched)
            return "failed"
        except Exception as exc:  # our own message could not be built (not sent): fail this one, keep going
            log.exception("reminder %s: could not be sent", claimed.id)
            self._fail(claimed, f"could not send: {type(exc).__name__}", now, appointment)
            return "failed"
        for endpoint in delivery.disabled_endpoints:
            self._patients.remove_device(claimed.patient_id, endpoint, now)
        if claimed.channel is not Channel.PUSH:
            return self._sent(claimed, appointment, now, prefetched, message)
        return self._push_outcome(claimed, delivery, appointment, now, prefetched, message)

    def _push_outcome(
        self,
        claimed: Reminder,
        delivery: Delivery,
        appointment: Appointment,
        now: datetime,
        prefetched: Prefetched | None,
        message: MessageCount | None,
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
            return self._sent(claimed, appointment, now, prefetched, message)
        if claimed.unknown_devices:
            reason = f"{OUTCOME_UNKNOWN} (push to {len(claimed.unknown_devices)} device(s))"
            self._fail(claimed, reason, now, appointment, message, prefetched)
        else:
            reason = delivery.refused or "every registered device is disabled"
            self._fail(claimed, reason, now, appointment, message, prefetched)
        return "failed"

    def _sent(
        self,
        claimed: Reminder,
        appointment: Appointment,
        now: datetime,
        prefetched: Prefetched | None,
        message: MessageCount | None,
    ) -> str:
        sent = replace(claimed, status=ReminderStatus.SENT, sent_at=now, updated_at=now, last_error=None)
        recorded = self._reminders.finish(
            sent, mark_appointment_reminded=True, appointment=appointment, message=message
        )
        if recorded == "appointment-changed":
            self._replan_after_move(sent, now)
        if prefetched is not None and recorded != "not-sending":
            if message is not None:
                prefetched.counted(message)
            if recorded == "recorded":
                prefetched.reminded(appointment)
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

    def _fail(
        self,
        claimed: Reminder,
        reason: str,
        now: datetime,
        appointment: Appointment,
        message: MessageCount | None = None,
        prefetched: Prefetched | None = None,
    ) -> None:
        failed = replace(claimed, status=ReminderStatus.FAILED, last_error=redact(reason)[:500], updated_at=now)
        recorded = self._reminders.finish(
            failed, mark_appointment_reminded=False, appointment=appointment, message=message
        )
        if prefetched is not None and message is not None and recorded != "not-sending":
            prefetched.counted(message)
