"""The daily message cap under concurrency, on DynamoDB Local: dispatches of one patient's reminders at the same
moment never send more than the cap (each claim reserves one of the patient's messages of the day)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date, time, timedelta

from chalicelib.container import Container
from chalicelib.domain.appointments import AppointmentType
from chalicelib.domain.delivery import Delivery
from chalicelib.domain.reminders import ReminderPreferences, ReminderStatus
from chalicelib.domain.schedule import Availability, WallInterval
from chalicelib.services.booking import BookingRequest
from tests.helpers import VERIFIED_PATIENT
from tests.integration.dispatchers import dispatcher_on

VISITS = 4
REMINDERS = 2 * VISITS
"""An e-mail and an SMS reminder per visit."""
CAP = REMINDERS - 2


class GatedDeliverer:
    """Holds every send until all the racing dispatches could have reached the provider (or a second passed): each
    dispatch's checks before the send are done while none has been recorded yet, the widest window a cap checked
    against a count read before the send would let through."""

    def __init__(self, expected: int) -> None:
        self.sent: list[str] = []
        self._lock = threading.Lock()
        self._expected = expected
        self._all_in = threading.Event()

    def send(self, reminder, appointment, push_endpoints) -> Delivery:
        with self._lock:
            self.sent.append(reminder.id)
            if len(self.sent) >= self._expected:
                self._all_in.set()
        self._all_in.wait(timeout=1.0)
        return Delivery(f"m-{reminder.id}")

    def register_device(self, patient_id, platform, token) -> str:
        return "unused"


def test_racing_dispatches_of_one_patients_reminders_send_exactly_the_cap(wired: Container, clock):
    # GIVEN a patient with four visits on one day (each with an e-mail and an SMS reminder at 24 h: eight reminders,
    # all due at once) and a cap of six messages a day
    hours = {"wednesday": (WallInterval(time(8), time(17)),)}
    booked = []
    for n in range(VISITS):
        doc = wired.doctors.register(f"Dr. {n}", "GP", "Room", "America/New_York", False, None, Availability(hours))
        request = BookingRequest(
            doc.id,
            date(2026, 12, 2),
            time(9 + n),
            AppointmentType.IN_PERSON,
            "r",
            reminder_preferences=ReminderPreferences.of_stored({"email": True, "sms": True, "timing": "24h"}),
        )
        booked.append(wired.booking.book(VERIFIED_PATIENT, request).appointment)
    clock.current = max(a.starts_at for a in booked) - timedelta(hours=24) + timedelta(seconds=30)
    deliverer = GatedDeliverer(REMINDERS)
    service, store = dispatcher_on(wired, deliverer, clock, messages_per_day=CAP, store_reads=True)
    due = [(f"{a.id}_{channel}-24h", a.patient_id) for a in booked for channel in ("email", "sms")]
    assert len(due) == REMINDERS
    # WHEN each reminder's schedule fires at the same moment (its input naming the reminder and its patient)
    with ThreadPoolExecutor(max_workers=REMINDERS) as pool:
        outcomes = list(pool.map(lambda job: service.dispatch(job[0], patient_id=job[1]), due))
    # THEN exactly the cap went out; the other two failed naming the limit, nothing handed over for them
    assert len(deliverer.sent) == CAP, deliverer.sent
    assert sorted(outcomes) == ["failed"] * (REMINDERS - CAP) + ["sent"] * CAP
    refused = [r for rid, _ in due if rid not in deliverer.sent and (r := store.get(rid)) is not None]
    assert [r.status for r in refused] == [ReminderStatus.FAILED] * (REMINDERS - CAP)
    assert all(f"limit of {CAP} messages a day" in (r.last_error or "") for r in refused)
