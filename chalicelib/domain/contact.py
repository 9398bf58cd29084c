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


def mask_email(address: str | None) -> str | None:
    """`p***@example.org`: enough for staff to recognise an address, not to use it."""
    if not address or "@" not in address:
        return address and "***"
    local, domain = address.split("@", 1)
    return f"{local[:1]}***@{domain}"


def mask_phone(number: str | None) -> str | None:
    """`+1******0100`: the country code and the last four digits."""
    if not number:
        return number
    return number[:2] + "*" * max(len(number) - 6, 0) + number[-4:]
