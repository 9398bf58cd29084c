"""The console's Calendars view in a real headless Chromium against `make run`'s server: a doctor's own calendar
(an ICS feed served on loopback by the test, a real Radicale for CalDAV) is connected, synced, paused, resumed and
disconnected; its state reads in words; its busy time takes the slot; a busy time over a booked visit is listed as
a conflict; refusals are said plainly; the keyboard alone does it all; axe-core finds nothing at 360 and 1280 px.

Every busy time and visit is on next week's Wednesday in the doctor's zone (3 to 9 days ahead), and each test makes
its own doctor, so nothing depends on the time of day or on another test.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from tests.calendar_servers import Feed, feed_server, ics, radicale_server
from tests.e2e.browsers import axe_violations
from tests.e2e.test_console import (
    ARTIFACTS,
    ZONE,
    admin,
    book,
    new_doctor,
    next_wednesday,
    open_console,
    patient,
    slots,
    wait_for,
)


def utc(day: str, at: str) -> str:
    """The doctor's local `day` `at` as an ICS UTC time (`20261202T150000Z`)."""
    local = datetime.fromisoformat(f"{day}T{at}").replace(tzinfo=ZoneInfo(ZONE))
    return local.astimezone(ZoneInfo("UTC")).strftime("%Y%m%dT%H%M%SZ")


def busy(day: str, start: str, end: str, uid: str = "busy-1") -> tuple[str, str, str]:
    return (uid, utc(day, start), utc(day, end))


def show_calendars(page, doctor_id: str) -> None:
    if page.viewport_size["width"] < 640:
        page.get_by_role("link", name="Calendars", exact=True).click()
    page.locator("#calendars-doctor").select_option(doctor_id)
    page.get_by_text("No calendar connected for this doctor.").wait_for()


def connection(page):
    return page.locator("#calendars-body li[data-calendar]")


def fact(page, name: str) -> str:
    return page.locator(f"#calendars-body dt:text-is('{name}') + dd").first.inner_text()


def test_a_feed_is_connected_synced_blocks_its_slot_lists_a_conflict_and_is_disconnected(dev_server, browser):
    base = dev_server.base
    doctor = new_doctor(base, "Feed")
    day = next_wednesday()
    visit = book(base, patient("Pat Feed")[1], doctor["id"], day, "11:00")
    with feed_server(Feed(ics())) as feed:
        page = open_console(browser, base, width=1280)
        show_calendars(page, doctor["id"])
        # GIVEN an empty feed WHEN it is connected from the form
        page.locator("#calendar-url").fill(feed.url)
        page.get_by_role("button", name="Connect", exact=True).click()
        connection(page).wait_for()
        # THEN its state reads in words, and the feed's secret address is not on the page
        assert "ICS feed at 127.0.0.1" in connection(page).inner_text()
        assert feed.url not in page.locator("#calendars").inner_text()
        assert fact(page, "State") == "Active"
        assert fact(page, "Busy times").startswith("0 ")
        assert fact(page, "Last good sync") != "not yet"
        assert slots(base, doctor["id"], day)["10:00"] is True
        # WHEN the doctor's calendar gains a busy time (and one over the booked visit) and "Sync now" is pressed
        feed.body = ics(busy(day, "10:00", "10:30"), busy(day, "11:00", "11:30", "busy-2"))
        page.get_by_role("button", name="Sync now: ICS feed at 127.0.0.1", exact=False).click()
        wait_for(page, lambda: fact(page, "Busy times").startswith("2 "))
        # THEN the slot it covers is taken, the others not
        taken = slots(base, doctor["id"], day)
        assert taken["10:00"] is False and taken["09:30"] is True and taken["10:30"] is True
        assert "Synced: 2 busy times." in page.locator("#calendars-status").inner_text()
        assert fact(page, "Next sync") not in ("", "not planned")
        # AND the visit the new busy time overlaps is listed as a conflict (nothing moved)
        page.locator(f"#conflicts-body li[data-conflict='{visit['id']}']").wait_for()
        assert "overlaps it" in page.locator("#conflicts-body").inner_text()
        assert admin("GET", base, f"/api/appointments/{visit['id']}").json()["status"] == "scheduled"
        # WHEN it is paused THEN it says so and offers Resume; resumed, it syncs again
        page.get_by_role("button", name="Pause: ICS feed at 127.0.0.1").click()
        wait_for(page, lambda: fact(page, "State").startswith("Paused"))
        page.get_by_role("button", name="Resume: ICS feed at 127.0.0.1").click()
        wait_for(page, lambda: fact(page, "State") == "Active")
        # WHEN it is disconnected, after saying what that does THEN its busy times stop blocking at once
        page.get_by_role("button", name="Disconnect: ICS feed at 127.0.0.1").click()
        assert "stop blocking" in page.locator("#confirm-text").inner_text()
        page.locator("#confirm-ok").click()
        page.get_by_text("No calendar connected for this doctor.").wait_for()
        assert slots(base, doctor["id"], day)["10:00"] is True
        assert admin("GET", base, f"/api/admin/doctors/{doctor['id']}/calendars").json()["calendars"] == []
        page.close()


