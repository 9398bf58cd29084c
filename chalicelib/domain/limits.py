"""Anti-hoarding rules of booking: how far ahead a visit can be booked, and which lengths a patient may choose.
(How many active bookings a patient may hold, and one per doctor-day, are conditions inside the booking's own
transaction, on a set of the patient's counted visits and on a counter: nothing is read for them before it.)"""

from __future__ import annotations

from datetime import datetime, timedelta

from chalicelib.domain.errors import DurationNotOffered, OutsideBookingWindow
from chalicelib.domain.schedule import Availability

DEFAULT_HORIZON_DAYS = 180
DEFAULT_MAX_ACTIVE = 10


def check_horizon(start: datetime, now: datetime, horizon_days: int) -> None:
    """A visit starting more than `horizon_days` after now cannot be booked (nor moved there)."""
    if start > now + timedelta(days=horizon_days):
        raise OutsideBookingWindow(
            f"This doctor can be booked at most {horizon_days} days ahead.", {"bookingHorizonDays": horizon_days}
        )


def check_duration(availability: Availability, minutes: int, by_staff: bool) -> None:
    """A patient books (or moves a visit to) only a length the doctor offers: its default length or one of the
    lengths it lists; staff may book any length (up to the longest a visit may be)."""
    offered = availability.patient_durations
    if not by_staff and minutes not in offered:
        listed = ", ".join(str(m) for m in offered)
        raise DurationNotOffered(
            f"This doctor offers visits of {listed} minutes; a {minutes}-minute visit can be booked by the clinic.",
            {"duration": minutes, "durations": list(offered)},
        )
