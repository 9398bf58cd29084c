"""The console's Webhooks section in a real headless Chromium against `make run`'s server (which allows loopback
receivers): an admin adds a subscription, sees its signing secret once, watches a booking's delivery reach a real
receiver on loopback (signature verified with the `standardwebhooks` library) in the delivery log, resends it,
pauses and resumes, rotates the secret and deletes the subscription; refused addresses are explained; the keyboard
alone does it all; axe-core finds nothing in light, dark, more contrast and forced colors at 360 and 1280 px.

Each test subscribes to its own doctor's events only (the form's doctor filter), so bookings of other tests never
reach its receiver, and deletes its subscriptions afterwards (the clinic may hold at most 50).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from tests.e2e.browsers import axe_violations
from tests.e2e.test_console import ARTIFACTS, admin, book, new_doctor, next_wednesday, open_console, patient, wait_for
from tests.webhook_receiver import Receiver


@contextmanager
def cleaned_up(base: str) -> Iterator[list[str]]:
    """The ids of the subscriptions a test made: each is deleted afterwards, whatever the outcome."""
    made: list[str] = []
    try:
        yield made
    finally:
        for subscription_id in made:
            admin("DELETE", base, f"/api/admin/webhooks/{subscription_id}")


def ours(base: str, description: str) -> dict:
    found = admin("GET", base, "/api/admin/webhooks").json()["webhooks"]
    return next(w for w in found if w.get("description") == description)


def go_to_webhooks(page) -> None:
    page.get_by_role("link", name="Webhooks", exact=True).click()
    page.locator("#webhooks").wait_for()


def add_subscription(page, url: str, description: str, doctor_name: str, events=("appointment.booked",)) -> str:
    """Fills and sends the form; returns the secret the dialog shows."""
    page.get_by_role("button", name="Add a subscription").click()
    dialog = page.locator("#webhook-dialog")
    dialog.get_by_label("Receiver URL").fill(url)
    for event in events:
        dialog.locator(f"input[name='webhook-event'][value='{event}']").check()
    dialog.get_by_label("Description").fill(description)
    dialog.get_by_label("Only one doctor's events").select_option(label=doctor_name)
    dialog.get_by_role("button", name="Add the subscription").click()
    page.locator("#secret-dialog").get_by_text("You will not see it again.").wait_for()
    return page.locator("#secret-value").input_value()


def received(receiver: Receiver, appointment_id: str) -> list:
    return [r for r in receiver.got if r.message["data"].get("id") == appointment_id]


def test_a_subscription_is_added_its_secret_shown_once_and_its_log_follows_a_booking(dev_server, browser):
    base = dev_server.base
    doctor = new_doctor(base, "Hooks")
    day = next_wednesday()
    description = f"Front desk EHR {uuid.uuid4().hex[:6]}"
    page = open_console(browser, base, permissions=["clipboard-read", "clipboard-write"])
    with Receiver() as receiver, cleaned_up(base) as made:
        # GIVEN the Webhooks section WHEN an admin adds a subscription to a loopback receiver for one doctor
        go_to_webhooks(page)
        page.get_by_text("No subscriptions yet.").wait_for()
        secret = add_subscription(page, receiver.url, description, doctor["name"])
        subscription = ours(base, description)
        made.append(subscription["id"])
        # THEN its signing secret is shown, with a plain warning, and the copy button puts it on the clipboard
        assert secret.startswith("whsec_")
        assert page.locator("#secret-dialog").is_visible()
        page.get_by_role("button", name="Copy the secret").click()
        page.get_by_text("Copied.").wait_for()
        assert page.evaluate("navigator.clipboard.readText()") == secret
        # AND once the dialog is closed the secret is nowhere on the page, nor in the API's list
        page.get_by_role("button", name="I have stored it").click()
        wait_for(page, lambda: page.locator("#secret-value").input_value() == "")
        assert secret not in page.content() and secret not in page.evaluate("document.body.innerText")
        assert "secret" not in subscription
        row = page.locator(f"tr[data-webhook='{subscription['id']}']")
        assert receiver.url in row.inner_text() and "appointment.booked" in row.inner_text()
        assert "Active" in row.inner_text() and f"Only {doctor['name']}'s visits." in row.inner_text()
        assert subscription["doctorId"] == doctor["id"] and subscription["includeReason"] is False
        receiver.secrets.append(secret)

        # WHEN a patient books with that doctor THEN the receiver gets the event, its signature verified
        visit = book(base, patient("Pat Hooks")[1], doctor["id"], day, "09:00")
        wait_for(page, lambda: len(received(receiver, visit["id"])) == 1, timeout=60)
        first = received(receiver, visit["id"])[0]
        assert first.verified and first.message["type"] == "appointment.booked"
        # AND the delivery log shows it delivered: event, status, attempts and the last answer
        row.get_by_role("button", name="Delivery log").click()
        assert page.evaluate("document.activeElement.id") == "webhook-log-title"
        delivered = page.locator("#webhook-log-body tr[data-status='delivered']")
        delivered.wait_for(timeout=30000)
        text = delivered.inner_text()
        assert "appointment.booked" in text and "HTTP 200" in text
        assert delivered.locator("td[data-label='Attempts']").inner_text() == "1"
        delivered.get_by_text("Body sent").click()
        assert visit["id"] in delivered.locator("pre").inner_text()
        assert "HTTP 200" in delivered.locator("ol.attempts").inner_text()  # each attempt, with its answer and time

        # WHEN staff resend it THEN the receiver gets the same event again (same webhook-id), signed
        delivered.get_by_role("button", name="Resend").click()
        page.get_by_text("appointment.booked is being sent again").wait_for()
        wait_for(page, lambda: len(received(receiver, visit["id"])) == 2, timeout=60)
        again = received(receiver, visit["id"])[1]
        assert again.verified and again.headers["webhook-id"] == first.headers["webhook-id"]

        # WHEN it is paused THEN the row says so, and a new booking's event waits in the log, held
        row.get_by_role("button", name="Pause").click()
        page.get_by_text("Its events wait, unsent, until you resume it.").wait_for()
        wait_for(page, lambda: "Paused by an admin" in row.inner_text())
        assert ours(base, description)["state"] == "paused"
        later = book(base, patient("Sam Hooks")[1], doctor["id"], day, "10:00")
        held = page.locator("#webhook-log-body tr", has_text="held while paused")
        held.wait_for(timeout=60000)
        # WHEN resumed THEN what waited is delivered
        row.get_by_role("button", name="Resume").click()
        wait_for(page, lambda: len(received(receiver, later["id"])) == 1, timeout=60)
        assert received(receiver, later["id"])[0].verified
        wait_for(page, lambda: page.locator("#webhook-log-body tr[data-status='delivered']").count() == 2, timeout=30)

        # WHEN everything since before the first booking is resent THEN both events come again
        page.get_by_label("Resend everything since").fill("2000-01-01T00:00")
        page.get_by_role("button", name="Resend everything since").click()
        page.get_by_text("Send again every event since").wait_for()
        page.get_by_role("button", name="Resend them").click()
        page.get_by_text("2 deliveries are being sent again.").wait_for()
        wait_for(page, lambda: len(received(receiver, later["id"])) == 2, timeout=60)
        wait_for(page, lambda: len(received(receiver, visit["id"])) == 3, timeout=60)

        # WHEN it is changed (one more event, another description) THEN the row and the API say so
        row.get_by_role("button", name="Edit").click()
        dialog = page.locator("#webhook-dialog")
        assert dialog.get_by_label("Receiver URL").input_value() == receiver.url
        assert dialog.locator("input[value='appointment.booked']").is_checked()
        dialog.locator("input[name='webhook-event'][value='appointment.cancelled']").check()
        description = f"{description} and billing"
        dialog.get_by_label("Description").fill(description)
        dialog.get_by_label("Only one location's events").select_option(doctor["location"])
        dialog.get_by_role("button", name="Save the changes").click()
        page.get_by_text(f"Saved: {description}").wait_for()
        wait_for(page, lambda: "appointment.cancelled" in row.inner_text())
        assert f"Only visits at {doctor['location']}." in row.inner_text()
        changed = ours(base, description)
        assert changed["events"] == ["appointment.booked", "appointment.cancelled"]
        assert changed["doctorId"] == doctor["id"] and changed["location"] == doctor["location"]
        assert changed["state"] == "active"

        # WHEN it is deleted THEN a question marks the destructive step first, and the subscription is gone
        row.get_by_role("button", name="Delete").click()
        page.get_by_text("This cannot be undone.").wait_for()
        confirm = page.locator("#confirm-ok")
        assert confirm.inner_text() == "Delete the subscription" and "danger" in confirm.get_attribute("class")
        confirm.click()
        page.get_by_text(f"Deleted: {description}").wait_for()
        assert row.count() == 0 and page.locator("#webhook-log").is_hidden()
        assert admin("GET", base, f"/api/admin/webhooks/{subscription['id']}").status_code == 404
    page.close()


def test_a_refused_address_is_explained_with_what_to_do(dev_server, browser):
    base = dev_server.base
    page = open_console(browser, base)
    go_to_webhooks(page)
    page.get_by_role("button", name="Add a subscription").click()
    dialog = page.locator("#webhook-dialog")
    url = dialog.get_by_label("Receiver URL")
    # GIVEN no event chosen WHEN sent THEN the form asks for one, before anything reaches the server
    url.fill("https://ehr.example.org/hooks")
    dialog.get_by_role("button", name="Add the subscription").click()
    dialog.get_by_text("Choose at least one event to send.").wait_for()
    dialog.locator("input[name='webhook-event'][value='appointment.cancelled']").check()
    # WHEN the address is the cloud metadata service or a private one THEN the server's refusal is explained,
    # the field marked and focused
    for address, words in (
        ("http://169.254.169.254/latest/meta-data", "like the cloud metadata service at 169.254.169.254"),
        ("https://10.1.2.3/hooks", "That address is inside a private network"),
        ("https://user:pw@ehr.example.org/hooks", "Take the user name and password"),
        ("ftp://ehr.example.org/hooks", "The address must begin with https"),
    ):
        url.fill(address)
        dialog.get_by_role("button", name="Add the subscription").click()
        dialog.get_by_text(words).wait_for()
        assert url.get_attribute("aria-invalid") == "true", address
        assert page.evaluate("document.activeElement.id") == "webhook-url", address
    assert "ehr.example.org" not in str(admin("GET", base, "/api/admin/webhooks").json())
    assert axe_violations(page) == []
    page.close()


def test_a_subscription_is_added_rotated_and_deleted_with_the_keyboard_alone(dev_server, browser):
    base = dev_server.base
    doctor = new_doctor(base, "HookKeys")
    description = f"Billing {uuid.uuid4().hex[:6]}"
    page = open_console(browser, base, width=390)
    with Receiver() as receiver, cleaned_up(base) as made:
        # GIVEN the section's tab WHEN Enter THEN focus is on its heading; Tab reaches "Add a subscription"
        page.get_by_role("link", name="Webhooks", exact=True).focus()
        page.keyboard.press("Enter")
        wait_for(page, lambda: page.evaluate("document.activeElement.id") == "webhooks-title")
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.textContent") == "Add a subscription"
        # WHEN the form is filled with keys only THEN focus starts in the URL field and Enter sends it
        page.keyboard.press("Enter")
        assert page.evaluate("document.activeElement.id") == "webhook-url"
        page.keyboard.type(receiver.url)
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.value") == "appointment.booked"
        page.keyboard.press("Space")
        seen: list[str] = []
        while (
            page.evaluate("document.activeElement.id") != "webhook-description" and len(seen) < 40
        ):  # past every event type
            page.keyboard.press("Tab")
            seen.append(page.evaluate("document.activeElement.value"))
        page.keyboard.type(description)
        page.keyboard.press("Tab")  # the doctor filter: typing the name chooses it
        assert page.evaluate("document.activeElement.id") == "webhook-doctor"
        page.keyboard.type(doctor["name"])
        assert page.locator("#webhook-doctor").input_value() == doctor["id"]
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.id") == "webhook-location"
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.id") == "webhook-reason"
        page.keyboard.press("Tab")
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.textContent") == "Add the subscription"
        page.keyboard.press("Enter")
        # THEN the secret shows with focus on Copy; Tab, Enter closes it and focus lands on the new row
        page.get_by_text("You will not see it again.").wait_for()
        first_secret = page.locator("#secret-value").input_value()
        made.append(ours(base, description)["id"])
        assert page.evaluate("document.activeElement.textContent") == "Copy the secret"
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.textContent") == "I have stored it"
        page.keyboard.press("Enter")
        wait_for(page, lambda: page.evaluate("document.activeElement.dataset.key") == f"{made[0]}:log")
        # WHEN Tab to "Rotate secret", Enter, Tab, Enter THEN a new secret shows; Escape closes it, focus kept
        for name in ("Edit", "Pause", "Rotate secret"):
            page.keyboard.press("Tab")
            assert page.evaluate("document.activeElement.textContent") == name
        page.keyboard.press("Enter")
        page.get_by_text("keeps working beside it for 24 hours").wait_for()
        assert page.evaluate("document.activeElement.textContent") == "Keep it"
        page.keyboard.press("Tab")
        page.keyboard.press("Enter")
        wait_for(page, lambda: page.locator("#secret-value").input_value().startswith("whsec_"))
        assert page.locator("#secret-value").input_value() != first_secret
        page.keyboard.press("Escape")
        wait_for(page, lambda: page.evaluate("document.activeElement.dataset.key") == f"{made[0]}:log")
        # WHEN Tab to Delete, Enter, Tab to the marked button, Enter THEN it is gone and focus is on "Add"
        for _ in range(4):
            page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.textContent") == "Delete"
        page.keyboard.press("Enter")
        page.get_by_text("This cannot be undone.").wait_for()
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.className") == "danger"
        page.keyboard.press("Enter")
        page.get_by_text(f"Deleted: {description}").wait_for()
        assert page.evaluate("document.activeElement.id") == "webhook-new"
        assert admin("GET", base, f"/api/admin/webhooks/{made[0]}").status_code == 404
    page.close()


@pytest.mark.parametrize("width", [360, 1280])
def test_the_webhooks_section_fits_and_passes_axe_in_every_scheme(dev_server, browser, width):
    base = dev_server.base
    doctor = new_doctor(base, "HookLook")
    description = f"CRM {uuid.uuid4().hex[:6]}"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with Receiver() as receiver, cleaned_up(base) as made:
        made_now = admin(
            "POST",
            base,
            "/api/admin/webhooks",
            {
                "url": receiver.url,
                "events": ["appointment.booked"],
                "description": description,
                "doctorId": doctor["id"],
            },
        )
        assert made_now.status_code == 201, made_now.text
        made.append(made_now.json()["id"])
        receiver.secrets.append(made_now.json()["secret"])
        visit = book(base, patient("Bo Hooklook")[1], doctor["id"], next_wednesday(), "09:00")
        for scheme in ("light", "dark"):
            page = open_console(browser, base, width=width, scheme=scheme)
            go_to_webhooks(page)
            if width < 640:  # a phone: the section shows alone, as a tab
                assert [s for s in ("schedule", "week", "webhooks") if page.locator(f"#{s}").is_visible()] == [
                    "webhooks"
                ]
            row = page.locator(f"tr[data-webhook='{made[0]}']")
            row.get_by_role("button", name="Delivery log").click()
            delivered = page.locator("#webhook-log-body tr[data-status='delivered']")
            delivered.wait_for(timeout=60000)
            assert visit["id"] in delivered.locator("pre").text_content()
            delivered.get_by_text("Body sent").click()
            # THEN nothing is wider than the screen, and axe finds nothing
            assert page.evaluate("document.documentElement.scrollWidth") <= width
            wider = "[...document.querySelectorAll('section')].filter((s) => s.scrollWidth > s.clientWidth + 1)"
            assert page.evaluate(f"{wider}.map((s) => s.id)") == []
            assert axe_violations(page) == [], (width, scheme, "log")
            page.locator("#webhooks").screenshot(path=str(ARTIFACTS / f"console-webhooks-{width}-{scheme}.png"))
            # AND so are the form and the rotated secret's dialog
            page.get_by_role("button", name="Add a subscription").click()
            page.get_by_role("button", name="Add the subscription").click()
            page.get_by_text("Give the receiving system's https address.").wait_for()
            assert axe_violations(page) == [], (width, scheme, "form")
            page.keyboard.press("Escape")
            row.get_by_role("button", name="Rotate secret").click()
            page.get_by_role("button", name="Make a new secret").click()
            page.get_by_text("You will not see it again.").wait_for()
            assert page.evaluate("document.documentElement.scrollWidth") <= width
            assert axe_violations(page) == [], (width, scheme, "secret")
            page.locator("#secret-dialog").screenshot(
                path=str(ARTIFACTS / f"console-webhook-secret-{width}-{scheme}.png")
            )
            if scheme == "dark":
                page.emulate_media(forced_colors="active")
                assert axe_violations(page) == [], (width, "forced colors")
                page.emulate_media(forced_colors="none", contrast="more")
                assert axe_violations(page) == [], (width, "more contrast")
                page.keyboard.press("Escape")
                assert axe_violations(page) == [], (width, "more contrast", "log")
            page.close()
