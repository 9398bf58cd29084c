"""A doctor's weekly availability and the rules that turn it into slots and bookable times.

Everything is computed on real instants (UTC) derived from the doctor's wall-clock hours in its IANA zone, so
DST days are ordinary: a spring-forward gap yields no slots, and a fall-back hour is offered in both of its
passes, each slot named by its instant (`startsAt`). One rule, `offered_starts`, decides which instants a day
offers; `check_bookable` resolves a booking's local time with the same rule, so an offered time books exactly
the instant shown, a local time that names two offered instants must be named by its instant, and a local time
the day does not offer is refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from chalicelib.domain.errors import (
    AmbiguousLocalTime,
    InThePast,
    InvalidInput,
    NotAnOfferedTime,
    OutsideWorkingHours,
    TooShortNotice,
)

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
GRANULE_MINUTES = 5
"""Every appointment start, end and working-hour boundary lies on this grid (a granule: the finest lock)."""
BLOCK_MINUTES = 30
"""Locks are taken per 30-minute block (aligned on UTC) where a visit covers the whole block, and per granule
only inside the at most two blocks it covers in part (`lock_plan`), so a visit's lock count grows by one per
half hour instead of six."""
MAX_APPOINTMENT_MINUTES = 120
"""The longest visit a doctor can offer or staff can book; `MAX_LOCK_ITEMS` says what its locks cost."""

Interval = tuple[datetime, datetime]


@dataclass(frozen=True)
class WallInterval:
    """A wall-clock interval within one day, end after start."""

    start: time
    end: time


@dataclass(frozen=True)
class Break:
    """A break on one weekday, or every day when `day` is None."""

    start: time
    end: time
    day: str | None = None


@dataclass(frozen=True)
class Availability:
    working_hours: Mapping[str, tuple[WallInterval, ...]] = field(default_factory=dict)
    breaks: tuple[Break, ...] = ()
    holidays: frozenset[date] = frozenset()
    max_patients_per_day: int = 20
    appointment_duration: int = 30
    booking_horizon_days: int | None = None
    """How many days ahead this doctor can be booked; None means the clinic's default."""
    durations: tuple[int, ...] = ()
    """Further visit lengths (minutes) patients may choose beside `appointment_duration`, e.g. (15, 60); set by
    the doctor or an admin. Staff may book any length."""

    @property
    def patient_durations(self) -> tuple[int, ...]:
        """Every length a patient may book or move a visit to: the default length and the offered ones."""
        return tuple(sorted({self.appointment_duration, *self.durations}))


@dataclass(frozen=True)
class Slot:
    starts_at: datetime
    ends_at: datetime
    local_time: str
    local_end_time: str
    available: bool
    utc_offset: str = ""
    """The zone's offset at the start, e.g. `-04:00`: two slots of a fall-back hour share a label, not this."""


def overlaps(a: Interval, b: Interval) -> bool:
    """Half-open overlap: touching ends do not overlap, containment either way does."""
    return a[0] < b[1] and b[0] < a[1]


def local_instant(day: date, wall: time, zone: ZoneInfo) -> datetime:
    """The UTC instant of a wall time used as a boundary (of working hours or a break): in a fall-back fold the
    first pass, in a spring-forward gap the instant of the change itself.

    Mapping a gap's wall time to the change keeps boundaries in order: hours of 00:00-02:55 and 03:45-05:00 on a
    Pacific/Chatham day that skips 02:45-03:45 meet at the change instead of overlapping by ten minutes (the
    shifted instant Python gives, 02:55 at the old offset, is after 03:45 at the new one)."""
    first = datetime.combine(day, wall, tzinfo=zone).astimezone(UTC)
    if first.astimezone(zone).time() == wall:
        return first
    return _change_in_gap(datetime.combine(day, wall, tzinfo=zone).replace(fold=1).astimezone(UTC), first, zone)


