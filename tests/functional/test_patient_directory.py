"""Patients are a directory: staff book only patients that exist, a doctor sees a patient's contact details only
masked, and a conflict tells staff nothing about where the patient is."""

from __future__ import annotations

from tests.helpers import admin, doctor, patient


def test_staff_book_only_patients_that_exist(api):
    doc = api.doctor_with_hours()
    # WHEN the front desk books a made-up patient THEN 404 and nothing is held (a doctor gets the answer a
    # stranger gets: see test_authorization.py)
    refused = api.try_book(doc, admin(), patientId="demo-patient-404")
    assert (refused.status_code, refused.data["error"]["code"]) == (404, "NOT_FOUND")
    # GIVEN the patient signs in once
    me = api.call("PUT", "/api/patients/me", patient("p-new", name="Nia Park"))
    assert me.status_code == 200
    assert me.data == {
        "id": "p-new",
        "name": "Nia Park",
        "email": "p-new@example.org",
        "emailVerified": True,
        "phone": "+16175550100",
        "phoneVerified": True,
    }
    # THEN staff can book it, under its directory name
    made = api.try_book(doc, admin(), patientId="p-new")
    assert made.status_code == 201 and made.data["patientName"] == "Nia Park"


def test_sign_in_records_the_verified_flags_as_cognito_has_them(api):
    me = api.call("PUT", "/api/patients/me", patient("p-x", phone_number_verified="false"))
    assert (me.data["emailVerified"], me.data["phoneVerified"]) == (True, False)
    assert api.call("PUT", "/api/patients/me", admin()).status_code == 403


def test_a_doctor_sees_contacts_masked_while_the_visit_is_active_and_after(api):
    doc = api.doctor_with_hours()
    made = api.book(doc, reminderPreferences={"email": True, "sms": True})
    path = f"/api/reminders/appointment/{made['id']}"

    def contacts(who):
        return {(r["recipientEmail"], r["recipientPhone"]) for r in api.call("GET", path, who).data["reminders"]}

    # GIVEN an active visit: its doctor sees that reminders go by e-mail and SMS, not where
    assert contacts(doctor(doc["id"])) == {("p***@example.org", None), (None, "+1******0100")}
    # WHEN the visit is cancelled THEN still masked for the doctor; the patient and admins see them in full
    assert api.call("DELETE", f"/api/appointments/{made['id']}", patient()).status_code == 200
    assert contacts(doctor(doc["id"])) == {("p***@example.org", None), (None, "+1******0100")}
    assert contacts(patient()) == contacts(admin()) == {("patient-1@example.org", None), (None, "+16175550100")}


def test_a_conflict_does_not_tell_staff_where_the_patient_is(api):
    mine = api.doctor_with_hours()
    theirs = api.doctor_with_hours(name="Dr. Elsewhere")
    assert api.try_book(theirs).status_code == 201
    # GIVEN the patient had an earlier visit with `mine` too, so its doctor may book it
    assert api.try_book(mine, time="14:00").status_code == 201
    for staff in (admin(), doctor(mine["id"])):
        refused = api.try_book(mine, staff, patientId="patient-1")
        assert (refused.status_code, refused.data["error"]["code"]) == (409, "CONFLICT")
        assert refused.data["error"]["message"] == "This patient cannot be booked at this time."
        assert "details" not in refused.data["error"]
