"""Strict input validation: 400 VALIDATION_ERROR naming the offending fields, never a 5xx."""

from __future__ import annotations

import pytest

from tests.helpers import admin, patient

DAY = "2026-12-02"


@pytest.fixture
def doc(api):
    return api.doctor_with_hours()


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"date": "2026-02-30"}, "date"),
        ({"date": "02/12/2026"}, "date"),
        ({"date": 20261202}, "date"),
        ({"time": "25:00"}, "time"),
        ({"time": "9:00"}, "time"),
        ({"time": "10:07"}, "time"),  # off the 5-minute grid
        ({"duration": 7}, "duration"),
        ({"duration": 0}, "duration"),
        ({"duration": 600}, "duration"),
        ({"duration": "30"}, "duration"),
        ({"type": "video"}, "type"),
        ({"doctorId": "../etc"}, "doctorId"),
        ({"doctorId": ...}, "doctorId"),
        ({"reason": ""}, "reason"),
        ({"reason": "x" * 501}, "reason"),
        ({"notes": "x" * 2001}, "notes"),
        ({"colour": "blue"}, "colour"),
        ({"reminderPreferences": {"email": True, "timing": "3h"}}, "reminderPreferences.timing"),
        ({"reminderPreferences": {"timing": "2h", "timings": ["2h"]}}, "reminderPreferences"),
        ({"reminderPreferences": {"email": "yes"}}, "reminderPreferences.email"),
    ],
)
def test_bad_booking_fields_are_named(api, doc, overrides, field):
    refused = api.try_book(doc, **overrides)
    assert refused.status_code == 400, refused.data
    assert refused.data["error"]["code"] == "VALIDATION_ERROR"
    assert field in refused.data["error"]["details"]["fields"], refused.data


@pytest.mark.parametrize("raw", ["{not json", "[1, 2]", "", "null", '"text"'])
def test_a_body_that_is_not_a_json_object_is_refused(api, doc, raw):
    refused = api.call("POST", "/api/appointments", patient(), raw)
    assert refused.status_code == 400 and "body" in refused.data["error"]["details"]["fields"]


@pytest.mark.parametrize(
    "path",
    [
        "/api/appointments/availability/{doc}/2026-13-01",
        "/api/appointments/availability/{doc}/tomorrow",
        "/api/appointments/availability/{doc}/2026-12-02?duration=abc",
        "/api/appointments/availability/{doc}/2026-12-02?duration=7",
        "/api/appointments/availability/{doc}/2026-12-02?onlyAvailable=maybe",
        "/api/appointments/availability/{doc}/2026-12-02?page=2",
        "/api/doctors?telehealth=perhaps",
        "/api/appointments/patient/patient-1?status=lost",
        "/api/appointments/patient/patient-1?from=2026-12-05&to=2026-12-01",
        "/api/appointments/has%20space",
    ],
)
def test_bad_path_and_query_parameters_are_refused(api, doc, path):
    refused = api.call("GET", path.format(doc=doc["id"]), patient())
    assert refused.status_code == 400, refused.data
    assert refused.data["error"]["code"] == "VALIDATION_ERROR" and refused.data["error"]["details"]["fields"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"workingHours": {"funday": [{"start": "09:00", "end": "10:00"}]}}, "workingHours.funday.[key]"),
        ({"workingHours": {"monday": [{"start": "10:00", "end": "09:00"}]}}, "workingHours.monday.0"),
        (
            {"workingHours": {"monday": [{"start": "09:00", "end": "12:00"}, {"start": "11:00", "end": "13:00"}]}},
            "availability",
        ),
        ({"workingHours": {}, "maxPatientsPerDay": 0}, "maxPatientsPerDay"),
        ({"workingHours": {}, "appointmentDuration": 33}, "appointmentDuration"),
        ({"workingHours": {}, "holidays": ["Christmas"]}, "holidays.0"),
        ({"workingHours": {}, "breaks": [{"day": "monday", "start": "12:00"}]}, "breaks.0.end"),
        ({}, "workingHours"),
    ],
)
def test_bad_availability_is_refused(api, doc, body, field):
    refused = api.call("PUT", f"/api/admin/doctors/{doc['id']}/availability", admin(), body)
    assert refused.status_code == 400, refused.data
    fields = refused.data["error"]["details"]["fields"]
    assert field in fields or (field == "availability" and fields), fields


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"telehealth": "yes"}, "telehealth"),
        ({"telehealthPlatform": "skype"}, "telehealthPlatform"),
        ({"name": "x" * 101}, "name"),
    ],
)
def test_bad_doctor_is_refused(api, overrides, field):
    body = {"name": "Dr. X", "specialty": "GP", "location": "Here", "timezone": "UTC", "telehealth": False}
    refused = api.call("POST", "/api/admin/doctors", admin(), {**body, **overrides})
    assert refused.status_code == 400 and field in refused.data["error"]["details"]["fields"]


def test_unknown_ids_are_404(api, doc):
    assert api.call("GET", "/api/doctors/nobody", patient()).status_code == 404
    assert api.call("GET", f"/api/appointments/availability/nobody/{DAY}", patient()).status_code == 404
    assert api.call("GET", "/api/appointments/nothing", patient()).status_code == 404
    assert api.call("PUT", "/api/admin/doctors/nobody/availability", admin(), {"workingHours": {}}).status_code == 404
    missing = api.try_book(doc, doctorId="nobody")
    assert (missing.status_code, missing.data["error"]["code"]) == (404, "NOT_FOUND")


def test_chalice_level_refusals_use_the_contract_shape(api, doc):
    wrong_type = api.call("POST", "/api/appointments", {**patient(), "Content-Type": "text/plain"}, "hello")
    assert wrong_type.status_code == 415
    assert wrong_type.data["error"]["code"] == "UNSUPPORTED_MEDIA_TYPE"
    wrong_method = api.call("PATCH", "/api/doctors", patient())
    assert wrong_method.status_code == 405 and wrong_method.data["error"]["code"] == "METHOD_NOT_ALLOWED"


def test_every_standard_method_a_path_lacks_reaches_the_app_and_gets_405_with_allow(api):
    # GIVEN the deployed API only invokes the app for methods it registers (others get API Gateway's 403)
    from app import app
    from chalicelib.api.method_guard import STANDARD_METHODS

    # THEN every path registers every standard method, the ones it lacks answered by the guard
    assert all(set(entries) == set(STANDARD_METHODS) for entries in app.routes.values())
    # WHEN a method a path does not serve is called, THEN 405 with the methods it does serve, without sign-in
    for method, path, allow in (
        ("DELETE", "/api/doctors", "GET"),
        ("POST", "/health", "GET"),
        ("HEAD", "/api/appointments/some-id", "DELETE, GET"),
        ("GET", "/api/appointments", "POST"),
    ):
        answer = api.call(method, path, {})
        assert answer.status_code == 405, (method, path)
        assert answer.headers["Allow"] == allow
        if method != "HEAD":
            assert answer.data["error"]["code"] == "METHOD_NOT_ALLOWED"
