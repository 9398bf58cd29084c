"""The console's Waitlist view in a real headless Chromium against `make run`'s server: a patient joins a doctor's
waitlist through the API, the view lists the entry (waiting, in order), staff offer it a free time of the day by
hand, and the entry then shows `offered` with the time left to answer; axe-core finds nothing at 360 and 1280 px.

Each test makes its own doctor and patient, on next week's Wednesday in the doctor's zone (3 to 9 days ahead), so
nothing depends on the time of day or on another test.
"""

from __future__ import annotations

from typing import Any

import pytest
import requests

from tests.e2e.browsers import axe_violations
from tests.e2e.patients import new_patient
from tests.e2e.test_console import new_doctor, next_wednesday, open_console


def join(base: str, doctor_id: str, day: str):
    waiting = new_patient("Wanda Console")
    body: dict[str, Any] = {
        "doctorId": doctor_id,
        "from": day,
        "to": day,
        "type": "in-person",
        "notify": {"email": True},
    }
    made = requests.post(f"{base}/api/waitlist", headers=waiting.headers, json=body, timeout=30)
    assert made.status_code == 201, made.text
    return waiting, made.json()


def show_waitlist(page, doctor_id: str, day: str) -> None:
    if page.viewport_size["width"] < 640:
        page.get_by_role("link", name="Waitlist", exact=True).click()
    page.locator("#waitlist-doctor").select_option(doctor_id)
    page.locator("#waitlist-day").fill(day)
    page.get_by_role("button", name="Show entries", exact=True).click()


@pytest.mark.parametrize("width", [1280, 360])
def test_staff_see_a_waiting_entry_and_offer_it_a_time_by_hand(dev_server, browser, width):
    base = dev_server.base
    doctor = new_doctor(base, f"Queue {width}")  # no "list" in it: other tests find "List" by part
    day = next_wednesday()
    # GIVEN a patient who joined the doctor's waitlist for that day through the API
    waiting, entry = join(base, doctor["id"], day)
    page = open_console(browser, base, width=width)
    # WHEN staff open the Waitlist view for that doctor and day
    show_waitlist(page, doctor["id"], day)
    row = page.locator(f"#waitlist-entries li[data-entry='{entry['id']}']")
    row.wait_for()
    # THEN the entry is listed first, waiting, with the refill figures of the week
    assert row.locator(".entry-status").inner_text() == "waiting"
    assert f"1. Patient {waiting.sub}" in row.inner_text()
    page.locator("#waitlist-analytics dl").wait_for()
    assert axe_violations(page) == [], (width, "waiting")
    # WHEN they offer it a free time of the day by hand
    row.get_by_role("button", name=f"Offer a time to Patient {waiting.sub}").click()
    page.locator("#waitlist-offer-time option[value='10:00']").wait_for(state="attached")
    page.locator("#waitlist-offer-time").select_option("10:00")
    assert axe_violations(page) == [], (width, "offer form")
    page.get_by_role("button", name="Offer this time").click()
    # THEN the entry shows offered, with the time and the time left to answer
    page.locator(f"#waitlist-entries li[data-entry='{entry['id']}'] .entry-status[data-status='offered']").wait_for()
    assert row.locator(".entry-status").inner_text() == "offered"
    assert f"Offered {day} at 10:00" in row.inner_text() and "left to answer" in row.inner_text()
    # AND the patient's entry is offered that time, held for them
    got = requests.get(f"{base}/api/waitlist/{entry['id']}", headers=waiting.headers, timeout=30).json()
    assert got["status"] == "offered" and got["offer"]["time"] == "10:00"
    # AND the day's freed times list the offer made by hand
    page.locator("#waitlist-freed li[data-freed]").first.wait_for()
    assert "offered by hand" in page.locator("#waitlist-freed").inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert axe_violations(page) == [], (width, "offered")
    page.close()
