"""Languages on the server (issue 32): choosing one, the gettext catalogues kept complete and in step with the
code, dates as each locale writes them, and every reminder channel and timing in each language, SMS segments
counted."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from chalicelib.api.errors import CHALICE_CODES, ERROR_TABLE
from chalicelib.domain import errors as domain_errors
from chalicelib.domain.appointments import AppointmentType
from chalicelib.domain.calendar import appointment_ics
from chalicelib.domain.error_messages import PATIENT_MESSAGES, patient_message
from chalicelib.domain.language import LANGUAGES, LOCALE_DIR, choose, day_and_time, from_accept_language
from chalicelib.domain.reminders import (
    LINK_TIMING,
    TIMINGS,
    Channel,
    Recipient,
    is_gsm7,
    plan,
    render,
    sms_segments,
    sms_text,
)
from tests.helpers import make_appointment

ROOT = Path(__file__).resolve().parents[2]
START = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)  # Wednesday 10:00 in New York


def appointment(**overrides):
    fields = {
        "doctor_name": "Dr. Ada Smith",
        "timezone": "America/New_York",
        "starts_at": START,
        "ends_at": START + timedelta(minutes=30),
        "date": "2026-12-02",
        "time": "10:00",
        "location": "Boston Heart Center, 12 Main St",
        **overrides,
    }
    return make_appointment(**fields)


# --- choosing ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("es-MX,es;q=0.9,en;q=0.8", "es"),
        ("en-US,en;q=0.9,es;q=0.8", "en"),
        ("fr-FR,fr;q=0.9,es;q=0.5", "es"),  # French is not offered: the best one that is
        ("es;q=0.2, en;q=0.7", "en"),  # quality, not order
        ("es;q=0, en", "en"),  # q=0 means "not this one"
        ("de, fr", None),
        ("", None),
        ("es;q=abc", None),
        (None, None),
    ],
)
def test_accept_language_picks_the_best_offered_language(header, expected):
    assert from_accept_language(header) == expected


def test_the_profile_choice_wins_then_the_browser_then_english():
    assert choose("es", "en-US") == "es"
    assert choose(None, "es-ES") == "es"
    assert choose("klingon", "es-ES") == "es"
    assert choose(None, None) == "en"


# --- catalogues ----------------------------------------------------------------------------------------------
def _extracted() -> set[str]:
    found = extract_from_dir(
        str(ROOT / "chalicelib"),
        method_map=[("**.py", "python")],
        keywords={"t": (2,), "mark": None},
    )
    return {message for _, _, message, _, _ in found if isinstance(message, str)}


def _catalogue(language: str):
    with open(LOCALE_DIR / language / "LC_MESSAGES" / "messages.po", "rb") as po:
        return read_po(po)


@pytest.mark.parametrize("language", [lang for lang in LANGUAGES if lang != "en"])
def test_every_message_the_code_uses_is_translated_and_the_catalogue_holds_nothing_unused(language):
    # GIVEN the messages the server code marks (t(...), mark(...)) and the language's catalogue
    used = _extracted()
    catalogue = _catalogue(language)
    held = {m.id for m in catalogue if m.id}
    # THEN every message is there with a translation that keeps its placeholders, and nothing else is
    assert used - held == set(), "messages missing from the catalogue"
    assert held - used == set(), "catalogue entries nothing uses"
    for message in catalogue:
        if message.id:
            assert message.string, f"untranslated: {message.id}"
            assert not message.fuzzy, f"fuzzy: {message.id}"
            assert sorted(_placeholders(message.id)) == sorted(_placeholders(message.string)), message.id


def _placeholders(text: str) -> list[str]:
    import re

    return re.findall(r"%\(\w+\)s", text)


def test_the_template_a_new_language_starts_from_holds_exactly_the_messages_the_code_uses():
    with open(LOCALE_DIR / "messages.pot", "rb") as pot:
        assert {m.id for m in read_po(pot) if m.id} == _extracted()


@pytest.mark.parametrize("language", [lang for lang in LANGUAGES if lang != "en"])
def test_the_committed_mo_file_is_the_compiled_po(language):
    """The Lambda package carries the committed .mo files: one not recompiled after a .po change fails here."""
    compiled = io.BytesIO()
    write_mo(compiled, _catalogue(language))
    assert (LOCALE_DIR / language / "LC_MESSAGES" / "messages.mo").read_bytes() == compiled.getvalue()


def test_every_error_code_a_patient_can_get_has_a_sentence():
    codes = {code for _, code in ERROR_TABLE.values()} | set(CHALICE_CODES.values()) | {"INTERNAL_ERROR"}
    codes |= {
        cls.code
        for cls in vars(domain_errors).values()
        if isinstance(cls, type) and issubclass(cls, domain_errors.BusinessRuleViolation)
    }
    assert codes - set(PATIENT_MESSAGES) == set()


def test_an_error_message_is_the_errors_own_in_english_and_the_codes_sentence_in_spanish():
    assert patient_message("SLOT_UNAVAILABLE", "The 10:00 slot is taken.", "en") == "The 10:00 slot is taken."
    spanish = patient_message("SLOT_UNAVAILABLE", "The 10:00 slot is taken.", "es")
    assert spanish == "Lo sentimos, alguien acaba de reservar esa hora. Elija otra, por favor."
    assert patient_message("SOMETHING_NEW", "As is.", "es") == "As is."


# --- dates ---------------------------------------------------------------------------------------------------
def test_dates_and_times_are_written_as_each_language_writes_them():
    local = START.astimezone(__import__("zoneinfo").ZoneInfo("America/New_York"))
    assert day_and_time(local, "en", short=False) == ("Wednesday, December 2, 2026", "10:00 AM EST")
    assert day_and_time(local, "es", short=False) == ("miércoles, 2 de diciembre de 2026", "10:00 EST")
    assert day_and_time(local, "en", short=True) == ("Wed, Dec 2", "10:00 AM EST")
    assert day_and_time(local, "es", short=True) == ("mié, 2 dic", "10:00 EST")
    afternoon = local.replace(hour=15, minute=30)
    assert day_and_time(afternoon, "en", short=True)[1] == "3:30 PM EST"
    assert day_and_time(afternoon, "es", short=True)[1] == "15:30 EST"


# --- SMS segments --------------------------------------------------------------------------------------------
def test_sms_segments_count_gsm7_and_ucs2_as_carriers_bill_them():
    assert sms_segments("a" * 160) == 1 and sms_segments("a" * 161) == 2 and sms_segments("a" * 306) == 2
    assert sms_segments("a" * 307) == 3
    assert sms_segments("€" * 80) == 1 and sms_segments("€" * 81) == 2  # the escape: two septets each
    assert is_gsm7("¿Mañana? ¡Sí, é ü Ñ!") is False  # í is not in the SMS alphabet
    assert is_gsm7("¿Mañana? ¡Si, é ü Ñ!") is True
    assert sms_segments("á" * 70) == 1 and sms_segments("á" * 71) == 2 and sms_segments("á" * 135) == 3
    # AND á í ó ú are written plainly in an SMS, so one accent does not cost UCS-2's 70-character segments
    assert sms_text("Le pedimos llegar 10 minutos antes: día, sesión, Ú") == (
        "Le pedimos llegar 10 minutos antes: dia, sesion, U"
    )
    assert sms_text("Cita 予約") == "Cita 予約"  # nothing plain to write it as: UCS-2 as it is


LONG_PLACE = "Massachusetts General Hospital, Yawkey Building, Suite 5B, 55 Fruit St"


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("timing", [*TIMINGS])
@pytest.mark.parametrize("kind", list(AppointmentType))
@pytest.mark.parametrize("place", ["Room 4", LONG_PLACE])
def test_every_channel_and_timing_renders_in_each_language_and_an_sms_stays_one_gsm7_segment(
    language, timing, kind, place
):
    # GIVEN a visit (a video visit's room has its link) and a patient who reads `language`
    a = appointment(type=kind, location=place, telehealth_url="https://clinic.example/room/r1?t=abc")
    recipient = Recipient(email="p@example.org", phone="+16175550100", push_endpoints=("arn:x",), language=language)
    # WHEN its reminders are planned at this timing on every channel
    planned, skipped = plan(a, list(Channel), [timing], recipient, None, START - timedelta(days=3))
    assert not skipped and {r.language for r in planned} == {language}
    spanish = language == "es"
    for reminder in planned:
        message = render(reminder.channel, a, None, timing == LINK_TIMING, language)
        # THEN the text is in the language (its own words, its clock) and is the reminder's message
        assert reminder.message == message.text
        assert message.text.startswith("Recordatorio:" if spanish else "Reminder:")
        assert ("10:00 EST" if spanish else "10:00 AM EST") in message.text
        assert message.html.startswith(f'<html lang="{language}">')
        assert message.subject.startswith("Recordatorio de su cita:" if spanish else "Appointment reminder:")
        if kind is AppointmentType.TELEHEALTH and timing == LINK_TIMING:
            assert "https://clinic.example/room/r1?t=abc" in message.text
        # AND an SMS is one GSM-7 segment in either language (Spanish as cheap as English)
        if reminder.channel is Channel.SMS:
            assert is_gsm7(message.text), message.text
            assert sms_segments(message.text) == 1, message.text


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_clinic_message_that_makes_an_sms_longer_is_kept_whole_and_the_segments_counted(language):
    custom = "Traiga su tarjeta del seguro y la lista de sus medicinas, por favor."
    message = render(Channel.SMS, appointment(location=LONG_PLACE), custom, language=language)
    assert message.text.endswith(custom) and sms_segments(message.text) == 1


@pytest.mark.parametrize(
    ("language", "summary", "description"),
    [
        ("en", "Appointment with Dr. Ada Smith", "Please arrive 10 minutes early."),
        ("es", "Cita con Dr. Ada Smith", "Le pedimos llegar 10 minutos antes."),
    ],
)
def test_the_calendar_file_is_in_the_patients_language(language, summary, description):
    from icalendar import Calendar

    event = Calendar.from_ical(appointment_ics(appointment(), START, language)).walk("VEVENT")[0]
    assert str(event["SUMMARY"]) == summary and event["SUMMARY"].params["LANGUAGE"] == language
    assert str(event["DESCRIPTION"]) == description
    video = appointment(type=AppointmentType.TELEHEALTH, location="Telehealth")
    event = Calendar.from_ical(appointment_ics(video, START, language)).walk("VEVENT")[0]
    assert ("Videoconsulta" if language == "es" else "Video visit") in str(event["LOCATION"])


@pytest.mark.parametrize(("language", "title"), [("en", "Appointment reminder"), ("es", "Recordatorio de cita")])
def test_a_push_notification_has_its_title_in_the_patients_language(language, title):
    import json

    from chalicelib.adapters.delivery import push_payload

    text = "Recordatorio: su cita con Dr. Ada Smith"
    payload = json.loads(push_payload(text, language))
    assert json.loads(payload["APNS"])["aps"]["alert"]["title"] == title
    assert json.loads(payload["GCM"])["notification"] == {"title": title, "body": text}
