"""The clinic console in a real headless Chromium (Debian's, driven by Playwright) against `make run`'s server:
sign in, see the day, watch a booking and a cancel made through the API appear, retry a failed reminder, no
serious accessibility violations (axe-core), and screenshots in light and dark mode."""

from __future__ import annotations

import shutil
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests

from infra.local.dynamodb_local import ROOT
from infra.local.tokens import demo_tokens, unsigned_token

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = ROOT / "tests" / "artifacts"
TOKENS = demo_tokens()
BOUNCING = unsigned_token(
    {
        "sub": "demo-bounce",
        "cognito:username": "bounce",
        "cognito:groups": ["patients"],
        "name": "Bo Unce",
        "email": "nobody@clinic.invalid",
        "email_verified": True,  # verified, yet the provider bounces it: the failure to retry
    }
)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield launched
        launched.close()


def free_slot(base: str, doctor_id: str) -> tuple[str, str]:
    headers = {"Authorization": TOKENS["patient"]}
    today = datetime.now(UTC).date()
    for ahead in range(1, 15):
        day = (today + timedelta(days=ahead)).isoformat()
        slots = requests.get(
            f"{base}/api/appointments/availability/{doctor_id}/{day}?onlyAvailable=true", headers=headers, timeout=10
        ).json()["slots"]
        if len(slots) > 3:
            return day, slots[1]["time"]
    raise AssertionError("no free day")


def book(base: str, token: str, doctor_id: str, day: str, at: str, **extra) -> dict:
    made = requests.post(
        f"{base}/api/appointments",
        timeout=10,
        json={"doctorId": doctor_id, "date": day, "time": at, "type": "in-person", "reason": "visit", **extra},
        headers={"Authorization": token, "Content-Type": "application/json"},
    )
    assert made.status_code == 201, made.text
    return made.json()


def wait_for(page, predicate, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        page.wait_for_timeout(250)
    raise AssertionError("the page did not change in time")


def test_console_day_changes_retry_accessibility_and_screenshots(dev_server, browser):
    base = dev_server.base
    day, at = free_slot(base, "dr-ada-smith")
    first = book(base, TOKENS["patient"], "dr-ada-smith", day, at)
    page = browser.new_page(viewport={"width": 390, "height": 844})  # a phone-width screen
    page.goto(f"{base}/console")
    page.get_by_label("Admin token", exact=False).fill(TOKENS["admin"])
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text("Signed in.").wait_for()
    page.locator("#day").fill(day)
    page.locator("#doctor").select_option("dr-ada-smith")
    page.get_by_role("button", name="Show").click()
    row = page.locator(f"tr[data-appointment='{first['id']}']")
    row.wait_for()
    assert "Pat Example" in row.inner_text() and "scheduled" in row.inner_text()

    # a booking and a cancel made elsewhere show up without reloading the page
    second = book(base, TOKENS["patient2"], "dr-ada-smith", day, "16:00")
    page.locator(f"tr[data-appointment='{second['id']}']").wait_for(timeout=15000)
    requests.delete(f"{base}/api/appointments/{first['id']}", headers={"Authorization": TOKENS["patient"]}, timeout=10)
    wait_for(page, lambda: "cancelled" in row.inner_text())

    # the audit trail of an appointment
    row.get_by_role("button", name="Audit trail").click()
    page.get_by_text("cancelled by patient").wait_for()

    # a reminder that fails (an address that can never receive mail), retried from the console
    bounced = book(base, BOUNCING, "dr-ada-smith", day, "15:00", reminderPreferences={"email": True})
    soon = (datetime.now(UTC) + timedelta(seconds=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    requests.put(
        f"{base}/api/reminders/{bounced['id']}_email-24h",
        json={"scheduledTime": soon},
        timeout=10,
        headers={"Authorization": BOUNCING, "Content-Type": "application/json"},
    )
    failed = page.locator(f"li[data-reminder='{bounced['id']}_email-24h']")
    failed.wait_for(timeout=20000)
    failed.get_by_role("button", name="Retry").click()
    wait_for(page, lambda: failed.count() == 0 or "Retry" not in failed.inner_text())
    status = requests.get(
        f"{base}/api/reminders/appointment/{bounced['id']}", headers={"Authorization": BOUNCING}, timeout=10
    ).json()["reminders"][0]["status"]
    assert status in ("pending", "sending", "failed")  # retried: pending again (and it may fail once more)

    # accessibility: no serious or critical violations, in light and dark mode
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        page.evaluate(AXE.read_text() + "\n;true")  # not a <script> tag: the page's CSP allows only its own
        result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
        serious = [v["id"] for v in result["violations"] if v["impact"] in ("serious", "critical")]
        assert serious == [], serious
        page.screenshot(path=str(ARTIFACTS / f"console-{scheme}.png"), full_page=True)
    assert Path(ARTIFACTS / "console-dark.png").stat().st_size > 10_000
    # keyboard: from the top, Tab reaches the skip link, the sections and the sign-in, with a visible focus ring
    fresh = browser.new_page()
    fresh.goto(f"{base}/console")
    reached = []
    for _ in range(7):
        fresh.keyboard.press("Tab")
        reached.append(fresh.evaluate("document.activeElement.textContent || document.activeElement.id"))
        outline = fresh.evaluate("getComputedStyle(document.activeElement).outlineStyle")
        assert outline != "none", reached[-1]
    assert reached[0] == "Skip to content" and "Schedule" in reached and "token" in reached
