"""Patient contact details: E.164 phone numbers (validated with `phonenumbers`) and e-mail addresses."""

from __future__ import annotations

import re

EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")


def e164(raw: str | None) -> str | None:
    """The number in E.164 form, or None when it is missing or not a valid number."""
    if not raw:
        return None
    import phonenumbers

    try:
        number = phonenumbers.parse(raw, None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def email(raw: str | None) -> str | None:
    return raw.strip() if raw and EMAIL.match(raw.strip()) else None


EMAIL_ANYWHERE = re.compile(r"[^@\s<>\"'(),;:]{1,64}@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
PHONE_ANYWHERE = re.compile(r"\+\d[\d\s().-]{6,18}\d|\b\d{10,15}\b")


def redact(text: str) -> str:
    """Masks e-mail addresses and phone numbers in free text (error messages, log lines)."""
    return PHONE_ANYWHERE.sub("[phone]", EMAIL_ANYWHERE.sub("[email]", text))
