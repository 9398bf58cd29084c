"""Time is exact over HTTP: a fall-back hour's slots book the instant shown, zone names are canonical, dates
stay within 2000-2100, and the audit trail lists changes in the order they happened."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.helpers import admin, patient

NIGHTS = {
    "workingHours": {
        day: [{"start": "00:00", "end": "04:00"}]
        for day in ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
    },
    "maxPatientsPerDay": 50,
    "appointmentDuration": 45,
    "durations": [30],  # patients may also book half an hour
}
FALL_BACK = "2027-11-07"  # New York repeats 01:00-02:00 (EDT, then EST)


@pytest.fixture
def night_doctor(api, clock):
    clock.current = datetime(2027, 11, 1, 12, tzinfo=UTC)  # a week before: inside any booking horizon
    return api.doctor_with_hours(NIGHTS)


def slots(api, doc, day=FALL_BACK, duration=45):
    found = api.call("GET", f"/api/appointments/availability/{doc['id']}/{day}?duration={duration}", patient("x"))
    assert found.status_code == 200, found.data
    return found.data["slots"]


def test_an_offered_fall_back_time_books_the_instant_shown_and_is_then_taken(api, night_doctor):
    # GIVEN 45-minute visits: 01:15 is offered once, in the hour's second pass
    shown = [s for s in slots(api, night_doctor) if s["time"] == "01:15"]
    assert [(s["startsAt"], s["utcOffset"]) for s in shown] == [("2027-11-07T06:15:00Z", "-05:00")]
    # WHEN a patient books 01:15 by its local time
    made = api.try_book(night_doctor, patient("p1"), date=FALL_BACK, time="01:15")
    # THEN it is that instant, and the slot is no longer free
    assert made.status_code == 201, made.data
    assert (made.data["startsAt"], made.data["endsAt"]) == ("2027-11-07T06:15:00Z", "2027-11-07T07:00:00Z")
    assert [s["available"] for s in slots(api, night_doctor) if s["time"] == "01:15"] == [False]


def test_a_time_the_day_does_not_offer_is_422_and_books_nothing(api, night_doctor):
    # GIVEN 45-minute visits from 00:00: 00:45 is offered, 00:20 is not
    assert "00:20" not in {s["time"] for s in slots(api, night_doctor)}
    # WHEN a patient books 00:20
    refused = api.try_book(night_doctor, patient("p1"), date=FALL_BACK, time="00:20")
    # THEN 422 names the rule and the offered times around it, and nothing is taken
    assert refused.status_code == 422, refused.data
    assert refused.data["error"]["code"] == "NOT_AN_OFFERED_TIME"
    assert refused.data["error"]["details"]["nearest"] == ["00:00", "00:45"]
    assert all(s["available"] for s in slots(api, night_doctor))


def test_an_ambiguous_time_is_refused_with_both_instants_and_books_by_starts_at(api, night_doctor):
    # GIVEN 30-minute visits: 01:30 is offered twice (05:30Z EDT and 06:30Z EST)
    twice = [s["startsAt"] for s in slots(api, night_doctor, duration=30) if s["time"] == "01:30"]
    assert twice == ["2027-11-07T05:30:00Z", "2027-11-07T06:30:00Z"]
    # WHEN booked by local time alone: 422 naming both
    refused = api.try_book(night_doctor, patient("p1"), date=FALL_BACK, time="01:30", duration=30)
    assert refused.status_code == 422 and refused.data["error"]["code"] == "AMBIGUOUS_LOCAL_TIME"
    assert "pick 01:30 EDT or 01:30 EST" in refused.data["error"]["message"]
    assert [c["startsAt"] for c in refused.data["error"]["details"]["candidates"]] == twice
    # WHEN booked with the second pass's startsAt: exactly that instant
    made = api.try_book(night_doctor, patient("p1"), date=FALL_BACK, time="01:30", duration=30, startsAt=twice[1])
    assert made.status_code == 201 and made.data["startsAt"] == twice[1]
    # AND the first pass is still free, the second is not
    after = {s["startsAt"]: s["available"] for s in slots(api, night_doctor, duration=30)}
    assert (after[twice[0]], after[twice[1]]) == (True, False)
    # AND a startsAt that is not that local time is a 400 naming the field
    wrong = api.try_book(night_doctor, patient("p2"), date=FALL_BACK, time="01:00", duration=30, startsAt=twice[1])
    assert wrong.status_code == 400 and "startsAt" in wrong.data["error"]["details"]["fields"]
    # AND a reschedule names its instant the same way
    moved = api.call(
        "PUT",
        f"/api/appointments/{made.data['id']}/reschedule",
        patient("p1"),
        {"date": FALL_BACK, "time": "01:00", "startsAt": "2027-11-07T06:00:00Z"},
    )
    assert moved.status_code == 200, moved.data
    assert moved.data["startsAt"] == "2027-11-07T06:00:00Z"
    ambiguous = api.call(
        "PUT", f"/api/appointments/{made.data['id']}/reschedule", patient("p1"), {"date": FALL_BACK, "time": "01:30"}
    )
    assert ambiguous.status_code == 422 and ambiguous.data["error"]["code"] == "AMBIGUOUS_LOCAL_TIME"


@pytest.mark.parametrize(
    "path",
    [
        "/api/admin/reminders?from=2258-10-01&to=2000-01-01",
        "/api/admin/reminders?from=2026-12-05&to=2026-12-01",
        "/api/admin/reminders?from=2026-01-01&to=2026-12-31",
        "/api/appointments/patient/patient-1?to=9999-12-31",
        "/api/appointments/doctor/{doctor}?to=9999-12-31",
        "/api/appointments/doctor/{doctor}?from=2026-12-01&to=2027-03-03",
        "/api/admin/analytics?from=9999-12-31&to=9999-12-31",
        "/api/admin/analytics?from=2026-12-01&to=2027-03-03",
        "/api/appointments/availability/{doctor}/0010-12-29",
        "/api/appointments/availability/{doctor}/9999-12-31",
        "/api/appointments/availability/{doctor}/1999-12-31",
        "/api/appointments/availability/{doctor}/2101-01-01",
    ],
)
def test_dates_outside_2000_2100_and_oversized_windows_are_400(api, path):
    doc = api.doctor_with_hours(NIGHTS)
    refused = api.call("GET", path.format(doctor=doc["id"]), admin())
    assert refused.status_code == 400, refused.data
    assert refused.data["error"]["code"] == "VALIDATION_ERROR" and refused.data["error"]["details"]["fields"]


def test_a_92_day_window_and_the_last_supported_day_are_answered(api):
    # GIVEN a doctor working until 23:55 far east of UTC, and one far west
    hours = {**NIGHTS, "workingHours": {"friday": [{"start": "22:00", "end": "23:55"}]}}
    east = api.doctor_with_hours(hours, timezone="Pacific/Kiritimati")
    west = api.doctor_with_hours(hours, timezone="Pacific/Pago_Pago")
    # THEN the last day of 2100 (a Friday) has slots with four-digit years, and a 92-day window lists
    for doc, first in ((east, "2100-12-31T08:00:00Z"), (west, "2101-01-01T09:00:00Z")):
        day = api.call("GET", f"/api/appointments/availability/{doc['id']}/2100-12-31", patient())
        assert day.status_code == 200, day.data
        assert day.data["slots"][0]["startsAt"] == first
    listed = api.call("GET", f"/api/appointments/doctor/{east['id']}?from=2026-12-01&to=2027-03-02", admin())
    assert listed.status_code == 200, listed.data


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"date": "9999-12-31", "time": "23:00"}, "date"),
        ({"date": "0010-12-29", "time": "10:00"}, "date"),
        ({"date": FALL_BACK, "time": "01:00", "startsAt": "2101-01-01T06:00:00Z"}, "startsAt"),
        ({"date": FALL_BACK, "time": "01:00", "startsAt": "2027-11-07T25:00:00Z"}, "startsAt"),
    ],
)
def test_bookings_outside_the_years_are_400(api, night_doctor, body, field):
    refused = api.try_book(night_doctor, patient("p1"), **body)
    assert refused.status_code == 400, refused.data
    assert field in refused.data["error"]["details"]["fields"]


def test_holidays_outside_the_years_are_400(api):
    doc = api.create_doctor()
    refused = api.call(
        "PUT", f"/api/admin/doctors/{doc['id']}/availability", admin(), {**NIGHTS, "holidays": ["1999-12-25"]}
    )
    assert refused.status_code == 400 and "holidays.0" in refused.data["error"]["details"]["fields"]


@pytest.mark.parametrize(
    "zone", ["localtime", "Factory", "right/America/New_York", "posix/America/New_York", "Mars/Olympus_Mons", ""]
)
def test_a_doctor_zone_must_be_a_canonical_iana_name(api, zone):
    body = {"name": "Dr. X", "specialty": "GP", "location": "Here", "timezone": zone, "telehealth": False}
    refused = api.call("POST", "/api/admin/doctors", admin(), body)
    assert refused.status_code == 400, refused.data
    assert "timezone" in refused.data["error"]["details"]["fields"]


@pytest.mark.parametrize("zone", ["America/New_York", "Australia/Lord_Howe", "Asia/Kathmandu", "UTC"])
def test_canonical_zone_names_are_accepted(api, zone):
    assert api.create_doctor(timezone=zone)["timezone"] == zone
