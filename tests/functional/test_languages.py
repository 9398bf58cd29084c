"""The patient's language (issue 32): chosen in the app or set by staff and kept with the patient; the browser's
`Accept-Language` until then; patient-facing error messages, reminders and calendar files in it."""

from __future__ import annotations

import email

from icalendar import Calendar
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends
from moto.sns.models import sns_backends

from tests.faults import throttled
from tests.helpers import admin, booking_body, doctor, patient

SPANISH = {"Accept-Language": "es-MX,es;q=0.9,en;q=0.5"}


def signed_in(api, sub: str) -> dict[str, str]:
    who = patient(sub)
    assert api.call("PUT", "/api/patients/me", who).status_code == 200
    return who


def test_a_patient_chooses_its_language_and_staff_see_and_set_it(api):
    # GIVEN a signed-in patient, who has chosen no language yet
    me = signed_in(api, "p-lang")
    assert "language" not in api.call("GET", "/api/admin/patients/p-lang", admin()).data
    # WHEN it chooses Spanish in the app
    chosen = api.call("PATCH", "/api/patients/me", me, {"language": "es"})
    # THEN its record says so, to itself and to staff (console), and signing in again keeps it
    assert (chosen.status_code, chosen.data["language"]) == (200, "es")
    assert api.call("PUT", "/api/patients/me", me).data["language"] == "es"
    assert api.call("GET", "/api/admin/patients/p-lang", admin()).data["language"] == "es"
    found = api.call("GET", "/api/admin/patients?query=Pat", admin()).data["patients"]
    assert {p["id"]: p.get("language") for p in found}["p-lang"] == "es"
    # AND an admin sets it back to English (as the patient asked at the desk), recorded in its access log
    set_back = api.call("PATCH", "/api/admin/patients/p-lang", admin(), {"language": "en"})
    assert (set_back.status_code, set_back.data["language"]) == (200, "en")
    actions = [e["action"] for e in api.call("GET", "/api/admin/patients/p-lang/access", admin()).data["entries"]]
    assert "language-change" in actions


def test_only_known_languages_for_patients_that_exist_and_only_staff_set_anothers(api):
    me = signed_in(api, "p-lang2")
    doc = api.doctor_with_hours()
    # WHEN a language nobody translated is asked THEN 400 naming the field
    bad = api.call("PATCH", "/api/patients/me", me, {"language": "fr"})
    assert bad.status_code == 400 and "language" in bad.data["error"]["details"]["fields"]
    assert api.call("PATCH", "/api/patients/me", me, {}).status_code == 400
    # AND a patient who never signed in is 404; a made-up patient for an admin is 404
    assert api.call("PATCH", "/api/patients/me", patient("p-never"), {"language": "es"}).status_code == 404
    assert api.call("PATCH", "/api/admin/patients/p-nobody", admin(), {"language": "es"}).status_code == 404
    assert api.call("GET", "/api/admin/patients/p-nobody", admin()).status_code == 404  # nothing was created
    # AND a patient or a doctor cannot set another patient's language
    assert api.call("PATCH", "/api/admin/patients/p-lang2", patient("p-other"), {"language": "es"}).status_code == 403
    assert api.call("PATCH", "/api/admin/patients/p-lang2", doctor(doc["id"]), {"language": "es"}).status_code == 403


def test_a_patients_error_message_follows_accept_language_until_it_chooses_then_its_profile(api):
    # GIVEN a patient who chose no language, asking for an appointment that does not exist
    me = signed_in(api, "p-err")
    path = "/api/appointments/no-such-appointment"
    english = api.call("GET", path, me)
    # THEN without Accept-Language: the error's own English message, Content-Language en
    assert english.status_code == 404 and english.headers["Content-Language"] == "en"
    assert english.data["error"]["message"] == "No such appointment."
    # WHEN the browser prefers Spanish THEN the same code, the message in Spanish, Content-Language es
    spanish = api.call("GET", path, {**me, **SPANISH})
    assert (spanish.status_code, spanish.data["error"]["code"]) == (404, "NOT_FOUND")
    assert spanish.data["error"]["message"] == "No encontramos lo que busca."
    assert spanish.headers["Content-Language"] == "es"
    # WHEN the patient chooses English in the app THEN its choice wins over the browser's
    api.call("PATCH", "/api/patients/me", me, {"language": "en"})
    chosen = api.call("GET", path, {**me, **SPANISH})
    assert chosen.data["error"]["message"] == "No such appointment." and chosen.headers["Content-Language"] == "en"


