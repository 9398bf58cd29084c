"""Every route refuses a missing identity (401), a wrong role (403) and another person's objects (403/404)."""

from __future__ import annotations

import pytest

from chalicelib.api.http import ROUTES
from tests.helpers import admin, doctor, patient, token

DAY = "2026-12-02"


@pytest.fixture
def world(api):
    d1 = api.doctor_with_hours()
    d2 = api.doctor_with_hours(name="Dr. Other")
    a = api.book(d1, reminderPreferences={"email": True, "timing": "24h"})["id"]
    # a second visit that day with the same doctor: staff book it (patients get one a day)
    video = api.book(d1, admin(), patientId="patient-1", time="11:30", type="telehealth")
    return {
        "d1": d1["id"],
        "d2": d2["id"],
        "a": a,
        "r": f"{a}_email-24h",
        "t": video["id"],
        "room": video["roomId"],
        # a patient's hold of a time with the other doctor
        "h": api.call(
            "POST",
            "/api/holds",
            patient(),
            {"doctorId": d2["id"], "date": DAY, "time": "15:00", "type": "in-person"},
        ).data["id"],
        # the patient's place on the first doctor's waitlist
        "wl": api.call(
            "POST",
            "/api/waitlist",
            patient(),
            {"doctorId": d1["id"], "from": DAY, "to": DAY, "type": "in-person", "notify": {"email": True}},
        ).data["id"],
    }


