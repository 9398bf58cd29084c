"""Every .ics names exactly the appointment's instants: fall-back hours, half-hour DST and far-future years,
read back with icalendar and with dateutil (pure, no I/O)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from dateutil.parser import isoparse
from icalendar import Calendar

from chalicelib.domain.calendar import appointment_ics, doctor_feed_ics
from tests.helpers import make_appointment

STAMP = datetime(2027, 1, 1, tzinfo=UTC)
CASES = [
    # New York 2027-11-07 01:30 EDT for 60 minutes: ends 01:30 EST (a TZID pair read as zero length)
    ("America/New_York", "2027-11-07", "01:30", datetime(2027, 11, 7, 5, 30, tzinfo=UTC), 60),
    # 00:30 for 120 minutes: ends 01:30 EST, three wall hours later
    ("America/New_York", "2027-11-07", "00:30", datetime(2027, 11, 7, 4, 30, tzinfo=UTC), 120),
    # the second pass of the repeated hour: 01:30 EST
    ("America/New_York", "2027-11-07", "01:30", datetime(2027, 11, 7, 6, 30, tzinfo=UTC), 30),
    # Lord Howe falls back half an hour: 01:00 (+11) for 60 minutes ends 01:30 (+10:30)
    ("Australia/Lord_Howe", "2027-04-04", "01:00", datetime(2027, 4, 3, 14, 0, tzinfo=UTC), 60),
    # beyond 2037, where icalendar's generated VTIMEZONE stops: 2040-07-02 10:00 EDT
    ("America/New_York", "2040-07-02", "10:00", datetime(2040, 7, 2, 14, 0, tzinfo=UTC), 30),
    ("Pacific/Chatham", "2099-12-31", "23:00", datetime(2099, 12, 31, 9, 15, tzinfo=UTC), 45),
]


def appointment(zone: str, day: str, at: str, start: datetime, minutes: int):
    return make_appointment(
        timezone=zone, date=day, time=at, duration=minutes, starts_at=start, ends_at=start + timedelta(minutes=minutes)
    )


@pytest.mark.parametrize(("zone", "day", "at", "start", "minutes"), CASES)
def test_an_appointment_ics_reads_back_as_its_exact_instants(zone, day, at, start, minutes):
    a = appointment(zone, day, at, start, minutes)
    body = appointment_ics(a, STAMP)
    # THEN icalendar reads exactly startsAt and endsAt
    event = Calendar.from_ical(body).walk("VEVENT")[0]
    assert event.decoded("DTSTART") == a.starts_at and event.decoded("DTEND") == a.ends_at
    assert event.decoded("DTEND") - event.decoded("DTSTART") == timedelta(minutes=minutes)
    # AND so does dateutil, from the raw property values, which carry no zone reference to misread
    text = body.decode()
    raw_start = re.search(r"^DTSTART[^:]*:(.+?)\r?$", text, re.M)
    raw_end = re.search(r"^DTEND[^:]*:(.+?)\r?$", text, re.M)
    assert raw_start and raw_end
    assert isoparse(raw_start.group(1)) == a.starts_at and isoparse(raw_end.group(1)) == a.ends_at
    assert "TZID" not in text


def test_a_feed_across_fall_back_and_far_future_keeps_every_instant():
    appointments = [appointment(*case) for case in CASES]
    appointments = [a.__class__(**{**a.__dict__, "id": f"a{i}"}) for i, a in enumerate(appointments)]
    events = Calendar.from_ical(doctor_feed_ics(appointments, STAMP)).walk("VEVENT")
    got = {str(e["DESCRIPTION"]): (e.decoded("DTSTART"), e.decoded("DTEND")) for e in events}
    assert got == {f"Appointment {a.id}": (a.starts_at, a.ends_at) for a in appointments}