def test_a_rule_refusal_keeps_its_code_and_a_staff_answer_stays_english(api):
    doc = api.doctor_with_hours()
    me = signed_in(api, "p-rule")
    api.call("PATCH", "/api/patients/me", me, {"language": "es"})
    # WHEN a Spanish-speaking patient books outside the doctor's hours THEN 422 with the same code, in Spanish
    refused = api.try_book(doc, me, time="07:00")
    assert refused.status_code == 422, refused.data
    assert refused.data["error"]["code"] == "OUTSIDE_WORKING_HOURS"
    assert refused.data["error"]["message"] == "El médico no atiende a esa hora. Elija otra, por favor."
    # AND the console's staff read English whatever their browser says (the console is English)
    staff = api.call("GET", "/api/appointments/no-such-appointment", {**admin(), **SPANISH})
    assert staff.data["error"]["message"] == "No such appointment." and staff.headers["Content-Language"] == "en"
    # AND an anonymous request (no token) follows Accept-Language
    anonymous = api.call("GET", "/api/appointments/no-such-appointment", SPANISH)
    assert (anonymous.status_code, anonymous.data["error"]["code"]) == (401, "UNAUTHENTICATED")
    assert anonymous.data["error"]["message"] == "Vuelva a iniciar sesión, por favor."


def test_when_the_profile_cannot_be_read_the_error_still_answers_in_the_browsers_language(api, faults):
    # GIVEN a patient who chose English, and DynamoDB throttling every read
    me = signed_in(api, "p-fault")
    api.call("PATCH", "/api/patients/me", me, {"language": "en"})
    faults.fail("GetItem", *[throttled() for _ in range(20)])
    # WHEN its request fails THEN the answer is still the contract's error, in the browser's language
    answer = api.call("GET", "/api/appointments/no-such-appointment", {**me, **SPANISH})
    faults.clear()
    assert answer.status_code == 503, answer.data
    assert answer.data["error"]["code"] == "SERVICE_UNAVAILABLE"
    assert answer.headers["Content-Language"] == "es" and "Retry-After" in answer.headers


def test_reminders_and_the_calendar_file_are_in_the_patients_language(api, wired, clock, lambdas):
    from tests.functional.test_reminders import dispatch

    # GIVEN a patient who chose Spanish, booking with every channel
    doc = api.doctor_with_hours()
    me = signed_in(api, "p-es")
    api.call("PATCH", "/api/patients/me", me, {"language": "es"})
    a = api.book(doc, me, reminderPreferences={"email": True, "sms": True})
    # THEN each reminder's message is in Spanish, the date as a Spanish reader writes it
    reminders = api.call("GET", f"/api/reminders/appointment/{a['id']}", me).data["reminders"]
    assert {r["message"].split(":")[0] for r in reminders} == {"Recordatorio"}
    # WHEN they are sent THEN the e-mail's subject, body and HTML lang and its .ics are Spanish
    clock.current = clock.current.replace(hour=15)
    assert dispatch(lambdas, f"{a['id']}_email-24h") == "sent"
    assert dispatch(lambdas, f"{a['id']}_sms-24h") == "sent"
    mail = email.message_from_string(ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages[-1].raw_data)
    subject = str(email.header.make_header(email.header.decode_header(mail["Subject"])))
    assert subject.startswith("Recordatorio de su cita: Dr. Ada Smith, ")
    parts = {p.get_content_type(): p for p in mail.walk()}
    html = bytes(parts["text/html"].get_payload(decode=True)).decode()
    assert html.startswith('<html lang="es">') and "diciembre" in html
    event = Calendar.from_ical(bytes(parts["text/calendar"].get_payload(decode=True))).walk("VEVENT")[0]
    assert str(event["SUMMARY"]) == "Cita con Dr. Ada Smith" and event["SUMMARY"].params["LANGUAGE"] == "es"
    assert str(event["DESCRIPTION"]) == "Le pedimos llegar 10 minutos antes."
    ((_, sms),) = list(sns_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sms_messages.values())
    assert sms.startswith("Recordatorio: su cita con Dr. Ada Smith es el ")
    # AND the calendar file the app offers is Spanish too, and says so
    ics = api.http.request("GET", f"/api/appointments/{a['id']}/calendar.ics", headers=me)
    assert ics.status_code == 200 and ics.headers["Content-Language"] == "es"
    assert "SUMMARY;LANGUAGE=es:Cita con Dr. Ada Smith" in ics.body.decode()


def test_the_calendar_file_follows_accept_language_until_the_patient_chooses(api):
    doc = api.doctor_with_hours()
    me = signed_in(api, "p-ics")
    a = api.book(doc, me)
    path = f"/api/appointments/{a['id']}/calendar.ics"
    english = api.http.request("GET", path, headers=me)
    assert "SUMMARY;LANGUAGE=en:Appointment with Dr. Ada Smith" in english.body.decode()
    spanish = api.http.request("GET", path, headers={**me, **SPANISH})
    assert spanish.headers["Content-Language"] == "es" and "Cita con Dr. Ada Smith" in spanish.body.decode()


def planned_languages(api, appointment_id: str) -> dict[str, str]:
    """Each planned reminder's channel and the first words of its message (`Recordatorio` or `Reminder`)."""
    reminders = api.call("GET", f"/api/reminders/appointment/{appointment_id}", admin()).data["reminders"]
    return {r["type"]: r["message"].split(":")[0] for r in reminders}


