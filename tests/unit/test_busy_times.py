"""Busy times read from a doctor's own calendar (domain.busy): expansion of the fixture feeds under
tests/fixtures/calendars/, the per-day split, and the bounds on work."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from chalicelib.domain.busy import (
    FeedError,
    by_local_day,
    decode,
    encode,
    expand,
    fingerprint,
    merge,
    overlapping,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "calendars"
NEW_YORK = ZoneInfo("America/New_York")
WINDOW = (datetime(2030, 1, 1, tzinfo=UTC), datetime(2030, 6, 1, tzinfo=UTC))


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def busy(name: str, zone: ZoneInfo = NEW_YORK) -> list[tuple[datetime, datetime]]:
    return list(expand((FIXTURES / name).read_bytes(), zone, WINDOW).intervals)


def test_outlook_export_with_windows_zone_names_recurrence_exdate_and_moved_instance() -> None:
    # GIVEN Outlook's export: a weekly round in "Eastern Standard Time" (4 Mondays, one excluded, one moved),
    # a free lunch, and an event in "Pacific Standard Time" that has no VTIMEZONE in the file
    # WHEN it is expanded
    intervals = busy("outlook_windows_zones.ics")
    # THEN the rounds are at 10:00 EST except the excluded 14th and the 21st moved to 14:00; the free lunch
    # blocks nothing; the Pacific zone name is read as America/Los_Angeles
    assert intervals == [
        (utc(2030, 1, 7, 15), utc(2030, 1, 7, 16)),
        (utc(2030, 1, 9, 17), utc(2030, 1, 9, 18)),
        (utc(2030, 1, 21, 19), utc(2030, 1, 21, 20)),
        (utc(2030, 1, 28, 15), utc(2030, 1, 28, 16)),
    ]


def test_google_export_with_x_wr_timezone_all_day_in_the_doctors_zone_and_cancelled() -> None:
    # GIVEN Google's export (X-WR-TIMEZONE Europe/Berlin): a daily standup, an all-day conference, a cancelled event
    intervals = busy("google_x_wr_timezone.ics")
    # THEN the standups keep their instants, the all-day event is the doctor's whole local day (New York),
    # and the cancelled one blocks nothing
    assert intervals == [
        (utc(2030, 1, 7, 8), utc(2030, 1, 7, 9)),
        (utc(2030, 1, 8, 8), utc(2030, 1, 8, 9)),
        (utc(2030, 1, 9, 8), utc(2030, 1, 9, 9)),
        (utc(2030, 1, 10, 5), utc(2030, 1, 11, 5)),
    ]


def test_floating_other_zone_overnight_rdate_dst_and_our_own_visit() -> None:
    intervals = busy("tricky.ics")
    assert intervals == [
        (utc(2030, 1, 7, 15), utc(2030, 1, 7, 16)),  # 00:00 in Tokyo on the 8th
        (utc(2030, 1, 7, 20), utc(2030, 1, 7, 21)),  # floating 15:00, read in New York
        (utc(2030, 1, 10, 3), utc(2030, 1, 10, 7)),  # 22:00-02:00 across midnight
        (utc(2030, 1, 15, 14), utc(2030, 1, 15, 15)),  # RDATE adds the 16th and 17th
        (utc(2030, 1, 16, 14), utc(2030, 1, 16, 15)),
        (utc(2030, 1, 17, 14), utc(2030, 1, 17, 15)),
        (utc(2030, 3, 10, 6), utc(2030, 3, 10, 8)),  # 01:00 EST to 04:00 EDT: two real hours
    ]
    # our own visit (UID ...@clinic-booking, 17:00Z on the 7th) is not read back as busy
    assert overlapping((utc(2030, 1, 7, 17), utc(2030, 1, 7, 17, 30)), intervals) is None


def test_an_endless_rule_stops_at_the_instance_cap() -> None:
    # GIVEN an every-minute rule with no end
    # WHEN it is expanded with a cap of 500 instances
    expansion = expand((FIXTURES / "endless_rule.ics").read_bytes(), NEW_YORK, WINDOW, max_instances=500)
    # THEN the work stops there and says so
    assert expansion.truncated
    assert expansion.intervals == ((utc(2030, 2, 1), utc(2030, 2, 1, 8, 20)),)


def test_an_endless_rule_does_not_starve_the_rest_of_the_feed() -> None:
    # GIVEN a feed with an every-minute rule with no end beside ordinary events (the DST one is in March)
    endless = (FIXTURES / "endless_rule.ics").read_text().split("BEGIN:VEVENT", 1)[1].rsplit("END:VCALENDAR", 1)[0]
    tricky = (FIXTURES / "tricky.ics").read_text().replace("END:VCALENDAR", "BEGIN:VEVENT" + endless + "END:VCALENDAR")
    # WHEN it is expanded with a per-event cap of 100
    expansion = expand(tricky.encode(), NEW_YORK, WINDOW, max_instances_per_event=100)
    # THEN the endless series stops at 100 minutes, and every other event is still read
    assert expansion.truncated
    assert (utc(2030, 2, 1), utc(2030, 2, 1, 1, 40)) in expansion.intervals
    assert (utc(2030, 3, 10, 6), utc(2030, 3, 10, 8)) in expansion.intervals
    assert len(expansion.intervals) == 8


def test_a_feed_over_the_size_cap_and_garbage_are_refused_in_plain_words() -> None:
    with pytest.raises(FeedError, match="larger than"):
        expand(b"BEGIN:VCALENDAR\n" + b"X" * (3 * 1024 * 1024), NEW_YORK, WINDOW)
    with pytest.raises(FeedError, match="not an iCalendar file"):
        expand(b"<html>Sign in</html>", NEW_YORK, WINDOW)


def test_overnight_busy_time_is_split_at_the_doctors_local_midnight() -> None:
    days = by_local_day([(utc(2030, 1, 10, 3), utc(2030, 1, 10, 7))], NEW_YORK)
    assert days == {
        date(2030, 1, 9): ((utc(2030, 1, 10, 3), utc(2030, 1, 10, 5)),),
        date(2030, 1, 10): ((utc(2030, 1, 10, 5), utc(2030, 1, 10, 7)),),
    }


def test_merge_encode_decode_and_fingerprint() -> None:
    merged = merge([(utc(2030, 1, 1, 10), utc(2030, 1, 1, 11)), (utc(2030, 1, 1, 9), utc(2030, 1, 1, 10))])
    assert merged == [(utc(2030, 1, 1, 9), utc(2030, 1, 1, 11))]
    assert decode(encode(merged)) == tuple(merged)
    assert fingerprint(merged) != fingerprint([(utc(2030, 1, 1, 9), utc(2030, 1, 1, 10))])
    assert decode(None) == ()


def test_slots_overlapping_a_busy_time_are_not_free_like_a_break() -> None:
    from datetime import time, timedelta

    from chalicelib.domain.schedule import Availability, DayState, WallInterval, generate_slots

    # GIVEN 09:00-12:00 on a Monday, busy 09:50-10:05 and 11:00-11:30 (New York, EST)
    hours = Availability(working_hours={"monday": (WallInterval(time(9), time(12)),)})
    busy = ((utc(2030, 1, 7, 14, 50), utc(2030, 1, 7, 15, 5)), (utc(2030, 1, 7, 16), utc(2030, 1, 7, 16, 30)))
    # WHEN the day's 30-minute slots are listed
    slots = generate_slots(hours, NEW_YORK, date(2030, 1, 7), 30, DayState(busy=busy), utc(2030, 1, 1), timedelta())
    # THEN exactly the slots a busy time overlaps (half-open) are not free
    assert {s.local_time: s.available for s in slots} == {
        "09:00": True,
        "09:30": False,
        "10:00": False,
        "10:30": True,
        "11:00": False,
        "11:30": True,
    }
