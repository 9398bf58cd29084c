"""The console stays English but shows each patient's language beside its visits (issue 32), in a real headless
Chromium against `make run`'s server: a Spanish-speaking patient's visit says "Speaks Spanish" in the day list,
the day grid, the week and the reschedule dialog, and "Book again" names the language; an English speaker's
visit shows nothing more; axe-core finds nothing.

The visits are booked on next week's Wednesday in the doctor's zone, as in test_console.py, with a doctor and
patients of this test's own.
"""

from __future__ import annotations

import requests

from tests.e2e.browsers import axe_violations
from tests.e2e.patients import new_patient
from tests.e2e.test_console import book, live, new_doctor, next_wednesday, open_console, show_day, wait_for


def signed_up(base: str, name: str, language: str | None):
    """A patient of the directory who chose `language` in the app (None: chose nothing)."""
    made = new_patient(name)
    assert requests.put(f"{base}/api/patients/me", headers=made.headers, timeout=30).status_code == 200
    if language:
        chosen = requests.patch(
            f"{base}/api/patients/me", json={"language": language}, headers=made.headers, timeout=30
        )
        assert chosen.status_code == 200, chosen.text
    return made


def test_a_spanish_speakers_visit_shows_its_language_in_the_console(dev_server, browser):
    base = dev_server.base
    doctor = new_doctor(base, "Languages")
    day = next_wednesday()
    # GIVEN a patient who chose Spanish and one who chose nothing, each with a visit that day
    ana = signed_up(base, "Ana Lopez", "es")
    sam = signed_up(base, "Sam Plain", None)
    spanish = book(base, ana.token, doctor["id"], day, "09:00")
    plain = book(base, sam.token, doctor["id"], day, "10:00")
    # WHEN the front desk opens the day in the console
    page = open_console(browser, base)
    show_day(page, day, doctor["id"])
    live(page)
    row = page.locator(f"tr[data-appointment='{spanish['id']}']")
    row.wait_for()
    # THEN the Spanish speaker's row says so beside the name, and the other's shows only the name
    patient_cell = row.locator("td[data-label='Patient']")
    assert patient_cell.inner_text().split() == ["Ana", "Lopez", "Speaks", "Spanish"]
    assert patient_cell.locator(".speaks").inner_text() == "Speaks Spanish"
    other = page.locator(f"tr[data-appointment='{plain['id']}'] td[data-label='Patient']")
    assert other.inner_text().strip() == "Sam Plain" and other.locator(".speaks").count() == 0
    # AND the console itself stays English
    assert page.locator("html").get_attribute("lang") == "en"
    assert axe_violations(page) == []

    # WHEN the day is shown as a grid THEN the visit's cell says it too
    page.locator("#day-as-grid").click()
    cell = page.locator(f"#schedule-grid td[data-appointment='{spanish['id']}']")
    cell.wait_for()
    assert "Speaks Spanish" in cell.inner_text()
    page.locator("#day-as-list").click()

    # WHEN the desk looks at the doctor's week THEN the visit there says it too
    page.locator("#week-doctor").select_option(doctor["id"])
    visit = page.locator(f".week-day[data-day='{day}'] li.booked", has_text="Ana Lopez")
    visit.wait_for()
    assert visit.inner_text().split() == ["09:00", "Ana", "Lopez", "Speaks", "Spanish"]

    # WHEN the desk moves the visit THEN the dialog reminds it to call with an interpreter
    row.get_by_role("button", name="Reschedule").click()
    what = page.locator("#reschedule-what")
    wait_for(page, lambda: "Ana Lopez" in what.inner_text())
    assert what.inner_text().endswith("Speaks Spanish.")
    page.keyboard.press("Escape")

    # WHEN it books Ana again THEN the booking dialog names her language beside her name
    row.get_by_role("button", name="Book again").click()
    dialog = page.locator("#book-dialog")
    assert dialog.get_by_role("radio", name="Ana Lopez (speaks Spanish)").is_checked()
    page.close()
