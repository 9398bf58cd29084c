"""A doctor's own calendar read as busy intervals: the events of an iCalendar feed expanded (icalendar,
recurring-ical-events, x-wr-timezone) into UTC intervals, split by the doctor's local days. Nothing else of an
event is kept: no title, attendee, place or description ever leaves this module.

Rules: recurring events with RRULE, EXDATE, RDATE and moved instances (RECURRENCE-ID) are expanded by the
library; an all-day event is busy the whole local day in the doctor's zone; a floating time is read in the
doctor's zone; Outlook's Windows zone names are mapped by icalendar; `X-WR-TIMEZONE` feeds are converted first;
STATUS:CANCELLED and TRANSP:TRANSPARENT events block nothing; our own visits (UID `<appointment id>@clinic-booking`)
are never read back as busy. Work is bounded: a feed larger than `MAX_FEED_BYTES` is refused, and at most
`MAX_INSTANCES` instances are expanded per feed (an endless every-minute rule stops there).
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from chalicelib.domain.errors import SlotUnavailable

Interval = tuple[datetime, datetime]

MAX_FEED_BYTES = 2 * 1024 * 1024
"""The largest feed read (a doctor's year of events is far smaller); a larger one fails the sync."""
MAX_INSTANCES = 20_000
"""Expanded instances per feed at most."""
MAX_INSTANCES_PER_EVENT = 2_000
"""Instances of one event (a recurring series with its moved instances) at most: an unbounded every-minute rule
stops here and the rest of the feed is still read (a daily series over 180 days has 180)."""
OWN_UID_SUFFIX = "@clinic-booking"
"""The UID suffix of the visits we write (domain.calendar): read back, they are not busy times."""


class BusyTimesChanged(SlotUnavailable):
    """The doctor-day's busy times changed between the booking's check and its commit (a sync landed): the
    transaction refused it; the booking checks again against the new busy times."""


def busy_taken() -> SlotUnavailable:
    return SlotUnavailable("The doctor is busy at this time.", {"reason": "busy"})


class FeedError(Exception):
    """A feed that cannot be read as a calendar, in plain words for the connection's `lastError`."""


@dataclass(frozen=True)
class Expansion:
    intervals: tuple[Interval, ...]
    truncated: bool = False
    """True when the instance cap or the time limit stopped the expansion (what was read is kept)."""


def own_uid(appointment_id: str) -> str:
    return f"{appointment_id}{OWN_UID_SUFFIX}"


def _instant(value: Any, zone: ZoneInfo, end: bool = False) -> datetime:
    """An event boundary as a UTC instant: a date is the local midnight in the doctor's zone, a floating
    (naive) time is read in the doctor's zone, any other time keeps its own zone."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=zone)
        moment: datetime = value.astimezone(UTC)
        return moment
    if isinstance(value, date):
        return datetime.combine(value, time(0), tzinfo=zone).astimezone(UTC)
    raise FeedError("an event has a start or end that is not a date or time")


def expand(
    ics: bytes,
    zone: ZoneInfo,
    window: Interval,
    max_instances: int = MAX_INSTANCES,
    max_instances_per_event: int = MAX_INSTANCES_PER_EVENT,
    out_of_time: Callable[[], bool] | None = None,
) -> Expansion:
    """The busy intervals of a feed that overlap `window`, merged and sorted (UTC)."""
    if len(ics) > MAX_FEED_BYTES:
        raise FeedError(f"the calendar is larger than {MAX_FEED_BYTES // (1024 * 1024)} MB")
    import recurring_ical_events
    import x_wr_timezone
    from icalendar import Calendar

    try:
        calendar = Calendar.from_ical(ics)
        calendar = x_wr_timezone.to_standard(calendar)
    except Exception as exc:
        raise FeedError("the answer is not an iCalendar file") from exc
    if calendar.name != "VCALENDAR":
        raise FeedError("the answer is not an iCalendar file")
    start, end = window
    out: list[Interval] = []
    truncated = False
    budget = max_instances
    try:
        for event_calendar in _per_event(calendar):
            query = recurring_ical_events.of(event_calendar, components=["VEVENT"])
            taken = 0
            for instance in itertools.islice(query.after(start), min(max_instances_per_event, budget) + 1):
                if instance.get("DTSTART") is None:
                    continue
                if _instant(instance["DTSTART"].dt, zone) >= end:
                    break
                taken += 1
                if taken > min(max_instances_per_event, budget):
                    truncated = True
                    break
                interval = _busy_of(instance, zone)
                if interval is not None and interval[1] > start:
                    out.append((max(interval[0], start), min(interval[1], end)))
            budget -= min(taken, budget)
            if budget <= 0 or (out_of_time is not None and out_of_time()):
                truncated = True
                break
    except FeedError:
        raise
    except Exception as exc:
        raise FeedError(f"an event in the calendar could not be read ({type(exc).__name__})") from exc
    return Expansion(tuple(merge(out)), truncated)


def _per_event(calendar: Any) -> Iterable[Any]:
    """One small calendar per UID (the series, its moved instances, the feed's VTIMEZONEs): each expanded on
    its own, in order, so one endless series cannot starve the rest and ordering stays cheap."""
    from icalendar import Calendar

    zones = [c for c in calendar.subcomponents if c.name == "VTIMEZONE"]
    groups: dict[str, list[Any]] = {}
    for component in calendar.subcomponents:
        if component.name == "VEVENT":
            groups.setdefault(str(component.get("UID", id(component))), []).append(component)
    for components in groups.values():
        single = Calendar()
        for piece in (*zones, *components):
            single.add_component(piece)
        yield single


def _busy_of(event: Any, zone: ZoneInfo) -> Interval | None:
    """The busy interval of one expanded instance, or None when it blocks nothing."""
    if str(event.get("STATUS", "")).upper() == "CANCELLED":
        return None
    if str(event.get("TRANSP", "")).upper() == "TRANSPARENT":
        return None
    if str(event.get("UID", "")).endswith(OWN_UID_SUFFIX):
        return None
    if event.get("DTSTART") is None:
        return None
    first = event["DTSTART"].dt
    begin = _instant(first, zone)
    if event.get("DTEND") is not None:
        finish = _instant(event["DTEND"].dt, zone)
    elif event.get("DURATION") is not None:
        finish = begin + event["DURATION"].dt
    elif isinstance(first, datetime):
        finish = begin  # RFC 5545: an instant with no end takes no time
    else:
        finish = _instant(first + timedelta(days=1), zone)
    if finish <= begin:
        return None
    return begin, finish


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """Sorted, with overlapping or touching intervals joined."""
    out: list[Interval] = []
    for start, end in sorted(intervals):
        if out and start <= out[-1][1]:
            if end > out[-1][1]:
                out[-1] = (out[-1][0], end)
        else:
            out.append((start, end))
    return out


def by_local_day(intervals: Iterable[Interval], zone: ZoneInfo) -> dict[date, tuple[Interval, ...]]:
    """The intervals cut at the doctor's local midnights, keyed by local date (an overnight event is busy on
    both days; a day's pieces stay in UTC)."""
    days: dict[date, list[Interval]] = {}
    for start, end in intervals:
        cursor = start
        while cursor < end:
            day = cursor.astimezone(zone).date()
            midnight = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)
            piece_end = min(end, midnight)
            days.setdefault(day, []).append((cursor, piece_end))
            cursor = piece_end
    return {day: tuple(merge(pieces)) for day, pieces in days.items()}


def fingerprint(intervals: Iterable[Interval]) -> str:
    """A short digest of a day's intervals: a sync writes a day only when this changed."""
    text = ";".join(f"{int(s.timestamp())}-{int(e.timestamp())}" for s, e in intervals)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def overlapping(interval: Interval, busy: Iterable[Interval]) -> Interval | None:
    """The first busy interval that overlaps (half-open) the given one, if any."""
    for b in busy:
        if interval[0] < b[1] and b[0] < interval[1]:
            return b
    return None


def encode(intervals: Iterable[Interval]) -> str:
    """Compact storage form: `start-end` in epoch seconds, `;`-separated."""
    return ";".join(f"{int(s.timestamp())}-{int(e.timestamp())}" for s, e in intervals)


def decode(text: str | None) -> tuple[Interval, ...]:
    if not text:
        return ()
    out = []
    for part in text.split(";"):
        start, _, end = part.partition("-")
        out.append((datetime.fromtimestamp(int(start), UTC), datetime.fromtimestamp(int(end), UTC)))
    return tuple(out)
