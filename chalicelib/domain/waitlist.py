"""The waitlist's rules: entries and their lifecycle, the limits against hoarding, which freed time matches which
entry, the fair order of entries, expiry at the end of a window, minimum notice, and the offer message.

Pure: times, ids and the clinic's settings come in as arguments.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from chalicelib.domain.appointments import AppointmentType
from chalicelib.domain.errors import (
    BusinessRuleViolation,
    InvalidInput,
    InvalidState,
    NoRecipient,
    OutsideBookingWindow,
)
from chalicelib.domain.schedule import Availability, working_intervals

MAX_ACTIVE_ENTRIES = 3
"""Active (waiting or offered) entries one patient may have, over all doctors; one per doctor."""
DEFAULT_OFFER_MINUTES = 15
MAX_ENTRY_DAYS = 92
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


class EntryStatus(StrEnum):
    WAITING = "waiting"
    OFFERED = "offered"
    BOOKED = "booked"
    EXPIRED = "expired"
    LEFT = "left"


ACTIVE = (EntryStatus.WAITING, EntryStatus.OFFERED)


class OfferOutcome(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    EXPIRED = "expired"
    TAKEN = "taken"
    """The time went to someone else before the patient answered (staff released the hold and booked it)."""
    WITHDRAWN = "withdrawn"
    """The patient left the waitlist, or the entry's window ended, while the offer was open."""


class WaitlistLimitReached(BusinessRuleViolation):
    """A patient would have more active entries than allowed, or a second one with the same doctor (422)."""

    code = "WAITLIST_LIMIT_REACHED"


@dataclass(frozen=True)
class TimeRange:
    start: time
    end: time

    def holds(self, start: time, end: time) -> bool:
        return self.start <= start and end <= self.end


@dataclass(frozen=True)
class Offer:
    hold_id: str
    date: str
    time: str
    starts_at: datetime
    ends_at: datetime
    expires_at: datetime
    offered_at: datetime
    freed_id: str
    outcome: OfferOutcome = OfferOutcome.PENDING
    ended_at: datetime | None = None
    by_hand: bool = False
    messages: tuple[str, ...] = ()
    """The channels told about this offer (claimed before sending: at most once per offer and channel)."""


@dataclass(frozen=True)
class Entry:
    id: str
    doctor_id: str
    patient_id: str
    date_from: date
    date_to: date
    type: AppointmentType
    duration: int
    notify: tuple[str, ...]
    joined_at: datetime
    status: EntryStatus = EntryStatus.WAITING
    days: tuple[str, ...] = ()
    """Weekdays that suit (empty: any)."""
    times: tuple[TimeRange, ...] = ()
    """Times of day that suit, in the doctor's zone (empty: any)."""
    move_earlier: str | None = None
    """The patient's visit that an accepted offer replaces (it must start later than the offer)."""
    move_earlier_starts_at: datetime | None = None
    priority: int = 0
    """A clinic's priority flag (staff set it): higher goes first."""
    offer: Offer | None = None
    past_offers: tuple[Offer, ...] = ()
    passed: tuple[str, ...] = ()
    """Instants (ISO) this entry was offered and did not take: never offered again."""
    appointment_id: str | None = None
    recipient_email: str | None = None
    recipient_phone: str | None = None
    updated_at: datetime | None = None
    version: int = 0

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    def window_end(self, zone: ZoneInfo) -> datetime:
        """The instant the entry's window ends: midnight after `to` in the doctor's zone."""
        return datetime.combine(self.date_to + timedelta(days=1), time(), tzinfo=zone)


