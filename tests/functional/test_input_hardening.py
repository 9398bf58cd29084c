"""Input an attacker or a careless client sends: huge or deeply nested bodies, control characters in names and
short texts, and lists read a page at a time; every case answers 4xx in the contract's shape."""

from __future__ import annotations

import json

import pytest

from tests.helpers import admin, patient


def test_a_body_over_64_kib_is_413(api):
    huge = json.dumps({"name": "x" * (64 * 1024)})
    refused = api.call("POST", "/api/admin/doctors", admin(), huge)
    assert (refused.status_code, refused.data["error"]["code"]) == (413, "PAYLOAD_TOO_LARGE")


def test_a_body_nested_deeper_than_32_is_400_and_never_500(api):
    for depth in (33, 30_000):
        body = "[" * depth + "]" * depth
        refused = api.call("POST", "/api/appointments", patient(), '{"reason": ' + body + "}")
        assert (refused.status_code, refused.data["error"]["code"]) == (400, "VALIDATION_ERROR"), depth
    # brackets inside strings do not count
    fine = api.call("POST", "/api/admin/doctors", admin(), {"name": "[[[[" * 20, "specialty": "x"})
    assert fine.status_code == 400 and "name" not in fine.data["error"]["details"]["fields"]


@pytest.mark.parametrize("bad", ["Dr. Eve\r\nBcc: all@example.org", "Dr.\x00Eve", "Dr. \u202eeve", "Dr.\x1b[31m"])
def test_names_refuse_control_characters(api, bad):
    body = {"name": bad, "specialty": "GP", "location": "Room 1", "timezone": "UTC", "telehealth": False}
    refused = api.call("POST", "/api/admin/doctors", admin(), body)
    assert (refused.status_code, refused.data["error"]["code"]) == (400, "VALIDATION_ERROR")
    assert "name" in refused.data["error"]["details"]["fields"]


def test_short_texts_refuse_line_breaks_and_long_texts_keep_them(api):
    doc = api.doctor_with_hours()
    refused = api.try_book(doc, reason="r\x07")
    assert refused.status_code == 400 and "reason" in refused.data["error"]["details"]["fields"]
    custom = api.call("PUT", "/api/reminders/x_email-24h", admin(), {"customMessage": "Hi\nthere"})
    assert custom.status_code == 400 and "customMessage" in custom.data["error"]["details"]["fields"]
    made = api.try_book(doc, reason="Cough\nsince Monday")
    assert made.status_code == 201


def test_lists_are_paginated_with_an_opaque_token(api):
    doc = api.doctor_with_hours()
    for at in ("09:00", "09:30", "10:00", "10:30", "11:00"):
        api.call("PUT", "/api/patients/me", patient())
        api.book(doc, admin(), patientId="patient-1", time=at)
    path = f"/api/appointments/doctor/{doc['id']}"
    seen, token, pages = [], None, 0
    while True:
        page = api.call("GET", f"{path}?limit=2" + (f"&nextToken={token}" if token else ""), admin()).data
        seen += [a["time"] for a in page["appointments"]]
        pages += 1
        token = page.get("nextToken")
        if not token:
            break
    assert (seen, pages) == (["09:00", "09:30", "10:00", "10:30", "11:00"], 3)
    assert "nextToken" not in api.call("GET", path, admin()).data  # default 50: all on one page
    for bad in ("?limit=0", "?limit=101", "?nextToken=not-ours"):
        refused = api.call("GET", path + bad, admin())
        assert (refused.status_code, refused.data["error"]["code"]) == (400, "VALIDATION_ERROR"), bad


def test_the_admin_reminder_list_is_paginated_too(api):
    doc = api.doctor_with_hours()
    for n, day in enumerate(("2026-12-02", "2026-12-03", "2026-12-04")):
        api.book(doc, patient(f"p{n}"), date=day, reminderPreferences={"email": True})
    first = api.call("GET", "/api/admin/reminders?status=pending&limit=2", admin()).data
    assert len(first["reminders"]) == 2 and first["nextToken"]
    rest = api.call("GET", f"/api/admin/reminders?status=pending&limit=2&nextToken={first['nextToken']}", admin()).data
    assert len(rest["reminders"]) == 1 and "nextToken" not in rest
    ids = [r["id"] for r in first["reminders"] + rest["reminders"]]
    assert len(set(ids)) == 3
    # AND the token is good for this list only: edited, or offered to another filter, it is refused
    for query in (
        f"status=sent&limit=2&nextToken={first['nextToken']}",
        f"status=pending&nextToken=x{first['nextToken']}",
    ):
        refused = api.call("GET", f"/api/admin/reminders?{query}", admin())
        assert (refused.status_code, refused.data["error"]["code"]) == (400, "VALIDATION_ERROR"), query
