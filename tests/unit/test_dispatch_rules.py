"""The dispatcher's rules on in-memory fakes (the contract suite shows the fakes keep the DynamoDB adapters'
semantics): a reminder goes out at most once, a lost answer is never resent on its own, the daily cap holds."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from chalicelib.adapters.scheduler import NoScheduler
from chalicelib.domain.appointments import Appointment
from chalicelib.domain.delivery import Delivery, UnknownDeliveryOutcome
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
    """Records what was handed to the provider; `lose` makes the provider take a message and lose the answer."""

    def __init__(self, lose: bool = False) -> None:
        self.sent: list[str] = []
        self.lose = lose
        self._lock = threading.Lock()

    def send(self, reminder: Reminder, appointment: Appointment, push_endpoints) -> Delivery:
        with self._lock:
            self.sent.append(reminder.id)
        if self.lose:
            raise UnknownDeliveryOutcome("read timeout after the request was sent")
        return Delivery(message_id=f"m-{len(self.sent)}")


def dispatcher(sender: Sender, messages_per_day: int = 12):
    patients = InMemoryPatientRepository()
    reminders = InMemoryReminderStore(patients)  # a message is counted with the outcome, on the patient's record
    patients.save_contact(
        PatientProfile(id="p1", email=RECIPIENT.email, phone=RECIPIENT.phone, email_verified=True, phone_verified=True),
        VISIT.created_at,
    )
    reminders.appointment_versions[VISIT.id] = 1
    clock = FixedClock(VISIT.starts_at - timedelta(hours=2))
    planned, _ = plan(VISIT, [Channel.EMAIL, Channel.SMS], ["2h"], RECIPIENT, None, clock.now() - timedelta(days=1))
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
    # WHEN both are dispatched THEN only the first is sent; the second fails naming the limit
    assert (made.dispatch(first.id), made.dispatch(second.id)) == ("sent", "failed")
    assert sender.sent == [first.id]
    assert "limit of 1 messages a day" in (reminders.get(second.id).last_error or "")


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
