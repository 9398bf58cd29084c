"""An appointment as an iCalendar event (icalendar), with its place or video notice and a stable UID so a
reschedule updates the same calendar entry. No reason for the visit, no notes.

DTSTART and DTEND are written as UTC instants (`...Z`): exact for any instant in any year. A local time with a
TZID cannot name the second pass of a fall-back hour (RFC 5545 reads it as the first), which made end times
in that hour ambiguous, and icalendar's generated VTIMEZONE covers only 1970-2037. Calendar apps show UTC
times in the reader's own zone."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from chalicelib.domain.appointments import Appointment, AppointmentType, Status
from chalicelib.domain.language import DEFAULT, supported, t

ORGANIZER_EMAIL = "appointments@clinic.example"


def _event(appointment: Appointment, stamp: datetime, summary: str, location: str, language: str = DEFAULT) -> Any:
    from icalendar import Event, vCalAddress

    event = Event()
    event.add("uid", f"{appointment.id}@clinic-booking")
    event.add("dtstamp", stamp)
    event.add("dtstart", appointment.starts_at.astimezone(UTC))
    event.add("dtend", appointment.ends_at.astimezone(UTC))
    event.add("summary", summary, parameters={"LANGUAGE": language})
    event.add("location", location, parameters={"LANGUAGE": language})
    organizer = vCalAddress(f"mailto:{ORGANIZER_EMAIL}")
    organizer.params["cn"] = appointment.doctor_name
    event.add("organizer", organizer)
    if appointment.type is AppointmentType.TELEHEALTH and appointment.telehealth_url:
        event.add("url", appointment.telehealth_url)  # the room page; joining still needs the signed link
    event.add("status", "CANCELLED" if appointment.status is Status.CANCELLED else "CONFIRMED")
    # every change writes a new version of the appointment: calendars replace the entry with the same UID
    event.add("sequence", max((appointment.version or 1) - 1, 0))
    return event


def _calendar(method: str, events: list[Any]) -> bytes:
    from icalendar import Calendar

    calendar = Calendar()
    calendar.add("prodid", "-//Clinic Booking//Appointments//EN")
    calendar.add("version", "2.0")
    calendar.add("method", method)
    for event in events:
        calendar.add_component(event)
    return bytes(calendar.to_ical())


def appointment_ics(appointment: Appointment, stamp: datetime, language: str = DEFAULT) -> bytes:
    """For the patient, in its language: the doctor and the place (or the video notice) and what to do; a cancel
    removes the entry."""
    language = supported(language) or DEFAULT
    video = appointment.type is AppointmentType.TELEHEALTH
    location = t(language, "Video visit (secure link in your appointment)") if video else appointment.location
    summary = t(language, "Appointment with %(doctor)s", doctor=appointment.doctor_name)
    event = _event(appointment, stamp, summary, location, language)
    description = (
        t(language, "Join with the secure link in your appointment, from 15 minutes before.")
        if video
        else t(language, "Please arrive 10 minutes early.")
    )
    event.add("description", description, parameters={"LANGUAGE": language})
    return _calendar("CANCEL" if appointment.status is Status.CANCELLED else "PUBLISH", [event])


def doctor_feed_ics(appointments: list[Appointment], stamp: datetime) -> bytes:
    """A doctor's subscribable feed: time, type and an appointment reference only (no health detail, no name)."""
    events = []
    for appointment in appointments:
        kind = "Video visit" if appointment.type is AppointmentType.TELEHEALTH else "In-person visit"
        event = _event(appointment, stamp, kind, "Telehealth" if kind == "Video visit" else appointment.location)
        event.add("description", f"Appointment {appointment.id}")
        events.append(event)
    return _calendar("PUBLISH", events)
