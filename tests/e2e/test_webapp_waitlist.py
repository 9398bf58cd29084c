"""The patient web app's waitlist, in Debian's headless Chromium against `make run`'s own server (whose waitlist
consumer follows DynamoDB Local's stream): joining from a doctor's day view, another patient's cancellation offered
to the waiting patient and opened from the offer's link (after signing in), accepting books it; leaving an entry;
a limit refused in the patient's words; axe-core on the waitlist views; joining with the keyboard alone.

Each test's patients are its own and its days are far ahead (days no other browser test uses), and every entry a
test makes is left at its end, so no test's entry is offered another test's freed time."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest

from tests.e2e.browsers import axe_violations
from tests.e2e.patients import Patient, new_patient
from tests.e2e.test_webapp import (
    _BASE,
    _remember_base,  # noqa: F401 - sets the base URL (autouse)
    api,
    far_weekday,
    mine_on,
    open_day,
    open_mine,
    signed_in,
    tab_to,
    wait_until,
)


@pytest.fixture
def leave_afterwards() -> Iterator[list[Patient]]:
    """Patients whose active entries are left when the test ends, pass or fail."""
    patients: list[Patient] = []
    yield patients
    for who in patients:
        for entry in api("GET", "/api/waitlist", who).json().get("entries", []):
            if entry["status"] in ("waiting", "offered"):
                api("DELETE", f"/api/waitlist/{entry['id']}", who)


DOCTOR = ("dr-bo-lee", "Dr. Bo Lee")
KEPT = re.compile(r"^Kept for you for \d+:[0-5]\d$")


def free_times(doctor_id: str, day: str) -> list[str]:
    answer = api("GET", f"/api/appointments/availability/{doctor_id}/{day}?onlyAvailable=true", new_patient())
    answer.raise_for_status()
    return [s["time"] for s in answer.json()["slots"]]


def join_body(doctor_id: str, day: str) -> dict:
    return {"doctorId": doctor_id, "from": day, "to": day, "type": "in-person", "notify": {"email": True}}


def entries(who: Patient) -> list[dict]:
    return api("GET", "/api/waitlist", who).json()["entries"]


def test_joined_in_the_app_a_cancelled_time_is_offered_by_its_link_and_accepting_books_it(
    dev_server, browser, leave_afterwards
):
    day = far_weekday(91)
    at = free_times(DOCTOR[0], day)[0]
    # GIVEN a visit another patient booked, and a patient who finds no time that suits on that day
    booker, waiting = new_patient(), new_patient("Wanda Web")
    leave_afterwards.append(waiting)
    visit = api(
        "POST",
        "/api/appointments",
        booker,
        json={"doctorId": DOCTOR[0], "date": day, "time": at, "type": "in-person", "reason": "Check-up"},
    )
    assert visit.status_code == 201, visit.text
    page = signed_in(browser, waiting)
    open_day(page, DOCTOR[1], day)
    # WHEN the patient joins the doctor's waitlist for that day from the day view
    page.get_by_role("button", name="Join the waitlist").click()
    form = page.locator("#waitlist-form")
    form.get_by_label("From").fill(day)
    form.get_by_label("To", exact=True).fill(day)
    assert form.get_by_label("E-mail").is_checked()  # a verified address, chosen by default
    assert axe_violations(page) == []
    form.get_by_role("button", name="Put me on the waitlist").click()
    # THEN the page says so, and the entry is waiting
    page.locator("#waitlist-joined").wait_for()
    assert "You are on Dr. Bo Lee's waitlist" in page.locator("#waitlist-joined").inner_text()
    [entry] = entries(waiting)
    assert (entry["status"], entry["from"], entry["to"], entry["notify"]) == ("waiting", day, day, ["email"])
    # WHEN the other patient cancels: the consumer offers the freed time to the waiting entry (bounded wait)
    assert api("DELETE", f"/api/appointments/{visit.json()['id']}", booker).status_code == 200
    deadline = time.monotonic() + 60
    while entries(waiting)[0]["status"] != "offered" and time.monotonic() < deadline:
        time.sleep(0.2)
    assert entries(waiting)[0]["status"] == "offered"
    # AND the patient opens the message's link in a browser that is not signed in yet
    context = browser.new_context(viewport={"width": 1280, "height": 900}, timezone_id="Europe/Berlin")
    linked = context.new_page()
    linked.goto(f"{_BASE['base']}?waitlist={entry['id']}")
    linked.get_by_label("Sign in as").wait_for()
    assert "waitlist=" not in linked.url
    linked.evaluate("(token) => sessionStorage.setItem('clinic.token', token)", waiting.token)
    linked.goto(_BASE["base"])  # as the sign-in's return lands on the page
    # THEN after signing in the offer is shown: its time, the hold's countdown, Accept and Decline
    card = linked.locator(f"#waitlist li[data-entry='{entry['id']}']")
    card.wait_for()
    wait_until(linked, lambda: card.evaluate("(c) => c === document.activeElement"))
    assert at in card.locator(".offer-time").inner_text()
    timer = card.locator("[role=timer]")
    wait_until(linked, lambda: bool(KEPT.match(timer.inner_text())))
    assert "A time is kept for you with Dr. Bo Lee" in linked.locator("#waitlist-notice").inner_text()
    assert axe_violations(linked) == []
    # WHEN the patient accepts THEN it is booked for them, and the confirmation says what and when
    card.get_by_role("button", name="Accept this time").click()
    done = linked.locator("#waitlist-booked")
    done.wait_for()
    assert "Booked" in done.inner_text() or "booked" in done.inner_text()
    assert at in done.inner_text()
    [booked] = [a for a in mine_on(day, waiting) if a["status"] != "cancelled"]
    assert (booked["time"], booked["doctorId"]) == (at, DOCTOR[0])
    assert entries(waiting)[0]["status"] == "booked"
    status = linked.locator(f"#waitlist li[data-entry='{entry['id']}'] .status")
    wait_until(linked, lambda: status.inner_text() == "Booked")  # the list is read again after the answer
    assert axe_violations(linked) == []
    assert page.errors == []
    context.close()


def test_an_offer_that_ended_says_so_plainly(dev_server, browser, leave_afterwards):
    # GIVEN an entry that is waiting (no offer open): its link is opened
    pat = new_patient()
    leave_afterwards.append(pat)
    made = api("POST", "/api/waitlist", pat, json=join_body("dr-carmen-ruiz", far_weekday(95)))
    assert made.status_code == 201, made.text
    page = signed_in(browser, pat)
    page.goto(f"{_BASE['base']}?waitlist={made.json()['id']}")
    # THEN the page says the offer has ended and that the patient is still waiting
    ended = page.locator("#waitlist-ended")
    ended.wait_for()
    assert ended.inner_text().startswith("This offer has ended")
    assert "still on" in ended.inner_text()
    assert page.locator("#waitlist-ended").get_attribute("role") == "alert"


def test_leaving_an_entry_asks_first_and_it_is_left(dev_server, browser, leave_afterwards):
    # GIVEN a patient on a waitlist
    pat = new_patient()
    leave_afterwards.append(pat)
    made = api("POST", "/api/waitlist", pat, json=join_body("dr-carmen-ruiz", far_weekday(99)))
    assert made.status_code == 201, made.text
    page = signed_in(browser, pat)
    open_mine(page)
    card = page.locator(f"#waitlist li[data-entry='{made.json()['id']}']")
    card.wait_for()
    assert card.locator(".status").inner_text() == "Waiting for a time"
    # WHEN the patient leaves it: the button is marked destructive and asks first
    leave = card.get_by_role("button", name="Leave the waitlist for Dr. Carmen Ruiz")
    assert "danger" in (leave.get_attribute("class") or "")
    leave.click()
    assert "This cannot be undone" in card.inner_text()
    assert axe_violations(page) == []
    card.get_by_role("button", name="Yes, leave it").click()
    # THEN it is gone from the list, and left
    page.get_by_text("You are not on any waitlist.").wait_for()
    assert entries(pat)[0]["status"] == "left"


def test_a_second_entry_for_the_same_doctor_is_refused_in_the_patients_words(dev_server, browser, leave_afterwards):
    day = far_weekday(101)
    # GIVEN a patient already on Dr. Bo Lee's waitlist
    pat = new_patient()
    leave_afterwards.append(pat)
    assert api("POST", "/api/waitlist", pat, json=join_body(DOCTOR[0], day)).status_code == 201
    page = signed_in(browser, pat)
    open_day(page, DOCTOR[1], day)
    # WHEN the patient joins it again from the app
    page.get_by_role("button", name="Join the waitlist").click()
    page.locator("#waitlist-form").get_by_role("button", name="Put me on the waitlist").click()
    # THEN the refusal is in the patient's words, with focus on it
    error = page.locator("#waitlist-error")
    wait_until(page, lambda: error.inner_text() != "")
    assert error.inner_text().startswith("You are already on this doctor's waitlist.")
    assert error.evaluate("(e) => e === document.activeElement")
    assert len(entries(pat)) == 1


def test_joining_with_the_keyboard_only(dev_server, browser, leave_afterwards):
    day = far_weekday(103)
    pat = new_patient()
    leave_afterwards.append(pat)
    page = signed_in(browser, pat)
    open_day(page, "Dr. Carmen Ruiz", day)
    # WHEN the patient tabs to "Join the waitlist", opens the form and sends it with the keys alone
    tab_to(page, "#waitlist-open")
    page.keyboard.press("Enter")
    wait_until(page, lambda: page.evaluate("document.activeElement.id") == "wl-from")
    assert page.locator("#waitlist-open").get_attribute("aria-expanded") == "true"
    tab_to(page, "#waitlist-form input[name=wl-part][value=morning]")
    page.keyboard.press("Space")
    tab_to(page, "#waitlist-submit")
    page.keyboard.press("Enter")
    # THEN the patient is on the waitlist for mornings, told so with focus on the message
    page.locator("#waitlist-joined").wait_for()
    wait_until(page, lambda: page.evaluate("document.activeElement.id") == "waitlist-joined")
    [entry] = entries(pat)
    assert entry["status"] == "waiting" and entry["times"] == [{"start": "06:00", "end": "12:00"}]


def test_an_offer_declined_from_my_waitlist_puts_the_entry_back_to_waiting(dev_server, browser, leave_afterwards):
    day = far_weekday(108)
    at = free_times("dr-carmen-ruiz", day)[0]
    # GIVEN a waiting patient offered a time another patient cancelled
    booker, waiting = new_patient(), new_patient()
    leave_afterwards.append(waiting)
    visit = api(
        "POST",
        "/api/appointments",
        booker,
        json={"doctorId": "dr-carmen-ruiz", "date": day, "time": at, "type": "in-person", "reason": "Check-up"},
    )
    assert visit.status_code == 201, visit.text
    made = api("POST", "/api/waitlist", waiting, json=join_body("dr-carmen-ruiz", day))
    assert made.status_code == 201, made.text
    assert api("DELETE", f"/api/appointments/{visit.json()['id']}", booker).status_code == 200
    deadline = time.monotonic() + 60
    while entries(waiting)[0]["status"] != "offered" and time.monotonic() < deadline:
        time.sleep(0.2)
    assert entries(waiting)[0]["status"] == "offered"
    # WHEN the patient reads it under My waitlist and declines it
    page = signed_in(browser, waiting)
    open_mine(page)
    card = page.locator(f"#waitlist li[data-entry='{made.json()['id']}']")
    card.get_by_role("button", name="Decline").wait_for()
    assert card.locator(".status").inner_text() == "A time is offered to you"
    card.get_by_role("button", name="Decline").click()
    # THEN the entry is waiting again, in words and on the server
    wait_until(page, lambda: card.locator(".status").inner_text() == "Waiting for a time")
    assert entries(waiting)[0]["status"] == "waiting"
    assert card.get_by_role("button", name="Decline").count() == 0


def test_move_earlier_offers_the_patients_visit_with_that_doctor(dev_server, browser, leave_afterwards):
    day = far_weekday(116)
    at = free_times("dr-carmen-ruiz", day)[-1]
    # GIVEN a patient with a visit with the doctor
    pat = new_patient()
    leave_afterwards.append(pat)
    visit = api(
        "POST",
        "/api/appointments",
        pat,
        json={"doctorId": "dr-carmen-ruiz", "date": day, "time": at, "type": "in-person", "reason": "Check-up"},
    )
    assert visit.status_code == 201, visit.text
    page = signed_in(browser, pat)
    open_day(page, "Dr. Carmen Ruiz", day)
    # WHEN the patient joins the waitlist to move that visit earlier
    page.get_by_role("button", name="Join the waitlist").click()
    form = page.locator("#waitlist-form")
    form.get_by_label("From").fill(far_weekday(100))
    form.get_by_label("To", exact=True).fill(day)
    move = form.get_by_label("Move a visit earlier")
    wait_until(page, lambda: move.locator("option").count() == 2)
    move.select_option(visit.json()["id"])
    form.get_by_role("button", name="Put me on the waitlist").click()
    # THEN the entry names the visit it would move
    page.locator("#waitlist-joined").wait_for()
    assert entries(pat)[0]["moveEarlier"] == visit.json()["id"]
