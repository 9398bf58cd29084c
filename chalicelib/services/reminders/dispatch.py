"""Delivering one reminder at most once: claim it (reserving one of the patient's messages of the day under the
daily cap, in that same write), read it with its visit and patient, send, record the outcome (giving the message
back in that same write when nothing was sent). The sweep (`sweep`) hands overdue reminders here with what it read
for them in batches."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from chalicelib.domain.appointments import Appointment
from chalicelib.domain.contact import redact
from chalicelib.domain.delivery import Delivery, PermanentDeliveryError, TransientDeliveryError, UnknownDeliveryOutcome
from chalicelib.domain.patients import PatientProfile
from chalicelib.domain.reminders import (
    MAX_ATTEMPTS,
    OUTCOME_UNKNOWN,
    Channel,
    Claim,
    MessageSlot,
    Reminder,
    ReminderStatus,
    appointment_of,
    claimed_from,
    follow,
    matches_appointment,
    message_slot,
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
    appointment's `reminderSent` flag (one worker delivers all of a visit's reminders). The daily message cap
    needs nothing here: each claim reserves its message against the count in the table."""

    appointments: dict[str, Appointment]
    patients: dict[str, PatientProfile]

    def reminded(self, appointment: Appointment) -> None:
        """Flagging `reminderSent` grew the version: the visit's next reminder conditions on it."""
        if appointment.version is not None:
            grown = appointment.version + int(not appointment.reminder_sent)
            self.appointments[appointment.id] = replace(appointment, reminder_sent=True, version=grown)


@dataclass(frozen=True)
class _Ready:
    """What a claimed reminder is sent for, once every check before the send passed."""

    appointment: Appointment
    endpoints: list[str]


