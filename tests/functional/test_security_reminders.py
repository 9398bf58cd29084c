"""Reminders cannot be used for phishing or SMS pumping: verified addresses only (checked again at send time),
no patient-written text in outgoing messages, and a per-patient cap on messages a day."""

from __future__ import annotations

from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.sns.models import sns_backends

from tests.functional.test_reminders import EVERY_CHANNEL, dispatch, emails_sent
from tests.helpers import admin, patient


def sms_to(number: str) -> list[str]:
    return [
        text for to, text, *_ in sns_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sms_messages.values() if to == number
    ]


def test_a_patient_whose_phone_is_not_verified_cannot_choose_sms(api):
    # GIVEN a patient whose token carries a phone number Cognito has not verified
    doc = api.doctor_with_hours()
    unverified = patient("p-unverified", phone_number_verified=False)
    # WHEN it books with SMS reminders
    refused = api.try_book(doc, unverified, reminderPreferences={"sms": True})
    # THEN it is refused with NO_RECIPIENT and nothing is booked
    assert (refused.status_code, refused.data["error"]["code"]) == (422, "NO_RECIPIENT")
    assert refused.data["error"]["details"] == {"channels": ["sms"]}
    assert api.call("GET", "/api/appointments/patient/p-unverified", unverified).data["appointments"] == []


def test_an_unverified_email_is_refused_and_a_verified_one_in_string_form_is_accepted(api):
    doc = api.doctor_with_hours()
    no_flag = patient("p-a", email_verified=None)
    refused = api.try_book(doc, no_flag, reminderPreferences={"email": True})
    assert (refused.status_code, refused.data["error"]["code"]) == (422, "NO_RECIPIENT")
    as_text = patient("p-a", email_verified="true")
    made = api.try_book(doc, as_text, reminderPreferences={"email": True})
    assert made.status_code == 201, made.data


def test_staff_cannot_plan_reminders_to_an_unverified_stored_address(api):
    # GIVEN a patient known with an unverified phone (it booked once, without reminders)
    doc = api.doctor_with_hours()
    api.try_book(doc, patient("p-b", phone_number_verified="false"))
    # WHEN an admin books it another visit with SMS reminders
    refused = api.try_book(doc, admin(), patientId="p-b", time="11:00", reminderPreferences={"sms": True})
    # THEN there is no verified address to send to
    assert (refused.status_code, refused.data["error"]["code"]) == (422, "NO_RECIPIENT")


def test_a_patient_cannot_put_its_own_text_into_a_reminder(api):
    doc = api.doctor_with_hours()
    prize = {"email": True, "customMessage": "Free prize: https://evil.example/x"}
    # WHEN a patient books with a custom message THEN 403, and nothing is booked
    refused = api.try_book(doc, patient(), reminderPreferences=prize)
    assert (refused.status_code, refused.data["error"]["code"]) == (403, "FORBIDDEN")
    made = api.book(doc, reminderPreferences=EVERY_CHANNEL)
    # nor on the reminder routes
    scheduled = api.call(
        "POST",
        "/api/reminders/schedule",
        patient(),
        {"appointmentId": made["id"], "email": True, "timing": "30m", "customMessage": "Free prize"},
    )
    assert (scheduled.status_code, scheduled.data["error"]["code"]) == (403, "FORBIDDEN")
    rid = f"{made['id']}_email-24h"
    edited = api.call("PUT", f"/api/reminders/{rid}", patient(), {"customMessage": "Free prize"})
    assert (edited.status_code, edited.data["error"]["code"]) == (403, "FORBIDDEN")
    # staff may
    by_admin = api.call("PUT", f"/api/reminders/{rid}", admin(), {"customMessage": "Bring your insurance card."})
    assert by_admin.status_code == 200 and by_admin.data["message"].endswith("Bring your insurance card.")


def test_a_changed_unverified_number_gets_nothing(api, clock, lambdas):
    # GIVEN a patient booked with SMS reminders to its verified number
    doc = api.doctor_with_hours()
    first = api.book(doc, reminderPreferences={"sms": True, "timing": "24h"})
    # WHEN it changes its number in the pool (unverified) and signs in again
    changed = patient(phone_number="+16175550199", phone_number_verified=False)
    assert api.call("PUT", "/api/patients/me", changed).data["phoneVerified"] is False
    clock.current = clock.current.replace(hour=15)
    # THEN the first visit's SMS reminder goes neither to the old number nor to the new one
    assert dispatch(lambdas, f"{first['id']}_sms-24h") == "failed"
    assert sms_to("+16175550100") == [] and sms_to("+16175550199") == []
    reminders = api.call("GET", f"/api/reminders/appointment/{first['id']}", patient()).data["reminders"]
    assert "verified" in reminders[0]["lastError"]


def test_messages_to_one_patient_are_capped_per_day(api, wired, clock, lambdas):
    # GIVEN a cap of 3 messages a patient a day and a visit with 4 reminders due today
    wired.dispatcher.messages_per_day = 3
    doc = api.doctor_with_hours()
    made = api.book(
        doc, date="2026-12-01", time="14:00", reminderPreferences={"email": True, "timings": ["2h", "30m", "15m"]}
    )
    other = api.book(
        doc,
        admin(),
        date="2026-12-01",
        time="15:00",
        patientId="patient-1",
        reminderPreferences={"email": True, "timing": "2h"},
    )
    clock.current = clock.current.replace(hour=18, minute=50)
    # WHEN all four are dispatched
    outcomes = [dispatch(lambdas, f"{made['id']}_email-{t}") for t in ("2h", "30m", "15m")]
    outcomes.append(dispatch(lambdas, f"{other['id']}_email-2h"))
    # THEN three are sent and the fourth fails with the reason
    assert outcomes == ["sent", "sent", "sent", "failed"]
    assert emails_sent() == 3
    # and the next day counts afresh
    third = api.book(doc, date="2026-12-03", time="10:00", reminderPreferences={"email": True, "timing": "24h"})
    clock.current = clock.current.replace(day=2, hour=15)
    assert dispatch(lambdas, f"{third['id']}_email-24h") == "sent"
