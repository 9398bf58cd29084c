"""Booking, availability, reschedule, cancel and status over HTTP, against moto's DynamoDB."""

from __future__ import annotations

from datetime import timedelta

from chalicelib.api import schemas
from tests.helpers import STANDARD_AVAILABILITY, admin, doctor, patient

SHORT_AND_LONG = {**STANDARD_AVAILABILITY, "durations": [15, 60]}
"""30-minute visits by default; patients may also book 15 or 60 minutes."""

DAY = "2026-12-02"  # a Wednesday; NOW is Tuesday 2026-12-01 03:00 in New York


def test_booking_returns_the_contract_appointment_and_takes_the_slot(api):
    doc = api.doctor_with_hours()
    # WHEN a patient books 10:00
    made = api.try_book(doc, reminderPreferences={"email": True, "timing": "24h"})
    # THEN 201 with the contract's fields, in the doctor's zone and in UTC
    assert made.status_code == 201, made.data
    schemas.AppointmentOut.model_validate(made.data)
    a = made.data
    assert (a["status"], a["time"], a["duration"], a["patientId"]) == ("scheduled", "10:00", 30, "patient-1")
    assert (a["startsAt"], a["endsAt"]) == ("2026-12-02T15:00:00Z", "2026-12-02T15:30:00Z")
    assert a["doctorName"] == "Dr. Ada Smith" and a["patientName"] == "Pat Doe"
    assert a["location"] == "Main St Clinic, Room 4" and a["canReschedule"] is True
    assert a["reminderPreferences"] == {"email": True, "sms": False, "push": False, "timing": "24h"}
    # AND the slot shows as taken at once
    slots = api.call("GET", f"/api/appointments/availability/{doc['id']}/{DAY}", patient("other")).data
    assert {s["time"]: s["available"] for s in slots["slots"]}["10:00"] is False
    assert {s["time"]: s["available"] for s in slots["slots"]}["10:30"] is True
    # AND the same patient reads it back
    got = api.call("GET", f"/api/appointments/{a['id']}", patient())
    assert got.status_code == 200 and got.data == a


def test_availability_shape_filters_and_duration(api):
    doc = api.doctor_with_hours()
    day = api.call("GET", f"/api/appointments/availability/{doc['id']}/{DAY}", patient())
    assert day.status_code == 200
    schemas.DayAvailabilityOut.model_validate(day.data)
    assert day.data["timezone"] == "America/New_York"
    times = [s["time"] for s in day.data["slots"]]
    assert times[0] == "09:00" and "12:00" not in times and "12:30" not in times and times[-1] == "16:30"
    long = api.call("GET", f"/api/appointments/availability/{doc['id']}/{DAY}?duration=60", patient()).data
    assert [s["time"] for s in long["slots"]][:3] == ["09:00", "10:00", "11:00"]
    api.book(doc)
    only = api.call("GET", f"/api/appointments/availability/{doc['id']}/{DAY}?onlyAvailable=true", patient()).data
    assert "10:00" not in [s["time"] for s in only["slots"]] and all(s["available"] for s in only["slots"])


def test_overlapping_bookings_of_any_length_are_refused(api):
    doc = api.doctor_with_hours(SHORT_AND_LONG)
    assert api.try_book(doc, time="10:15", duration=15).status_code == 201
    # a 60-minute booking over the 15-minute one
    over = api.try_book(doc, patient("p2"), time="10:00", duration=60)
    assert over.status_code == 409 and over.data["error"]["code"] == "SLOT_UNAVAILABLE"
    # a 15-minute booking inside an existing 60-minute one
    assert api.try_book(doc, patient("p3"), time="14:00", duration=60).status_code == 201
    inside = api.try_book(doc, patient("p4"), time="14:30", duration=15)
    assert inside.status_code == 409 and inside.data["error"]["code"] == "SLOT_UNAVAILABLE"
    # touching ends are fine
    assert api.try_book(doc, patient("p5"), time="15:00", duration=30).status_code == 201


def test_a_patient_cannot_hold_two_overlapping_appointments(api):
    first = api.doctor_with_hours()
    second = api.doctor_with_hours(SHORT_AND_LONG, name="Dr. Bo Lee", specialty="Dermatology")
    assert api.try_book(first).status_code == 201
    clash = api.try_book(second, time="10:15", duration=15)
    assert clash.status_code == 409 and clash.data["error"]["code"] == "CONFLICT"


