"""Names come from token claims that patients write themselves: what sign-in and booking store is the clean form
(NFC, no control, bidi or zero-width characters, whitespace collapsed, at most 100 characters)."""

from __future__ import annotations

from tests.helpers import admin, patient

EVIL = "Eve\r\nX-Injected: 1\u202e<b>"
CLEAN = "Eve X-Injected: 1<b>"


def test_sign_in_stores_the_clean_name_and_staff_see_it(api):
    # GIVEN a patient whose name claim carries a header injection and a bidi override
    who = patient("eve-1", name=EVIL)
    # WHEN it signs in
    signed_in = api.call("PUT", "/api/patients/me", who)
    # THEN its directory record holds the clean name, as sign-in answers it and as staff read it
    assert signed_in.status_code == 200, signed_in.data
    assert signed_in.data["name"] == CLEAN
    assert api.call("GET", "/api/admin/patients/eve-1", admin()).data["name"] == CLEAN


def test_a_patients_own_booking_and_a_staff_booking_carry_the_clean_name(api):
    doc = api.doctor_with_hours()
    who = patient("eve-1", name=EVIL)
    # WHEN the patient books for itself
    own = api.book(doc, who, time="09:00")
    # THEN the appointment's patientName is the clean name, also when read back
    assert own["patientName"] == CLEAN
    assert api.call("GET", f"/api/appointments/{own['id']}", who).data["patientName"] == CLEAN
    # AND a visit the front desk books for that patient takes the clean name from the directory
    by_staff = api.book(doc, admin(), patientId="eve-1", date="2026-12-03", time="10:00")
    assert by_staff["patientName"] == CLEAN


def test_a_name_with_nothing_printable_falls_back_to_the_username(api):
    # GIVEN a name claim of only a bidi override and zero-width characters
    who = patient("zw-1", name="\u202e\u200b\u200d")
    # WHEN the patient signs in THEN the username stands in for the name, as for a patient with no name claim
    assert api.call("PUT", "/api/patients/me", who).data["name"] == "zw-1"