def _change_in_gap(before: datetime, after: datetime, zone: ZoneInfo) -> datetime:
    """The first instant in (before, after] with `after`'s offset: when a gap's wall time stopped existing."""
    target = after.astimezone(zone).utcoffset()
    low, high = before, after
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        if middle.astimezone(zone).utcoffset() == target:
            high = middle
        else:
            low = middle
    return high.replace(microsecond=0)


def wall_passes(day: date, wall: time, zone: ZoneInfo) -> list[datetime]:
    """Every UTC instant a wall time names that day, in order: none in a gap (or a skipped day), two in a
    fall-back fold, one otherwise."""
    out: list[datetime] = []
    for fold in (0, 1):
        instant = datetime.combine(day, wall, tzinfo=zone).replace(fold=fold).astimezone(UTC)
        back = instant.astimezone(zone)
        if back.date() == day and back.time() == wall and instant not in out:
            out.append(instant)
    return out


def utc_offset(instant: datetime, zone: ZoneInfo) -> str:
    """The zone's offset at an instant, `+HH:MM` (tells the two passes of a fall-back hour apart)."""
    offset = instant.astimezone(zone).utcoffset() or timedelta()
    minutes = int(offset.total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _abbreviation(instant: datetime, zone: ZoneInfo) -> str:
    return instant.astimezone(zone).tzname() or utc_offset(instant, zone)


def hhmm(instant: datetime, zone: ZoneInfo) -> str:
    return instant.astimezone(zone).strftime("%H:%M")


def granules(start: datetime, end: datetime) -> list[datetime]:
    """The lock granules an interval covers (each granule is named by its start instant)."""
    step = timedelta(minutes=GRANULE_MINUTES)
    out = []
    cursor = start
    while cursor < end:
        out.append(cursor)
        cursor += step
    return out


@dataclass(frozen=True)
class LockPlan:
    """The lock items one side (the doctor's or the patient's) of a visit takes, by the instants that name them.

    - `granules`: the 5-minute granules of the blocks the visit covers only in part: each an exclusive item;
    - `full`: the blocks it covers whole: each a block item it holds exclusively;
    - `shared`: the blocks it covers in part: a block item it shares with other partial holders (a set of owners).

    A whole holder takes its block only where no one shares it, and a sharer joins only where no one holds it
    whole (both conditions on the one block item); sharers of a block collide on their common granules. So two
    visits that overlap always meet on one item, in exactly one of three ways (both whole; whole and sharing;
    both sharing, on the granule they share), and two that do not overlap never block each other."""

    granules: tuple[datetime, ...]
    full: tuple[datetime, ...]
    shared: tuple[datetime, ...]

    @property
    def size(self) -> int:
        return len(self.granules) + len(self.full) + len(self.shared)


def block_of(instant: datetime) -> datetime:
    """The start of the lock block holding an instant (blocks are aligned on UTC, whatever the zone)."""
    minutes = int(instant.astimezone(UTC).timestamp() // 60)
    return datetime.fromtimestamp((minutes - minutes % BLOCK_MINUTES) * 60, UTC)


def lock_plan(start: datetime, end: datetime) -> LockPlan:
    """The lock items an interval on the 5-minute grid takes (see `LockPlan`)."""
    block = timedelta(minutes=BLOCK_MINUTES)
    fine: list[datetime] = []
    full: list[datetime] = []
    shared: list[datetime] = []
    cursor = block_of(start)
    while cursor < end:
        covered = (max(cursor, start), min(cursor + block, end))
        if covered == (cursor, cursor + block):
            full.append(cursor)
        else:
            shared.append(cursor)
            fine.extend(granules(*covered))
        cursor += block
    return LockPlan(tuple(fine), tuple(full), tuple(shared))


def max_lock_items(longest: int = MAX_APPOINTMENT_MINUTES) -> int:
    """The most lock items one side of a visit of at most `longest` minutes takes, over every start offset."""
    base = datetime(2000, 1, 1, tzinfo=UTC)
    return max(
        lock_plan(base + timedelta(minutes=offset), base + timedelta(minutes=offset + minutes)).size
        for offset in range(0, BLOCK_MINUTES, GRANULE_MINUTES)
        for minutes in range(GRANULE_MINUTES, longest + 1, GRANULE_MINUTES)
    )


MAX_LOCK_ITEMS = max_lock_items()
"""14 for visits of up to 120 minutes (it was 24 with a lock per granule)."""
RESCHEDULE_OTHER_ITEMS = 8
"""What a reschedule writes beside its locks: the appointment, two day counters, the audit entry, the patient's
two doctor-day items and its active-booking item, and one to spare."""
if 4 * MAX_LOCK_ITEMS + RESCHEDULE_OTHER_ITEMS > 80:  # a check `python -O` keeps
    raise ImportError("the longest visit's reschedule no longer fits one transaction with room to spare")


def _breaks_for(availability: Availability, weekday: str) -> list[Break]:
    return [b for b in availability.breaks if b.day is None or b.day == weekday]


def working_intervals(availability: Availability, day: date, zone: ZoneInfo) -> list[Interval]:
    """The day's working time as UTC intervals, with breaks cut out (each piece is its own interval)."""
    weekday = WEEKDAYS[day.weekday()]
    pieces: list[Interval] = []
    for wall in availability.working_hours.get(weekday, ()):
        pieces.append((local_instant(day, wall.start, zone), local_instant(day, wall.end, zone)))
    for brk in _breaks_for(availability, weekday):
        cut = (local_instant(day, brk.start, zone), local_instant(day, brk.end, zone))
        pieces = [rest for piece in pieces for rest in _subtract(piece, cut)]
    return sorted(p for p in pieces if p[0] < p[1])


def _subtract(piece: Interval, cut: Interval) -> list[Interval]:
    if not overlaps(piece, cut):
        return [piece]
    out = []
    if piece[0] < cut[0]:
        out.append((piece[0], cut[0]))
    if cut[1] < piece[1]:
        out.append((cut[1], piece[1]))
    return out


@dataclass(frozen=True)
class DayState:
    """What the store knows of a doctor-day: granules held by active appointments and bookings counted."""

    taken: frozenset[datetime] = frozenset()
    booked: int = 0
    version: int = 0
    """Bumped by every booking, cancellation and reschedule of the day: the availability's ETag."""
    holds: tuple[tuple[str, datetime], ...] = ()
    """The day's holds (hold id, expiry): their granules are in `taken` until they are booked or released."""
    busy: tuple[Interval, ...] = ()
    """Busy times from the doctor's own calendars on this local day (UTC, sorted, merged): like a break, a slot
    that overlaps one is not offered as free."""
    busy_version: int = 0
    """Bumped by every sync that changes the day's busy times: the booking transaction conditions on it."""


def offered_starts(availability: Availability, zone: ZoneInfo, day: date, duration: int) -> list[datetime]:
    """THE rule for which instants a day offers: stepping by `duration` (real minutes) from the start of each
    working piece, never crossing a break or an end, both passes of a fall-back hour included, and only
    instants whose start and end fall on that local date (a skipped day, like Pacific/Apia 2011-12-30, offers
    nothing)."""
    length = timedelta(minutes=duration)
    starts: list[datetime] = []
    for start, end in working_intervals(availability, day, zone):
        cursor = start
        while cursor + length <= end:
            if cursor.astimezone(zone).date() == day and (cursor + length).astimezone(zone).date() == day:
                starts.append(cursor)
            cursor += length
    return starts


def generate_slots(
    availability: Availability,
    zone: ZoneInfo,
    day: date,
    duration: int,
    state: DayState,
    now: datetime,
    min_notice: timedelta,
) -> list[Slot]:
    """The offered instants (`offered_starts`) with whether each is free: not closed, not too soon, no
    granule of it held by an active appointment, and no busy time of the doctor's own calendars overlapping it."""
    closed = day in availability.holidays or state.booked >= availability.max_patients_per_day
    earliest = now + min_notice
    length = timedelta(minutes=duration)
    slots: list[Slot] = []
    busy, next_busy = state.busy, 0  # sorted and merged: one pass beside the sorted starts
    for cursor in offered_starts(availability, zone, day, duration):
        while next_busy < len(busy) and busy[next_busy][1] <= cursor:
            next_busy += 1
        free = not any(g in state.taken for g in granules(cursor, cursor + length)) and not (
            next_busy < len(busy) and busy[next_busy][0] < cursor + length
        )
        slots.append(
            Slot(
                starts_at=cursor,
                ends_at=cursor + length,
                local_time=hhmm(cursor, zone),
                local_end_time=hhmm(cursor + length, zone),
                available=free and not closed and cursor >= earliest,
                utc_offset=utc_offset(cursor, zone),
            )
        )
    return slots


def check_bookable(
    availability: Availability,
    zone: ZoneInfo,
    day: date,
    wall: time,
    duration: int,
    now: datetime,
    min_notice: timedelta,
    starts_at: datetime | None = None,
) -> Interval:
    """The UTC interval of a booking at a local date and time, or the rule it breaks.

    The local time means the instant the day offers under that label (`offered_starts`, the same rule as
    availability). In a fall-back fold where both passes are offered, or neither, the label alone is refused
    (AMBIGUOUS_LOCAL_TIME) unless `starts_at` names one of them. `starts_at` must be an instant of that local
    date and time. The daily limit is not checked here: the booking transaction's conditional counter enforces
    it, so a booking needs no read of the day first."""
    weekday = WEEKDAYS[day.weekday()]
    if day in availability.holidays:
        raise OutsideWorkingHours("The doctor does not work on this holiday.", {"reason": "holiday"})
    if not availability.working_hours.get(weekday):
        raise OutsideWorkingHours("The doctor does not work on this day.", {"reason": "day_off"})
    passes = wall_passes(day, wall, zone)
    if not passes:
        raise OutsideWorkingHours(
            "This local time does not exist on that day (daylight saving change).",
            {"reason": "nonexistent_local_time"},
        )
    start = _resolve(availability, zone, day, wall, duration, passes, starts_at)
    booking = (start, start + timedelta(minutes=duration))
    if not any(
        piece[0] <= booking[0] and booking[1] <= piece[1] for piece in working_intervals(availability, day, zone)
    ):
        on_break = any(
            overlaps(booking, (local_instant(day, b.start, zone), local_instant(day, b.end, zone)))
            for b in _breaks_for(availability, weekday)
        )
        reason = "break" if on_break else "outside_hours"
        raise OutsideWorkingHours(
            "The doctor is on a break at this time."
            if on_break
            else "This time is outside the doctor's working hours.",
            {"reason": reason},
        )
    offered = offered_starts(availability, zone, day, duration)
    if start not in offered:
        raise _not_offered(start, offered, zone, duration)
    if start < now:
        raise InThePast("This time is in the past.")
    if start < now + min_notice:
        raise TooShortNotice(
            "Appointments need more notice.", {"minimumNoticeMinutes": int(min_notice.total_seconds() // 60)}
        )
    return booking


def _resolve(
    availability: Availability,
    zone: ZoneInfo,
    day: date,
    wall: time,
    duration: int,
    passes: list[datetime],
    starts_at: datetime | None,
) -> datetime:
    """Which instant a local time means; see `check_bookable`."""
    label = wall.strftime("%H:%M")
    if starts_at is not None:
        if starts_at.astimezone(UTC) not in passes:
            from chalicelib.domain.timefmt import instant

            raise InvalidInput(
                "startsAt is not this local date and time in the doctor's time zone.",
                {
                    "fields": {"startsAt": f"is not {day.isoformat()} {label} in {zone.key}"},
                    "candidates": [instant(p) for p in passes],
                },
            )
        return starts_at.astimezone(UTC)
    if len(passes) == 1:
        return passes[0]
    offered = set(offered_starts(availability, zone, day, duration))
    chosen = [p for p in passes if p in offered]
    if len(chosen) == 1:
        return chosen[0]
    if not chosen:
        return passes[0]  # neither pass is offered: `check_bookable` says why
    from chalicelib.domain.timefmt import instant

    names = [f"{label} {_abbreviation(p, zone)}" for p in passes]
    raise AmbiguousLocalTime(
        f"ambiguous local time: pick {' or '.join(names)} by sending its startsAt.",
        {
            "reason": "ambiguous_local_time",
            "candidates": [
                {
                    "time": label,
                    "utcOffset": utc_offset(p, zone),
                    "abbreviation": _abbreviation(p, zone),
                    "startsAt": instant(p),
                }
                for p in passes
            ],
        },
    )


def _not_offered(start: datetime, offered: list[datetime], zone: ZoneInfo, duration: int) -> NotAnOfferedTime:
    """The refusal of a start between offered ones, naming the offered times on either side."""
    before = [s for s in offered if s < start][-1:]
    after = [s for s in offered if s > start][:1]
    nearest = [hhmm(s, zone) for s in before + after]
    label = hhmm(start, zone)
    hint = f"; the nearest are {' and '.join(nearest)}" if nearest else ""
    return NotAnOfferedTime(
        f"{label} is not one of this day's appointment times (visits here last {duration} minutes and start "
        f"at the times availability lists){hint}.",
        {"reason": "not_an_offered_time", "nearest": nearest},
    )


def parse_wall(text: str) -> time:
    """HH:MM, 24 h; raises ValueError otherwise."""
    if len(text) != 5 or text[2] != ":":
        raise ValueError("time must be HH:MM")
    return time(int(text[:2]), int(text[3:]))


def availability_to_dict(av: Availability) -> dict[str, Any]:
    """The contract's JSON shape of availability (also how it is stored)."""
    return {
        "workingHours": {
            day: [{"start": w.start.strftime("%H:%M"), "end": w.end.strftime("%H:%M")} for w in walls]
            for day, walls in av.working_hours.items()
        },
        "breaks": [
            {**({"day": b.day} if b.day else {}), "start": b.start.strftime("%H:%M"), "end": b.end.strftime("%H:%M")}
            for b in av.breaks
        ],
        "holidays": sorted(d.isoformat() for d in av.holidays),
        "maxPatientsPerDay": av.max_patients_per_day,
        "appointmentDuration": av.appointment_duration,
        **({"bookingHorizonDays": av.booking_horizon_days} if av.booking_horizon_days else {}),
        **({"durations": sorted(set(av.durations))} if av.durations else {}),
    }


def availability_from_dict(raw: dict[str, Any]) -> Availability:
    return Availability(
        working_hours={
            day: tuple(WallInterval(parse_wall(w["start"]), parse_wall(w["end"])) for w in walls)
            for day, walls in raw.get("workingHours", {}).items()
        },
        breaks=tuple(Break(parse_wall(b["start"]), parse_wall(b["end"]), b.get("day")) for b in raw.get("breaks", [])),
        holidays=frozenset(date.fromisoformat(d) for d in raw.get("holidays", [])),
        max_patients_per_day=int(raw.get("maxPatientsPerDay", 20)),
        appointment_duration=int(raw.get("appointmentDuration", 30)),
        booking_horizon_days=int(raw["bookingHorizonDays"]) if raw.get("bookingHorizonDays") else None,
        durations=tuple(sorted({int(d) for d in raw.get("durations") or ()})),
    )


def availability_etag(
    day_version: int, availability: Availability, zone_name: str, day: date, now: datetime, min_notice: timedelta
) -> str:
    """Changes when the day's bookings change, the doctor's hours change, or (near the day) time moves past a
    5-minute step that could close a slot."""
    import hashlib
    import json

    hours = hashlib.sha256(
        json.dumps([availability_to_dict(availability), zone_name], sort_keys=True).encode()
    ).hexdigest()[:12]
    earliest = now + min_notice
    near = abs((day - earliest.date()).days) <= 1
    step = int(earliest.timestamp()) // (GRANULE_MINUTES * 60) if near else 0
    return f'W/"{day_version}-{hours}-{step}"'