def test_a_refused_address_and_a_calendar_refusing_the_password_are_said_plainly(dev_server, browser, tmp_path):
    base = dev_server.base
    doctor = new_doctor(base, "Refused")
    page = open_console(browser, base, width=1280)
    show_calendars(page, doctor["id"])
    # WHEN an address inside a private network is given THEN the form says why, on the address field
    page.locator("#calendar-url").fill("http://10.1.2.3/calendar.ics")
    page.get_by_role("button", name="Connect", exact=True).click()
    error = page.locator("#calendar-error")
    wait_for(page, lambda: "private network" in error.inner_text())
    assert "(url:" not in error.inner_text()
    assert page.locator("#calendar-url").get_attribute("aria-invalid") == "true"
    # WHEN a CalDAV calendar is connected with a password its server refuses
    with radicale_server(tmp_path / "radicale", "dr", "right-password") as radicale:
        radicale.calendar("dr", "right-password", name="rounds")
        page.get_by_label("CalDAV calendar", exact=False).check()
        page.locator("#calendar-url").fill(f"{radicale.base}dr/rounds/")
        page.get_by_label("Username", exact=True).fill("dr")
        page.get_by_label("App password", exact=True).fill("wrong-password")
        page.get_by_role("button", name="Connect", exact=True).click()
        connection(page).wait_for()
        # THEN it is connected but failing, with the server's answer in words; the password is never shown back
        assert fact(page, "State").startswith("Failing: ")
        assert "401" in fact(page, "State")
        assert "first sync failed" in page.locator("#calendars-status").inner_text()
        assert page.locator("#calendar-password").input_value() == ""
        assert "wrong-password" not in page.content()
    page.close()


def test_a_feed_is_connected_synced_paused_and_disconnected_with_the_keyboard_alone(dev_server, browser):
    base = dev_server.base
    doctor = new_doctor(base, "Keys")
    day = next_wednesday()
    with feed_server(Feed(ics(busy(day, "09:00", "09:30")))) as feed:
        page = open_console(browser, base, width=1280)
        show_calendars(page, doctor["id"])
        page.locator("#calendar-url").focus()
        page.keyboard.type(feed.url)
        page.keyboard.press("Enter")  # submits the form
        connection(page).wait_for()
        # THEN focus lands on the new calendar's first action
        wait_for(page, lambda: page.evaluate("document.activeElement.textContent") == "Sync now")
        page.keyboard.press("Enter")
        wait_for(page, lambda: "Synced: 1 busy times." in page.locator("#calendars-status").inner_text())
        assert slots(base, doctor["id"], day)["09:00"] is False
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.textContent") == "Pause"
        page.keyboard.press("Enter")
        wait_for(page, lambda: page.evaluate("document.activeElement.textContent") == "Resume")
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.textContent") == "Disconnect"
        page.keyboard.press("Enter")
        page.locator("#confirm-dialog[open]").wait_for()
        page.keyboard.press("Tab")  # from "Keep it" to the destructive choice
        assert page.evaluate("document.activeElement.id") == "confirm-ok"
        page.keyboard.press("Enter")
        page.get_by_text("No calendar connected for this doctor.").wait_for()
        assert page.evaluate("document.activeElement.id") == "calendars-title"
        page.close()