def routes(w):
    """(method, path, body) for every protected route, filled with the world's ids."""
    booking = {"doctorId": w["d1"], "date": DAY, "time": "11:00", "type": "in-person", "reason": "r"}
    return {
        ("GET", "/api/doctors"): ("/api/doctors", None),
        **own_calendar_routes(w),
        ("GET", "/api/doctors/{doctorId}"): (f"/api/doctors/{w['d1']}", None),
        ("POST", "/api/admin/doctors"): (
            "/api/admin/doctors",
            {"name": "N", "specialty": "S", "location": "L", "timezone": "UTC", "telehealth": False},
        ),
        ("PUT", "/api/admin/doctors/{doctorId}/availability"): (
            f"/api/admin/doctors/{w['d1']}/availability",
            {"workingHours": {"monday": [{"start": "09:00", "end": "10:00"}]}},
        ),
        ("PUT", "/api/admin/doctors/{doctorId}/durations"): (
            f"/api/admin/doctors/{w['d1']}/durations",
            {"durations": [15, 60]},
        ),
        ("GET", "/api/appointments/availability/{doctorId}/{date}"): (
            f"/api/appointments/availability/{w['d1']}/{DAY}",
            None,
        ),
        ("POST", "/api/appointments"): ("/api/appointments", booking),
        ("GET", "/api/appointments/{id}"): (f"/api/appointments/{w['a']}", None),
        ("PUT", "/api/appointments/{id}/reschedule"): (
            f"/api/appointments/{w['a']}/reschedule",
            {"date": DAY, "time": "14:00"},
        ),
        ("DELETE", "/api/appointments/{id}"): (f"/api/appointments/{w['a']}", None),
        ("PATCH", "/api/appointments/{id}/status"): (f"/api/appointments/{w['a']}/status", {"status": "confirmed"}),
        ("GET", "/api/appointments/patient/{patientId}"): ("/api/appointments/patient/patient-1", None),
        ("GET", "/api/appointments/doctor/{doctorId}"): (f"/api/appointments/doctor/{w['d1']}", None),
        ("GET", "/api/admin/appointments/{id}/audit"): (f"/api/admin/appointments/{w['a']}/audit", None),
        ("POST", "/api/reminders/schedule"): (
            "/api/reminders/schedule",
            {"appointmentId": w["a"], "email": True, "timing": "2h"},
        ),
        ("GET", "/api/reminders/appointment/{appointmentId}"): (f"/api/reminders/appointment/{w['a']}", None),
        ("PUT", "/api/reminders/{id}"): (f"/api/reminders/{w['r']}", {"customMessage": "Bring your card"}),
        ("DELETE", "/api/reminders/{id}"): (f"/api/reminders/{w['r']}", None),
        ("POST", "/api/patients/me/devices"): (
            "/api/patients/me/devices",
            {"platform": "fcm", "token": "tok-12345678"},
        ),
        ("GET", "/api/admin/reminders"): ("/api/admin/reminders?status=pending", None),
        ("PUT", "/api/patients/me"): ("/api/patients/me", None),
        ("PATCH", "/api/patients/me"): ("/api/patients/me", {"language": "es"}),
        ("PATCH", "/api/admin/patients/{patientId}"): ("/api/admin/patients/patient-1", {"language": "es"}),
        ("GET", "/api/admin/patients/{patientId}/access"): ("/api/admin/patients/patient-1/access", None),
        ("GET", "/api/admin/patients/{patientId}"): ("/api/admin/patients/patient-1", None),
        ("PUT", "/api/admin/patients/{patientId}/contact"): (
            "/api/admin/patients/patient-1/contact",
            {"phone": "+16175550199"},
        ),
        ("GET", "/api/admin/patients"): ("/api/admin/patients?query=pat", None),
        ("GET", "/api/admin/analytics"): ("/api/admin/analytics?from=2026-12-01&to=2026-12-07", None),
        ("POST", "/api/realtime/ticket"): ("/api/realtime/ticket", None),
        ("GET", "/api/appointments/{id}/calendar.ics"): (f"/api/appointments/{w['a']}/calendar.ics", None),
        ("POST", "/api/doctors/{doctorId}/calendar-token"): (f"/api/doctors/{w['d1']}/calendar-token", None),
        ("DELETE", "/api/doctors/{doctorId}/calendar-token"): (f"/api/doctors/{w['d1']}/calendar-token", None),
        ("POST", "/api/telehealth/generate-url/{appointmentId}"): (f"/api/telehealth/generate-url/{w['t']}", None),
        ("GET", "/api/telehealth/room/{roomId}"): (f"/api/telehealth/room/{w['room']}?token=x.y", None),
        ("POST", "/api/telehealth/room/{roomId}/admit"): (f"/api/telehealth/room/{w['room']}/admit", None),
        ("POST", "/api/telehealth/room/{roomId}/end"): (f"/api/telehealth/room/{w['room']}/end", None),
        ("PUT", "/api/telehealth/consent/{appointmentId}"): (f"/api/telehealth/consent/{w['t']}", {"recording": False}),
        ("POST", "/api/telehealth/requirements-check"): (
            "/api/telehealth/requirements-check",
            {
                "platform": "custom",
                "browser": "chrome",
                "browserVersion": 120,
                "camera": True,
                "microphone": True,
                "bandwidthMbps": 5,
            },
        ),
        ("POST", "/api/admin/reminders/retry"): ("/api/admin/reminders/retry", {"reminderIds": [w["r"]]}),
        ("POST", "/api/admin/reminders/cancel"): ("/api/admin/reminders/cancel", {"reminderIds": [w["r"]]}),
        ("POST", "/api/holds"): (
            "/api/holds",
            {"doctorId": w["d2"], "date": DAY, "time": "16:00", "type": "in-person"},
        ),
        ("GET", "/api/holds"): (f"/api/holds?doctorId={w['d2']}&date={DAY}", None),
        ("GET", "/api/holds/{id}"): (f"/api/holds/{w['h']}", None),
        ("DELETE", "/api/holds/{id}"): (f"/api/holds/{w['h']}", None),
        ("POST", "/api/admin/webhooks"): (
            "/api/admin/webhooks",
            {"url": "https://ehr.example/hook", "events": ["appointment.booked"]},
        ),
        ("GET", "/api/admin/webhooks"): ("/api/admin/webhooks", None),
        ("GET", "/api/admin/webhooks/{id}"): ("/api/admin/webhooks/wh-1", None),
        ("PATCH", "/api/admin/webhooks/{id}"): ("/api/admin/webhooks/wh-1", {"state": "paused"}),
        ("DELETE", "/api/admin/webhooks/{id}"): ("/api/admin/webhooks/wh-1", None),
        ("POST", "/api/admin/webhooks/{id}/rotate-secret"): ("/api/admin/webhooks/wh-1/rotate-secret", None),
        ("GET", "/api/admin/webhooks/{id}/deliveries"): ("/api/admin/webhooks/wh-1/deliveries", None),
        ("POST", "/api/admin/webhooks/{id}/deliveries/{deliveryId}/resend"): (
            "/api/admin/webhooks/wh-1/deliveries/d-1/resend",
            None,
        ),
        ("POST", "/api/admin/webhooks/{id}/resend"): (
            "/api/admin/webhooks/wh-1/resend",
            {"since": "2026-12-01T00:00:00Z"},
        ),
        ("POST", "/api/waitlist"): (
            "/api/waitlist",
            {"doctorId": w["d2"], "from": DAY, "to": DAY, "type": "in-person", "notify": {"email": True}},
        ),
        ("GET", "/api/waitlist"): ("/api/waitlist", None),
        ("GET", "/api/waitlist/day"): (f"/api/waitlist/day?doctorId={w['d1']}&date={DAY}", None),
        ("GET", "/api/waitlist/analytics"): (f"/api/waitlist/analytics?doctorId={w['d1']}&from={DAY}&to={DAY}", None),
        ("GET", "/api/waitlist/{id}"): (f"/api/waitlist/{w['wl']}", None),
        ("DELETE", "/api/waitlist/{id}"): (f"/api/waitlist/{w['wl']}", None),
        ("PATCH", "/api/waitlist/{id}"): (f"/api/waitlist/{w['wl']}", {"to": DAY}),
        ("POST", "/api/waitlist/{id}/accept"): (f"/api/waitlist/{w['wl']}/accept", {}),
        ("POST", "/api/waitlist/{id}/decline"): (f"/api/waitlist/{w['wl']}/decline", None),
        ("POST", "/api/waitlist/{id}/offer"): (f"/api/waitlist/{w['wl']}/offer", {"date": DAY, "time": "16:00"}),
    }