class SeparateReads:
    """The reminder, its visit and its patient as three reads, for stores that cannot read them in one call (the
    fakes)."""

    def __init__(self, reminders: ReminderQueue, appointments: AppointmentReader, patients: PatientInbox) -> None:
        self._reminders = reminders
        self._appointments = appointments
        self._patients = patients

    def claimed_visit_and_patient(
        self, reminder_id: str, patient_id: str
    ) -> tuple[Reminder | None, Appointment | None, PatientProfile | None]:
        appointment_id = appointment_of(reminder_id)
        return self._reminders.get(reminder_id), self._appointments.get(appointment_id), self._patients.get(patient_id)


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
        self._reads = reads or SeparateReads(reminders, appointments, patients)
        self._sender = sender
        self._schedules = schedules
        self._clock = clock
        self.sweep_policy = sweep_policy or SweepPolicy()
        self.messages_per_day = messages_per_day

    def dispatch(
        self,
        reminder_id: str,
        prefetched: Prefetched | None = None,
        patient_id: str | None = None,
        seen: Reminder | None = None,
    ) -> str:
        """Deliver one reminder at most once: claim (with one of the patient's messages of the day), read, send,
        record. Returns the outcome.

        `patient_id`: the reminder's patient, as its schedule's input names it (the claim reserves the message
        under that patient's cap; a schedule made before the input named it costs one read of the reminder).
        `seen`: the reminder as the sweep read it; its claim is conditioned on it being unchanged, so no read of
        the reminder follows. `prefetched`: the appointments and patients the sweep read in one batch for the
        chunk this reminder is in (up to a second before the claim). An appointment older than the plan of the
        reminder it claimed is read again; any other change after the batch read is caught when the outcome is
        recorded (conditioned on the version read: a reschedule plans the reminder again for the new time).

        A reminder whose patient's messages of the day are all taken is claimed alone and recorded as before the
        cap became strict: failed at the cap (or cancelled, moved... if that is what it comes to first).

        Whatever raises before the message goes to the provider (the appointment or patient unreadable, a
        store fault) releases the claim and gives back the message: nothing was sent, so the reminder is pending
        again for the next run (failed as not sent after MAX_ATTEMPTS), not left in `sending` for the stuck
        sweep to fail as an unknown outcome."""
        now = self._clock.now()
        if seen is not None:
            patient_id = seen.patient_id
        elif patient_id is None:  # a schedule whose input names the reminder alone
            current = self._reminders.get(reminder_id)
            if current is None:
                return "not-claimed"
            patient_id = current.patient_id
        slot = message_slot(patient_id, now, self.messages_per_day)
        claim = self._reminders.claim_with_message(reminder_id, slot, now, seen)
        if claim is Claim.NOT_CLAIMED:
            return "not-claimed"
        held = slot if claim is Claim.CLAIMED else None
        claimed: Reminder | None = None
        if held is None:
            claimed = self._reminders.claim(reminder_id, now)
            if claimed is None:
                return "not-claimed"
        try:
            if claimed is not None:
                appointment, profile = self._read(claimed, prefetched)
            elif seen is not None and prefetched is not None:
                claimed = claimed_from(seen, now)
                appointment, profile = self._read(claimed, prefetched)
            else:
                claimed, appointment, profile = self._reads.claimed_visit_and_patient(reminder_id, patient_id)
                if claimed is None:  # gone since its claim (nothing deletes a reminder): nothing to send
                    return "not-claimed"
            ready = self._before_send(claimed, appointment, profile, now, prefetched, held)
        except Exception as exc:
            self._release(claimed, reminder_id, now, exc, held)
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
        """The visit and the patient of a reminder already at hand: from the sweep's batch (the visit read again if
        the batch predates the reminder's plan), else in one read."""
        if prefetched is None:
            _, appointment, profile = self._reads.claimed_visit_and_patient(claimed.id, claimed.patient_id)
            return appointment, profile
        appointment = prefetched.appointments.get(claimed.appointment_id)
        if appointment is None or _stale(appointment, claimed):
            appointment = self._appointments.get(claimed.appointment_id)
        return appointment, prefetched.patients.get(claimed.patient_id)

    def _before_send(
        self,
        claimed: Reminder,
        appointment: Appointment | None,
        profile: PatientProfile | None,
        now: datetime,
        prefetched: Prefetched | None,
        held: MessageSlot | None,
    ) -> str | _Ready:
        """Everything up to the send: an outcome when there is nothing to send (its write giving back the `held`
        message), else what to send it for. No `held` message: the patient's cap is reached."""
        if appointment is None or not appointment.active:
            self._reminders.finish(
                replace(
                    claimed,
                    status=ReminderStatus.CANCELLED,
                    updated_at=now,
                    last_error="appointment is no longer active",
                ),
                mark_appointment_reminded=False,
                give_back=held,
            )
            return "cancelled"
        if not matches_appointment(claimed, appointment):
            moved = follow(replace(claimed, status=ReminderStatus.PENDING), appointment, now)
            replaced = self._reminders.replace(moved, ReminderStatus.SENDING, give_back=held)
            if replaced and moved.status is ReminderStatus.PENDING:
                self._schedules.ensure(moved)
            return "moved"
        endpoints: list[str] = []
        if claimed.channel is Channel.PUSH:
            devices = [d.endpoint for d in (profile.devices if profile else [])]
            endpoints = [e for e in devices if e not in claimed.served]  # a retry goes only to those not served
            if devices and not endpoints:
                return self._sent(claimed, appointment, now, prefetched, give_back=held)
        else:
            address = claimed.recipient_phone if claimed.channel is Channel.SMS else claimed.recipient_email
            if profile is None or not profile.verified(address, phone=claimed.channel is Channel.SMS):
                # The patient changed its address since (or never verified it): the old one is not theirs.
                reason = "the address is no longer the patient's verified address"
                self._fail(claimed, reason, now, appointment, give_back=held)
                return "failed"
        if held is None:
            reason = f"the patient's limit of {self.messages_per_day} messages a day is reached"
            self._fail(claimed, reason, now, appointment)
            return "failed"
        return _Ready(appointment, endpoints)

    def _release(
        self, claimed: Reminder | None, reminder_id: str, now: datetime, error: Exception, held: MessageSlot | None
    ) -> None:
        """Give the claim back: pending again, still due (the schedule's retry or the next sweep delivers it),
        this attempt counted; after MAX_ATTEMPTS such tries it is failed as not sent (a reminder that can never
        be prepared does not loop forever; staff may retry it without confirming, nothing went out). Both
        conditioned on `sending`, so an outcome recorded meanwhile stands. If even that write fails, the stuck
        sweep is the last resort. The `held` message goes back in the same write. `claimed` is None when the read
        after the claim failed: the reminder is read once more to be released."""
        try:
            if claimed is None:
                claimed = self._reminders.get(reminder_id)
                if claimed is None or claimed.status is not ReminderStatus.SENDING:
                    return
            if claimed.attempts >= MAX_ATTEMPTS:
                reason = f"not sent: {type(error).__name__} before the send, {claimed.attempts} times"
                failed = replace(claimed, status=ReminderStatus.FAILED, last_error=reason, updated_at=now)
                self._reminders.finish(failed, mark_appointment_reminded=False, give_back=held)
            else:
                self._reminders.replace(
                    replace(claimed, status=ReminderStatus.PENDING, updated_at=now), ReminderStatus.SENDING, held
                )
        except Exception:
            log.exception("reminder %s: nothing was sent, and its claim could not be released", reminder_id)

    def _send(self, claimed: Reminder, ready: _Ready, now: datetime, prefetched: Prefetched | None) -> str:
        """Hand the message to the provider and record what came of it. The reserved message stays taken whatever
        comes of the hand-over (sent, failed, unknown, or throttled and tried again later), as it always did."""
        appointment = ready.appointment
        try:
            delivery = self._sender.send(claimed, appointment, ready.endpoints)
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
            return self._sent(claimed, appointment, now, prefetched)
        return self._push_outcome(claimed, delivery, appointment, now, prefetched)

    def _push_outcome(
        self,
        claimed: Reminder,
        delivery: Delivery,
        appointment: Appointment,
        now: datetime,
        prefetched: Prefetched | None,
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
            return self._sent(claimed, appointment, now, prefetched)
        if claimed.unknown_devices:
            reason = f"{OUTCOME_UNKNOWN} (push to {len(claimed.unknown_devices)} device(s))"
            self._fail(claimed, reason, now, appointment)
        else:
            self._fail(claimed, delivery.refused or "every registered device is disabled", now, appointment)
        return "failed"

    def _sent(
        self,
        claimed: Reminder,
        appointment: Appointment,
        now: datetime,
        prefetched: Prefetched | None,
        give_back: MessageSlot | None = None,
    ) -> str:
        sent = replace(claimed, status=ReminderStatus.SENT, sent_at=now, updated_at=now, last_error=None)
        recorded = self._reminders.finish(
            sent, mark_appointment_reminded=True, appointment=appointment, give_back=give_back
        )
        if recorded == "appointment-changed":
            self._replan_after_move(sent, now)
        if prefetched is not None and recorded == "recorded":
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
        give_back: MessageSlot | None = None,
    ) -> None:
        failed = replace(claimed, status=ReminderStatus.FAILED, last_error=redact(reason)[:500], updated_at=now)
        self._reminders.finish(failed, mark_appointment_reminded=False, appointment=appointment, give_back=give_back)
