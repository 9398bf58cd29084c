"""The patient web app's slot holds, in Debian's headless Chromium against `make run`'s own server: picking a time
holds it (a countdown the patient sees), another patient's picker shows it taken live, the booking books the hold,
choosing another time, another tab or leaving the page gives it back, a hold the browser's clock sees lapse is said
and the time can be picked again, and a time held by someone else a moment before is explained.

Days are weeks ahead and each test takes the last free times of its own day, so nothing depends on the time of day
or on the other browser tests."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime

import requests

from tests.e2e.browsers import axe_violations
from tests.e2e.patients import new_patient
from tests.e2e.test_webapp import (
    _remember_base,  # noqa: F401 - sets the base URL (autouse)
    api,
    far_weekday,
    mine_on,
    open_day,
    signed_in,
    slot,
    tab_to,
    wait_until,
)

DOCTOR = ("dr-bo-lee", "Dr. Bo Lee")
COUNTDOWN = re.compile(r"^Held for you, [0-5]:[0-5]\d left$")


def last_free(day: str, count: int = 2, doctor_id: str = DOCTOR[0]) -> list[str]:
    """The day's last `count` free times (late ones, which the other browser tests leave alone)."""
    answer = api("GET", f"/api/appointments/availability/{doctor_id}/{day}?onlyAvailable=true", new_patient())
    answer.raise_for_status()
    return [s["time"] for s in answer.json()["slots"]][-count:]


def free_now(day: str, at: str) -> bool:
    answer = api("GET", f"/api/appointments/availability/{DOCTOR[0]}/{day}", new_patient())
    answer.raise_for_status()
    return next(s["available"] for s in answer.json()["slots"] if s["time"] == at)


