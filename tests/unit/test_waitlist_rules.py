"""The waitlist's pure rules: matching a freed time, fair order, limits, verified channels, windows, freed intervals
from stream images, offers ending, and the refill analytics."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from chalicelib.domain.appointments import AppointmentType
from chalicelib.domain.errors import InvalidInput, NoRecipient, OutsideBookingWindow
from chalicelib.domain.waitlist import (
    Entry,
    EntryStatus,
    FreedRecord,
    Offer,
    OfferOutcome,
    Settings,
    TimeRange,
    WaitlistLimitReached,
    check_limits,
    check_window,
    end_offer,
    expired,
    fair_order,
    freed_intervals,
    matches,
    offer_message,
    recipients,
    refill_report,
    with_offer,
)

NY = ZoneInfo("America/New_York")
NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
WED_10 = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)  # Wednesday 10:00 in New York
NOTICE = timedelta(hours=1)


def entry(**fields) -> Entry:
    base = {
        "id": "e1",
        "doctor_id": "d1",
        "patient_id": "p1",
        "date_from": date(2026, 12, 1),
        "date_to": date(2026, 12, 4),
        "type": AppointmentType.IN_PERSON,
        "duration": 30,
        "notify": ("email",),
        "joined_at": NOW,
    }
    return Entry(**{**base, **fields})


def test_a_time_within_the_window_days_and_times_matches():
    e = entry(days=("wednesday",), times=(TimeRange(time(9), time(12)),))
    assert matches(e, WED_10, 30, NY, NOW, NOTICE)


@pytest.mark.parametrize(
    ("why", "fields", "start", "now"),
    [
        ("another length", {"duration": 60}, WED_10, NOW),
        ("before the window", {"date_from": date(2026, 12, 3)}, WED_10, NOW),
        ("after the window", {"date_to": date(2026, 12, 1)}, WED_10, NOW),
        ("another weekday", {"days": ("monday",)}, WED_10, NOW),
        ("afternoons only", {"times": (TimeRange(time(13), time(17)),)}, WED_10, NOW),
        ("ends after the range", {"times": (TimeRange(time(9), time(10, 15)),)}, WED_10, NOW),
        ("passed on it before", {"passed": ("2026-12-02T15:00:00Z",)}, WED_10, NOW),
        ("not later than the visit to move", {"move_earlier_starts_at": WED_10}, WED_10, NOW),
        ("offered already", {"status": EntryStatus.OFFERED}, WED_10, NOW),
        ("left", {"status": EntryStatus.LEFT}, WED_10, NOW),
        ("less than the minimum notice away", {}, WED_10, WED_10 - timedelta(minutes=59)),
    ],
)
def test_what_does_not_match(why, fields, start, now):
    assert not matches(entry(**fields), start, 30, NY, now, NOTICE), why


def test_exactly_the_minimum_notice_away_still_matches():
    assert matches(entry(), WED_10, 30, NY, WED_10 - NOTICE, NOTICE)


def test_fair_order_is_join_order_then_the_clinics_priorities_as_configured():
    early = entry(id="a", joined_at=NOW)
    late = entry(id="b", joined_at=NOW + timedelta(minutes=1))
    mover = entry(id="c", joined_at=NOW + timedelta(minutes=2), move_earlier="v1")
    flagged = entry(id="d", joined_at=NOW + timedelta(minutes=3), priority=1)
    assert [e.id for e in fair_order([late, mover, early], Settings())] == ["a", "b", "c"]
    assert [e.id for e in fair_order([late, mover, early], Settings(move_earlier_first=True))] == ["c", "a", "b"]
    assert [e.id for e in fair_order([late, flagged, early], Settings())] == ["d", "a", "b"]
    assert [e.id for e in fair_order([late, flagged, early], Settings(use_priority=False))] == ["a", "b", "d"]
    # ties by id: every reader sees the same order
    twin = entry(id="0", joined_at=NOW)
    assert [e.id for e in fair_order([early, twin], Settings())] == ["0", "a"]


def test_limits_one_active_entry_per_doctor_and_three_in_all():
    with pytest.raises(WaitlistLimitReached):
        check_limits([entry(doctor_id="d1")], "d1")
    three = [entry(id=f"e{i}", doctor_id=f"d{i}") for i in range(3)]
    with pytest.raises(WaitlistLimitReached):
        check_limits(three, "d9")
    # ended entries do not count
    check_limits(
        [entry(doctor_id="d1", status=EntryStatus.LEFT), entry(id="x", doctor_id="d7"), entry(id="y", doctor_id="d8")],
        "d1",
    )


def test_only_verified_addresses_are_chosen_channels():
    assert recipients({"email": True}, "a@x.org", True, None, False) == (("email",), "a@x.org", None)
    with pytest.raises(NoRecipient):
        recipients({"email": True}, "a@x.org", False, None, False)
    with pytest.raises(NoRecipient):
        recipients({"sms": True}, None, False, "+1617", False)
    with pytest.raises(InvalidInput):
        recipients({"email": False}, "a@x.org", True, None, False)


def test_the_window_is_ordered_not_over_not_too_long_and_within_the_horizon():
    today = date(2026, 12, 1)
    check_window(today, today + timedelta(days=91), today, 180)
    with pytest.raises(InvalidInput):
        check_window(today, today - timedelta(days=1), today, 180)
    with pytest.raises(InvalidInput):
        check_window(today - timedelta(days=5), today - timedelta(days=1), today, 180)
    with pytest.raises(InvalidInput):
        check_window(today, today + timedelta(days=92), today, 180)
    with pytest.raises(OutsideBookingWindow):
        check_window(today + timedelta(days=170), today + timedelta(days=181), today, 180)


def image(status: str, start: datetime, minutes: int = 30) -> dict[str, str]:
    return {
        "id": "a1",
        "doctor_id": "d1",
        "status": status,
        "starts_at": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "ends_at": (start + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def test_freed_intervals_from_stream_images():
    end = WED_10 + timedelta(minutes=30)
    # a cancellation, a hold released or lapsed: the whole interval
    assert freed_intervals(image("scheduled", WED_10), image("cancelled", WED_10)) == [(WED_10, end)]
    assert freed_intervals(image("held", WED_10), None) == [(WED_10, end)]
    # a reschedule away: what the new time does not cover
    later = WED_10 + timedelta(minutes=15)
    assert freed_intervals(image("scheduled", WED_10), image("rescheduled", later)) == [(WED_10, later)]
    assert freed_intervals(image("scheduled", WED_10), image("rescheduled", WED_10 + timedelta(hours=2))) == [
        (WED_10, end)
    ]
    # nothing freed: a booking, a hold becoming the visit, a confirmation, a visit completing, a cancelled one
    assert freed_intervals(None, image("scheduled", WED_10)) == []
    assert freed_intervals(image("held", WED_10), image("scheduled", WED_10)) == []
    assert freed_intervals(image("scheduled", WED_10), image("confirmed", WED_10)) == []
    assert freed_intervals(image("confirmed", WED_10), image("completed", WED_10)) == []
    assert freed_intervals(image("cancelled", WED_10), None) == []
    assert freed_intervals({"status": "scheduled", "starts_at": "garbage"}, None) == []


def offer(start: datetime = WED_10) -> Offer:
    return Offer(
        "h1", "2026-12-02", "10:00", start, start + timedelta(minutes=30), NOW + timedelta(minutes=15), NOW, "f1"
    )


def test_an_entry_has_one_open_offer_and_passes_on_a_time_it_did_not_take():
    offered = with_offer(entry(), offer(), NOW)
    assert offered.status is EntryStatus.OFFERED
    with pytest.raises(Exception, match="not waiting"):
        with_offer(offered, offer(), NOW)
    declined = end_offer(offered, OfferOutcome.DECLINED, NOW)
    assert declined.status is EntryStatus.WAITING and declined.offer is None
    assert declined.past_offers[0].outcome is OfferOutcome.DECLINED
    assert not matches(declined, WED_10, 30, NY, NOW, NOTICE)  # never offered that time again
    booked = end_offer(offered, OfferOutcome.ACCEPTED, NOW, EntryStatus.BOOKED)
    assert booked.status is EntryStatus.BOOKED and booked.passed == ()


def test_an_entry_expires_at_the_end_of_its_last_day_in_the_doctors_zone():
    e = entry(date_to=date(2026, 12, 2))
    midnight = datetime(2026, 12, 3, 5, 0, tzinfo=UTC)  # 00:00 on the 3rd in New York
    assert not expired(e, NY, midnight - timedelta(seconds=1))
    assert expired(e, NY, midnight)
    assert not expired(entry(date_to=date(2026, 12, 2), status=EntryStatus.BOOKED), NY, midnight)


def test_the_message_names_the_doctor_time_and_link_and_nothing_else():
    text = offer_message("Dr. Lee", WED_10.astimezone(NY), (NOW + timedelta(minutes=15)).astimezone(NY), "https://x/")
    assert "Dr. Lee" in text and "10:00" in text and "https://x/" in text
    assert len(text) < 160 + 40


def record(start: datetime, **fields) -> FreedRecord:
    base = {
        "id": "f",
        "doctor_id": "d1",
        "date": "2026-12-02",
        "starts_at": start,
        "ends_at": start + timedelta(minutes=30),
        "freed_at": NOW,
        "origin": "cancelled",
        "source_id": "a1",
    }
    return FreedRecord(**{**base, **fields})


def test_refill_report_rate_median_and_outcomes_per_week():
    refilled = record(WED_10, refilled_at=NOW + timedelta(minutes=4), refilled_minutes=30, offers=(
        {"outcome": "declined"}, {"outcome": "accepted"}))  # fmt: skip
    refilled_fast = record(WED_10 + timedelta(hours=1), refilled_at=NOW + timedelta(minutes=2), refilled_minutes=30,
                           offers=({"outcome": "accepted"},))  # fmt: skip
    unfilled = record(WED_10 + timedelta(hours=2), offers=({"outcome": "expired"},))
    lapsed_hold = record(WED_10 + timedelta(hours=3), origin="hold-released")
    next_week = record(WED_10 + timedelta(days=7))
    weeks = refill_report([refilled, refilled_fast, unfilled, lapsed_hold, next_week], NY)
    assert [w.week for w in weeks] == ["2026-W49", "2026-W50"]
    first = weeks[0]
    assert (first.freed_minutes, first.refilled_minutes, first.refill_rate) == (90, 60, round(60 / 90, 4))
    assert first.median_seconds_to_rebook == 180.0
    assert (first.offers_sent, first.accepted, first.declined, first.expired) == (4, 2, 1, 1)
    assert weeks[1].refill_rate == 0.0 and weeks[1].median_seconds_to_rebook is None


# --- time opened by an availability change ----------------------------------------------------------------------
def _hours(end: str = "17:00", holidays: tuple[date, ...] = (), days: tuple[str, ...] = ("wednesday",)) -> Any:
    from chalicelib.domain.schedule import Availability, Break, WallInterval

    wall = (WallInterval(time(9), time.fromisoformat(end)),)
    return Availability(
        working_hours=dict.fromkeys(days, wall), breaks=(Break(time(12), time(13)),), holidays=frozenset(holidays)
    )


NY = ZoneInfo("America/New_York")
WED = date(2026, 12, 2)
BEFORE = datetime(2026, 12, 1, 8, tzinfo=UTC)


def _local(intervals: list[tuple[datetime, datetime]]) -> list[tuple[str, str]]:
    return [(s.astimezone(NY).strftime("%m-%d %H:%M"), e.astimezone(NY).strftime("%m-%d %H:%M")) for s, e in intervals]


def test_opened_intervals_are_the_new_working_time_only():
    from chalicelib.domain.waitlist import opened_intervals

    # GIVEN Wednesdays extended from 17:00 to 18:00 THEN only 17:00-18:00 opened, on each Wednesday of the range
    got = opened_intervals(_hours(), _hours("18:00"), NY, WED, WED + timedelta(days=7), BEFORE)
    assert _local(got) == [("12-02 17:00", "12-02 18:00"), ("12-09 17:00", "12-09 18:00")]
    # AND the same availability, or fewer hours, open nothing
    assert opened_intervals(_hours(), _hours(), NY, WED, WED, BEFORE) == []
    assert opened_intervals(_hours("18:00"), _hours(), NY, WED, WED, BEFORE) == []


def test_a_removed_holiday_opens_the_whole_working_day_with_its_breaks_cut_out():
    from chalicelib.domain.waitlist import opened_intervals

    got = opened_intervals(_hours(holidays=(WED,)), _hours(), NY, WED, WED, BEFORE)
    assert _local(got) == [("12-02 09:00", "12-02 12:00"), ("12-02 13:00", "12-02 17:00")]
    # AND a doctor with no availability before opens all its working time
    assert len(opened_intervals(None, _hours(), NY, WED, WED, BEFORE)) == 2


def test_opened_intervals_leave_out_times_already_begun_and_stay_bounded():
    from chalicelib.domain.waitlist import opened_intervals

    # GIVEN "now" at 10:00 on the day THEN the morning piece (begun) is left out
    now = datetime(2026, 12, 2, 15, tzinfo=UTC)
    got = opened_intervals(_hours(holidays=(WED,)), _hours(), NY, WED, WED, now)
    assert _local(got) == [("12-02 13:00", "12-02 17:00")]
    # AND a change opening every day of a long range yields at most `limit` intervals, earliest first
    every = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
    many = opened_intervals(None, _hours(days=every), NY, WED, WED + timedelta(days=180), BEFORE, limit=5)
    assert len(many) == 5 and many == sorted(many) and _local(many)[0][0] == "12-02 09:00"


# --- quiet hours ------------------------------------------------------------------------------------------------
def test_quiet_hours_wrap_midnight_in_the_doctors_zone():
    from chalicelib.domain.waitlist import parse_quiet_hours

    quiet = parse_quiet_hours("21:00-08:00")
    assert quiet is not None

    def at(hh: int, mm: int = 0) -> datetime:  # a wall time in New York on 2026-12-01 (UTC-5)
        return datetime(2026, 12, 1, hh, mm, tzinfo=NY).astimezone(UTC)

    # GIVEN 21:00-08:00 THEN 21:00 and 03:00 and 07:59 are quiet; 08:00, 12:00 and 20:59 are not
    assert [quiet.contains(at(h, m), NY) for h, m in ((21, 0), (3, 0), (7, 59))] == [True, True, True]
    assert [quiet.contains(at(h, m), NY) for h, m in ((8, 0), (12, 0), (20, 59))] == [False, False, False]
    # AND within the hour after 08:00 they "ended within" it; at 09:00, or while still quiet, not
    hour = timedelta(hours=1)
    assert quiet.ended_within(at(8, 0), NY, hour) and quiet.ended_within(at(8, 59), NY, hour)
    assert not quiet.ended_within(at(9, 0), NY, hour) and not quiet.ended_within(at(7, 30), NY, hour)
    # AND a same-day range works too
    lunch = parse_quiet_hours("12:00-13:00")
    assert lunch is not None and lunch.contains(at(12, 30), NY) and not lunch.contains(at(13, 0), NY)


@pytest.mark.parametrize("text", ["21:00", "21:00-21:00", "9pm-8am", "25:00-08:00"])
def test_quiet_hours_that_cannot_be_read_are_refused(text):
    from chalicelib.domain.waitlist import parse_quiet_hours

    with pytest.raises(ValueError):
        parse_quiet_hours(text)


def test_no_quiet_hours_when_unset():
    from chalicelib.domain.waitlist import parse_quiet_hours

    assert parse_quiet_hours(None) is None and parse_quiet_hours("  ") is None
