"""The demo clinic `make run` seeds: doctors in three time zones with hours, breaks and holidays."""

from __future__ import annotations

from datetime import date, time

from chalicelib.container import Container
from chalicelib.domain.doctors import Doctor
from chalicelib.domain.schedule import Availability, Break, WallInterval

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday")


def _weekdays(start: time, end: time) -> dict[str, tuple[WallInterval, ...]]:
    return {day: (WallInterval(start, end),) for day in WEEKDAYS}


DEMO_DOCTORS = (
    (
        "dr-ada-smith",
        "Dr. Ada Smith",
        "Cardiology",
        "Boston Heart Center, 12 Main St",
        "America/New_York",
        True,
        "custom",
        Availability(
            _weekdays(time(9), time(17)),
            (Break(time(12), time(13)),),
            frozenset({date(2026, 12, 25), date(2027, 1, 1)}),
            16,
            30,
        ),
    ),
    (
        "dr-bo-lee",
        "Dr. Bo Lee",
        "Dermatology",
        "Praxis Mitte, Friedrichstr. 5, Berlin",
        "Europe/Berlin",
        False,
        None,
        Availability(
            {**_weekdays(time(8), time(16)), "saturday": (WallInterval(time(9), time(12)),)},
            (Break(time(12), time(12, 30)), Break(time(10), time(10, 15), "friday")),
            frozenset({date(2026, 12, 24), date(2026, 12, 25), date(2026, 12, 26)}),
            20,
            20,
        ),
    ),
    (
        "dr-carmen-ruiz",
        "Dr. Carmen Ruiz",
        "Family Medicine",
        "Mission Clinic, 300 Valencia St, San Francisco",
        "America/Los_Angeles",
        True,
        "zoom",
        Availability(
            _weekdays(time(8), time(18)),
            (Break(time(12), time(13)),),
            frozenset({date(2026, 11, 26), date(2026, 12, 25)}),
            24,
            15,
        ),
    ),
)


def seed(wired: Container) -> list[str]:
    """Add the demo doctors that are missing; returns the ids added (re-running seeds nothing twice)."""
    from chalicelib.adapters.dynamodb.doctors import DynamoDoctorRepository
    from chalicelib.adapters.dynamodb.models import bind

    repo = DynamoDoctorRepository(bind(wired.settings))
    added = []
    for doctor_id, name, specialty, location, zone, telehealth, platform, availability in DEMO_DOCTORS:
        if repo.get(doctor_id) is None:
            repo.add(
                Doctor(
                    doctor_id, name, specialty, location, zone, telehealth, wired.clock.now(), platform, availability
                )
            )
            added.append(doctor_id)
    return added