@pytest.mark.parametrize("width", [360, 1280])
def test_the_calendars_view_fits_and_passes_axe(dev_server, browser, width):
    base = dev_server.base
    doctor = new_doctor(base, "Look")
    day = next_wednesday()
    book(base, patient("Pat Look")[1], doctor["id"], day, "10:00")
    with feed_server(Feed(ics(busy(day, "10:00", "11:00")))) as feed:
        made = admin("POST", base, f"/api/admin/doctors/{doctor['id']}/calendars", {"kind": "ics", "url": feed.url})
        assert made.status_code == 201, made.text
        for scheme in ("light", "dark"):
            page = open_console(browser, base, width=width, scheme=scheme)
            if width < 640:
                page.get_by_role("link", name="Calendars", exact=True).click()
            page.locator("#calendars-doctor").select_option(doctor["id"])
            connection(page).wait_for()
            page.locator("#conflicts-body li").wait_for()
            page.get_by_label("CalDAV calendar", exact=False).check()  # every field of the form shown
            assert page.evaluate("document.documentElement.scrollWidth") <= width
            assert page.evaluate("document.querySelector('#calendars').scrollWidth") <= width
            assert axe_violations(page) == [], (width, scheme)
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.locator("#calendars").screenshot(path=str(ARTIFACTS / f"console-calendars-{width}-{scheme}.png"))
            page.close()


def test_each_booked_visit_shows_where_it_stands_in_the_doctors_caldav_calendar(dev_server, browser, tmp_path):
    # GIVEN the doctor's Radicale calendar connected with "write each booked visit"
    base = dev_server.base
    doctor = new_doctor(base, "Visits")
    day = next_wednesday()
    with radicale_server(tmp_path / "radicale", "dr", "app-password") as radicale:
        calendar = radicale.calendar("dr", "app-password", name="rounds")
        body = {
            "kind": "caldav",
            "url": f"{radicale.base}dr/rounds/",
            "username": "dr",
            "password": "app-password",
            "writeVisits": True,
        }
        made = admin("POST", base, f"/api/admin/doctors/{doctor['id']}/calendars", body)
        assert made.status_code == 201, made.text
        # WHEN a visit is booked THEN make run's stream consumer writes it into the calendar, one event
        written = book(base, patient("Pat Written")[1], doctor["id"], day, "09:00")
        page = open_console(browser, base, width=1280)
        show_connected(page, doctor["id"])
        visit = page.locator(f'[data-visit="{written["id"]}"]')
        wait_for(page, lambda: refreshed_until(page, visit, 'In the doctor\'s calendar "rounds"'))
        assert len(calendar.events()) == 1
        # WHEN the app password is revoked and another visit is booked THEN that one reads failed, with the
        # server's answer and when it is tried again
        radicale.set_password("dr", "new-secret-9")
        refused = book(base, patient("Pat Refused")[1], doctor["id"], day, "10:00")
        other = page.locator(f'[data-visit="{refused["id"]}"]')
        wait_for(page, lambda: refreshed_until(page, other, "Failed: "))
        assert "401" in other.inner_text() and "will retry at" in other.inner_text()
        assert "new-secret-9" not in page.content() and "app-password" not in page.content()
        page.close()


def show_connected(page, doctor_id: str) -> None:
    if page.viewport_size["width"] < 640:
        page.get_by_role("link", name="Calendars", exact=True).click()
    page.locator("#calendars-doctor").select_option(doctor_id)
    connection(page).wait_for()


def refreshed_until(page, line, text: str) -> bool:
    """Refreshes the view (its calendars read anew) until `line` says `text`: the stream consumer writes the visit
    a moment after the booking."""
    if line.count() and text in line.inner_text():
        return True
    page.locator("#calendars-refresh").click()
    page.wait_for_timeout(500)
    return False