def test_business_rules_are_422_with_their_codes(api):
    doc = api.doctor_with_hours(
        {
            "workingHours": {"wednesday": [{"start": "09:00", "end": "17:00"}]},
            "breaks": [{"start": "12:00", "end": "13:00"}],
            "holidays": ["2026-12-09"],
            "maxPatientsPerDay": 1,
            "appointmentDuration": 30,
        }
    )
    cases = [
        ({"time": "08:00"}, "OUTSIDE_WORKING_HOURS"),
        ({"time": "12:00"}, "OUTSIDE_WORKING_HOURS"),
        ({"date": "2026-12-09"}, "OUTSIDE_WORKING_HOURS"),
        ({"date": "2026-12-03"}, "OUTSIDE_WORKING_HOURS"),
        ({"date": "2026-11-25"}, "IN_THE_PAST"),
    ]
    for overrides, code in cases:
        refused = api.try_book(doc, **overrides)
        assert (refused.status_code, refused.data["error"]["code"]) == (422, code), overrides
    assert api.try_book(doc).status_code == 201
    full = api.try_book(doc, patient("p2"), time="15:00")
    assert (full.status_code, full.data["error"]["code"]) == (422, "DAILY_LIMIT_REACHED")


def test_short_notice_is_refused(api, clock):
    doc = api.doctor_with_hours()
    clock.current = clock.current.replace(hour=14, minute=30)  # 09:30 in New York on 2026-12-01
    refused = api.try_book(doc, date="2026-12-01", time="10:00")
    assert (refused.status_code, refused.data["error"]["code"]) == (422, "TOO_SHORT_NOTICE")
    assert api.try_book(doc, date="2026-12-01", time="10:30").status_code == 201


def test_reschedule_frees_the_old_time_at_once_and_audits(api):
    doc = api.doctor_with_hours(SHORT_AND_LONG)
    a = api.book(doc)
    moved = api.call("PUT", f"/api/appointments/{a['id']}/reschedule", patient(), {"date": DAY, "time": "10:30"})
    assert moved.status_code == 200, moved.data
    assert (moved.data["status"], moved.data["time"], moved.data["startsAt"]) == (
        "rescheduled",
        "10:30",
        "2026-12-02T15:30:00Z",
    )
    # the old 10:00-10:30 is free at once; 10:30-11:00 is taken
    assert api.try_book(doc, patient("p2"), time="10:00", duration=15).status_code == 201
    assert api.try_book(doc, patient("p3"), time="10:30", duration=15).status_code == 409
    # moving to another day moves the day counter too
    again = api.call(
        "PUT", f"/api/appointments/{a['id']}/reschedule", patient(), {"date": "2026-12-03", "time": "09:00"}
    )
    assert again.status_code == 200
    assert api.try_book(doc, patient("p4"), time="10:30", duration=15).status_code == 201
    trail = api.call("GET", f"/api/admin/appointments/{a['id']}/audit", admin())
    assert trail.status_code == 200
    assert [(e["action"], e["statusBefore"], e["statusAfter"]) for e in trail.data["entries"]] == [
        ("booked", None, "scheduled"),
        ("rescheduled", "scheduled", "rescheduled"),
        ("rescheduled", "rescheduled", "rescheduled"),
    ]
    assert trail.data["entries"][1]["changes"]["time"] == {"from": "10:00", "to": "10:30"}
    assert "reason" not in str(trail.data)


def test_reschedule_onto_a_taken_time_changes_nothing(api):
    doc = api.doctor_with_hours()
    a = api.book(doc)
    api.book(doc, patient("p2"), time="11:00")
    refused = api.call("PUT", f"/api/appointments/{a['id']}/reschedule", patient(), {"date": DAY, "time": "11:00"})
    assert refused.status_code == 409 and refused.data["error"]["code"] == "SLOT_UNAVAILABLE"
    assert api.call("GET", f"/api/appointments/{a['id']}", patient()).data["time"] == "10:00"
    assert api.try_book(doc, patient("p3"), time="10:00").status_code == 409