def own_calendar_routes(w):
    """A doctor's own calendars (admin or that doctor); `cal-1` is no connection (the checks come first)."""
    base = f"/api/admin/doctors/{w['d1']}/calendars"
    return {
        ("POST", "/api/admin/doctors/{doctorId}/calendars"): (
            base,
            {"kind": "ics", "url": "https://example.com/c.ics"},
        ),
        ("GET", "/api/admin/doctors/{doctorId}/calendars"): (base, None),
        ("POST", "/api/admin/doctors/{doctorId}/calendars/{id}/sync"): (f"{base}/cal-1/sync", None),
        ("PATCH", "/api/admin/doctors/{doctorId}/calendars/{id}"): (f"{base}/cal-1", {"state": "paused"}),
        ("DELETE", "/api/admin/doctors/{doctorId}/calendars/{id}"): (f"{base}/cal-1", None),
        ("GET", "/api/admin/doctors/{doctorId}/conflicts"): (f"/api/admin/doctors/{w['d1']}/conflicts", None),
    }


def test_the_matrix_covers_every_protected_route(world):
    # the FHIR face answers OperationOutcome, not this shape: tests/functional/test_fhir_access.py has its matrix
    protected = {(r.method, r.path) for r in ROUTES if not r.public and not r.path.startswith("/fhir/")}
    assert protected == set(routes(world))


def test_no_identity_is_401_everywhere(api, world):
    for (method, _), (path, body) in routes(world).items():
        refused = api.call(method, path, {}, body)
        assert refused.status_code == 401, (method, path)
        assert refused.data["error"]["code"] == "UNAUTHENTICATED"


@pytest.mark.parametrize(
    "claims",
    [
        {"sub": "x", "cognito:username": "x"},  # no group
        {"sub": "x", "cognito:username": "x", "cognito:groups": ["visitors"]},
        {"sub": "x", "cognito:username": "x", "cognito:groups": ["doctors"]},  # doctor without a doctor id
    ],
)
def test_an_identity_without_a_role_is_403_everywhere(api, world, claims):
    for (method, _), (path, body) in routes(world).items():
        refused = api.call(method, path, {"Authorization": token(claims)}, body)
        assert refused.status_code == 403, (method, path)


ADMIN_ONLY = [
    ("POST", "/api/admin/doctors"),
    ("PUT", "/api/admin/doctors/{doctorId}/availability"),
    ("GET", "/api/admin/appointments/{id}/audit"),
    ("GET", "/api/admin/reminders"),
    ("GET", "/api/admin/analytics"),
    ("POST", "/api/admin/reminders/retry"),
    ("POST", "/api/admin/reminders/cancel"),
    ("GET", "/api/admin/patients/{patientId}/access"),
    ("GET", "/api/admin/patients/{patientId}"),
    ("PATCH", "/api/admin/patients/{patientId}"),
    ("PUT", "/api/admin/patients/{patientId}/contact"),
    ("GET", "/api/admin/patients"),
    ("POST", "/api/admin/webhooks"),
    ("GET", "/api/admin/webhooks"),
]