@dataclass(frozen=True)
class FreedTime:
    """A time that became free: the interval, the doctor, and where it came from (for the log and analytics)."""

    doctor_id: str
    starts_at: datetime
    ends_at: datetime
    origin: str
    """`cancelled`, `rescheduled`, `hold-released`, `by-hand`, `hours-opened` (an availability change) or
    `busy-removed` (a busy time gone from the doctor's own calendar)."""
    source_id: str
    """The appointment (or hold) whose change freed it."""

    @property
    def minutes(self) -> int:
        return int((self.ends_at - self.starts_at).total_seconds() // 60)


@dataclass(frozen=True)
class FreedRecord:
    """The log of one freed time: what was offered to whom and how it ended (staff see it; analytics count it)."""

    id: str
    doctor_id: str
    date: str
    starts_at: datetime
    ends_at: datetime
    freed_at: datetime
    origin: str
    source_id: str
    status: str = "open"
    """`open` (being offered), `refilled`, `unfilled` (no entry matched), `explained` (see `reason`) or `deferred`
    (freed during quiet hours: offered when they end)."""
    reason: str | None = None
    offers: tuple[dict[str, Any], ...] = ()
    refilled_at: datetime | None = None
    refilled_minutes: int = 0

    @property
    def minutes(self) -> int:
        return int((self.ends_at - self.starts_at).total_seconds() // 60)


QUIET_CATCH_UP = timedelta(hours=1)
"""After quiet hours end, the sweep offers the times they deferred during this long (each run until it is done)."""


@dataclass(frozen=True)
class QuietHours:
    """The clinic's quiet hours for offer messages, wall-clock times in the doctor's zone (may wrap midnight)."""

    start: time
    end: time

    def contains(self, at: datetime, zone: ZoneInfo) -> bool:
        local = at.astimezone(zone).time()
        if self.start <= self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def ended_within(self, at: datetime, zone: ZoneInfo, span: timedelta) -> bool:
        """Whether quiet hours ended less than `span` before `at` (and are not on again)."""
        return not self.contains(at, zone) and self._last_end(at, zone) > at - span

    def _last_end(self, at: datetime, zone: ZoneInfo) -> datetime:
        local = at.astimezone(zone)
        end = datetime.combine(local.date(), self.end, tzinfo=zone)
        return end if end <= local else end - timedelta(days=1)


def parse_quiet_hours(text: str | None) -> QuietHours | None:
    """`HH:MM-HH:MM` (e.g. `21:00-08:00`), or None when unset or empty. Raises ValueError for anything else."""
    if not text or not text.strip():
        return None
    start, sep, end = text.strip().partition("-")
    if not sep:
        raise ValueError("quiet hours are HH:MM-HH:MM")
    quiet = QuietHours(time.fromisoformat(start.strip()), time.fromisoformat(end.strip()))
    if quiet.start == quiet.end:
        raise ValueError("quiet hours must not start and end at the same time")
    return quiet


@dataclass(frozen=True)
class Settings:
    """The clinic's waitlist configuration."""

    offer_minutes: int = DEFAULT_OFFER_MINUTES
    min_notice: timedelta = timedelta(hours=1)
    move_earlier_first: bool = False
    """When set, "move me earlier" entries go before new patients (clinics that favour shorter waits)."""
    use_priority: bool = True
    quiet_hours: QuietHours | None = None
    """No offer is made while it is quiet in the doctor's zone: the freed time stays free (anyone may book it) and
    its log says `deferred`; the sweep offers it when quiet hours end."""


# --- joining ---------------------------------------------------------------------------------------------------
def parse_times(raw: Sequence[Mapping[str, str]]) -> tuple[TimeRange, ...]:
    out = []
    for i, item in enumerate(raw):
        start, end = time.fromisoformat(item["start"]), time.fromisoformat(item["end"])
        if end <= start:
            raise InvalidInput("A time range ends after it starts.", {"fields": {f"times[{i}]": "end before start"}})
        out.append(TimeRange(start, end))
    return tuple(out)


def check_window(date_from: date, date_to: date, today: date, horizon_days: int) -> None:
    """`from` ≤ `to`, `to` not in the past, within the doctor's booking horizon, at most MAX_ENTRY_DAYS long."""
    if date_to < date_from:
        raise InvalidInput("The window ends before it starts.", {"fields": {"to": "before from"}})
    if date_to < today:
        raise InvalidInput("The window is over already.", {"fields": {"to": "in the past"}})
    if (date_to - date_from).days >= MAX_ENTRY_DAYS:
        raise InvalidInput(
            f"A waitlist window is at most {MAX_ENTRY_DAYS} days.", {"fields": {"to": "window too long"}}
        )
    if date_to > today + timedelta(days=horizon_days):
        raise OutsideBookingWindow(
            "The window reaches beyond the doctor's booking horizon.", {"horizonDays": horizon_days}
        )


def check_limits(existing: Iterable[Entry], doctor_id: str, limit: int = MAX_ACTIVE_ENTRIES) -> None:
    active = [e for e in existing if e.active]
    if any(e.doctor_id == doctor_id for e in active):
        raise WaitlistLimitReached(
            "You are on this doctor's waitlist already; change or leave that entry.",
            {"doctorId": doctor_id, "reason": "one_per_doctor"},
        )
    if len(active) >= limit:
        raise WaitlistLimitReached(
            f"You can be on at most {limit} waitlists at once.", {"limit": limit, "reason": "too_many_entries"}
        )


def recipients(
    notify: Mapping[str, bool], email: str | None, email_verified: bool, phone: str | None, phone_verified: bool
) -> tuple[tuple[str, ...], str | None, str | None]:
    """The chosen channels with their verified addresses; a chosen channel without one is refused (422)."""
    chosen = tuple(sorted(c for c, on in notify.items() if on))
    if not chosen:
        raise InvalidInput("Choose at least one way to be told.", {"fields": {"notify": "no channel chosen"}})
    missing = []
    if "email" in chosen and not (email and email_verified):
        missing.append("email")
    if "sms" in chosen and not (phone and phone_verified):
        missing.append("sms")
    if missing:
        raise NoRecipient(
            "Offers go only to verified addresses: verify it first or choose another channel.",
            {"channels": missing},
        )
    return chosen, email if "email" in chosen else None, phone if "sms" in chosen else None


# --- matching and order ----------------------------------------------------------------------------------------
def matches(entry: Entry, starts_at: datetime, duration: int, zone: ZoneInfo, now: datetime, notice: timedelta) -> bool:
    """Whether a time of `duration` minutes from `starts_at` suits the entry: waiting, its length, within its
    window, days and times, not one it passed on, not too soon (minimum notice), and for "move me earlier" before
    the visit it replaces."""
    if entry.status is not EntryStatus.WAITING or duration != entry.duration:
        return False
    if starts_at - now < notice:
        return False
    local = starts_at.astimezone(zone)
    end_local = (starts_at + timedelta(minutes=duration)).astimezone(zone)
    if not entry.date_from <= local.date() <= entry.date_to:
        return False
    if entry.days and WEEKDAYS[local.weekday()] not in entry.days:
        return False
    ends = end_local.time() if end_local.date() == local.date() else time.max
    if entry.times and not any(r.holds(local.time(), ends) for r in entry.times):
        return False
    if _instant(starts_at) in entry.passed:
        return False
    return not (entry.move_earlier_starts_at is not None and starts_at >= entry.move_earlier_starts_at)


def fair_order(entries: Iterable[Entry], settings: Settings) -> list[Entry]:
    """Joined earliest first; a clinic's priority flag first when configured; "move me earlier" entries first
    when the clinic says so. Ties by id, so every reader sees the same order."""

    def key(e: Entry) -> tuple[int, int, datetime, str]:
        priority = -e.priority if settings.use_priority else 0
        earlier = 0 if (settings.move_earlier_first and e.move_earlier) else 1
        return priority, earlier, e.joined_at, e.id

    return sorted(entries, key=key)


def freed_intervals(old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> list[tuple[datetime, datetime]]:
    """The intervals an appointment change freed (from the stream's old and new images, as plain values):
    a cancellation, a hold released or lapsed, a reschedule away (the old interval less the new one). A hold
    that becomes a visit frees nothing, nor does a past visit completing."""
    if not old or old.get("status") not in ("scheduled", "confirmed", "rescheduled", "held"):
        return []
    start, end = _parse(old.get("starts_at")), _parse(old.get("ends_at"))
    if start is None or end is None:
        return []
    if not new:
        return [(start, end)]
    status = new.get("status")
    if status == "cancelled":
        return [(start, end)]
    if status not in ("scheduled", "confirmed", "rescheduled"):
        return []
    n_start, n_end = _parse(new.get("starts_at")), _parse(new.get("ends_at"))
    if n_start is None or n_end is None or (n_start == start and n_end == end):
        return []
    pieces = [(start, min(end, n_start)), (max(start, n_end), end)]
    return [(s, e) for s, e in pieces if s < e]


def origin_of(old: Mapping[str, Any], new: Mapping[str, Any] | None) -> str:
    if old.get("status") == "held":
        return "hold-released"
    if new and new.get("status") != "cancelled":
        return "rescheduled"
    return "cancelled"


MAX_OPENED_INTERVALS = 50
"""At most this many newly opened intervals are offered per availability change (the change is an admin's
request: its follow-up work stays bounded; a larger change's later intervals are left to joins and cancellations)."""


def opened_intervals(
    old: Availability | None,
    new: Availability,
    zone: ZoneInfo,
    first: date,
    last: date,
    now: datetime,
    limit: int = MAX_OPENED_INTERVALS,
) -> list[tuple[datetime, datetime]]:
    """The working time `new` has that `old` had not, day by day from `first` to `last` (holidays count as no
    working time): new hours, a longer day, a shorter break, a removed holiday. Intervals that start before `now`
    are left out (a time already begun is not offered); at most `limit`, earliest first."""
    out: list[tuple[datetime, datetime]] = []
    day = first
    while day <= last and len(out) < limit:
        after = [] if day in new.holidays else working_intervals(new, day, zone)
        before = [] if old is None or day in old.holidays else working_intervals(old, day, zone)
        for piece in after:
            rests = [piece]
            for cut in before:
                rests = [r for p in rests for r in _without(p, cut)]
            out.extend(r for r in rests if r[0] >= now and r[0] < r[1])
        day += timedelta(days=1)
    return out[:limit]


def freed_busy_intervals(
    old: Sequence[tuple[datetime, datetime]],
    new: Sequence[tuple[datetime, datetime]],
    working: Sequence[tuple[datetime, datetime]],
    taken: Sequence[tuple[datetime, datetime]],
    now: datetime,
    limit: int = MAX_OPENED_INTERVALS,
) -> list[tuple[datetime, datetime]]:
    """The time a doctor's own calendars blocked before a sync (`old`, all connections) and no longer block
    (`new`): a busy event removed or shortened. Only what lies within the day's `working` time and outside
    `taken` (booked visits) is kept; intervals that start before `now` are left out; at most `limit`, earliest
    first. Nothing removed gives nothing."""
    rests = list(old)
    for cut in [*new, *taken]:
        rests = [r for p in rests for r in _without(p, cut)]
    out = [
        (max(r[0], w[0]), min(r[1], w[1]))
        for r in rests
        for w in working
        if max(r[0], w[0]) < min(r[1], w[1]) and max(r[0], w[0]) >= now
    ]
    return sorted(out)[:limit]


def _without(piece: tuple[datetime, datetime], cut: tuple[datetime, datetime]) -> list[tuple[datetime, datetime]]:
    if cut[1] <= piece[0] or piece[1] <= cut[0]:
        return [piece]
    return [p for p in ((piece[0], cut[0]), (cut[1], piece[1])) if p[0] < p[1]]


def freed_id(doctor_id: str, starts_at: datetime, source_id: str, source_version: int | str) -> str:
    """The freed time's log id, the same for every delivery of the same stream record (retries)."""
    return f"F-{doctor_id}-{starts_at.strftime('%Y%m%dT%H%MZ')}-{source_id}-{source_version}"


# --- offers ----------------------------------------------------------------------------------------------------
def with_offer(entry: Entry, offer: Offer, now: datetime) -> Entry:
    if entry.status is not EntryStatus.WAITING:
        raise InvalidState("This entry is not waiting.", {"status": entry.status.value})
    return replace(entry, status=EntryStatus.OFFERED, offer=offer, updated_at=now)


def end_offer(entry: Entry, outcome: OfferOutcome, now: datetime, status: EntryStatus | None = None) -> Entry:
    """The entry after its open offer ended: the offer goes to the history (an accepted one stays as the entry's
    last offer); `waiting` again unless the entry ends (booked, left, expired)."""
    if entry.offer is None:
        return replace(entry, status=status or entry.status, updated_at=now)
    ended = replace(entry.offer, outcome=outcome, ended_at=now)
    passed = entry.passed
    if outcome in (OfferOutcome.DECLINED, OfferOutcome.EXPIRED, OfferOutcome.TAKEN):
        passed = (*passed, _instant(ended.starts_at))
    return replace(
        entry,
        status=status or EntryStatus.WAITING,
        offer=None,
        past_offers=(*entry.past_offers, ended),
        passed=passed,
        updated_at=now,
    )


def expired(entry: Entry, zone: ZoneInfo, now: datetime) -> bool:
    return entry.active and now >= entry.window_end(zone)


def offer_message(doctor_name: str, local_start: datetime, expires_local: datetime, link: str) -> str:
    """One message per offer: the doctor, the time, how long it is kept and where to answer. No reason, no
    health detail."""
    when = local_start.strftime("%a %d %b %Y at %H:%M")
    until = expires_local.strftime("%H:%M")
    return f"A time with {doctor_name} is free: {when}. It is kept for you until {until}. Accept or decline: {link}"


def offer_log(entry_id: str, offer: Offer) -> dict[str, Any]:
    return {
        "entryId": entry_id,
        "holdId": offer.hold_id,
        "offeredAt": _instant(offer.offered_at),
        "outcome": offer.outcome.value,
        **({"endedAt": _instant(offer.ended_at)} if offer.ended_at else {}),
        **({"byHand": True} if offer.by_hand else {}),
    }


@dataclass(frozen=True)
class Refill:
    """Analytics of one doctor-week."""

    doctor_id: str
    week: str
    freed_minutes: int = 0
    refilled_minutes: int = 0
    offers_sent: int = 0
    accepted: int = 0
    declined: int = 0
    expired: int = 0
    seconds_to_rebook: list[float] = field(default_factory=list)

    @property
    def refill_rate(self) -> float | None:
        return round(self.refilled_minutes / self.freed_minutes, 4) if self.freed_minutes else None

    @property
    def median_seconds_to_rebook(self) -> float | None:
        values = sorted(self.seconds_to_rebook)
        if not values:
            return None
        mid = len(values) // 2
        return values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2


def refill_report(records: Iterable[FreedRecord], zone: ZoneInfo) -> list[Refill]:
    """Freed and refilled minutes, the refill rate and the median time from freeing to rebooking, and the
    offers' outcomes, per ISO week (of the doctor's local date). Held times released count as offers' outcomes
    only: the minutes they free were never booked."""
    weeks: dict[str, Refill] = {}
    for r in records:
        local = r.starts_at.astimezone(zone).date()
        year, week, _ = local.isocalendar()
        key = f"{year}-W{week:02d}"
        w = weeks.setdefault(key, Refill(r.doctor_id, key))
        outcomes = [o.get("outcome") for o in r.offers]
        counted = r.origin != "hold-released"
        rebook = (
            [(r.refilled_at - r.freed_at).total_seconds()] if counted and r.refilled_at and r.refilled_minutes else []
        )
        weeks[key] = replace(
            w,
            freed_minutes=w.freed_minutes + (r.minutes if counted else 0),
            refilled_minutes=w.refilled_minutes + (r.refilled_minutes if counted else 0),
            offers_sent=w.offers_sent + len(outcomes),
            accepted=w.accepted + outcomes.count("accepted"),
            declined=w.declined + outcomes.count("declined"),
            expired=w.expired + outcomes.count("expired"),
            seconds_to_rebook=[*w.seconds_to_rebook, *rebook],
        )
    return [weeks[k] for k in sorted(weeks)]


def _instant(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
