"""Visit lengths: a patient books (or moves a visit to) only a length the doctor offers, its default one and those
the doctor or an admin lists; staff may book others; availability says which lengths a patient may pick."""

from __future__ import annotations

from tests.helpers import STANDARD_AVAILABILITY, admin, doctor, patient


def test_a_patient_cannot_book_a_length_the_doctor_does_not_offer(api):
    # GIVEN a doctor whose visits last 30 minutes, offering no other length
    doc = api.doctor_with_hours()
    # WHEN a patient books two hours at an offered time
    long = api.try_book(doc, time="09:00", duration=120)
    # THEN it is refused, saying which lengths it may pick, and the time stays free
    assert (long.status_code, long.data["error"]["code"]) == (422, "DURATION_NOT_OFFERED"), long.data
    assert long.data["error"]["details"] == {"duration": 120, "durations": [30]}
    assert api.try_book(doc, patient("patient-2"), time="09:00").status_code == 201
    # AND the doctor's own length is fine, said or not
    assert api.try_book(doc, time="10:00", duration=30).status_code == 201
    # AND staff may book another length for the patient
    by_staff = api.try_book(doc, admin(), time="13:00", duration=120, patientId="patient-1")
    assert (by_staff.status_code, by_staff.data.get("duration")) == (201, 120), by_staff.data


def test_the_doctor_offers_more_lengths_and_availability_lists_them(api):
    doc = api.doctor_with_hours()
    path = f"/api/admin/doctors/{doc['id']}/durations"
    # WHEN another doctor or a patient sets this doctor's lengths THEN refused
    assert api.call("PUT", path, doctor("someone-else"), {"durations": [60]}).status_code == 403
    assert api.call("PUT", path, patient(), {"durations": [60]}).status_code == 403
    # WHEN the doctor offers 15 and 60 minutes beside its 30
    done = api.call("PUT", path, doctor(doc["id"]), {"durations": [60, 15, 60]})
    assert (done.status_code, done.data["durations"], done.data["appointmentDuration"]) == (200, [15, 60], 30)
    # THEN its hours are unchanged, and availability says a patient may pick 15, 30 or 60 minutes
    assert done.data["workingHours"] == STANDARD_AVAILABILITY["workingHours"]
    day = api.call("GET", f"/api/appointments/availability/{doc['id']}/2026-12-02?duration=60", patient()).data
    assert (day["duration"], day["durations"]) == (60, [15, 30, 60])
    assert [s["time"] for s in day["slots"]][:3] == ["09:00", "10:00", "11:00"]
    # AND a patient books an hour, but not 45 minutes
    assert api.try_book(doc, time="09:00", duration=60).status_code == 201
    refused = api.try_book(doc, patient("patient-2"), time="13:00", duration=45)
    assert refused.data["error"]["code"] == "DURATION_NOT_OFFERED"
    # AND an admin sets them with the rest of the availability, and may take them back
    hours = {**STANDARD_AVAILABILITY, "durations": [20]}
    put = api.call("PUT", f"/api/admin/doctors/{doc['id']}/availability", admin(), hours)
    assert (put.status_code, put.data["durations"]) == (200, [20]), put.data
    assert "durations" not in api.call("PUT", path, admin(), {"durations": []}).data
    shown = api.call("GET", f"/api/doctors/{doc['id']}", patient()).data["availability"]
    assert ("durations" in shown, shown["appointmentDuration"]) == (False, 30)


def test_a_patient_moves_a_visit_to_an_offered_length_only(api):
    doc = api.doctor_with_hours({**STANDARD_AVAILABILITY, "durations": [60]})
    made = api.book(doc, time="09:00")
    path = f"/api/appointments/{made['id']}/reschedule"
    # WHEN the patient moves it and makes it two hours THEN refused, nothing changed
    refused = api.call("PUT", path, patient(), {"date": "2026-12-02", "time": "13:00", "duration": 120})
    assert (refused.status_code, refused.data["error"]["code"]) == (422, "DURATION_NOT_OFFERED"), refused.data
    kept = api.call("GET", f"/api/appointments/{made['id']}", patient()).data
    assert (kept["time"], kept["duration"]) == ("09:00", 30)
    # WHEN it makes it an hour THEN moved, with the new length
    moved = api.call("PUT", path, patient(), {"date": "2026-12-02", "time": "13:00", "duration": 60})
    assert (moved.status_code, moved.data["duration"], moved.data["endsAt"]) == (200, 60, "2026-12-02T19:00:00Z")
    # AND staff may make it two hours; the patient may then move it keeping that length
    staff = api.call("PUT", path, admin(), {"date": "2026-12-03", "time": "13:00", "duration": 120})
    assert (staff.status_code, staff.data["duration"]) == (200, 120), staff.data
    again = api.call("PUT", path, patient(), {"date": "2026-12-04", "time": "13:00"})
    assert (again.status_code, again.data["duration"]) == (200, 120), again.data