@pytest.mark.parametrize("route", ADMIN_ONLY)
def test_admin_routes_refuse_patients_and_doctors(api, world, route):
    path, body = routes(world)[route]
    for who in (patient(), doctor(world["d1"])):
        refused = api.call(route[0], path, who, body)
        assert (refused.status_code, refused.data["error"]["code"]) == (403, "FORBIDDEN")
    assert api.call(route[0], path, admin(), body).status_code in (200, 201)


@pytest.mark.parametrize(
    "route",
    [
        ("GET", "/api/appointments/{id}"),
        ("PUT", "/api/appointments/{id}/reschedule"),
        ("DELETE", "/api/appointments/{id}"),
        ("PATCH", "/api/appointments/{id}/status"),
        ("POST", "/api/reminders/schedule"),
        ("GET", "/api/reminders/appointment/{appointmentId}"),
        ("PUT", "/api/reminders/{id}"),
        ("DELETE", "/api/reminders/{id}"),
    ],
)
def test_another_patients_or_doctors_appointment_is_not_found(api, world, route):
    path, body = routes(world)[route]
    for stranger in (patient("intruder"), doctor(world["d2"])):
        refused = api.call(route[0], path, stranger, body)
        assert (refused.status_code, refused.data["error"]["code"]) == (404, "NOT_FOUND")
    # and nothing changed
    assert api.call("GET", f"/api/appointments/{world['a']}", patient()).data["status"] == "scheduled"


def test_another_patients_or_doctors_hold_is_not_found(api, world):
    # WHEN a stranger (another patient, the doctor of another schedule) reads, books or releases the hold
    for stranger in (patient("intruder"), doctor(world["d1"])):
        for method, path, body in (
            ("GET", f"/api/holds/{world['h']}", None),
            ("POST", "/api/appointments", {"holdId": world["h"], "reason": "r"}),
            ("DELETE", f"/api/holds/{world['h']}", None),
        ):
            refused = api.call(method, path, stranger, body)
            # THEN it is as unknown as a hold that does not exist
            assert (refused.status_code, refused.data["error"]["code"]) == (404, "NOT_FOUND"), (method, stranger)
    # AND the hold stands; a doctor-day's holds are listed only for its doctor and admins
    assert api.call("GET", f"/api/holds/{world['h']}", patient()).status_code == 200
    assert api.call("GET", f"/api/holds/{world['h']}", doctor(world["d2"])).status_code == 200
    assert api.call("GET", f"/api/holds?doctorId={world['d2']}&date={DAY}", doctor(world["d1"])).status_code == 403


def test_another_patients_waitlist_entry_is_not_found_and_staff_views_are_staff_only(api, world):
    # WHEN another patient or another doctor reads, leaves or answers the entry THEN it is as unknown as none
    for stranger in (patient("intruder"), doctor(world["d2"])):
        for method, suffix in (("GET", ""), ("DELETE", ""), ("PATCH", ""), ("POST", "/accept"), ("POST", "/decline")):
            path = f"/api/waitlist/{world['wl']}{suffix}"
            body = {"to": DAY} if method == "PATCH" else ({} if method == "POST" else None)
            refused = api.call(method, path, stranger, body)
            # (changing or answering is for patients only: a doctor is refused by role before any look-up)
            by_role = suffix or method == "PATCH"
            expected = 403 if by_role and stranger != patient("intruder") else 404
            assert refused.status_code == expected, (method, path)
    # AND patients cannot use the staff views, nor offer a time by hand
    staff_only = (
        ("GET", "/api/waitlist/day"),
        ("GET", "/api/waitlist/analytics"),
        ("POST", "/api/waitlist/{id}/offer"),
    )
    for route in staff_only:
        path, body = routes(world)[route]
        assert api.call(route[0], path, patient(), body).status_code == 403
    # AND staff join no waitlist themselves; the other doctor sees nothing of the first's
    path, body = routes(world)[("POST", "/api/waitlist")]
    assert api.call("POST", path, admin(), body).status_code == 403
    assert api.call("GET", f"/api/waitlist?doctorId={world['d1']}", doctor(world["d2"])).status_code == 403
    assert api.call("GET", f"/api/waitlist/{world['wl']}", patient()).data["status"] == "waiting"


