"""Searching the patient directory: the terms a patient is found by (name, e-mail, phone), normalized the same
way for the index and for a query, so "ni", "NIA", "Nia Park" and "555-0101" all find what they should."""

from __future__ import annotations

import re
import unicodedata
from typing import Literal

from chalicelib.domain.errors import InvalidInput

Kind = Literal["name", "email", "phone"]
KINDS: tuple[Kind, ...] = ("name", "email", "phone")
MIN_QUERY = 2
"""Shorter queries would list most of the directory: staff type at least two characters."""


def normalize(kind: Kind, value: str) -> str:
    """Names ignore case, accents and spacing; e-mails ignore case; phones keep digits only, last digit first,
    so a prefix query matches the END of a number: "555 0102" and "+1 617 555 0102" both find +16175550102
    (staff type a local number or its last digits, seldom the country code)."""
    if kind == "phone":
        return re.sub(r"\D", "", value)[::-1]
    if kind == "email":
        return value.strip().lower()
    folded = unicodedata.normalize("NFKD", value.casefold())
    return " ".join("".join(c for c in folded if not unicodedata.combining(c)).split())


def terms(name: str | None, email: str | None, phone: str | None) -> dict[Kind, str | None]:
    """The index keys of one patient, by kind; None where the patient has no such value."""
    values: dict[Kind, str | None] = {"name": name, "email": email, "phone": phone}
    return {kind: (normalize(kind, value) or None) if value else None for kind, value in values.items()}


def parse_query(query: str) -> tuple[Kind, str]:
    """What staff typed, read as an e-mail (has "@"), a phone number (digits and phone punctuation) or a name."""
    text = query.strip()
    if "@" in text:
        kind: Kind = "email"
    elif re.fullmatch(r"[+\d\s().-]+", text):
        kind = "phone"
    else:
        kind = "name"
    prefix = normalize(kind, text)
    if len(prefix) < MIN_QUERY:
        raise InvalidInput(
            f"Type at least {MIN_QUERY} letters or digits of a name, e-mail or phone number.",
            {"fields": {"query": f"at least {MIN_QUERY} characters"}},
        )
    return kind, prefix


def index_key(term: str, patient_id: str) -> str:
    """The range key: the term first (so a prefix query finds it), the id last (so equal terms stay apart)."""
    return f"{term}\x1f{patient_id}"