def test_cancel_frees_the_time_and_is_final(api):
    doc = api.doctor_with_hours()
    a = api.book(doc)
    cancelled = api.call("DELETE", f"/api/appointments/{a['id']}", patient())
    assert cancelled.status_code == 200 and cancelled.data["status"] == "cancelled"
    assert cancelled.data["canReschedule"] is False
    assert api.try_book(doc, patient("p2")).status_code == 201
    twice = api.call("DELETE", f"/api/appointments/{a['id']}", patient())
    assert (twice.status_code, twice.data["error"]["code"]) == (409, "INVALID_STATE")
    moved = api.call("PUT", f"/api/appointments/{a['id']}/reschedule", patient(), {"date": DAY, "time": "15:00"})
    assert (moved.status_code, moved.data["error"]["code"]) == (409, "INVALID_STATE")


def test_patient_change_window_and_staff_override(api, clock):
    doc = api.doctor_with_hours()
    a = api.book(doc)
    clock.current = clock.current.replace(day=2, hour=13, minute=30)  # 08:30 local, 90 min before the visit
    got = api.call("GET", f"/api/appointments/{a['id']}", patient()).data
    assert got["canReschedule"] is False
    late = api.call("DELETE", f"/api/appointments/{a['id']}", patient())
    assert (late.status_code, late.data["error"]["code"]) == (422, "TOO_LATE_TO_CHANGE")
    assert api.call("GET", f"/api/appointments/{a['id']}", doctor(doc["id"])).data["canReschedule"] is True
    assert api.call("DELETE", f"/api/appointments/{a['id']}", doctor(doc["id"])).status_code == 200


def test_status_changes(api, clock):
    doc = api.doctor_with_hours()
    a = api.book(doc)
    confirmed = api.call("PATCH", f"/api/appointments/{a['id']}/status", patient(), {"status": "confirmed"})
    assert confirmed.status_code == 200 and confirmed.data["status"] == "confirmed"
    again = api.call("PATCH", f"/api/appointments/{a['id']}/status", patient(), {"status": "confirmed"})
    assert (again.status_code, again.data["error"]["code"]) == (409, "INVALID_STATE")
    patient_completes = api.call("PATCH", f"/api/appointments/{a['id']}/status", patient(), {"status": "completed"})
    assert patient_completes.status_code == 403
    early = api.call("PATCH", f"/api/appointments/{a['id']}/status", doctor(doc["id"]), {"status": "completed"})
    assert (early.status_code, early.data["error"]["code"]) == (422, "NOT_STARTED_YET")
    clock.current = clock.current + timedelta(days=1, hours=7, minutes=5)  # 10:05 local on the day
    done = api.call("PATCH", f"/api/appointments/{a['id']}/status", doctor(doc["id"]), {"status": "completed"})
    assert done.status_code == 200 and done.data["status"] == "completed"
    bad = api.call("PATCH", f"/api/appointments/{a['id']}/status", admin(), {"status": "cancelled"})
    assert bad.status_code == 400 and "status" in bad.data["error"]["details"]["fields"]


def test_lists_by_patient_and_doctor_with_filters_in_start_order(api):
    doc = api.doctor_with_hours()
    other = api.doctor_with_hours(name="Dr. Bo Lee")
    late = api.book(doc, time="15:00")
    early = api.book(other, time="09:00", type="telehealth")
    third = api.book(doc, date="2026-12-03", time="09:00")
    api.call("DELETE", f"/api/appointments/{third['id']}", patient())
    mine = api.call("GET", "/api/appointments/patient/patient-1", patient()).data["appointments"]
    assert [a["id"] for a in mine] == [early["id"], late["id"], third["id"]]
    active = api.call("GET", "/api/appointments/patient/patient-1?status=scheduled&type=in-person", patient())
    assert [a["id"] for a in active.data["appointments"]] == [late["id"]]
    ranged = api.call("GET", "/api/appointments/patient/patient-1?from=2026-12-03&to=2026-12-03", patient())
    assert [a["id"] for a in ranged.data["appointments"]] == [third["id"]]
    theirs = api.call("GET", f"/api/appointments/doctor/{doc['id']}", doctor(doc["id"])).data["appointments"]
    assert [a["id"] for a in theirs] == [late["id"], third["id"]]
    # a doctor listing a patient sees only the visits booked with it
    seen = api.call("GET", "/api/appointments/patient/patient-1", doctor(other["id"])).data["appointments"]
    assert [a["id"] for a in seen] == [early["id"]]


