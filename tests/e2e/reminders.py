"""Making a planned reminder due now, against the dev server's real sweep."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import requests

from chalicelib.domain.reminders import appointment_of


def make_due(base: str, reminder_id: str, token: str, attempts: int = 5) -> None:
    """Moves the reminder to two seconds from now. The API refuses a moment already past, which a busy machine can
    reach before the request lands, so a refused move is tried again with a fresh moment."""
    for _ in range(attempts):
        soon = (datetime.now(UTC) + timedelta(seconds=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
        moved = requests.put(
            f"{base}/api/reminders/{reminder_id}",
            headers={"Authorization": token, "Content-Type": "application/json"},
            json={"scheduledTime": soon},
            timeout=10,
        )
        if moved.status_code == 200:
            return
        if moved.status_code != 400:
            break
    raise AssertionError(f"the reminder could not be made due: {moved.status_code} {moved.text}")


def wait_for_status(base: str, reminder_id: str, token: str, status: str, timeout: float = 30.0) -> None:
    """Waits until the sweep has moved the reminder to `status`, asking the API (pages then show it as they load,
    instead of at their next periodic refresh)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        listed = requests.get(
            f"{base}/api/reminders/appointment/{appointment_of(reminder_id)}",
            headers={"Authorization": token},
            timeout=10,
        )
        if any(r["id"] == reminder_id and r["status"] == status for r in listed.json().get("reminders", [])):
            return
        time.sleep(0.3)
    raise AssertionError(f"the reminder {reminder_id} did not become {status} in time")
