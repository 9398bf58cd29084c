"""Anti-hoarding limits, enforced in the booking transaction: active future bookings per patient, one active
booking per patient per doctor-day (unless staff book it), and each doctor's booking horizon."""

from __future__ import annotations

from dataclasses import replace

from tests.helpers import STANDARD_AVAILABILITY, admin, patient


def times(n):
    """n half-hour starts on a working day, around the lunch break."""
    slots = [f"{h:02d}:{m:02d}" for h in (9, 10, 11, 13, 14, 15, 16) for m in (0, 30)]
    return slots[:n]


def test_a_patient_holds_at_most_ten_active_future_bookings(api):
    doc = api.doctor_with_hours()
    # GIVEN a patient with one booking of its own and nine more that staff made for it
    assert api.try_book(doc, time="09:00").status_code == 201
    for at in times(10)[1:]:
        made = api.try_book(doc, admin(), time=at, patientId="patient-1")
        assert made.status_code == 201, made.data
    # WHEN an eleventh is booked, by staff or by the patient with another doctor
    by_staff = api.try_book(doc, admin(), time="15:00", patientId="patient-1")
    other = api.doctor_with_hours(name="Dr. Other")
    by_self = api.try_book(other, date="2026-12-03")
    # THEN both are refused with BOOKING_LIMIT_REACHED and the slots stay free
    for refused in (by_staff, by_self):
        assert (refused.status_code, refused.data["error"]["code"]) == (422, "BOOKING_LIMIT_REACHED")
    assert api.try_book(doc, patient("patient-2"), time="15:00").status_code == 201
    # AND a cancellation frees one
    first = api.call("GET", "/api/appointments/patient/patient-1", patient()).data["appointments"][0]
    assert api.call("DELETE", f"/api/appointments/{first['id']}", patient()).status_code == 200
    assert api.try_book(other, date="2026-12-03").status_code == 201


def test_a_visit_that_has_ended_no_longer_counts(api, wired, clock):
    # GIVEN a clinic limit of one active booking and a visit today at 14:00 New York (19:00Z)
    wired.booking_queries.policy = replace(wired.booking_queries.policy, max_active_bookings=1)
    doc = api.doctor_with_hours()
    assert api.try_book(doc, date="2026-12-01", time="14:00").status_code == 201
    second = api.try_book(doc, date="2026-12-03")
    assert second.data["error"]["code"] == "BOOKING_LIMIT_REACHED"
    # WHEN that visit is over
    clock.current = clock.current.replace(hour=20)
    # THEN the patient can book again
    assert api.try_book(doc, date="2026-12-03").status_code == 201


def test_a_patient_at_its_limit_is_told_of_the_limit_even_for_a_taken_time(api, wired):
    # GIVEN a clinic limit of one active booking, a patient holding it, and another patient's visit at 10:00
    wired.booking_queries.policy = replace(wired.booking_queries.policy, max_active_bookings=1)
    doc = api.doctor_with_hours()
    assert api.try_book(doc, date="2026-12-03").status_code == 201
    assert api.try_book(doc, patient("patient-2"), time="10:00").status_code == 201
    # WHEN the first patient tries that taken time
    refused = api.try_book(doc, time="10:00")
    # THEN it hears of its limit (422), not that the time is taken: the limit is the rule it meets first
    assert (refused.status_code, refused.data["error"]["code"]) == (422, "BOOKING_LIMIT_REACHED"), refused.data


def test_one_active_booking_per_patient_per_doctor_day_unless_staff_book_it(api):
    doc = api.doctor_with_hours()
    first = api.try_book(doc)
    assert first.status_code == 201
    # WHEN the patient books the same doctor again that day THEN refused
    again = api.try_book(doc, time="11:00")
    assert (again.status_code, again.data["error"]["code"]) == (422, "BOOKING_LIMIT_REACHED")
    # nor can it move another visit onto that day
    other_day = api.try_book(doc, date="2026-12-03")
    moved = api.call(
        "PUT",
        f"/api/appointments/{other_day.data['id']}/reschedule",
        patient(),
        {"date": "2026-12-02", "time": "14:00"},
    )
    assert (moved.status_code, moved.data["error"]["code"]) == (422, "BOOKING_LIMIT_REACHED")
    # another doctor that day is fine, and staff may book a second visit with the same doctor
    other = api.doctor_with_hours(name="Dr. Other")
    assert api.try_book(other, time="11:00").status_code == 201
    by_staff = api.try_book(doc, admin(), time="15:00", patientId="patient-1")
    assert by_staff.status_code == 201, by_staff.data
    # once the first is cancelled... the staff-booked one still counts for that day
    api.call("DELETE", f"/api/appointments/{first.data['id']}", patient())
    still = api.try_book(doc, time="16:00")
    assert still.data["error"]["code"] == "BOOKING_LIMIT_REACHED"
    api.call("DELETE", f"/api/appointments/{by_staff.data['id']}", admin())
    assert api.try_book(doc, time="16:00").status_code == 201


def test_bookings_beyond_the_horizon_are_refused(api):
    # GIVEN the clinic's default horizon of 180 days (NOW is 2026-12-01)
    doc = api.doctor_with_hours()
    far = api.try_book(doc, date="2027-06-01")
    assert (far.status_code, far.data["error"]["code"]) == (422, "OUTSIDE_BOOKING_WINDOW")
    assert api.try_book(doc, date="2027-05-28").status_code == 201


def test_a_doctor_sets_its_own_horizon_and_reschedules_respect_it(api):
    doc = api.doctor_with_hours({**STANDARD_AVAILABILITY, "bookingHorizonDays": 7})
    shown = api.call("GET", f"/api/doctors/{doc['id']}", patient()).data
    assert shown["availability"]["bookingHorizonDays"] == 7
    refused = api.try_book(doc, date="2026-12-09")
    assert refused.data["error"]["code"] == "OUTSIDE_BOOKING_WINDOW"
    made = api.try_book(doc, date="2026-12-07")
    assert made.status_code == 201
    moved = api.call(
        "PUT", f"/api/appointments/{made.data['id']}/reschedule", admin(), {"date": "2026-12-10", "time": "10:00"}
    )
    assert moved.data["error"]["code"] == "OUTSIDE_BOOKING_WINDOW"


def test_a_patient_cannot_move_a_long_staff_booked_visit_onto_a_day_it_has_one_with_that_doctor(api):
    # GIVEN staff booked patient-1 two 120-minute visits with one doctor, on two days (the longest visit there is)
    doc = api.doctor_with_hours()
    assert api.call("PUT", "/api/patients/me", patient()).status_code == 200
    made = [
        api.book(doc, admin(), date=day, time="09:00", duration=120, patientId="patient-1")
        for day in ("2026-12-02", "2026-12-03")
    ]
    # WHEN the patient moves the second onto the first one's day
    moved = api.call(
        "PUT", f"/api/appointments/{made[1]['id']}/reschedule", patient(), {"date": "2026-12-02", "time": "13:00"}
    )
    # THEN it is refused in the move's own transaction, and the visit stays where it was
    assert (moved.status_code, moved.data["error"]["code"]) == (422, "BOOKING_LIMIT_REACHED"), moved.data
    kept = api.call("GET", f"/api/appointments/{made[1]['id']}", patient()).data
    assert (kept["date"], kept["time"], kept["status"]) == ("2026-12-03", "09:00", "scheduled")
    # AND staff may put both on one day
    by_staff = api.call(
        "PUT", f"/api/appointments/{made[1]['id']}/reschedule", admin(), {"date": "2026-12-02", "time": "13:00"}
    )
    assert by_staff.status_code == 200, by_staff.data