def test_staff_book_for_a_patient(api):
    doc = api.doctor_with_hours()
    for known in ("patient-9", "patient-8"):  # staff book patients of the directory (they signed in once)
        assert api.call("PUT", "/api/patients/me", patient(known)).status_code == 200
    by_admin = api.try_book(doc, admin(), patientId="patient-9", patientName="Nia Park")
    assert by_admin.status_code == 201 and by_admin.data["patientId"] == "patient-9"
    assert by_admin.data["patientName"] == "Nia Park"
    # a doctor books its own patients (ones with a visit with it, here the one the front desk just booked)
    by_doctor = api.try_book(doc, doctor(doc["id"]), patientId="patient-9", time="11:00")
    assert by_doctor.status_code == 201, by_doctor.data
    missing = api.try_book(doc, admin(), time="14:00")
    assert missing.status_code == 400 and "patientId" in missing.data["error"]["details"]["fields"]
    # the patient sees it as its own
    assert api.call("GET", f"/api/appointments/{by_admin.data['id']}", patient("patient-9")).status_code == 200


def test_telehealth_needs_a_telehealth_doctor(api):
    doc = api.doctor_with_hours(telehealth=False, telehealthPlatform=None)
    refused = api.try_book(doc, type="telehealth")
    assert (refused.status_code, refused.data["error"]["code"]) == (422, "TELEHEALTH_NOT_OFFERED")


def test_doctor_search(api):
    api.create_doctor(name="Dr. Ada Smith", specialty="Cardiology", location="Boston")
    api.create_doctor(
        name="Dr. Bo Lee",
        specialty="Dermatology",
        location="Berlin",
        timezone="Europe/Berlin",
        telehealth=False,
        telehealthPlatform=None,
    )

    def names(query: str) -> list[str]:
        found = api.call("GET", f"/api/doctors{query}", patient())
        assert found.status_code == 200, found.data
        return [d["name"] for d in found.data["doctors"]]

    assert names("") == ["Dr. Ada Smith", "Dr. Bo Lee"]
    assert names("?q=ada") == ["Dr. Ada Smith"]
    assert names("?specialty=derma") == ["Dr. Bo Lee"]
    assert names("?location=berlin") == ["Dr. Bo Lee"]
    assert names("?telehealth=true") == ["Dr. Ada Smith"]
    assert names("?q=nobody") == []


def test_availability_etag_gives_304_until_the_day_changes(api):
    doc = api.doctor_with_hours()
    path = f"/api/appointments/availability/{doc['id']}/{DAY}"
    first = api.call("GET", path, patient())
    etag = first.headers["ETag"]
    assert first.status_code == 200 and first.data["version"] == etag
    assert first.headers["Cache-Control"] == "no-cache"
    unchanged = api.call("GET", path, {**patient(), "If-None-Match": etag})
    assert unchanged.status_code == 304 and unchanged.headers["ETag"] == etag and not unchanged.body
    api.book(doc)
    changed = api.call("GET", path, {**patient(), "If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert {s["time"]: s["available"] for s in changed.data["slots"]}["10:00"] is False
    # other days keep their ETag; the doctor's new hours change it
    other = api.call("GET", f"/api/appointments/availability/{doc['id']}/2026-12-03", patient())
    assert (
        api.call(
            "GET",
            f"/api/appointments/availability/{doc['id']}/2026-12-03",
            {**patient(), "If-None-Match": other.headers["ETag"]},
        ).status_code
        == 304
    )
    api.call(
        "PUT",
        f"/api/admin/doctors/{doc['id']}/availability",
        admin(),
        {"workingHours": {"thursday": [{"start": "08:00", "end": "12:00"}]}},
    )
    assert (
        api.call(
            "GET",
            f"/api/appointments/availability/{doc['id']}/2026-12-03",
            {**patient(), "If-None-Match": other.headers["ETag"]},
        ).status_code
        == 200
    )


def test_a_cancel_and_a_same_day_reschedule_change_the_etag(api):
    doc = api.doctor_with_hours()
    path = f"/api/appointments/availability/{doc['id']}/{DAY}"
    a = api.book(doc)
    before = api.call("GET", path, patient()).headers["ETag"]
    api.call("PUT", f"/api/appointments/{a['id']}/reschedule", patient(), {"date": DAY, "time": "11:00"})
    moved = api.call("GET", path, {**patient(), "If-None-Match": before})
    assert moved.status_code == 200
    api.call("DELETE", f"/api/appointments/{a['id']}", patient())
    assert api.call("GET", path, {**patient(), "If-None-Match": moved.headers["ETag"]}).status_code == 200
