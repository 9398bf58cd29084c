"""The audit trail over HTTP lists several changes made within one second in the order they happened, even
when the ids of the entries sort the other way (as random ids do)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from tests.helpers import admin, patient


class DescendingIds:
    """Ids that sort backwards: the old `<second>#<id>` key listed such entries in reverse."""

    def __init__(self) -> None:
        self._counter = itertools.count(999_999, -1)

    def new_id(self) -> str:
        return f"id-{next(self._counter):06d}"


@pytest.fixture
def ids() -> DescendingIds:
    return DescendingIds()


@pytest.mark.parametrize("step", [timedelta(milliseconds=150), timedelta(0)])
def test_changes_inside_one_second_list_in_order(api, clock, step):
    # GIVEN a clock that moves by `step` (or not at all) between changes, all inside one second
    clock.current = datetime(2026, 12, 1, 8, 0, 0, 100_000, tzinfo=UTC)
    doc = api.doctor_with_hours()
    made = api.book(doc)
    path = f"/api/appointments/{made['id']}"
    # WHEN it is rescheduled twice, confirmed and cancelled within the same second
    for method, suffix, change in (
        ("PUT", "/reschedule", {"date": "2026-12-02", "time": "11:00"}),
        ("PUT", "/reschedule", {"date": "2026-12-02", "time": "14:00"}),
        ("PATCH", "/status", {"status": "confirmed"}),
        ("DELETE", "", None),
    ):
        clock.current += step
        done = api.call(method, path + suffix, patient(), change)
        assert done.status_code == 200, done.data
    # THEN the trail lists them as they happened
    trail = api.call("GET", f"/api/admin/appointments/{made['id']}/audit", admin()).data["entries"]
    assert [(e["action"], e["changes"].get("time", {}).get("to")) for e in trail] == [
        ("booked", None),
        ("rescheduled", "11:00"),
        ("rescheduled", "14:00"),
        ("confirmed", None),
        ("cancelled", None),
    ]
    assert [e["sequence"] for e in trail] == [1, 2, 3, 4, 5]
    assert len({e["at"] for e in trail}) == 1  # all in one second


def test_the_trail_follows_the_appointments_versions_when_the_writers_clocks_disagree(api, clock):
    # GIVEN each change made by another process whose clock reads 300 ms behind the previous one's
    clock.current = datetime(2026, 12, 1, 8, 0, 0, 500_000, tzinfo=UTC)
    doc = api.doctor_with_hours()
    made = api.book(doc)
    path = f"/api/appointments/{made['id']}"
    # WHEN it is rescheduled, confirmed and cancelled
    for method, suffix, change in (
        ("PUT", "/reschedule", {"date": "2026-12-02", "time": "11:00"}),
        ("PATCH", "/status", {"status": "confirmed"}),
        ("DELETE", "", None),
    ):
        clock.current -= timedelta(milliseconds=300)
        done = api.call(method, path + suffix, patient(), change)
        assert done.status_code == 200, done.data
    # THEN the trail reads in the order the changes happened, not in the order of the clocks' readings
    trail = api.call("GET", f"/api/admin/appointments/{made['id']}/audit", admin()).data["entries"]
    assert [e["action"] for e in trail] == ["booked", "rescheduled", "confirmed", "cancelled"]
    assert [e["sequence"] for e in trail] == [1, 2, 3, 4]
    assert [e["at"] for e in trail] == sorted((e["at"] for e in trail), reverse=True)  # the clocks ran backwards
