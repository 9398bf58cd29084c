"""Contacts staff enter for a patient are kept as staff-entered: shown masked, never verified, never a reminder's
recipient (the patient's own verified addresses stay as they are)."""

from __future__ import annotations

from tests.helpers import admin, doctor, patient


def test_staff_entered_contacts_are_stored_apart_and_shown_masked(api):
    # GIVEN a patient who signed in with a verified e-mail and phone
    assert api.call("PUT", "/api/patients/me", patient("p-1")).status_code == 200
    # WHEN an admin enters other contacts for it
    entered = api.call(
        "PUT", "/api/admin/patients/p-1/contact", admin(), {"email": "desk@example.net", "phone": "+44 20 7946 0958"}
    )
    # THEN they are kept as staff-entered, masked, beside the patient's own (which stay verified)
    assert entered.status_code == 200, entered.data
    assert entered.data == {
        "id": "p-1",
        "name": "Pat Doe",
        "email": "p***@example.org",
        "emailVerified": True,
        "phone": "+1******0100",
        "phoneVerified": True,
        "staffEntered": {"email": "d***@example.net", "phone": "+4*******0958"},
    }
    assert api.call("GET", "/api/admin/patients/p-1", admin()).data == entered.data
    # AND no answer carries a staff-entered address in full
    assert "desk@example.net" not in str(entered.data) and "+442079460958" not in str(entered.data)


def test_a_staff_entered_phone_gets_no_reminder(api):
    # GIVEN a patient whose own phone is not verified, and a phone staff entered for it
    doc = api.doctor_with_hours()
    api.call("PUT", "/api/patients/me", patient("p-2", phone_number_verified="false"))
    assert api.call("PUT", "/api/admin/patients/p-2/contact", admin(), {"phone": "+16175550199"}).status_code == 200
    # WHEN staff book it with SMS reminders THEN 422 NO_RECIPIENT: a staff-entered number is nobody's consent
    refused = api.try_book(doc, admin(), patientId="p-2", reminderPreferences={"sms": True})
    assert (refused.status_code, refused.data["error"]["code"]) == (422, "NO_RECIPIENT")
    # AND with e-mail (verified by the patient) the reminder goes to the patient's own address
    made = api.try_book(doc, admin(), patientId="p-2", reminderPreferences={"email": True})
    assert made.status_code == 201, made.data
    reminders = api.call("GET", f"/api/reminders/appointment/{made.data['id']}", admin()).data["reminders"]
    assert {r["recipientEmail"] for r in reminders} == {"p-2@example.org"}


def test_a_staff_entered_email_never_replaces_the_patients_verified_one(api):
    # GIVEN a patient with its own verified e-mail, and staff entering another one
    doc = api.doctor_with_hours()
    api.call("PUT", "/api/patients/me", patient("p-3"))
    api.call("PUT", "/api/admin/patients/p-3/contact", admin(), {"email": "other@example.net"})
    # WHEN staff book it with e-mail reminders THEN they go to the patient's own address
    made = api.try_book(doc, admin(), patientId="p-3", reminderPreferences={"email": True})
    reminders = api.call("GET", f"/api/reminders/appointment/{made.data['id']}", admin()).data["reminders"]
    assert {r["recipientEmail"] for r in reminders} == {"p-3@example.org"}
    # AND an empty value clears a staff-entered contact, an absent one keeps it
    api.call("PUT", "/api/admin/patients/p-3/contact", admin(), {"phone": "+16175550199"})
    cleared = api.call("PUT", "/api/admin/patients/p-3/contact", admin(), {"email": ""}).data
    assert cleared["staffEntered"] == {"email": None, "phone": "+1******0199"}


def test_contacts_are_entered_only_by_admins_for_patients_that_exist(api):
    doc = api.doctor_with_hours()
    api.call("PUT", "/api/patients/me", patient("p-4"))
    entry = {"phone": "+16175550199"}
    # WHEN a patient or a doctor tries THEN 403; a made-up patient is 404; a bad number or no field is 400
    assert api.call("PUT", "/api/admin/patients/p-4/contact", patient("p-4"), entry).status_code == 403
    assert api.call("PUT", "/api/admin/patients/p-4/contact", doctor(doc["id"]), entry).status_code == 403
    missing = api.call("PUT", "/api/admin/patients/p-nobody/contact", admin(), entry)
    assert (missing.status_code, missing.data["error"]["code"]) == (404, "NOT_FOUND")
    assert api.call("GET", "/api/admin/patients/p-nobody", admin()).status_code == 404
    bad = api.call("PUT", "/api/admin/patients/p-4/contact", admin(), {"phone": "12345"})
    assert bad.status_code == 400 and "phone" in bad.data["error"]["details"]["fields"]
    assert api.call("PUT", "/api/admin/patients/p-4/contact", admin(), {"email": "a\r\nb@x.org"}).status_code == 400
    assert api.call("PUT", "/api/admin/patients/p-4/contact", admin(), {}).status_code == 400
    # AND nothing was created for the made-up id
    assert api.call("GET", "/api/admin/patients/p-nobody", admin()).status_code == 404


