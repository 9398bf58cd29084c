"""Instants on the wire and in keys: ISO-8601 UTC with a Z, to the second, sortable as text.

`isoformat` rather than `strftime("%Y")`, which prints year 10 as `10` on Linux: the year is always four digits.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import TypeVar

DateOrInstant = TypeVar("DateOrInstant", bound=date)

MIN_YEAR = 2000
MAX_YEAR = 2100
"""The years the product supports: every date or instant that enters is checked before any arithmetic, so
no computation ever meets year 1 or 9999 (OverflowError) or local mean time of the distant past."""
MAX_WINDOW_DAYS = 92
"""A list or report window (`from`..`to`, both included) covers at most this many days."""


def check_supported(value: DateOrInstant) -> DateOrInstant:
    """The date (or instant) itself, or ValueError when its year is outside MIN_YEAR..MAX_YEAR."""
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise ValueError(f"must be within the years {MIN_YEAR}-{MAX_YEAR}")
    return value


def check_window(start: date | None, end: date | None) -> None:
    """ValueError unless `start` <= `end` and the window covers at most MAX_WINDOW_DAYS days."""
    if start is None or end is None:
        return
    if end < start:
        raise ValueError("must not be before from")
    if (end - start).days + 1 > MAX_WINDOW_DAYS:
        raise ValueError(f"a window covers at most {MAX_WINDOW_DAYS} days")


def instant(value: datetime) -> str:
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds") + "Z"


def precise_instant(value: datetime) -> str:
    """To the microsecond (fixed width, so it still sorts as text): orders events within one second."""
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def parse_instant(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
