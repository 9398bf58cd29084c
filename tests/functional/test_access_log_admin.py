"""The access log covers the admin's views too: an appointment's audit trail, and bulk reminder retries and
cancellations, each in the patient's access history (who, what, when, from which route)."""

from __future__ import annotations

from tests.functional.test_reminders import dispatch
from tests.helpers import admin, patient


def history(api, patient_id="patient-1"):
    """The patient's access history, less the entries of its own earlier reads (test_access_log.py has those)."""
    entries = api.call("GET", f"/api/admin/patients/{patient_id}/access", admin()).data["entries"]
    return [
        (e["actorId"], e["action"], e["route"], e["appointmentIds"])
        for e in entries
        if e["action"] != "access-log-read"
    ]


def test_reading_an_appointments_audit_trail_is_in_the_patients_access_log(api):
    # GIVEN a booked visit
    a = api.book(api.doctor_with_hours(), reminderPreferences=None)["id"]
    # WHEN an admin reads its audit trail
    assert api.call("GET", f"/api/admin/appointments/{a}/audit", admin("admin-7")).status_code == 200
    # THEN the patient's access history names the read
    assert history(api) == [("admin-7", "read", "GET /api/admin/appointments/{id}/audit", [a])]


def test_bulk_reminder_cancellations_are_in_the_patients_access_log(api):
    # GIVEN two patients' visits with a pending reminder each
    doc = api.doctor_with_hours()
    mine = api.book(doc, reminderPreferences={"email": True, "timing": "24h"})["id"]
    theirs = api.book(doc, patient("patient-2"), time="11:00", reminderPreferences={"email": True, "timing": "24h"})
    ids = [f"{mine}_email-24h", f"{theirs['id']}_email-24h", "no-such-reminder"]
    # WHEN an admin cancels them in bulk
    done = api.call("POST", "/api/admin/reminders/cancel", admin("admin-7"), {"reminderIds": ids})
    assert done.data["outcomes"] == {ids[0]: "cancelled", ids[1]: "cancelled", ids[2]: "not-pending"}
    # THEN each patient's history has the change, naming only its own visit
    route = "POST /api/admin/reminders/cancel"
    assert history(api) == [("admin-7", "reminder-change", route, [mine])]
    assert history(api, "patient-2") == [("admin-7", "reminder-change", route, [theirs["id"]])]
    # AND a second cancel that changes nothing records nothing more
    api.call("POST", "/api/admin/reminders/cancel", admin("admin-7"), {"reminderIds": ids})
    assert len(history(api)) == 1


def test_bulk_reminder_retries_are_in_the_patients_access_log(api, clock, lambdas):
    # GIVEN an e-mail reminder that failed (the patient's address changed, unverified, before it was due)
    a = api.book(api.doctor_with_hours(), reminderPreferences={"email": True, "timing": "24h"})["id"]
    rid = f"{a}_email-24h"
    api.call("PUT", "/api/patients/me", patient(email="new@example.org", email_verified="false"))
    clock.current = clock.current.replace(hour=15)
    assert dispatch(lambdas, rid) == "failed"
    # WHEN an admin retries it
    retried = api.call("POST", "/api/admin/reminders/retry", admin("admin-7"), {"reminderIds": [rid]})
    assert retried.data["outcomes"] == {rid: "pending"}
    # THEN the retry is in the patient's access history
    assert ("admin-7", "reminder-change", "POST /api/admin/reminders/retry", [a]) in history(api)
