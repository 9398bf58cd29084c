"""Days for end-to-end bookings, chosen so that no test depends on the time of day or the date.

The dev server runs on the machine's real clock, so a test cannot fix "now". Instead every booking lies at least
`MIN_DAYS_AHEAD` local days ahead: then every reminder timing (24h included) is still in the future when it is
planned, whatever the hour in UTC or in the doctor's zone, and the change windows are open.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import requests

MIN_DAYS_AHEAD = 3
SEARCH_DAYS = 21


def free_slots(base: str, token: str, doctor_id: str, *, at_least: int = 1) -> tuple[str, list[str]]:
    """The first day at least `MIN_DAYS_AHEAD` days ahead with `at_least` free slots, and its free times."""
    today = datetime.now(UTC).date()
    for ahead in range(MIN_DAYS_AHEAD, MIN_DAYS_AHEAD + SEARCH_DAYS):
        day = (today + timedelta(days=ahead)).isoformat()
        answer = requests.get(
            f"{base}/api/appointments/availability/{doctor_id}/{day}?onlyAvailable=true",
            headers={"Authorization": token},
            timeout=10,
        )
        answer.raise_for_status()
        times = [slot["time"] for slot in answer.json()["slots"]]
        if len(times) >= at_least:
            return day, times
    raise AssertionError(f"no day with {at_least} free slots for {doctor_id} in {SEARCH_DAYS} days")


FALL_BACK_ZONE = "Australia/Sydney"


def fall_back_sunday(min_ahead: int = 60) -> str:
    """The next first Sunday of April at least `min_ahead` days ahead: Sydney's clocks go back from 03:00 AEDT to
    02:00 AEST that night, so 02:00-02:59 happens twice (always within a 730-day booking horizon)."""
    today = datetime.now(UTC).date()
    year = today.year
    while True:
        first = date(year, 4, 1)
        sunday = first + timedelta(days=(6 - first.weekday()) % 7)
        if (sunday - today).days >= min_ahead:
            return sunday.isoformat()
        year += 1


def fall_back_doctor(base: str, admin_token: str, label: str) -> dict:
    """A doctor of the calling test's own in Sydney who works Sunday nights 01:00-04:00 in 30-minute visits."""
    headers = {"Authorization": admin_token, "Content-Type": "application/json"}
    made = requests.post(
        f"{base}/api/admin/doctors",
        json={
            "name": f"Dr. {label} {uuid.uuid4().hex[:4]}",
            "specialty": "Sleep Medicine",
            "location": "Harbour Clinic",
            "timezone": FALL_BACK_ZONE,
            "telehealth": False,
        },
        headers=headers,
        timeout=30,
    )
    assert made.status_code == 201, made.text
    doctor = made.json()
    availability: dict[str, Any] = {
        "workingHours": {"sunday": [{"start": "01:00", "end": "04:00"}]},
        "appointmentDuration": 30,
        "maxPatientsPerDay": 20,
        "bookingHorizonDays": 730,
    }
    saved = requests.put(
        f"{base}/api/admin/doctors/{doctor['id']}/availability",
        json=availability,
        headers=headers,
        timeout=30,
    )
    assert saved.status_code == 200, saved.text
    return doctor


def both_passes(base: str, token: str, doctor_id: str, day: str, at: str) -> tuple[str, str]:
    """The two instants the repeated local time `at` names that night, earlier first (as the API offers them)."""
    answer = requests.get(
        f"{base}/api/appointments/availability/{doctor_id}/{day}", headers={"Authorization": token}, timeout=10
    )
    answer.raise_for_status()
    first, second = sorted(s["startsAt"] for s in answer.json()["slots"] if s["time"] == at)
    return first, second
