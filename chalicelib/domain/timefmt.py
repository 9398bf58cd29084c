"""Instants on the wire and in keys: ISO-8601 UTC with a Z, to the second, sortable as text.

`isoformat` rather than `strftime("%Y")`, which prints year 10 as `10` on Linux: the year is always four digits.
"""

from __future__ import annotations

from datetime import UTC, datetime


def instant(value: datetime) -> str:
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds") + "Z"


def precise_instant(value: datetime) -> str:
    """To the microsecond (fixed width, so it still sorts as text): orders events within one second."""
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def parse_instant(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