def test_foreign_lists_are_forbidden(api, world):
    assert api.call("GET", "/api/appointments/patient/patient-1", patient("intruder")).status_code == 403
    assert api.call("GET", f"/api/appointments/doctor/{world['d1']}", patient()).status_code == 403
    assert api.call("GET", f"/api/appointments/doctor/{world['d1']}", doctor(world["d2"])).status_code == 403
    assert api.call("GET", f"/api/appointments/doctor/{world['d1']}", admin()).status_code == 200


def test_booking_for_someone_else_is_forbidden(api, world):
    base = {"doctorId": world["d1"], "date": DAY, "time": "15:00", "type": "in-person", "reason": "r"}
    as_patient = api.call("POST", "/api/appointments", patient(), {**base, "patientId": "patient-2"})
    assert as_patient.status_code == 403
    other_doctor = api.call("POST", "/api/appointments", doctor(world["d2"]), {**base, "patientId": "p"})
    assert other_doctor.status_code == 403


def test_room_controls_are_the_doctors_and_consent_the_patients(api, world):
    for route in (("POST", "/api/telehealth/room/{roomId}/admit"), ("POST", "/api/telehealth/room/{roomId}/end")):
        path, body = routes(world)[route]
        assert api.call(route[0], path, patient(), body).status_code == 403
        assert api.call(route[0], path, admin(), body).status_code == 403
        # another doctor's room is as unknown to a doctor as a room that does not exist
        assert api.call(route[0], path, doctor(world["d2"]), body).status_code == 404
    path, body = routes(world)[("PUT", "/api/telehealth/consent/{appointmentId}")]
    assert api.call("PUT", path, patient("intruder"), body).status_code == 404
    assert api.call("POST", f"/api/telehealth/generate-url/{world['t']}", patient("intruder")).status_code == 404


def test_only_patients_register_devices(api, world):
    path, body = routes(world)[("POST", "/api/patients/me/devices")]
    for staff in (admin(), doctor(world["d1"])):
        assert api.call("POST", path, staff, body).status_code == 403


def test_public_routes_need_no_identity(api):
    assert api.call("GET", "/health", {}).data == {"status": "ok", "version": "dev"}
    assert api.call("GET", "/openapi.json", {}).status_code == 200


def _answer(response, *ids):
    """A refusal as its caller sees it (status and body), with the ids the caller itself sent blanked."""
    text = response.body.decode() if isinstance(response.body, bytes) else str(response.body)
    for some_id in ids:
        text = text.replace(some_id, "<id>")
    return response.status_code, text


def test_doctors_book_only_patients_they_have_or_had_a_visit_with(api):
    # GIVEN a patient who sees another doctor at 10:00, and a doctor it never saw
    mine, theirs = api.doctor_with_hours(), api.doctor_with_hours(name="Dr. Elsewhere")
    assert api.call("PUT", "/api/patients/me", patient("p-s")).status_code == 200
    api.book(theirs, patient("p-s"))
    me = doctor(mine["id"], sub="user-dr-mine")
    # WHEN the doctor books it at the time of that visit, at a free time, and books a made-up patient id
    overlapping = api.try_book(mine, me, patientId="p-s")
    free = api.try_book(mine, me, patientId="p-s", time="14:00")
    unknown = api.try_book(mine, me, patientId="p-nobody")
    # THEN all three get the same 403: no schedule oracle, and a stranger looks like nobody
    assert (overlapping.status_code, overlapping.data["error"]["code"]) == (403, "FORBIDDEN")
    assert _answer(overlapping) == _answer(free) == _answer(unknown, "p-nobody")
    assert "details" not in overlapping.data["error"]
    assert api.appointments_of(mine) == []
    # AND each refused attempt is in that patient id's access log (the made-up id gets no directory record)
    log = api.call("GET", "/api/admin/patients/p-s/access", admin()).data["entries"]
    assert [(e["actorId"], e["actorRole"], e["action"], e["route"]) for e in log] == [
        ("user-dr-mine", "doctor", "booking-refused", "POST /api/appointments"),
    ] * 2
    refused_unknown = api.call("GET", "/api/admin/patients/p-nobody/access", admin()).data["entries"]
    assert [e["action"] for e in refused_unknown] == ["booking-refused"]
    assert api.call("GET", "/api/admin/patients/p-nobody", admin()).status_code == 404


