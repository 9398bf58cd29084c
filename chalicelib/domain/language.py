"""The patient's language: which ones the clinic speaks, the choice from a profile or `Accept-Language`, the
server's message catalogues (gettext `.mo` files under `chalicelib/locale/`, compiled from the committed `.po`
sources by Babel) and dates and times written the way the reader writes them (Babel's CLDR data).

A third language is a catalogue (`chalicelib/locale/<lang>/LC_MESSAGES/messages.po`, compiled) and its code
in LANGUAGES; no code changes."""

from __future__ import annotations

import gettext
from datetime import datetime
from functools import cache
from pathlib import Path

LANGUAGES: tuple[str, ...] = ("en", "es")
"""The languages patients can choose, first the clinic's own (what anyone gets who chose none)."""
DEFAULT = LANGUAGES[0]
LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
DOMAIN = "messages"


def supported(code: str | None) -> str | None:
    """The supported language a tag names (`es-MX` -> `es`), or None."""
    if not code:
        return None
    base = code.strip().replace("_", "-").split("-")[0].lower()
    return base if base in LANGUAGES else None


def from_accept_language(header: str | None) -> str | None:
    """The best supported language of an `Accept-Language` header (RFC 9110 quality values), or None."""
    best: tuple[float, int, str] | None = None
    for position, part in enumerate((header or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        found = supported(tag)
        if found and quality > 0 and (best is None or (quality, -position) > (best[0], best[1])):
            best = (quality, -position, found)
    return best[2] if best else None


def choose(profile_language: str | None, accept_language: str | None) -> str:
    """The profile's choice first, then the browser's `Accept-Language`, then the clinic's language."""
    return supported(profile_language) or from_accept_language(accept_language) or DEFAULT


@cache
def translations(language: str) -> gettext.NullTranslations:
    """The compiled catalogue of a language (English is the source text: its catalogue may stay empty)."""
    return gettext.translation(DOMAIN, LOCALE_DIR, languages=[supported(language) or DEFAULT], fallback=True)


def gettext_for(language: str) -> gettext.NullTranslations:
    return translations(supported(language) or DEFAULT)


def mark(message: str) -> str:
    """Marks a message for the catalogue where it is written (a table); `t` translates it where it is used."""
    return message


def t(language: str, message: str, **values: object) -> str:
    """The message in the language, with `%(name)s` placeholders filled."""
    text = gettext_for(language).gettext(message)
    return text % values if values else text


def day_and_time(at: datetime, language: str, short: bool) -> tuple[str, str]:
    """The local day and clock time of an aware instant as the language writes them (weekday and month names,
    12- or 24-hour clock, their order: CLDR's `MMMEd` skeleton short, the full date long), the zone's
    abbreviation after the time. CLDR's narrow no-break spaces become plain spaces: they are not in the SMS
    alphabet (GSM-7), and one of them would make a whole SMS UCS-2."""
    from babel.dates import format_date, format_skeleton, format_time

    locale = supported(language) or DEFAULT
    day = format_skeleton("MMMEd", at, locale=locale) if short else format_date(at, "full", locale=locale)
    clock = format_time(at, "short", locale=locale)
    zone = at.tzname() or ""
    return _plain_spaces(day), _plain_spaces(f"{clock} {zone}".strip())


def _plain_spaces(text: str) -> str:
    return text.replace("\u202f", " ").replace("\u00a0", " ")
