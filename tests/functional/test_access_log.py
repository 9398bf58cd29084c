"""HIPAA-grade audit: every read of a patient's data and every reminder change is recorded (who, what, when, from
which route), and an admin can list a patient's access history."""

from __future__ import annotations

from tests.helpers import admin, doctor, patient


def test_reads_and_reminder_changes_land_in_the_patients_access_history(api, clock):
    doc = api.doctor_with_hours()
    made = api.book(doc, reminderPreferences={"email": True, "timings": ["24h", "2h"]})
    a = made["id"]
    # WHEN the doctor reads the visit and its list, an admin the reminders, the patient its .ics, and the patient
    # cancels one reminder
    assert api.call("GET", f"/api/appointments/{a}", doctor(doc["id"])).status_code == 200
    assert api.call("GET", f"/api/appointments/doctor/{doc['id']}", doctor(doc["id"])).status_code == 200
    assert api.call("GET", f"/api/reminders/appointment/{a}", admin("admin-7")).status_code == 200
    assert api.http.get(f"/api/appointments/{a}/calendar.ics", headers=patient()).status_code == 200
    assert api.call("DELETE", f"/api/reminders/{a}_email-2h", patient()).status_code == 200
    # THEN each is in the patient's access history, oldest first
    history = api.call("GET", "/api/admin/patients/patient-1/access", admin())
    assert history.status_code == 200
    seen = [(e["actorRole"], e["action"], e["route"], e["appointmentIds"]) for e in history.data["entries"]]
    assert seen == [
        ("doctor", "read", "GET /api/appointments/{id}", [a]),
        ("doctor", "read", "GET /api/appointments/doctor/{doctorId}", [a]),
        ("admin", "read", "GET /api/reminders/appointment/{appointmentId}", [a]),
        ("patient", "read", "GET /api/appointments/{id}/calendar.ics", [a]),
        ("patient", "reminder-change", "DELETE /api/reminders/{id}", [a]),
    ]
    assert history.data["entries"][2]["actorId"] == "admin-7"
    assert all(e["at"] == "2026-12-01T08:00:00Z" for e in history.data["entries"])
    # AND the reminder change is on the appointment's own trail too
    trail = api.call("GET", f"/api/admin/appointments/{a}/audit", admin()).data["entries"]
    assert [e["action"] for e in trail][-1] == "reminder-cancelled"
    assert trail[-1]["changes"] == {"reminders": [f"{a}_email-2h"]}


def test_only_admins_read_access_histories(api):
    for who in (patient(), doctor("d1")):
        refused = api.call("GET", "/api/admin/patients/patient-1/access", who)
        assert (refused.status_code, refused.data["error"]["code"]) == (403, "FORBIDDEN")