def test_a_doctor_books_a_patient_it_had_a_visit_with_even_a_cancelled_one(api):
    # GIVEN the front desk booked the patient with the doctor, and the visit was cancelled
    mine = api.doctor_with_hours()
    assert api.call("PUT", "/api/patients/me", patient("p-c")).status_code == 200
    first = api.book(mine, admin(), patientId="p-c")
    assert api.call("DELETE", f"/api/appointments/{first['id']}", admin()).status_code == 200
    # WHEN the doctor books a follow-up for it THEN it is booked
    follow_up = api.try_book(mine, doctor(mine["id"]), patientId="p-c", time="15:00")
    assert follow_up.status_code == 201, follow_up.data
    # AND another doctor, who never saw it, still may not
    other = api.doctor_with_hours(name="Dr. Other")
    assert api.try_book(other, doctor(other["id"]), patientId="p-c").status_code == 403


def test_the_doctor_feed_answers_an_unknown_doctor_as_a_known_one(api):
    # GIVEN a doctor whose feed is on
    doc = api.doctor_with_hours()
    assert api.call("POST", f"/api/doctors/{doc['id']}/calendar-token", doctor(doc["id"])).status_code == 201
    for query in ("", "?token=guess"):
        # WHEN the feed is asked for without its token, or with a wrong one, for that doctor and for nobody
        known = api.call("GET", f"/api/doctors/{doc['id']}/calendar.ics{query}", {})
        unknown = api.call("GET", f"/api/doctors/no-such-doctor/calendar.ics{query}", {})
        # THEN both get the same 401, word for word
        assert known.status_code == 401
        assert _answer(known) == _answer(unknown)


def test_a_room_answers_an_unknown_room_id_as_a_known_one(api, world):
    room, unknown = world["room"], "0" * 32
    made = api.call("POST", f"/api/telehealth/generate-url/{world['t']}", patient())
    assert made.status_code == 201
    genuine = made.data["token"]
    # a genuine link for another room (the patient's second video visit)
    other = api.book(api.doctor_with_hours(name="Dr. Video"), patient(), time="14:00", type="telehealth")
    other_token = api.call("POST", f"/api/telehealth/generate-url/{other['id']}", patient()).data["token"]
    # WHEN the room page is opened with no token, a forged one, or another room's link THEN a known room and an
    # unknown one answer alike
    for query, status in (("", 401), (f"?token={genuine[:-3]}abc", 401), (f"?token={other_token}", 403)):
        known = api.call("GET", f"/api/telehealth/room/{room}{query}", patient())
        nobody = api.call("GET", f"/api/telehealth/room/{unknown}{query}", patient())
        assert known.status_code == status, known.data
        assert _answer(known) == _answer(nobody)
    # AND another doctor admitting or ending gets the same 404 for the room as for no room at all
    for action in ("admit", "end"):
        known = api.call("POST", f"/api/telehealth/room/{room}/{action}", doctor(world["d2"]))
        nobody = api.call("POST", f"/api/telehealth/room/{unknown}/{action}", doctor(world["d2"]))
        assert known.status_code == 404
        assert _answer(known, room) == _answer(nobody, unknown)


def test_a_doctors_own_calendars_are_for_that_doctor_and_admins_only(api, world):
    # WHEN a patient or another doctor uses any of the first doctor's calendar routes THEN 403, before any look-up
    for (method, _), (path, body) in own_calendar_routes(world).items():
        for stranger in (patient(), doctor(world["d2"])):
            refused = api.call(method, path, stranger, body)
            assert (refused.status_code, refused.data["error"]["code"]) == (403, "FORBIDDEN"), (method, path)
    # AND the doctor itself and an admin get through to the calendars (an unknown connection is 404)
    assert api.call("GET", f"/api/admin/doctors/{world['d1']}/calendars", doctor(world["d1"])).status_code == 200
    assert api.call("GET", f"/api/admin/doctors/{world['d1']}/conflicts", admin()).status_code == 200
    assert api.call("DELETE", f"/api/admin/doctors/{world['d1']}/calendars/cal-1", admin()).status_code == 404
