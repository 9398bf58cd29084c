"""Property tests: what availability offers is what a booking takes, in zones with DST, half-hour DST, odd
offsets and a skipped day, for any working hours and durations 5-120 (pure domain, no I/O)."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from chalicelib.domain import errors
from chalicelib.domain.schedule import (
    WEEKDAYS,
    Availability,
    Break,
    DayState,
    WallInterval,
    check_bookable,
    generate_slots,
    overlaps,
    parse_wall,
)
from tests.helpers import taken_by

ZONES = (
    "America/New_York",
    "Europe/Berlin",
    "America/Havana",  # falls back at 01:00 to 00:00
    "Australia/Lord_Howe",  # half-hour DST
    "Asia/Kathmandu",  # +05:45
    "Pacific/Chatham",  # +12:45 / +13:45
    "Pacific/Apia",  # skipped 2011-12-30
    "America/Santiago",  # changes at midnight
)
LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)  # "now" before every day tested: nothing is in the past
NOTICE = timedelta(hours=1)
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@cache
def change_days(zone_name: str) -> tuple[date, ...]:
    """Days of 2011, 2027 and 2099 on which the zone's offset changes (its DST days and the skipped day)."""
    zone = ZoneInfo(zone_name)
    found = []
    for year in (2011, 2027, 2099):
        day = date(year, 1, 1)
        while day.year == year:
            start = datetime.combine(day, time(), tzinfo=zone).astimezone(UTC)
            end = datetime.combine(day + timedelta(days=1), time(), tzinfo=zone).astimezone(UTC)
            if end - start != timedelta(days=1):
                found.append(day)
            day += timedelta(days=1)
    return tuple(found)


@st.composite
def zone_days(draw: st.DrawFn) -> tuple[ZoneInfo, date]:
    name = draw(st.sampled_from(ZONES))
    days = change_days(name)
    mostly: int = draw(st.integers(0, 4))
    if days and mostly:  # mostly change days, sometimes any day 2000-2100
        return ZoneInfo(name), draw(st.sampled_from(list(days)))
    return ZoneInfo(name), draw(st.dates(date(2000, 1, 1), date(2100, 12, 31)))


