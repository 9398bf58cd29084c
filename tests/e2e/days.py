"""Days for end-to-end bookings, chosen so that no test depends on the time of day or the date.

The dev server runs on the machine's real clock, so a test cannot fix "now". Instead every booking lies at least
`MIN_DAYS_AHEAD` local days ahead: then every reminder timing (24h included) is still in the future when it is
planned, whatever the hour in UTC or in the doctor's zone, and the change windows are open.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

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