def test_directory_reads_and_contact_changes_are_in_the_patients_access_log(api):
    # GIVEN a patient WHEN an admin reads its record and enters a contact
    api.call("PUT", "/api/patients/me", patient("p-5"))
    api.call("GET", "/api/admin/patients/p-5", admin("admin-7"))
    api.call("PUT", "/api/admin/patients/p-5/contact", admin("admin-7"), {"phone": "+16175550199"})
    # THEN both are in its access history, with who and from which route
    entries = api.call("GET", "/api/admin/patients/p-5/access", admin()).data["entries"]
    assert [(e["actorId"], e["action"], e["route"]) for e in entries] == [
        ("admin-7", "read", "GET /api/admin/patients/{patientId}"),
        ("admin-7", "contact-change", "PUT /api/admin/patients/{patientId}/contact"),
    ]


def test_doctors_see_a_patients_contacts_masked_on_every_reminder_route(api):
    # GIVEN a patient the front desk booked with a doctor, and the doctor booking it a follow-up with e-mail and SMS
    # reminders
    doc = api.doctor_with_hours()
    api.call("PUT", "/api/patients/me", patient("p-6"))
    api.book(doc, admin(), patientId="p-6")
    me = doctor(doc["id"])
    follow_up = api.book(doc, me, patientId="p-6", time="15:00", reminderPreferences={"email": True, "sms": True})
    a = follow_up["id"]
    # WHEN the doctor lists the reminders, adds some, changes one's message and cancels one
    answers = [
        api.call("GET", f"/api/reminders/appointment/{a}", me),
        api.call(
            "POST", "/api/reminders/schedule", me, {"appointmentId": a, "email": True, "sms": True, "timing": "2h"}
        ),
        api.call("PUT", f"/api/reminders/{a}_email-2h", me, {"customMessage": "Bring your inhaler."}),
        api.call("DELETE", f"/api/reminders/{a}_sms-2h", me),
    ]
    # THEN every answer shows the addresses masked, never in full
    assert [r.status_code for r in answers] == [200, 201, 200, 200], [r.data for r in answers]
    shown = [answers[0].data["reminders"], answers[1].data["reminders"], [answers[2].data], [answers[3].data]]
    for reminders in shown:
        for r in reminders:
            assert (r["recipientEmail"], r["recipientPhone"]) in {("p***@example.org", None), (None, "+1******0100")}
    for r in answers:
        assert "p-6@example.org" not in r.body.decode() and "+16175550100" not in r.body.decode()
    # AND the front desk sees them in full, its read in the patient's access log
    full = api.call("GET", f"/api/reminders/appointment/{a}", admin("admin-7")).data["reminders"]
    assert {(r["recipientEmail"], r["recipientPhone"]) for r in full} == {
        ("p-6@example.org", None),
        (None, "+16175550100"),
    }
    entries = api.call("GET", "/api/admin/patients/p-6/access", admin()).data["entries"]
    assert ("admin-7", "read", "GET /api/reminders/appointment/{appointmentId}") in [
        (e["actorId"], e["action"], e["route"]) for e in entries
    ]


def test_reading_a_patients_access_log_is_itself_in_the_log(api):
    # GIVEN a patient whose record an admin read
    api.call("PUT", "/api/patients/me", patient("p-7"))
    api.call("GET", "/api/admin/patients/p-7", admin("admin-7"))
    path = "/api/admin/patients/p-7/access"
    # WHEN an auditor reads its access log twice
    first = api.call("GET", path, admin("auditor-1")).data["entries"]
    second = api.call("GET", path, admin("auditor-1")).data["entries"]
    # THEN the second read shows the first: who read the log, when, from which route
    assert [(e["actorId"], e["action"]) for e in first] == [("admin-7", "read")]
    assert [(e["actorId"], e["actorRole"], e["action"], e["route"]) for e in second[1:]] == [
        ("auditor-1", "admin", "access-log-read", "GET /api/admin/patients/{patientId}/access")
    ]
    # AND a third read shows both earlier reads: one entry per read
    third = api.call("GET", path, admin("auditor-1")).data["entries"]
    assert [e["action"] for e in third] == ["read", "access-log-read", "access-log-read"]
