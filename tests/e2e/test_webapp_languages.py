"""The patient web app in Spanish (issue 32), in headless Chromium against `make run`'s server: a browser that
prefers Spanish gets the app in Spanish, the patient's choice is saved with it and its reminders follow, the
whole journey (search, book, confirmation, my appointments, reminders, cancel) reads in Spanish with dates as
Spanish writes them, axe-core finds nothing, and `lang` is right; and a pseudo-locale (accented, 40 % longer,
right-to-left) mirrors the page without overflow at 360 px.

Days are weeks ahead (a weekday the demo doctor works), so nothing depends on the time of day."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from infra.local.dynamodb_local import ROOT
from tests.e2e.browsers import COLOUR_RULES, axe_violations, launch_chromium
from tests.e2e.patients import new_patient
from tests.e2e.test_webapp import (
    _BASE,
    MODES,
    _remember_base,  # noqa: F401 - sets the base URL (autouse)
    api,
    far_weekday,
    mine_on,
    slot,
    wait_until,
)

CATALOGUES = ROOT / "web" / "i18n"
ES = json.loads((CATALOGUES / "es.json").read_text(encoding="utf-8"))
SPANISH_DAYS = ("lunes", "martes", "miércoles", "jueves", "viernes")


def spanish_page(browser, who, width: int = 1280, height: int = 900):
    """A page whose browser prefers Spanish (Mexico), signed in as `who`."""
    context = browser.new_context(
        viewport={"width": width, "height": height}, timezone_id="America/Mexico_City", locale="es-MX"
    )
    context.add_init_script(f"sessionStorage.setItem('clinic.token', {json.dumps(who.token)})")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.errors = errors
    page.goto(_BASE["base"])
    page.get_by_text("médicos encontrados").wait_for()
    return page


def open_day_es(page, doctor_name: str, day: str) -> None:
    page.get_by_label("Nombre").fill(doctor_name.removeprefix("Dr. "))
    page.get_by_role("button", name="Buscar", exact=True).click()
    page.get_by_role("button", name=f"Ver horas con {doctor_name}").click()
    page.locator("#book-picker button[data-time]").first.wait_for()
    page.locator("#book-picker input[type=date]").fill(day)
    wait_until(page, lambda: page.locator("#book-picker input[type=date]").input_value() == day)
    page.locator("#book-picker button[data-time]").first.wait_for()


def assert_accessible_in_spanish(page, where: str) -> None:
    assert page.evaluate("document.documentElement.lang") == "es", where
    for mode, media in MODES.items():
        page.emulate_media(**media)
        assert axe_violations(page, rules=() if mode == "light" else COLOUR_RULES) == [], (where, mode)
    page.emulate_media(color_scheme="light")


def test_the_whole_journey_in_spanish(dev_server, browser):
    day = far_weekday(35)
    pat = new_patient("Lucía Pérez")
    # GIVEN a patient whose browser prefers Spanish
    page = spanish_page(browser, pat)
    # THEN the app is in Spanish before any choice (the browser's language), with the page's lang set
    assert page.locator("h1").inner_text() == ES["tab.book.title"]
    assert page.title() == f"{ES['tab.book.title']} · Clínica"
    assert page.get_by_role("tab", name="Mis citas").is_visible()
    assert_accessible_in_spanish(page, "search")
    # AND a wrong form is explained in Spanish, next to the field
    open_day_es(page, "Dr. Ada Smith", day)
    assert "(" in slot(page, "10:00").inner_text()  # the patient's own time beside the doctor's
    slot(page, "10:00").click()
    page.get_by_role("button", name="Reservar esta cita").click()
    page.get_by_text(ES["book.check.reason"]).wait_for()
    assert_accessible_in_spanish(page, "book with an error")

    # WHEN it books with e-mail reminders
    page.get_by_label("Motivo de la consulta").fill("Dolor de pecho al correr")
    page.locator("#reminders-field").get_by_label("Correo", exact=True).check()
    page.get_by_role("button", name="Reservar esta cita").click()
    page.get_by_role("heading", name="Su cita está reservada").wait_for()
    # THEN the confirmation is in Spanish, the date as Spanish writes it, in the doctor's zone and the patient's
    done = page.locator("#booked").inner_text()
    assert "Cita con Dr. Ada Smith" in done and "a las 10:00, hora del médico (America/New_York)" in done
    assert any(f"{weekday}, " in done for weekday in SPANISH_DAYS), done
    assert "su hora (America/Mexico_City)" in done and "Correo, 24 horas antes" in done
    assert_accessible_in_spanish(page, "confirmation")
    (booked,) = mine_on(day, pat)

    # WHEN it opens My appointments THEN the visit reads in Spanish, its status in words
    page.get_by_role("button", name="Ver mis citas").click()
    card = page.locator(f"li[data-appointment='{booked['id']}']")
    card.wait_for()
    assert "Estado: Reservada" in card.inner_text()
    assert_accessible_in_spanish(page, "my appointments")
    # AND its reminders tab lists the reminder in Spanish
    card.get_by_role("button", name="Recordatorios").click()
    page.locator("#reminders li[data-reminder]").first.wait_for()
    assert "Correo, 24 horas antes" in page.locator("#reminders").inner_text()
    assert "Programado" in page.locator("#reminders").inner_text()
    assert_accessible_in_spanish(page, "reminders")

    # WHEN it chooses Spanish in the app's settings THEN the choice is saved with the patient
    page.get_by_text("Pantalla").click()
    with page.expect_navigation():
        page.get_by_label("Idioma").select_option("es")
    page.get_by_text("médicos encontrados").wait_for()
    record = api("PUT", "/api/patients/me", pat).json()
    assert record["language"] == "es"
    # AND a reminder planned from now on is written in Spanish (the server's catalogue), as the .ics is
    added = api(
        "POST",
        "/api/reminders/schedule",
        pat,
        json={"appointmentId": booked["id"], "email": True, "timings": ["2h"]},
    ).json()["reminders"]
    assert added[0]["message"].startswith("Recordatorio: su cita con Dr. Ada Smith es el ")
    ics = api("GET", f"/api/appointments/{booked['id']}/calendar.ics", pat)
    assert ics.headers["Content-Language"] == "es" and "Cita con Dr. Ada Smith" in ics.text

    # WHEN it cancels the visit THEN the question, the answer and the status are in Spanish
    page.get_by_role("tab", name="Mis citas").click()
    card = page.locator(f"li[data-appointment='{booked['id']}']")
    card.get_by_role("button", name=f"Cancelar la cita del {day} a las 10:00").click()
    page.get_by_text(ES["mine.cancel.question"]).wait_for()
    card.get_by_role("button", name="Sí, cancelarla").click()
    wait_until(page, lambda: "Cancelada" in page.locator(f"li[data-appointment='{booked['id']}']").inner_text())
    assert page.errors == []


def test_the_device_check_says_what_to_do_in_spanish(dev_server, playwright):
    # GIVEN a Spanish-speaking patient with a video visit, in a browser whose camera permission is denied
    denying = launch_chromium(playwright, "--use-fake-device-for-media-stream")
    try:
        pat = new_patient()
        made = api(
            "POST",
            "/api/appointments",
            pat,
            json={
                "doctorId": "dr-ada-smith",
                "date": far_weekday(49),
                "time": "15:30",
                "type": "telehealth",
                "reason": "revisión",
            },
        )
        assert made.status_code == 201, made.text
        page = spanish_page(denying, pat)
        page.get_by_role("tab", name="Mis citas").click()
        page.locator("#mine[aria-busy='false']").wait_for(state="attached")
        card = page.locator(f"li[data-appointment='{made.json()['id']}']")
        # WHEN it checks its device THEN each problem and what to do about it are in Spanish
        card.get_by_role("button", name="Comprobar mi equipo").click()
        card.get_by_text(ES["device.attention"]).wait_for(timeout=20000)
        text = card.inner_text()
        assert ES["device.problem.camera"] in text and ES["device.advice.camera"] in text
        assert ES["device.problem.microphone"] in text and ES["device.advice.microphone"] in text
        assert "camera" not in text.lower()  # nothing of the server's English
        assert_accessible_in_spanish(page, "device check")
    finally:
        denying.close()


def test_a_patient_who_chose_english_gets_english_in_a_spanish_browser(dev_server, browser):
    # GIVEN a patient who chose English (on another device, or at the desk), in a browser that prefers Spanish
    pat = new_patient()
    assert api("PUT", "/api/patients/me", pat).status_code == 200
    assert api("PATCH", "/api/patients/me", pat, json={"language": "en"}).status_code == 200
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="es-ES")
    context.add_init_script(f"sessionStorage.setItem('clinic.token', {json.dumps(pat.token)})")
    page = context.new_page()
    page.goto(_BASE["base"])
    # THEN once signed in the app follows the patient's choice, not the browser's
    page.get_by_text("doctors found").wait_for()
    assert page.evaluate("document.documentElement.lang") == "en"
    assert page.locator("h1").inner_text() == "Book a visit"
    context.close()


# --- a pseudo-locale: accented, 40 % longer, right to left ---------------------------------------------------------
ACCENTED = str.maketrans("aeiouAEIOUcnyCNY", "áéíóúÁÉÍÓÚçñýÇÑÝ")


def pseudo(text: str) -> str:
    """Accented and about 40 % longer, placeholders kept, so truncation and fixed widths show."""
    if not text.strip():
        return text
    parts = re.split(r"(\{\w+\})", text)
    accented = "".join(p if p.startswith("{") else p.translate(ACCENTED) for p in parts)
    padding = "~" * max(1, round(len(text) * 0.4))
    return f"[{accented} {padding}]"


def pseudo_catalogue() -> dict[str, str]:
    english = json.loads((CATALOGUES / "en.json").read_text(encoding="utf-8"))
    return {**{k: pseudo(v) for k, v in english.items()}, "meta.dir": "rtl"}


def overflowing(page) -> list[str]:
    """Elements whose content is wider than their box (text cut off, or pushing the page sideways)."""
    return page.evaluate(
        """() => [...document.querySelectorAll('main *, header *, footer *')]
          .filter((e) => e.offsetParent !== null && getComputedStyle(e).overflowX !== 'auto'
            && e.scrollWidth > e.clientWidth + 1 && e.clientWidth > 0)
          .map((e) => `${e.tagName.toLowerCase()}#${e.id}.${e.className}: ${e.scrollWidth}>${e.clientWidth}`)"""
    )


def test_a_pseudo_locale_mirrors_the_page_and_nothing_overflows_at_360_px(dev_server, browser):
    day = far_weekday(42)
    pat = new_patient()
    catalogue = json.dumps(pseudo_catalogue(), ensure_ascii=False)
    context = browser.new_context(viewport={"width": 360, "height": 800}, timezone_id="Europe/Berlin")
    context.add_init_script(
        f"sessionStorage.setItem('clinic.token', {json.dumps(pat.token)});"
        "localStorage.setItem('clinic.lang', 'qps-ploc');"
    )
    context.route(
        "**/i18n/qps-ploc.json",
        lambda route: route.fulfill(status=200, content_type="application/json", body=catalogue),
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(_BASE["base"])
    page.locator("#doctors li").first.wait_for()
    # THEN the page is right to left and mirrored: the brand sits at the right, the tabs start at the right
    assert page.evaluate("[document.documentElement.dir, document.documentElement.lang]") == ["rtl", "qps-ploc"]
    brand = page.locator(".brand").bounding_box()
    assert brand["x"] + brand["width"] > 360 - 40, brand
    first_tab = page.get_by_role("tab").first.bounding_box()
    assert first_tab["x"] > 180, first_tab
    # AND every view's text is the pseudo-locale's (nothing left in English) and nothing overflows
    views: dict[str, Callable[[], None]] = {}

    def book_view():
        page.locator("#q").fill("Ada")
        page.locator("#search button[type=submit]").click()
        page.locator("#doctors li[data-doctor='dr-ada-smith'] button").click()
        page.locator("#book-picker button[data-time]").first.wait_for()
        page.locator("#book-picker input[type=date]").fill(day)
        wait_until(page, lambda: page.locator("#book-picker input[type=date]").input_value() == day)
        slot(page, "10:00").click()
        page.locator("#book-button").click()  # the validation message too

    def mine_view():
        page.locator("#tab-mine").click()
        page.locator("#mine[aria-busy='false']").wait_for(state="attached")

    def reminders_view():
        page.locator("#tab-reminders").click()
        page.locator("#reminders-status").wait_for(state="attached")

    def settings_view():
        page.locator(".settings summary").click()  # the display settings and the language menu, open

    views.update(search=lambda: None, settings=settings_view, book=book_view, mine=mine_view, reminders=reminders_view)
    for view, show in views.items():
        show()
        page.wait_for_timeout(300)
        assert page.evaluate("document.documentElement.scrollWidth") <= 360, view
        assert overflowing(page) == [], view
        visible = page.locator("main").inner_text()
        assert "Book a visit" not in visible and "Reminders" not in visible, view
    page.screenshot(path=str(ROOT / "tests" / "artifacts" / "webapp-pseudo-rtl-360.png"), full_page=True)
    assert errors == []
    context.close()
