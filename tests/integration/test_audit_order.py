"""On DynamoDB Local, with random ids and a clock that does not move: the audit trail lists the changes in
the order they happened (the sort key carries the appointment version each change wrote)."""

from __future__ import annotations

from datetime import time

from chalicelib.container import Container
from chalicelib.domain.appointments import Status
from chalicelib.domain.identity import Caller, Role
from chalicelib.domain.schedule import Availability, WallInterval
from tests.helpers import BOOKING_DAY, booking_request

ADMIN = Caller("admin", Role.ADMIN)
DAY = BOOKING_DAY  # the day booking_request books


def test_changes_at_one_instant_list_in_order(wired: Container):
    hours = {"wednesday": (WallInterval(time(9), time(17)),)}
    doc = wired.doctors.register("Dr. Order", "GP", "Room 1", "America/New_York", False, None, Availability(hours))
    wired.sign_in.record(Caller("p1", Role.PATIENT, name="P One"))  # staff book only patients that exist
    made = wired.booking.book(
        ADMIN,
        booking_request(doc.id),
    ).appointment
    for at in (time(11), time(12, 30), time(14), time(15)):
        wired.booking.reschedule(ADMIN, made.id, DAY, at)
    wired.booking.change_status(ADMIN, made.id, Status.CONFIRMED)
    wired.booking.cancel(ADMIN, made.id)
    trail = wired.booking_queries.audit_trail(made.id)
    assert [(e.action, e.changes.get("time", {}).get("to")) for e in trail] == [
        ("booked", None),
        ("rescheduled", "11:00"),
        ("rescheduled", "12:30"),
        ("rescheduled", "14:00"),
        ("rescheduled", "15:00"),
        ("confirmed", None),
        ("cancelled", None),
    ]
    assert [e.seq for e in trail] == [1, 2, 3, 4, 5, 6, 7]
    assert len({e.at for e in trail}) == 1
