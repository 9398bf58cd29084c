"""DynamoDB Local decides the anti-hoarding race: a storm of bookings for one patient never passes the limit."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import time

from chalicelib.container import Container
from chalicelib.domain.identity import Caller, Role
from chalicelib.domain.schedule import Availability, WallInterval
from chalicelib.services.booking import ListFilter
from tests.helpers import BOOKING_DAY, booking_outcome, booking_request

DAY = BOOKING_DAY  # the day booking_request books
ADMIN = Caller("admin", Role.ADMIN)
HOARDER = Caller("hoarder", Role.PATIENT, name="H")


def test_forty_concurrent_bookings_for_one_patient_leave_exactly_the_limit(wired: Container):
    # GIVEN a doctor with 48 free quarter-hours that day and a patient of the directory
    hours = {"wednesday": (WallInterval(time(9), time(21)),)}
    av = Availability(working_hours=hours, max_patients_per_day=500, appointment_duration=15)
    doc = wired.doctors.register("Dr. Storm", "GP", "Room", "America/New_York", False, None, av).id
    wired.sign_in.record(HOARDER)
    limit = wired.booking_queries.policy.max_active_bookings
    assert limit == 10

    def attempt(i: int) -> str:
        at = time(9 + i // 4, 15 * (i % 4))
        request = booking_request(doc, at, patient_id="hoarder", duration=15)
        return booking_outcome(wired.booking, ADMIN, request)  # staff, so the one-per-doctor-day rule does not apply

    # WHEN forty bookings for that patient arrive at once
    with ThreadPoolExecutor(max_workers=20) as pool:
        outcomes = list(pool.map(attempt, range(40)))
    # THEN exactly the limit is booked, everything else refused as BOOKING_LIMIT_REACHED
    listed, _ = wired.booking_queries.page_for_patient(ADMIN, "hoarder", ListFilter(), 100, None)
    held = [view.appointment for view in listed if view.appointment.active]
    assert outcomes.count("booked") == len(held) == limit
    assert set(outcomes) == {"booked", "BookingLimitReached"}
    # AND a cancellation frees exactly one place
    wired.booking.cancel(ADMIN, held[0].id)
    assert [attempt(i) for i in (40, 41)] == ["booked", "BookingLimitReached"]
