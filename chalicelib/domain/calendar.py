"""An appointment as an iCalendar event (icalendar), with its time zone, place or video notice, and a stable
UID so a reschedule updates the same calendar entry. No reason for the visit, no notes."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from chalicelib.domain.appointments import Appointment, AppointmentType, Status


def appointment_ics(appointment: Appointment, stamp: datetime, sequence: int = 0) -> bytes:
    from icalendar import Calendar, Event

    zone = ZoneInfo(appointment.timezone)
    calendar = Calendar()
    calendar.add("prodid", "-//Clinic Booking//Appointments//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "CANCEL" if appointment.status is Status.CANCELLED else "PUBLISH")
    event = Event()
    event.add("uid", f"{appointment.id}@clinic-booking")
    event.add("dtstamp", stamp)
    event.add("dtstart", appointment.starts_at.astimezone(zone))
    event.add("dtend", appointment.ends_at.astimezone(zone))
    event.add("summary", f"Appointment with {appointment.doctor_name}")
    if appointment.type is AppointmentType.TELEHEALTH:
        event.add("location", "Video visit (secure link in your appointment)")
    else:
        event.add("location", appointment.location)
    event.add("status", "CANCELLED" if appointment.status is Status.CANCELLED else "CONFIRMED")
    event.add("sequence", sequence)
    calendar.add_component(event)
    calendar.add_missing_timezones()
    return bytes(calendar.to_ical())