def test_reminders_follow_the_booking_requests_language_until_the_patient_saves_one(api):
    doc = api.doctor_with_hours()
    wanted = {"email": True, "sms": True}
    # GIVEN a signed-in patient who has chosen no language, its browser preferring Spanish
    me = signed_in(api, "p-new")
    # WHEN it books with reminders THEN its e-mail and SMS reminders are planned in Spanish
    booked = api.try_book(doc, {**me, **SPANISH}, reminderPreferences=wanted)
    assert booked.status_code == 201, booked.data
    assert planned_languages(api, booked.data["id"]) == {"email": "Recordatorio", "sms": "Recordatorio"}
    # AND without Accept-Language they are in the clinic's language
    plain = api.book(doc, signed_in(api, "p-plain"), reminderPreferences=wanted, time="11:00")
    assert planned_languages(api, plain["id"]) == {"email": "Reminder", "sms": "Reminder"}
    # AND a hold booked from a Spanish browser (the waitlist's offers, the app's slot hold) plans them in Spanish
    other = signed_in(api, "p-hold")
    held = api.call("POST", "/api/holds", other, booking_body(doc, time="14:00", reason=...))
    assert held.status_code == 201, held.data
    body = {"holdId": held.data["id"], "reason": "Check-up", "reminderPreferences": wanted}
    from_hold = api.call("POST", "/api/appointments", {**other, **SPANISH}, body)
    assert from_hold.status_code == 201, from_hold.data
    assert planned_languages(api, from_hold.data["id"]) == {"email": "Recordatorio", "sms": "Recordatorio"}


def test_a_saved_language_wins_over_the_browser_and_staff_browsers_never_choose(api):
    doc = api.doctor_with_hours()
    wanted = {"email": True, "sms": True}
    # GIVEN a patient who saved English, on a browser preferring Spanish
    me = signed_in(api, "p-saved")
    api.call("PATCH", "/api/patients/me", me, {"language": "en"})
    # WHEN it books THEN its reminders are in English, as it chose
    booked = api.try_book(doc, {**me, **SPANISH}, reminderPreferences=wanted)
    assert booked.status_code == 201, booked.data
    assert planned_languages(api, booked.data["id"]) == {"email": "Reminder", "sms": "Reminder"}
    # AND when an admin's Spanish browser books for a patient who chose nothing, the reminders are the clinic's
    # language (staff's browser says nothing of the patient's)
    signed_in(api, "p-desk")
    staff = api.try_book(
        doc, {**admin(), **SPANISH}, patientId="p-desk", patientName="Pat Doe", reminderPreferences=wanted, time="11:00"
    )
    assert staff.status_code == 201, staff.data
    assert planned_languages(api, staff.data["id"]) == {"email": "Reminder", "sms": "Reminder"}


def test_staff_see_each_visits_patient_language_in_one_batch_read_and_patients_do_not(api, faults):
    doc = api.doctor_with_hours()
    # GIVEN a patient who chose Spanish and one who chose nothing, each with a visit
    es = signed_in(api, "p-visit-es")
    api.call("PATCH", "/api/patients/me", es, {"language": "es"})
    spanish = api.book(doc, es)
    plain = api.book(doc, signed_in(api, "p-visit-none"), time="11:00")
    # WHEN staff list the doctor's day
    faults.calls.clear()
    listed = api.appointments_of(doc)
    # THEN the Spanish speaker's visit says so and the other's says nothing, from one batch read of the page
    assert {a["id"]: a.get("patientLanguage") for a in listed} == {spanish["id"]: "es", plain["id"]: None}
    assert "patientLanguage" not in next(a for a in listed if a["id"] == plain["id"])
    assert faults.calls.get("BatchGetItem") == 1 and faults.calls.get("GetItem") == 1  # (that one: the doctor)
    # AND one visit as staff read it says so too
    one = api.call("GET", f"/api/appointments/{spanish['id']}", admin()).data
    assert one["patientLanguage"] == "es"
    assert api.call("GET", f"/api/appointments/{spanish['id']}", doctor(doc["id"])).data["patientLanguage"] == "es"
    # AND the patient's own answers carry no such field (it is for the desk)
    assert "patientLanguage" not in api.call("GET", f"/api/appointments/{spanish['id']}", es).data
    own = api.call("GET", "/api/appointments/patient/p-visit-es", es).data["appointments"]
    assert [a.get("patientLanguage") for a in own] == [None]


def test_when_the_patients_cannot_be_read_the_day_still_lists_without_their_languages(api, faults):
    doc = api.doctor_with_hours()
    es = signed_in(api, "p-visit-fault")
    api.call("PATCH", "/api/patients/me", es, {"language": "es"})
    booked = api.book(doc, es)
    # GIVEN DynamoDB throttling every batch read of the patients
    faults.fail("BatchGetItem", *[throttled() for _ in range(20)])
    # WHEN staff list the day THEN the visits come, only without the language
    listed = api.call("GET", f"/api/appointments/doctor/{doc['id']}", admin())
    faults.clear()
    assert listed.status_code == 200, listed.data
    assert [(a["id"], a.get("patientLanguage")) for a in listed.data["appointments"]] == [(booked["id"], None)]
