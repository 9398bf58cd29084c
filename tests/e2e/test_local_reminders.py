"""Locally, `make run`'s sweep really fires reminders: the message lands in the outbox and the status is sent."""

from __future__ import annotations

import time

import requests

from tests.e2e.days import free_slots
from tests.e2e.patients import new_patient
from tests.e2e.reminders import make_due


def first_free_slot(base: str, headers: dict[str, str], doctor_id: str) -> tuple[str, str]:
    """The first free slot at least three days ahead, so that its 24h reminder is always planned."""
    day, times = free_slots(base, headers["Authorization"], doctor_id)
    return day, times[0]


def test_a_due_reminder_is_delivered_to_the_outbox(dev_server):
    base, data = dev_server.base, dev_server.data
    headers = new_patient().headers
    # GIVEN a booking with e-mail and SMS reminders
    day, at = first_free_slot(base, headers, "dr-carmen-ruiz")
    booked = requests.post(
        f"{base}/api/appointments",
        headers=headers,
        timeout=10,
        json={
            "doctorId": "dr-carmen-ruiz",
            "date": day,
            "time": at,
            "type": "in-person",
            "reason": "persistent cough",
            "reminderPreferences": {"email": True, "sms": True, "timing": "24h"},
        },
    )
    assert booked.status_code == 201, booked.text
    appointment_id = booked.json()["id"]
    # WHEN one reminder is moved to a moment from now
    make_due(base, f"{appointment_id}_email-24h", headers["Authorization"])
    # THEN within a few sweeps it is sent, and the outbox holds the e-mail, without the visit's reason
    deadline = time.monotonic() + 30
    status = None
    while time.monotonic() < deadline:
        reminders = requests.get(
            f"{base}/api/reminders/appointment/{appointment_id}", headers=headers, timeout=10
        ).json()["reminders"]
        status = {r["type"]: r["status"] for r in reminders}
        if status.get("email") == "sent":
            break
        time.sleep(0.5)
    assert status == {"email": "sent", "sms": "pending"}
    (mail,) = (data / "outbox").glob(f"*-email-{appointment_id}_email-24h.eml")
    text = mail.read_text()
    assert "Reminder: Your appointment with Dr. Carmen Ruiz" in text
    assert "persistent cough" not in text
    assert "text/calendar" in text
