"""`make run`'s own CalDAV server: Radicale, holding the demo doctor's own calendar (a hospital round on weekdays,
13:00-14:00 New York time), connected to Dr. Ada Smith at start-up, so her 13:00 and 13:30 slots are taken on every
working day; and its port is checked with the others before anything starts.

The day is a weekday about 150 days ahead (inside her 180-day horizon, clear of her holidays), which no other test
books, so nothing depends on the date, the time of day or another test.
"""

from __future__ import annotations

import socket
from datetime import UTC, date, datetime, timedelta

import requests

from infra.local import dev_server as dev
from infra.local.caldav_local import DEMO_DOCTOR
from infra.local.dynamodb_local import free_port
from infra.local.tokens import demo_tokens
from tests.e2e.patients import new_patient

TOKENS = demo_tokens()
HOLIDAYS = {date(2026, 12, 25), date(2027, 1, 1)}


def far_weekday(ahead: int = 150) -> str:
    day = datetime.now(UTC).date() + timedelta(days=ahead)
    while day.weekday() >= 5 or day in HOLIDAYS:
        day += timedelta(days=1)
    return day.isoformat()


def test_the_demo_doctors_own_calendar_is_connected_and_its_busy_time_takes_her_slots(dev_server):
    base = dev_server.base
    admin = {"Authorization": TOKENS["admin"]}
    # GIVEN make run started (the fixture waits for "Ready:", printed once the demo calendar is connected)
    listed = requests.get(f"{base}/api/admin/doctors/{DEMO_DOCTOR}/calendars", headers=admin, timeout=30)
    assert listed.status_code == 200, listed.text
    [calendar] = [c for c in listed.json()["calendars"] if c["kind"] == "caldav"]
    # THEN it is a healthy CalDAV connection with busy times up to her horizon, its password nowhere in the answer
    assert calendar["state"] == "active", calendar.get("lastError")
    assert calendar["url"].startswith("http://127.0.0.1:") and "lastSyncAt" in calendar
    assert calendar["busyIntervals"] > 100  # weekdays over the 180-day window
    assert "password" not in calendar
    log = (dev_server.data / "server.log").read_text()
    assert "Dr. Ada Smith's own calendar (CalDAV, Radicale)" in log
    # AND on a working day the hospital round's slots are taken, the ones around it free
    day = far_weekday()
    answer = requests.get(
        f"{base}/api/appointments/availability/{DEMO_DOCTOR}/{day}",
        headers={"Authorization": TOKENS["patient"]},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    free = {s["time"]: s["available"] for s in answer.json()["slots"]}
    assert free["13:00"] is False and free["13:30"] is False
    assert free["11:30"] is True and free["14:00"] is True
    # AND a patient cannot book it
    patient = new_patient("Pat Round", email=None, phone=None)
    booked = requests.post(
        f"{base}/api/appointments",
        json={"doctorId": DEMO_DOCTOR, "date": day, "time": "13:00", "type": "in-person", "reason": "check-up"},
        headers={"Authorization": patient.token},
        timeout=30,
    )
    assert booked.status_code == 409, booked.text
    assert booked.json()["error"]["code"] == "SLOT_UNAVAILABLE"


def test_a_taken_caldav_port_is_refused_before_anything_starts(tmp_path, capsys):
    # GIVEN something listening on the port asked for Radicale
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        # WHEN make run's server is started with it
        code = dev.main(
            [
                "--port",
                str(free_port()),
                "--dynamodb-port",
                str(free_port()),
                "--ws-port",
                str(free_port()),
                "--caldav-port",
                str(port),
                "--data-dir",
                str(tmp_path / "data"),
            ]
        )
    # THEN it stops at once, naming the variable that moves it, having made nothing
    assert code == 1
    assert (
        f"port {port} is already in use (another `make run`?): set CALDAV_PORT=<a free port>."
        in capsys.readouterr().err
    )
    assert not (tmp_path / "data").exists()
