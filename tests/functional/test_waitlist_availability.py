"""The waitlist notices time opened by an admin's availability change (moto): new working hours or a removed holiday
are offered to a matching waiting entry after the change commits, each opened interval on its own; an unchanged
change offers nothing; a failing waitlist never fails the change."""

from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any

from tests.functional.test_waitlist import entry, joined
from tests.helpers import BOOKING_DAY, STANDARD_AVAILABILITY, admin

DAY = BOOKING_DAY.isoformat()  # a Wednesday
EVENING = [{"start": "17:00", "end": "18:00"}]


def hours(**changes: Any) -> dict[str, Any]:
    body = copy.deepcopy(STANDARD_AVAILABILITY)
    body.update(changes)
    return body


def longer_days(*days: str) -> dict[str, Any]:
    body = hours()
    for day in days:
        body["workingHours"][day] = [{"start": "09:00", "end": "18:00"}]
    return body


def put(api: Any, doc: dict[str, Any], body: dict[str, Any]) -> Any:
    done = api.call("PUT", f"/api/admin/doctors/{doc['id']}/availability", admin(), body)
    assert done.status_code == 200, done.data
    return done.data


def offered_zone(doc: dict[str, Any]) -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo(doc["timezone"])


def freed_logs(wired: Any, doc: dict[str, Any]) -> list[Any]:
    return wired.adapters.waitlist.freed_of(doc["id"], BOOKING_DAY - timedelta(days=7), BOOKING_DAY + timedelta(days=7))


def test_new_working_hours_are_offered_to_a_matching_waiting_entry(api, wired):
    # GIVEN a doctor working until 17:00 and a patient waiting for a Wednesday evening time
    doc = api.doctor_with_hours()
    waiting = joined(api, doc, "w1", times=EVENING)
    # WHEN an admin extends Wednesdays to 18:00
    put(api, doc, longer_days("wednesday"))
    # THEN the entry is offered 17:00 that day, with a hold
    offered = entry(api, waiting["id"], "w1")
    assert offered["status"] == "offered"
    assert (offered["offer"]["date"], offered["offer"]["time"]) == (DAY, "17:00")
    # AND the freed time's log says where it came from (17:00 offered; the rest, 17:30, logged on its own)
    logs = freed_logs(wired, doc)
    assert {(r.origin, r.source_id) for r in logs} == {("hours-opened", "availability")}
    assert sorted(r.starts_at.astimezone(offered_zone(doc)).strftime("%H:%M") for r in logs) == ["17:00", "17:30"]


def test_a_removed_holiday_is_offered_to_a_matching_waiting_entry(api, wired):
    # GIVEN a doctor off on the day (a holiday) and a patient waiting for that day's mornings
    doc = api.doctor_with_hours(hours(holidays=[DAY]))
    waiting = joined(api, doc, "w1", times=[{"start": "09:00", "end": "12:00"}])
    # WHEN the holiday is removed
    put(api, doc, hours(holidays=[]))
    # THEN the entry is offered the day's first time
    offered = entry(api, waiting["id"], "w1")
    assert offered["status"] == "offered" and (offered["offer"]["date"], offered["offer"]["time"]) == (DAY, "09:00")


def test_an_unchanged_availability_offers_nothing(api, wired):
    # GIVEN a waiting entry with a doctor's hours set
    doc = api.doctor_with_hours()
    waiting = joined(api, doc, "w1")
    # WHEN the same availability is put again
    put(api, doc, hours())
    # THEN nothing is offered or logged
    assert entry(api, waiting["id"], "w1")["status"] == "waiting"
    assert freed_logs(wired, doc) == []


def test_fewer_hours_offer_nothing(api, wired):
    doc = api.doctor_with_hours(longer_days("wednesday"))
    waiting = joined(api, doc, "w1", times=EVENING)
    # WHEN Wednesdays are cut back to 17:00 THEN nothing opened, nothing offered
    put(api, doc, hours())
    assert entry(api, waiting["id"], "w1")["status"] == "waiting" and freed_logs(wired, doc) == []


def test_each_opened_interval_is_offered_on_its_own_and_a_failure_never_fails_the_change(api, wired, monkeypatch):
    # GIVEN patients waiting for Wednesday and Thursday evenings
    doc = api.doctor_with_hours()
    wednesday = joined(api, doc, "w1", times=EVENING)
    next_day = (BOOKING_DAY + timedelta(days=1)).isoformat()
    thursday = joined(api, doc, "w2", times=EVENING, **{"from": next_day, "to": next_day})
    # AND offering Wednesday's opened time fails (the store is down for it)
    service = wired.waitlist
    real = service.offer_freed

    def flaky(record_id: str) -> str:
        record, _ = wired.adapters.waitlist.get_freed(record_id)
        if record.date == DAY:
            raise RuntimeError("store down")
        return real(record_id)

    monkeypatch.setattr(service, "offer_freed", flaky)
    # WHEN every weekday is extended to 18:00
    body = longer_days("monday", "tuesday", "wednesday", "thursday", "friday")
    answer = put(api, doc, body)
    # THEN the change is made, Thursday's time is still offered, and Wednesday's entry keeps waiting
    assert answer["workingHours"]["wednesday"][0]["end"] == "18:00"
    assert entry(api, thursday["id"], "w2")["status"] == "offered"
    assert entry(api, wednesday["id"], "w1")["status"] == "waiting"


def test_a_waitlist_that_cannot_be_read_never_fails_the_availability_change(api, wired, monkeypatch):
    doc = api.doctor_with_hours()
    joined(api, doc, "w1", times=EVENING)

    def down(doctor_id: str) -> list[Any]:
        raise RuntimeError("waitlist table unavailable")

    monkeypatch.setattr(wired.adapters.waitlist, "queue", down)
    # WHEN the availability changes THEN it is saved (200) whatever the waitlist's trouble
    answer = put(api, doc, longer_days("wednesday"))
    assert answer["workingHours"]["wednesday"][0]["end"] == "18:00"
    got = api.call("GET", f"/api/doctors/{doc['id']}", admin())
    assert got.status_code == 200
