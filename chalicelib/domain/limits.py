"""Anti-hoarding rules of booking: how far ahead a visit can be booked. (How many active bookings a patient
may hold, and one per doctor-day, are enforced by the booking transaction's conditional items.)"""

from __future__ import annotations

from datetime import datetime, timedelta

from chalicelib.domain.errors import OutsideBookingWindow

DEFAULT_HORIZON_DAYS = 180
DEFAULT_MAX_ACTIVE = 10


def check_horizon(start: datetime, now: datetime, horizon_days: int) -> None:
    """A visit starting more than `horizon_days` after now cannot be booked (nor moved there)."""
    if start > now + timedelta(days=horizon_days):
        raise OutsideBookingWindow(
            f"This doctor can be booked at most {horizon_days} days ahead.", {"bookingHorizonDays": horizon_days}
        )
