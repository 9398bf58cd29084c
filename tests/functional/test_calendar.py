"""Calendars parsed with icalendar: the appointment's event (UTC instants, stable UID, SEQUENCE, METHOD), and the
doctor's feed behind a revocable token, across the November DST change."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from icalendar import Calendar

from tests.helpers import STANDARD_AVAILABILITY, admin, doctor, patient

NY = ZoneInfo("America/New_York")


def ics(response) -> Calendar:
    assert response.status_code == 200, response.body
    assert response.headers["Content-Type"].startswith("text/calendar")
    return Calendar.from_ical(response.body)


def raw(api, method, path, headers=None):
    return api.http.request(method, path, headers=headers or {}, body=b"")


def test_the_appointment_event_follows_reschedule_and_cancel(api):
    doc = api.doctor_with_hours()
    a = api.book(doc, date="2026-12-02", reason="secret reason")
    first = ics(raw(api, "GET", f"/api/appointments/{a['id']}/calendar.ics", patient()))
    event = first.walk("VEVENT")[0]
    assert str(event["UID"]) == f"{a['id']}@clinic-booking" and int(str(event["SEQUENCE"])) == 0
    assert event.decoded("DTSTART") == datetime(2026, 12, 2, 10, 0, tzinfo=NY)
    assert event.decoded("DTSTART").utcoffset().total_seconds() == 0 and not first.walk("VTIMEZONE")
    assert (
        str(first["METHOD"]) == "PUBLISH"
        and "secret reason" not in raw(api, "GET", f"/api/appointments/{a['id']}/calendar.ics", patient()).body.decode()
    )
    api.call("PUT", f"/api/appointments/{a['id']}/reschedule", patient(), {"date": "2026-12-03", "time": "11:00"})
    moved = ics(raw(api, "GET", f"/api/appointments/{a['id']}/calendar.ics", patient())).walk("VEVENT")[0]
    assert str(moved["UID"]) == str(event["UID"]) and int(str(moved["SEQUENCE"])) > 0
    assert moved.decoded("DTSTART") == datetime(2026, 12, 3, 11, 0, tzinfo=NY)
    api.call("DELETE", f"/api/appointments/{a['id']}", patient())
    gone = ics(raw(api, "GET", f"/api/appointments/{a['id']}/calendar.ics", patient()))
    assert str(gone["METHOD"]) == "CANCEL" and str(gone.walk("VEVENT")[0]["STATUS"]) == "CANCELLED"
    assert int(str(gone.walk("VEVENT")[0]["SEQUENCE"])) > int(str(moved["SEQUENCE"]))
    assert raw(api, "GET", f"/api/appointments/{a['id']}/calendar.ics", patient("stranger")).status_code == 404


def test_the_doctor_feed_is_behind_a_revocable_token_and_crosses_dst(api, clock):
    clock.current = datetime(2026, 10, 20, 12, 0, tzinfo=ZoneInfo("UTC"))
    doc = api.doctor_with_hours(STANDARD_AVAILABILITY)
    before = api.book(doc, date="2026-10-30", reason="secret reason")  # EDT
    after = api.book(doc, date="2026-11-02", reason="secret reason")  # EST, after the fall-back on 2026-11-01
    assert raw(api, "GET", f"/api/doctors/{doc['id']}/calendar.ics").status_code == 401
    enabled = api.call("POST", f"/api/doctors/{doc['id']}/calendar-token", doctor(doc["id"]))
    assert enabled.status_code == 201
    assert api.call("POST", f"/api/doctors/{doc['id']}/calendar-token", patient()).status_code == 403
    feed = ics(raw(api, "GET", enabled.data["path"]))
    events = {str(e["DESCRIPTION"]): e for e in feed.walk("VEVENT")}
    # 10:00 EDT and 10:00 EST: the UTC instants differ by the zone's change
    assert events[f"Appointment {before['id']}"].decoded("DTSTART") == datetime(2026, 10, 30, 14, tzinfo=UTC)
    assert events[f"Appointment {after['id']}"].decoded("DTSTART") == datetime(2026, 11, 2, 15, tzinfo=UTC)
    body = raw(api, "GET", enabled.data["path"]).body.decode()
    assert "Pat Doe" not in body and "secret reason" not in body
    assert raw(api, "GET", f"/api/doctors/{doc['id']}/calendar.ics?token=guess").status_code == 401
    rotated = api.call("POST", f"/api/doctors/{doc['id']}/calendar-token", admin())
    assert raw(api, "GET", enabled.data["path"]).status_code == 401
    assert raw(api, "GET", rotated.data["path"]).status_code == 200
    assert api.call("DELETE", f"/api/doctors/{doc['id']}/calendar-token", doctor(doc["id"])).status_code == 200
    assert raw(api, "GET", rotated.data["path"]).status_code == 401


def test_a_video_visit_event_links_to_its_room_page(api):
    doc = api.doctor_with_hours()
    a = api.book(doc, date="2026-12-02", reason="secret reason", type="telehealth")
    event = ics(raw(api, "GET", f"/api/appointments/{a['id']}/calendar.ics", patient())).walk("VEVENT")[0]
    assert str(event["URL"]) == a["telehealthUrl"] and "Video visit" in str(event["LOCATION"])
