"""Slot generation and booking rules, computed in the doctor's zone (pure, no I/O)."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from chalicelib.domain import errors
from chalicelib.domain.schedule import (
    GRANULE_MINUTES,
    MAX_APPOINTMENT_MINUTES,
    MAX_LOCK_ITEMS,
    RESCHEDULE_OTHER_ITEMS,
    Availability,
    Break,
    DayState,
    LockPlan,
    WallInterval,
    check_bookable,
    generate_slots,
    lock_plan,
    overlaps,
)
from tests.helpers import taken_by

NY = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")
EARLY = datetime(2026, 1, 1, tzinfo=UTC)
NOTICE = timedelta(hours=1)


def hours(
    *pairs: tuple[str, str],
    days: tuple[str, ...] = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"),
) -> dict:
    walls = tuple(WallInterval(time.fromisoformat(a), time.fromisoformat(b)) for a, b in pairs)
    return dict.fromkeys(days, walls)


def labels(slots) -> list[str]:
    return [s.local_time for s in slots]


def test_slots_step_by_duration_and_never_cross_a_break_or_the_end():
    # GIVEN 09:00-12:10 with a daily break 10:00-10:30, 45-minute appointments
    av = Availability(hours(("09:00", "12:10")), breaks=(Break(time(10), time(10, 30)),), appointment_duration=45)
    # WHEN the day's slots are generated
    slots = generate_slots(av, NY, date(2026, 12, 2), 45, DayState(), EARLY, NOTICE)
    # THEN they restart after the break and stop before the end
    assert labels(slots) == ["09:00", "10:30", "11:15"]
    assert [s.local_end_time for s in slots] == ["09:45", "11:15", "12:00"]


def test_weekday_break_applies_only_to_its_day():
    av = Availability(hours(("09:00", "11:00")), breaks=(Break(time(9), time(10), day="wednesday"),))
    wednesday = generate_slots(av, NY, date(2026, 12, 2), 30, DayState(), EARLY, NOTICE)
    thursday = generate_slots(av, NY, date(2026, 12, 3), 30, DayState(), EARLY, NOTICE)
    assert labels(wednesday) == ["10:00", "10:30"]
    assert labels(thursday) == ["09:00", "09:30", "10:00", "10:30"]


def test_day_off_has_no_slots_and_holiday_has_only_unavailable_ones():
    av = Availability(hours(("09:00", "10:00"), days=("monday",)), holidays=frozenset({date(2026, 12, 7)}))
    assert generate_slots(av, NY, date(2026, 12, 8), 30, DayState(), EARLY, NOTICE) == []
    holiday = generate_slots(av, NY, date(2026, 12, 7), 30, DayState(), EARLY, NOTICE)
    assert labels(holiday) == ["09:00", "09:30"] and not any(s.available for s in holiday)


def test_past_and_short_notice_slots_are_unavailable():
    av = Availability(hours(("09:00", "12:00")))
    now = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)  # 10:00 in New York
    slots = generate_slots(av, NY, date(2026, 12, 2), 30, DayState(), now, NOTICE)
    assert {s.local_time: s.available for s in slots} == {
        "09:00": False,
        "09:30": False,
        "10:00": False,
        "10:30": False,
        "11:00": True,
        "11:30": True,
    }


def test_a_slot_overlapping_any_taken_granule_is_unavailable_for_any_duration():
    av = Availability(hours(("09:00", "11:00")))
    day = date(2026, 12, 2)
    start = datetime(2026, 12, 2, 14, 15, tzinfo=UTC)  # 09:15-09:30 local is booked (15 minutes)
    state = DayState(taken_by([(start, start + timedelta(minutes=15))]), booked=1)
    sixty = generate_slots(av, NY, day, 60, state, EARLY, NOTICE)
    assert {s.local_time: s.available for s in sixty} == {"09:00": False, "10:00": True}
    fifteen = generate_slots(av, NY, day, 15, state, EARLY, NOTICE)
    assert [s.local_time for s in fifteen if not s.available] == ["09:15"]


def test_daily_limit_reached_closes_every_slot():
    av = Availability(hours(("09:00", "10:00")), max_patients_per_day=2)
    slots = generate_slots(av, NY, date(2026, 12, 2), 30, DayState(booked=2), EARLY, NOTICE)
    assert slots and not any(s.available for s in slots)


@pytest.mark.parametrize(
    ("zone", "day", "expected"),
    [
        # New York springs forward at 02:00 -> 03:00 on 2026-03-08
        (NY, date(2026, 3, 8), ["01:00", "01:30", "03:00", "03:30"]),
        # Berlin springs forward at 02:00 -> 03:00 on 2026-03-29
        (BERLIN, date(2026, 3, 29), ["01:00", "01:30", "03:00", "03:30"]),
    ],
)
def test_spring_forward_gap_has_no_slots(zone, day, expected):
    av = Availability(hours(("01:00", "04:00")))
    slots = generate_slots(av, zone, day, 30, DayState(), EARLY, NOTICE)
    assert labels(slots) == expected
    # every slot is really 30 minutes long
    assert all(s.ends_at - s.starts_at == timedelta(minutes=30) for s in slots)


@pytest.mark.parametrize(("zone", "day"), [(NY, date(2026, 11, 1)), (BERLIN, date(2026, 10, 25))])
def test_fall_back_hour_is_offered_in_both_passes_each_named_by_its_instant(zone, day):
    # GIVEN a night shift 00:00-04:00 on the fall-back day (01:00-02:00 or 02:00-03:00 happens twice)
    av = Availability(hours(("00:00", "04:00")))
    # WHEN the day's 30-minute slots are generated
    slots = generate_slots(av, zone, day, 30, DayState(), EARLY, NOTICE)
    # THEN the doctor's five real hours are offered: ten slots, no two at one instant, each 30 real minutes
    assert len(slots) == 10
    assert len({s.starts_at for s in slots}) == len(slots)
    assert all(b.starts_at == a.ends_at for a, b in itertools.pairwise(slots))
    # AND a repeated label is told apart by its offset
    repeated = [s for s in slots if labels(slots).count(s.local_time) == 2]
    assert len(repeated) == 4 and len({(s.local_time, s.utc_offset) for s in repeated}) == 4


def test_an_ambiguous_offered_label_needs_its_instant_and_books_exactly_that_one():
    # GIVEN New York's fall-back day, 30-minute slots: 01:30 is offered at 05:30Z (EDT) and 06:30Z (EST)
    av = Availability(hours(("00:00", "04:00")))
    day = date(2026, 11, 1)
    # WHEN a booking names only the local time
    with pytest.raises(errors.AmbiguousLocalTime) as refused:
        check_bookable(av, NY, day, time(1, 30), 30, EARLY, NOTICE)
    # THEN it is refused, naming both instants
    assert refused.value.message.startswith("ambiguous local time: pick 01:30 EDT or 01:30 EST")
    assert [c["startsAt"] for c in (refused.value.details or {})["candidates"]] == [
        "2026-11-01T05:30:00Z",
        "2026-11-01T06:30:00Z",
    ]
    # AND naming the second pass books the second pass, which then shows taken while the first stays free
    second = datetime(2026, 11, 1, 6, 30, tzinfo=UTC)
    booked = check_bookable(av, NY, day, time(1, 30), 30, EARLY, NOTICE, starts_at=second)
    assert booked == (second, second + timedelta(minutes=30))
    slots = generate_slots(av, NY, day, 30, DayState(taken_by([booked])), EARLY, NOTICE)
    assert [(s.local_time, s.utc_offset) for s in slots if not s.available] == [("01:30", "-05:00")]


def test_a_label_offered_once_in_the_fold_books_the_instant_shown():
    # GIVEN the case: New York 2027-11-07, 00:00-04:00, 45-minute visits. 01:15 is offered only in its
    # second pass (06:15Z); its first pass (05:15Z) is not on the slot grid
    av = Availability(hours(("00:00", "04:00")))
    day = date(2027, 11, 7)
    shown = {s.local_time: s.starts_at for s in generate_slots(av, NY, day, 45, DayState(), EARLY, NOTICE)}
    assert shown["01:15"] == datetime(2027, 11, 7, 6, 15, tzinfo=UTC)
    # WHEN 01:15 is booked by its local time alone
    start, _ = check_bookable(av, NY, day, time(1, 15), 45, EARLY, NOTICE)
    # THEN it is the instant shown
    assert start == shown["01:15"]


def test_starts_at_must_be_the_local_date_and_time():
    av = Availability(hours(("00:00", "04:00")))
    with pytest.raises(errors.InvalidInput) as refused:
        check_bookable(
            av, NY, date(2026, 11, 1), time(1, 30), 30, EARLY, NOTICE, starts_at=datetime(2026, 11, 1, 7, tzinfo=UTC)
        )
    assert "startsAt" in (refused.value.details or {})["fields"]


def test_a_skipped_day_offers_nothing_and_books_nothing():
    # GIVEN Samoa skipped 2011-12-30 entirely (it jumped from UTC-10 to UTC+14)
    apia = ZoneInfo("Pacific/Apia")
    av = Availability(hours(("09:00", "17:00")))
    old = datetime(2000, 1, 1, tzinfo=UTC)
    # THEN no slot is offered that day (the instants would be labelled 2011-12-31) and no time of it books
    assert generate_slots(av, apia, date(2011, 12, 30), 30, DayState(), old, NOTICE) == []
    with pytest.raises(errors.OutsideWorkingHours):
        check_bookable(av, apia, date(2011, 12, 30), time(9), 30, old, NOTICE)
    assert len(generate_slots(av, apia, date(2011, 12, 31), 30, DayState(), old, NOTICE)) == 16


def test_booking_a_nonexistent_local_time_is_refused():
    av = Availability(hours(("01:00", "04:00")))
    with pytest.raises(errors.OutsideWorkingHours) as refused:
        check_bookable(av, NY, date(2026, 3, 8), time(2, 30), 30, EARLY, NOTICE)
    assert refused.value.details == {"reason": "nonexistent_local_time"}


@pytest.mark.parametrize(
    ("day", "at", "duration", "error", "reason"),
    [
        (date(2026, 12, 6), time(10), 30, errors.OutsideWorkingHours, "day_off"),  # Sunday
        (date(2026, 12, 25), time(10), 30, errors.OutsideWorkingHours, "holiday"),
        (date(2026, 12, 2), time(8, 30), 30, errors.OutsideWorkingHours, "outside_hours"),
        (date(2026, 12, 2), time(16, 45), 30, errors.OutsideWorkingHours, "outside_hours"),  # runs past 17:00
        (date(2026, 12, 2), time(11, 45), 30, errors.OutsideWorkingHours, "break"),  # runs into lunch
        (date(2026, 12, 2), time(12, 15), 15, errors.OutsideWorkingHours, "break"),
    ],
)
def test_booking_rules_refuse(day, at, duration, error, reason):
    av = Availability(
        hours(("09:00", "17:00"), days=("monday", "tuesday", "wednesday", "thursday", "friday")),
        breaks=(Break(time(12), time(13)),),
        holidays=frozenset({date(2026, 12, 25)}),
    )
    with pytest.raises(error) as refused:
        check_bookable(av, NY, day, at, duration, EARLY, NOTICE)
    assert refused.value.details == {"reason": reason}


def test_booking_in_the_past_and_at_short_notice_are_refused():
    av = Availability(hours(("09:00", "17:00")))
    now = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)  # 10:00 local
    with pytest.raises(errors.InThePast):
        check_bookable(av, NY, date(2026, 12, 2), time(9, 30), 30, now, NOTICE)
    with pytest.raises(errors.TooShortNotice):
        check_bookable(av, NY, date(2026, 12, 2), time(10, 30), 30, now, NOTICE)
    # and the case that passes
    start, end = check_bookable(av, NY, date(2026, 12, 2), time(11), 30, now, NOTICE)
    assert (start, end) == (datetime(2026, 12, 2, 16, tzinfo=UTC), datetime(2026, 12, 2, 16, 30, tzinfo=UTC))


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ((0, 60), (15, 30), True),  # 60 over an inner 15
        ((15, 30), (0, 60), True),  # 15 inside a 60
        ((0, 30), (30, 60), False),  # touching ends
        ((30, 60), (0, 30), False),
        ((0, 30), (29, 45), True),
        ((0, 30), (0, 30), True),
    ],
)
def test_overlap(a, b, expected):
    base = datetime(2026, 1, 1, tzinfo=UTC)

    def iv(p):
        return (base + timedelta(minutes=p[0]), base + timedelta(minutes=p[1]))

    assert overlaps(iv(a), iv(b)) is expected


def test_a_time_between_offered_starts_is_refused_naming_the_nearest():
    # GIVEN 09:00-17:00 with 30-minute visits: 09:00, 09:30, ... are offered
    av = Availability(hours(("09:00", "17:00")))
    day = date(2026, 6, 10)
    # WHEN 09:10 is booked (inside the hours, on the 5-minute grid, but not an offered start)
    with pytest.raises(errors.NotAnOfferedTime) as refused:
        check_bookable(av, NY, day, time(9, 10), 30, EARLY, NOTICE)
    # THEN the refusal names the rule and the offered times on either side
    assert refused.value.code == "NOT_AN_OFFERED_TIME"
    assert refused.value.details == {"reason": "not_an_offered_time", "nearest": ["09:00", "09:30"]}
    # AND an offered neighbour books
    start, end = check_bookable(av, NY, day, time(9, 30), 30, EARLY, NOTICE)
    assert end - start == timedelta(minutes=30)


def _collide(a: LockPlan, b: LockPlan) -> bool:
    """Whether two visits' lock items meet: a shared granule, a block both hold whole, or a block one holds
    whole while the other shares it (the block item's conditions refuse the second)."""
    return bool(
        set(a.granules) & set(b.granules)
        or set(a.full) & set(b.full)
        or set(a.full) & set(b.shared)
        or set(a.shared) & set(b.full)
    )


def test_two_visits_lock_items_meet_exactly_when_they_overlap():
    # GIVEN every visit of 5 to 120 minutes starting on the 5-minute grid within an hour (and a block boundary)
    base = datetime(2027, 3, 2, 14, 30, tzinfo=UTC)
    visits = [
        (base + timedelta(minutes=start), base + timedelta(minutes=start + minutes))
        for start in range(0, 65, 5)
        for minutes in range(5, 125, 5)
    ]
    plans = {v: lock_plan(*v) for v in visits}
    # THEN any two of them meet on a lock item if and only if they overlap (adjacent visits never do)
    wrong = [(a, b) for a, b in itertools.combinations(visits, 2) if _collide(plans[a], plans[b]) != overlaps(a, b)]
    assert wrong == []


def test_a_visit_holds_whole_blocks_and_granules_only_at_its_ragged_ends():
    # GIVEN a two-hour visit from 10:05 to 12:05 (UTC)
    start = datetime(2027, 3, 2, 10, 5, tzinfo=UTC)
    plan = lock_plan(start, start + timedelta(minutes=120))
    # THEN it holds the three whole half hours and shares the two ragged ones, with their granules
    assert [b.strftime("%H:%M") for b in plan.full] == ["10:30", "11:00", "11:30"]
    assert [b.strftime("%H:%M") for b in plan.shared] == ["10:00", "12:00"]
    assert [g.strftime("%H:%M") for g in plan.granules] == ["10:05", "10:10", "10:15", "10:20", "10:25", "12:00"]
    # AND a visit on the blocks' grid takes only its blocks
    assert lock_plan(start.replace(minute=0), start.replace(hour=12, minute=0)).size == 4


def test_the_longest_visit_moved_fits_one_transaction_with_room_to_spare():
    # GIVEN the most lock items one side of any visit up to the longest takes (a 110-minute visit from :05)
    assert MAX_LOCK_ITEMS == 14 and MAX_APPOINTMENT_MINUTES == 120
    # THEN a reschedule (old and new locks of doctor and patient, and what else it writes) stays far below 100
    assert 4 * MAX_LOCK_ITEMS + RESCHEDULE_OTHER_ITEMS <= 64
    # AND one granule lock per 5 minutes would not have fitted: 4 x 24 locks and the rest is over 100
    assert 4 * (MAX_APPOINTMENT_MINUTES // GRANULE_MINUTES) + RESCHEDULE_OTHER_ITEMS > 100
