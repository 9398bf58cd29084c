"""Two (or twenty) dispatchers racing on the same reminder against DynamoDB Local: one message."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date, time, timedelta

from chalicelib.container import Container
from chalicelib.domain.appointments import AppointmentType
from chalicelib.domain.delivery import Delivery
from chalicelib.domain.reminders import ReminderPreferences
from chalicelib.domain.schedule import Availability, WallInterval
from chalicelib.services.booking import BookingRequest
from tests.helpers import VERIFIED_PATIENT
from tests.integration.dispatchers import dispatcher_on

PATIENT = VERIFIED_PATIENT


class CountingDeliverer:
    def __init__(self) -> None:
        self.sent: list[str] = []
        self._lock = threading.Lock()

    def send(self, reminder, appointment, push_endpoints) -> Delivery:
        with self._lock:
            self.sent.append(reminder.id)
        return Delivery(f"m-{len(self.sent)}")

    def register_device(self, patient_id, platform, token) -> str:
        return "unused"


def test_racing_dispatchers_and_sweeps_deliver_once(wired: Container, clock):
    hours = {"wednesday": (WallInterval(time(9), time(17)),)}
    doc = wired.doctors.register("Dr. R", "GP", "Room", "America/New_York", False, None, Availability(hours)).id
    deliverer = CountingDeliverer()
    service, _ = dispatcher_on(wired, deliverer, clock)
    appointment = wired.booking.book(
        PATIENT,
        BookingRequest(
            doc,
            date(2026, 12, 2),
            time(10),
            AppointmentType.IN_PERSON,
            "r",
            reminder_preferences=ReminderPreferences.of_stored({"email": True, "sms": True, "timing": "24h"}),
        ),
    ).appointment
    clock.current = appointment.starts_at - timedelta(hours=24) + timedelta(minutes=2)  # overdue for the sweep
    email_id = f"{appointment.id}_email-24h"

    def race(n: int) -> str:
        return service.dispatch(email_id) if n % 2 else str(service.sweep().delivered)

    with ThreadPoolExecutor(max_workers=20) as pool:
        list(pool.map(race, range(20)))
    assert deliverer.sent.count(email_id) == 1
    assert sorted(deliverer.sent) == sorted([email_id, f"{appointment.id}_sms-24h"])
    assert {r.status.value for r in wired.reminders.for_appointment(PATIENT, appointment.id)} == {"sent"}
