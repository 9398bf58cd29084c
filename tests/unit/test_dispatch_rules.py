"""The dispatcher's rules on in-memory fakes (the contract suite shows the fakes keep the DynamoDB adapters'
semantics): a reminder goes out at most once, a lost answer is never resent on its own, the daily cap holds."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import timedelta

from chalicelib.adapters.scheduler import NoScheduler
from chalicelib.domain.appointments import Appointment
from chalicelib.domain.delivery import Delivery, PermanentDeliveryError, TransientDeliveryError, UnknownDeliveryOutcome
from chalicelib.domain.patients import PatientProfile
from chalicelib.domain.reminders import Channel, Recipient, Reminder, ReminderStatus, plan
from chalicelib.services.reminders.dispatch import ReminderDispatcher
from chalicelib.services.reminders.schedules import ReminderSchedules
from chalicelib.services.reminders.sweep import SweepPolicy
from tests.fakes.memory import InMemoryPatientRepository, InMemoryReminderStore
from tests.helpers import FixedClock, make_appointment

VISIT = make_appointment(id="appt-1", patient_id="p1", version=1)
RECIPIENT = Recipient(email="pat@example.org", phone="+16175550123")


class Appointments:
    def __init__(self, *known: Appointment) -> None:
        self.by_id = {a.id: a for a in known}

    def get(self, appointment_id: str) -> Appointment | None:
        return self.by_id.get(appointment_id)

    def get_many(self, appointment_ids):
        return {i: self.by_id[i] for i in appointment_ids if i in self.by_id}


class Sender:
    """Records what was handed to the provider; `lose` makes the provider take a message and lose the answer,
    `refuse` has it answer with that error (once each, in turn)."""

    def __init__(self, lose: bool = False, refuse: list[Exception] | None = None) -> None:
        self.sent: list[str] = []
        self.lose = lose
        self.refuse = list(refuse or [])
        self._lock = threading.Lock()

    def send(self, reminder: Reminder, appointment: Appointment, push_endpoints) -> Delivery:
        with self._lock:
            self.sent.append(reminder.id)
            refused = self.refuse.pop(0) if self.refuse else None
        if self.lose:
            raise UnknownDeliveryOutcome("read timeout after the request was sent")
        if refused is not None:
            raise refused
        return Delivery(message_id=f"m-{len(self.sent)}")


def dispatcher(sender: Sender, messages_per_day: int = 12, timings: tuple[str, ...] = ("2h",), email_verified=True):
    patients = InMemoryPatientRepository()
    reminders = InMemoryReminderStore()
    patients.save_contact(
        PatientProfile(
            id="p1", email=RECIPIENT.email, phone=RECIPIENT.phone, email_verified=email_verified, phone_verified=True
        ),
        VISIT.created_at,
    )
    reminders.appointment_versions[VISIT.id] = 1
    clock = FixedClock(VISIT.starts_at - timedelta(hours=2))
    planned, _ = plan(
        VISIT, [Channel.EMAIL, Channel.SMS], list(timings), RECIPIENT, None, clock.now() - timedelta(days=1)
    )
    planned = [replace(r, scheduled_time=min(r.scheduled_time, clock.now())) for r in planned]  # all due now
    reminders.add(planned)
    made = ReminderDispatcher(
        reminders,
        Appointments(VISIT),
        patients,
        sender,
        ReminderSchedules(NoScheduler(), reminders),
        clock,
        messages_per_day=messages_per_day,
    )
    return made, reminders, planned


def test_racing_dispatches_of_one_reminder_send_it_once():
    # GIVEN a due e-mail reminder WHEN its schedule fires eight times at once (at-least-once invocations)
    sender = Sender()
    made, reminders, planned = dispatcher(sender)
    email = next(r for r in planned if r.channel is Channel.EMAIL)
    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(lambda _: made.dispatch(email.id), range(8)))
    # THEN one message went out, the others found it claimed, and the appointment is flagged reminded once
    assert sender.sent == [email.id]
    assert sorted(outcomes) == ["not-claimed"] * 7 + ["sent"]
    assert reminders.get(email.id).status is ReminderStatus.SENT
    assert reminders.reminded == {VISIT.id}


def test_a_lost_answer_is_failed_as_unknown_and_never_resent_on_its_own():
    # GIVEN a provider that takes the message and loses its answer
    sender = Sender(lose=True)
    made, reminders, planned = dispatcher(sender)
    sms = next(r for r in planned if r.channel is Channel.SMS)
    # WHEN it is dispatched, and its schedule fires again
    assert made.dispatch(sms.id) == "failed"
    assert made.dispatch(sms.id) == "not-claimed"
    # THEN it was handed over once and is failed with an unknown outcome (staff decide whether to resend)
    assert sender.sent == [sms.id]
    assert reminders.get(sms.id).outcome_unknown


def test_the_daily_message_cap_fails_the_reminder_past_it():
    # GIVEN a cap of one message a day and two due reminders of the same patient
    sender = Sender()
    made, reminders, planned = dispatcher(sender, messages_per_day=1)
    first, second = planned
    # WHEN both are dispatched THEN only the first is sent; the second fails naming the limit, its attempt counted
    assert (made.dispatch(first.id), made.dispatch(second.id)) == ("sent", "failed")
    assert sender.sent == [first.id]
    assert "limit of 1 messages a day" in (reminders.get(second.id).last_error or "")
    assert (reminders.get(second.id).status, reminders.get(second.id).attempts) == (ReminderStatus.FAILED, 1)


def test_racing_dispatches_of_one_patients_reminders_send_no_more_than_the_cap():
    # GIVEN eight due reminders of one patient (two channels, four timings) and a cap of six messages a day
    sender = Sender()
    made, _reminders, planned = dispatcher(sender, messages_per_day=6, timings=("24h", "2h", "30m", "15m"))
    assert len(planned) == 8
    # WHEN all are dispatched at once
    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(lambda r: made.dispatch(r.id, patient_id="p1"), planned))
    # THEN six went out and two failed at the limit
    assert len(sender.sent) == 6
    assert sorted(outcomes) == ["failed"] * 2 + ["sent"] * 6


def test_a_reminder_that_sends_nothing_gives_its_message_back():
    # GIVEN a cap of one message a day, a due e-mail reminder to an address no longer verified and a due SMS
    sender = Sender()
    made, _reminders, planned = dispatcher(sender, messages_per_day=1, email_verified=False)
    email, sms = sorted(planned, key=lambda r: r.channel is Channel.SMS)
    # WHEN the e-mail one is dispatched (failed: nothing sent), then the SMS one
    assert made.dispatch(email.id) == "failed"
    # THEN the SMS one gets the day's one message: the e-mail's claim gave it back with its outcome
    assert made.dispatch(sms.id) == "sent"
    assert sender.sent == [sms.id]


def test_a_send_that_reached_the_provider_keeps_its_message_whatever_came_of_it():
    # GIVEN a cap of two messages a day and three due reminders of one patient; the provider refuses the first for
    # good and throttles the second
    refusals: list[Exception] = [PermanentDeliveryError("address rejected"), TransientDeliveryError("throttled")]
    sender = Sender(refuse=refusals)
    made, reminders, planned = dispatcher(sender, messages_per_day=2, timings=("24h", "2h"))
    first, second, third = planned[:3]
    # WHEN the three are dispatched
    outcomes = [made.dispatch(first.id), made.dispatch(second.id), made.dispatch(third.id)]
    # THEN the failed and the throttled sends each kept their message (as the cap always counted them): the third
    # fails at the limit, nothing handed over
    assert outcomes == ["failed", "retry-later", "failed"]
    assert sender.sent == [first.id, second.id]
    assert "limit of 2 messages a day" in (reminders.get(third.id).last_error or "")


def test_a_schedule_that_names_the_reminder_alone_still_reserves_the_patients_message():
    # GIVEN a cap of one message a day and two due reminders, fired by schedules whose input names no patient
    sender = Sender()
    made, _reminders, planned = dispatcher(sender, messages_per_day=1)
    first, second = planned
    # WHEN both are dispatched THEN the first is sent and the second fails at the limit
    assert (made.dispatch(first.id), made.dispatch(second.id)) == ("sent", "failed")
    assert sender.sent == [first.id]


def test_the_sweep_keeps_the_daily_cap_across_the_reminders_it_read_in_one_batch():
    # GIVEN a cap of one message a day and two overdue reminders of the same patient, read in one batch
    sender = Sender()
    made, reminders, planned = dispatcher(sender, messages_per_day=1)
    made.sweep_policy = SweepPolicy(grace=timedelta(0))
    # WHEN the sweep delivers them THEN the second sees the first counted: one is sent, one fails naming the limit
    report = made.sweep()
    assert report.delivered == {"sent": 1, "failed": 1}
    assert len(sender.sent) == 1
    failed = next(r for r in planned if r.id not in sender.sent)
    assert "limit of 1 messages a day" in (reminders.get(failed.id).last_error or "")


def test_a_schedule_input_naming_another_patient_claims_nothing():
    # GIVEN a due reminder of patient p1 WHEN a schedule's input names another patient with it
    sender = Sender()
    made, reminders, planned = dispatcher(sender)
    # THEN it is not claimed (no message reserved under the other's cap, nothing read of the other, nothing sent)
    assert made.dispatch(planned[0].id, patient_id="p2") == "not-claimed"
    assert sender.sent == [] and reminders.get(planned[0].id).status is ReminderStatus.PENDING