def eventually(predicate: Callable[[], bool], timeout: float = 15.0) -> None:
    """Waits for `predicate` with no page to wait on (one that was closed)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("the server did not change in time")
        time.sleep(0.2)


def holds_sent(page) -> list[dict]:
    """The holds the page was given (POST /api/holds answered 201), in order."""
    made: list[dict] = []

    def note(response) -> None:
        if response.request.method == "POST" and response.url.endswith("/api/holds") and response.status == 201:
            made.append(response.json())

    page.on("response", note)
    return made


def bookings_sent(page) -> list[dict]:
    sent: list[dict] = []

    def note(request) -> None:
        if request.method == "POST" and request.url.endswith("/api/appointments"):
            sent.append(json.loads(request.post_data or "{}"))

    page.on("request", note)
    return sent


def test_a_picked_time_is_held_shown_taken_elsewhere_released_for_another_and_booked_by_its_hold(dev_server, browser):
    day = far_weekday(39)
    first, second = last_free(day)
    watcher = signed_in(browser, new_patient("Sam Example"))
    pat = new_patient()
    page = signed_in(browser, pat)
    for each in (watcher, page):
        open_day(each, DOCTOR[1], day)
    wait_until(watcher, lambda: watcher.locator("#book-picker[data-mode='live']").count() == 1)
    holds = holds_sent(page)
    keys: list[str | None] = []
    page.on(
        "request", lambda r: keys.append(r.headers.get("idempotency-key")) if r.url.endswith("/api/holds") else None
    )
    # WHEN the patient picks a time with the keyboard only
    tab_to(page, f"#book-picker button[data-time='{first}']")
    page.keyboard.press("Enter")
    # THEN it is held for them: a countdown by the time and in the picker, which reads it as theirs
    status = page.locator("#hold-status")
    wait_until(page, lambda: status.is_visible() and bool(COUNTDOWN.match(status.inner_text())))
    assert status.get_attribute("role") == "timer"  # shown, never read out every second
    assert "held for you" in slot(page, first).inner_text()
    assert slot(page, first).get_attribute("aria-disabled") == "false"
    assert COUNTDOWN.match(page.locator("#book-picker .held-line").inner_text())
    assert len(holds) == 1 and holds[0]["time"] == first and keys[0]
    wait_until(page, lambda: f"{first} is held for you" in page.locator("#announce").inner_text())
    assert axe_violations(page) == []
    # AND the other patient's picker shows it taken, live
    wait_until(watcher, lambda: slot(watcher, first).get_attribute("aria-disabled") == "true")
    assert "taken" in slot(watcher, first).inner_text()

    # WHEN the patient picks another time instead
    slot(page, second).click()
    wait_until(page, lambda: len(holds) == 2 and "held for you" in slot(page, second).inner_text())
    # THEN the first is given back: free again in the other browser, and the second taken there
    wait_until(watcher, lambda: slot(watcher, first).get_attribute("aria-disabled") == "false")
    wait_until(watcher, lambda: slot(watcher, second).get_attribute("aria-disabled") == "true")
    assert "held for you" not in slot(page, first).inner_text()

    # WHEN they book it with the keyboard
    sent = bookings_sent(page)
    tab_to(page, "#reason")
    page.keyboard.type("Rash")
    tab_to(page, "#book-button")
    page.keyboard.press("Enter")
    page.get_by_text(f"Booked: {DOCTOR[1]}").wait_for()
    # THEN the booking carried the hold, and the hold became the visit
    assert sent[-1]["holdId"] == holds[1]["id"]
    (visit,) = mine_on(day, pat)
    assert visit["time"] == second and visit["id"] == holds[1]["id"]
    assert page.locator("#hold-status").is_hidden()
    wait_until(page, lambda: "your visit" in slot(page, second).inner_text())
    assert page.errors == []


def test_a_lapsed_hold_is_said_and_the_time_can_be_picked_again(dev_server, browser):
    day = far_weekday(46)
    (at,) = last_free(day, 1)
    pat = new_patient()
    page = signed_in(browser, pat, clock=datetime.now(UTC))
    open_day(page, DOCTOR[1], day)
    holds = holds_sent(page)
    slot(page, at).click()
    wait_until(page, lambda: len(holds) == 1 and page.locator("#hold-status").is_visible())
    # WHEN a minute is left THEN the patient hears it once
    page.clock.fast_forward("04:05")
    wait_until(page, lambda: "One minute left" in page.locator("#announce").inner_text())
    # WHEN the browser's clock passes the hold's end
    page.clock.fast_forward("01:00")
    # THEN the patient is told, the hold is given back, and the time is free again
    page.locator("#err-slot", has_text=f"We are no longer holding {at} for you").wait_for()
    assert page.locator("#hold-status").is_hidden()
    wait_until(page, lambda: free_now(day, at))
    wait_until(page, lambda: slot(page, at).get_attribute("aria-disabled") == "false")
    # WHEN they pick it again THEN it is held anew, and booking books that hold
    sent = bookings_sent(page)
    slot(page, at).click()
    wait_until(page, lambda: len(holds) == 2 and page.locator("#hold-status").is_visible())
    page.get_by_label("Reason for the visit").fill("Check-up")
    page.get_by_role("button", name="Book this visit").click()
    page.get_by_text(f"Booked: {DOCTOR[1]}").wait_for()
    assert sent[-1]["holdId"] == holds[1]["id"]
    assert [a["time"] for a in mine_on(day, pat)] == [at]


def test_a_hold_that_ends_elsewhere_is_said_when_booking_and_the_time_offered_again(dev_server, browser):
    day = far_weekday(53)
    (at,) = last_free(day, 1)
    pat = new_patient()
    page = signed_in(browser, pat)
    open_day(page, DOCTOR[1], day)
    holds = holds_sent(page)
    slot(page, at).click()
    wait_until(page, lambda: len(holds) == 1)
    # GIVEN the hold ends before the booking reaches it (released through the API)
    assert api("DELETE", f"/api/holds/{holds[0]['id']}", pat).status_code == 204
    page.get_by_label("Reason for the visit").fill("Check-up")
    page.get_by_role("button", name="Book this visit").click()
    # THEN the patient is told by the time, with focus there, and nothing was booked
    page.locator("#err-slot", has_text=f"We are no longer holding {at} for you").wait_for()
    assert page.evaluate("document.activeElement.id") == "err-slot"
    assert mine_on(day, pat) == []
    # AND picking it again holds it again
    slot(page, at).click()
    wait_until(page, lambda: len(holds) == 2 and page.locator("#hold-status").is_visible())


def test_a_time_held_by_someone_a_moment_before_is_explained_and_leaving_gives_a_hold_back(dev_server, browser):
    day = far_weekday(60)
    first, second = last_free(day)
    page = signed_in(browser, new_patient())
    page.route("**/api/realtime/ticket", lambda route: route.abort())  # the page does not see the hold come
    open_day(page, DOCTOR[1], day)
    # GIVEN someone else holds `first` after the page read the day
    other = new_patient("Sam Example")
    held = requests.post(
        f"{dev_server.base}/api/holds",
        json={"doctorId": DOCTOR[0], "date": day, "time": first, "type": "in-person"},
        headers={"Authorization": other.token, "Idempotency-Key": f"e2e-{other.sub}"},
        timeout=10,
    )
    assert held.status_code == 201, held.text
    # WHEN the patient picks it
    holds = holds_sent(page)
    slot(page, first).click()
    # THEN they are told in their words, by the time, with focus there, and offered the next free ones
    page.locator("#err-slot", has_text="Someone has just taken this time").wait_for()
    assert page.evaluate("document.activeElement.id") == "err-slot"
    assert page.locator("#hold-status").is_hidden()
    wait_until(page, lambda: slot(page, first).get_attribute("aria-disabled") == "true")  # the day read again
    assert axe_violations(page) == []
    # WHEN they choose another time, then another tab THEN that hold is given back
    slot(page, second).click()
    wait_until(page, lambda: len(holds) == 1 and not free_now(day, second))
    page.get_by_role("tab", name="My appointments").click()
    wait_until(page, lambda: free_now(day, second))
    # WHEN they hold it again and leave the page THEN it is given back too
    page.get_by_role("tab", name="Book").click()
    slot(page, second).click()
    wait_until(page, lambda: len(holds) == 2 and not free_now(day, second))
    page.close(run_before_unload=True)
    eventually(lambda: free_now(day, second))


def test_another_kind_of_visit_is_held_anew_and_signing_out_gives_a_hold_back(dev_server, browser):
    day = far_weekday(67)
    (at,) = last_free(day, 1, "dr-ada-smith")
    pat = new_patient()
    page = signed_in(browser, pat)
    open_day(page, "Dr. Ada Smith", day)
    holds = holds_sent(page)
    sent = bookings_sent(page)
    slot(page, at).click()
    wait_until(page, lambda: len(holds) == 1 and page.locator("#hold-status").is_visible())
    assert holds[0]["type"] == "in-person"
    # WHEN the patient makes it a video visit THEN the time is held anew as one (the first hold given back)
    page.get_by_label("Video (telehealth)").check()
    wait_until(page, lambda: len(holds) == 2 and page.locator("#hold-status").is_visible())
    assert holds[1]["type"] == "telehealth"
    assert api("GET", f"/api/holds/{holds[0]['id']}", pat).status_code == 404
    # AND booking books that hold, as a video visit
    page.get_by_label("Reason for the visit").fill("Follow-up")
    page.get_by_role("button", name="Book this visit").click()
    page.get_by_text("Booked: Dr. Ada Smith").wait_for()
    assert sent[-1]["holdId"] == holds[1]["id"]
    assert [(a["time"], a["type"]) for a in mine_on(day, pat)] == [(at, "telehealth")]

    # GIVEN another time held on another day WHEN the patient signs out THEN it is given back
    later = far_weekday(74)
    (other,) = last_free(later, 1)
    page = signed_in(browser, pat)  # a fresh page: open_day starts from a picker not yet open
    open_day(page, DOCTOR[1], later)
    holds = holds_sent(page)
    slot(page, other).click()
    wait_until(page, lambda: len(holds) == 1 and not free_now(later, other))
    page.get_by_role("button", name="Sign out").click()  # (the test's page signs in again on the next load)
    eventually(lambda: free_now(later, other))
