"""Instants always print with four-digit years; dates outside 2000-2100 and oversized windows are refused."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest

from chalicelib.domain import errors
from chalicelib.domain.realtime import parse_client_message
from chalicelib.domain.timefmt import check_supported, check_window, instant, precise_instant


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (datetime(10, 12, 29, 13, 56, 2, tzinfo=UTC), "0010-12-29T13:56:02Z"),
        (datetime(999, 1, 1, tzinfo=UTC), "0999-01-01T00:00:00Z"),
        (datetime(2099, 7, 2, 14, tzinfo=UTC), "2099-07-02T14:00:00Z"),
    ],
)
def test_instants_print_a_four_digit_year(value, text):
    assert instant(value) == text
    assert precise_instant(value) == text.replace("Z", ".000000Z")


@pytest.mark.parametrize("day", [date(1999, 12, 31), date(2101, 1, 1), date(1, 1, 1), date(9999, 12, 31)])
def test_dates_outside_the_supported_years_are_refused(day):
    with pytest.raises(ValueError, match="2000-2100"):
        check_supported(day)


def test_the_supported_years_include_their_ends():
    assert check_supported(date(2000, 1, 1)) == date(2000, 1, 1)
    assert check_supported(datetime(2100, 12, 31, 23, 59, tzinfo=UTC)).year == 2100


def test_a_window_is_ordered_and_at_most_92_days():
    check_window(date(2026, 12, 1), date(2027, 3, 2))  # 92 days, both included
    check_window(None, date(2026, 12, 1))
    with pytest.raises(ValueError, match="92 days"):
        check_window(date(2026, 12, 1), date(2027, 3, 3))
    with pytest.raises(ValueError, match="before"):
        check_window(date(2026, 12, 2), date(2026, 12, 1))


def test_a_live_subscription_for_a_date_outside_the_years_is_refused():
    message = {"action": "subscribe", "doctorId": "d1", "date": "9999-12-31"}
    with pytest.raises(errors.InvalidInput) as refused:
        parse_client_message(json.dumps(message))
    assert "date" in (refused.value.details or {})["fields"]