def wall(minutes: int) -> time:
    return time(minutes // 60, minutes % 60)


@st.composite
def availabilities(draw: st.DrawFn) -> Availability:
    """One or two working intervals anywhere in the day (on the 5-minute grid), sometimes a break."""
    cuts = sorted(draw(st.sets(st.integers(0, 287), min_size=2, max_size=4)))
    pairs = list(zip(cuts[::2], cuts[1::2], strict=False))
    walls = tuple(WallInterval(wall(a * 5), wall(b * 5)) for a, b in pairs)
    breaks: tuple[Break, ...] = ()
    if draw(st.booleans()):
        a = draw(st.integers(0, 286))
        b = draw(st.integers(a + 1, 287))
        breaks = (Break(wall(a * 5), wall(b * 5)),)
    return Availability(dict.fromkeys(WEEKDAYS, walls), breaks=breaks, max_patients_per_day=500)


durations = st.integers(1, 24).map(lambda n: n * 5)


@SETTINGS
@given(zone_day=zone_days(), av=availabilities(), duration=durations, data=st.data())
def test_every_offered_slot_books_its_instant_and_is_then_taken(zone_day, av, duration, data):
    zone, day = zone_day
    # GIVEN the slots a day offers
    offered = generate_slots(av, zone, day, duration, DayState(), LONG_AGO, NOTICE)
    labels = [s.local_time for s in offered]
    booked: list[tuple[datetime, datetime]] = []
    for _ in range(min(len(offered), 4)):
        free = [
            s
            for s in generate_slots(av, zone, day, duration, DayState(taken_by(booked)), LONG_AGO, NOTICE)
            if s.available
        ]
        if not free:
            break
        slot = data.draw(st.sampled_from(free))
        # WHEN it is booked by its local time and startsAt
        got = check_bookable(av, zone, day, parse_wall(slot.local_time), duration, LONG_AGO, NOTICE, slot.starts_at)
        # THEN the booking is exactly the slot
        assert got == (slot.starts_at, slot.ends_at)
        # AND by its local time alone: the same instant where the label is offered once, else a clear refusal
        if labels.count(slot.local_time) == 1:
            assert check_bookable(av, zone, day, parse_wall(slot.local_time), duration, LONG_AGO, NOTICE) == got
        else:
            with pytest.raises(errors.AmbiguousLocalTime):
                check_bookable(av, zone, day, parse_wall(slot.local_time), duration, LONG_AGO, NOTICE)
        booked.append(got)
        # AND afterwards that slot is unavailable
        after = generate_slots(av, zone, day, duration, DayState(taken_by(booked)), LONG_AGO, NOTICE)
        assert not next(s for s in after if s.starts_at == slot.starts_at).available
    # AND no slot still offered as available, of any duration, overlaps a booking
    other = data.draw(durations)
    for s in generate_slots(av, zone, day, other, DayState(taken_by(booked)), LONG_AGO, NOTICE):
        if s.available:
            assert not any(overlaps((s.starts_at, s.ends_at), b) for b in booked)


@SETTINGS
@given(zone_day=zone_days(), av=availabilities(), duration=durations, minutes=st.integers(0, 287))
def test_a_local_time_the_day_does_not_offer_never_books(zone_day, av, duration, minutes):
    zone, day = zone_day
    # GIVEN any 5-minute local time that is none of the day's offered labels
    labels = {s.local_time for s in generate_slots(av, zone, day, duration, DayState(), LONG_AGO, NOTICE)}
    at = wall(minutes * 5)
    if at.strftime("%H:%M") in labels:
        return
    # WHEN it is booked THEN a rule refuses it (never a booking at an instant availability did not show)
    with pytest.raises(errors.BusinessRuleViolation) as refused:
        check_bookable(av, zone, day, at, duration, LONG_AGO, NOTICE)
    assert refused.value.code in {"NOT_AN_OFFERED_TIME", "OUTSIDE_WORKING_HOURS"}


CHATHAM_SPRING_FORWARD = (ZoneInfo("Pacific/Chatham"), date(2011, 9, 25))  # 02:45 +12:45 becomes 03:45 +13:45
HOURS_AROUND_THE_GAP = Availability(
    dict.fromkeys(WEEKDAYS, (WallInterval(time(0, 0), time(2, 55)), WallInterval(time(3, 45), time(5, 0)))),
    max_patients_per_day=500,
)


@SETTINGS
@given(zone_day=zone_days(), av=availabilities(), duration=durations)
@example(zone_day=CHATHAM_SPRING_FORWARD, av=HOURS_AROUND_THE_GAP, duration=5)  # found by Hypothesis: overlapped
def test_slots_are_real_lengths_on_their_own_day_and_labelled_by_their_instant(zone_day, av, duration):
    zone, day = zone_day
    slots = generate_slots(av, zone, day, duration, DayState(), LONG_AGO, NOTICE)
    # THEN no two slots share an instant or overlap, each lasts `duration` real minutes, and each label and
    # offset are the instant's local time on that very day
    for a, b in itertools.pairwise(slots):
        assert a.ends_at <= b.starts_at
    for s in slots:
        local = s.starts_at.astimezone(zone)
        assert s.ends_at - s.starts_at == timedelta(minutes=duration)
        assert local.date() == day and local.strftime("%H:%M") == s.local_time
        assert local.strftime("%z") == s.utc_offset.replace(":", "")


def test_the_zones_tested_really_have_their_changes():
    # the property tests above are only as good as the days they draw: each tricky day is among them
    assert date(2027, 11, 7) in change_days("America/New_York")
    assert date(2027, 4, 4) in change_days("Australia/Lord_Howe")
    assert date(2027, 4, 4) in change_days("Pacific/Chatham")
    assert date(2011, 12, 30) in change_days("Pacific/Apia")
    assert change_days("Asia/Kathmandu") == ()


def test_hours_that_end_inside_a_gap_stop_at_the_change_and_never_overlap_the_next_hours():
    # GIVEN hours 00:00-02:55 and 03:45-05:00 on the day Pacific/Chatham skips from 02:45 to 03:45
    zone, day = CHATHAM_SPRING_FORWARD
    # WHEN the day's 5-minute slots are listed
    slots = generate_slots(HOURS_AROUND_THE_GAP, zone, day, 5, DayState(), LONG_AGO, NOTICE)
    labels = [s.local_time for s in slots]
    # THEN the first hours end at the change (02:40 is the last start) and 03:45 is offered once, right after
    assert labels[labels.index("02:40") + 1] == "03:45"
    assert labels.count("03:45") == 1
    assert all(a.ends_at <= b.starts_at for a, b in itertools.pairwise(slots))
