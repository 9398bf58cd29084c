"""List pages against DynamoDB Local: Limit and ExclusiveStartKey on the indexes walk every appointment exactly
once, even where several share one start (a time booked, cancelled and booked again)."""

from __future__ import annotations

from datetime import time

from chalicelib.container import Container
from chalicelib.domain.identity import Caller, Role
from chalicelib.domain.schedule import Availability, WallInterval
from chalicelib.domain.timefmt import instant
from chalicelib.services.booking import ListFilter
from tests.helpers import BOOKING_DAY, booking_request

DAY = BOOKING_DAY  # the day booking_request books
ADMIN = Caller("admin", Role.ADMIN)


def walk(page, limit):
    """Every page's ids, following the last item shown as the next page's start."""
    pages, after = [], None
    while True:
        views, more = page(limit, after)
        items = [view.appointment for view in views]
        pages.append([a.id for a in items])
        if not more:
            return pages
        after = (instant(items[-1].starts_at), items[-1].id)


def test_pages_walk_every_appointment_once_even_with_shared_starts(wired: Container):
    # GIVEN a doctor's day where 10:00 was booked and cancelled twice, then booked again, plus 11:00 and 14:00
    hours = {"wednesday": (WallInterval(time(9), time(17)),)}
    doctor_id = wired.doctors.register("Dr. P", "GP", "Room", "America/New_York", False, None, Availability(hours)).id
    wired.sign_in.record(Caller("p1", Role.PATIENT))
    made = []
    for at in (time(10), time(10), time(10), time(11), time(14)):
        made.append(wired.booking.book(ADMIN, booking_request(doctor_id, at)).appointment)
        if len(made) < 3:
            wired.booking.cancel(ADMIN, made[-1].id)
    everything = [a.id for a in wired.booking_queries.list_for_doctor(ADMIN, doctor_id, ListFilter())]
    assert len(everything) == 5

    # WHEN the doctor's and the patient's lists are read one and two at a time
    def doctor_page(limit, after):
        return wired.booking_queries.page_for_doctor(ADMIN, doctor_id, ListFilter(), limit, after)

    def patient_page(limit, after):
        return wired.booking_queries.page_for_patient(ADMIN, "p1", ListFilter(), limit, after)

    # THEN each walk shows every appointment exactly once, in the index's order, and stops at the end
    for page in (doctor_page, patient_page):
        for limit in (1, 2):
            pages = walk(page, limit)
            flat = [i for p in pages for i in p]
            assert sorted(flat) == sorted(everything) and len(flat) == 5
            assert all(len(p) == limit for p in pages[:-1]) and 1 <= len(pages[-1]) <= limit
