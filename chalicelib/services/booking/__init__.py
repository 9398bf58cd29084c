"""Booking: the commands that change visits and holds (commands.py) apart from the reads (queries.py), what both
take and give (values.py), whom a booking is for (patients.py) and how lapsed holds are released (lapse.py)."""

from __future__ import annotations

from chalicelib.services.booking.values import (
    AppointmentView,
    BookingRequest,
    DayAvailability,
    HoldBooking,
    HoldMover,
    HoldRequest,
    ListFilter,
    Policy,
)

__all__ = [
    "AppointmentView",
    "BookingRequest",
    "DayAvailability",
    "HoldBooking",
    "HoldMover",
    "HoldRequest",
    "ListFilter",
    "Policy",
]
