"""A request fetches the wired services once (`call.services`, shared with the check of its caller), however many
of them its handler uses."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib import container
from tests.functional.fhir_support import fhir_get
from tests.helpers import admin, patient


@pytest.fixture
def fetches(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts `container.current()` calls (a spy over the real one)."""
    counted: list[int] = []
    real = container.current

    def counting() -> container.Container:
        counted.append(1)
        return real()

    monkeypatch.setattr(container, "current", counting)
    return counted


def test_each_request_fetches_the_container_once(api: Any, fetches: list[int]) -> None:
    # GIVEN a booked visit with reminders
    doc = api.doctor_with_hours()
    visit = api.book(doc, reminderPreferences={"email": True, "timings": ["24h", "2h"]})["id"]
    requests = [
        # the calendar file reads the visit, the patient's language, the file, and logs the access
        ("GET", f"/api/appointments/{visit}/calendar.ics", patient()),
        ("DELETE", f"/api/reminders/{visit}_email-2h", patient()),
        ("GET", "/api/admin/reminders", admin()),
        ("POST", "/api/realtime/ticket", patient()),
        ("GET", f"/api/doctors/{doc['id']}", patient()),
    ]
    for method, path, headers in requests:
        fetches.clear()
        # WHEN the request is served
        answer = api.http.request(method, path, headers=headers, body=b"")
        # THEN it succeeded and the container was fetched once
        assert answer.status_code < 300, (path, answer.status_code)
        assert len(fetches) == 1, (path, len(fetches))


def test_a_fhir_read_fetches_the_container_once(api: Any, fetches: list[int]) -> None:
    # GIVEN a booked visit
    doc = api.doctor_with_hours()
    visit = api.book(doc)["id"]
    slots = f"/Slot?schedule=Schedule/{doc['id']}.in-person&start=ge2026-12-02&start=lt2026-12-09"
    for path in (f"/Appointment/{visit}", slots):
        fetches.clear()
        # WHEN the patient reads it, or searches the doctor's slots, through the FHIR face
        answer = fhir_get(api, path, patient())
        # THEN it succeeded and the container was fetched once (the caller, the use cases, the access log)
        assert answer.status_code == 200, (path, answer.status_code)
        assert len(fetches) == 1, (path, len(fetches))


def test_appointment_and_hold_requests_fetch_the_container_once(api: Any, fetches: list[int]) -> None:
    # GIVEN a doctor, and a day's time held by the patient
    doc = api.doctor_with_hours()
    held = api.call(
        "POST",
        "/api/holds",
        patient(),
        {"doctorId": doc["id"], "date": "2026-12-03", "time": "15:00", "type": "in-person"},
    ).data["id"]
    keyed = {**patient(), "Idempotency-Key": "once-1"}
    body = {
        "doctorId": doc["id"],
        "date": "2026-12-02",
        "time": "10:00",
        "type": "telehealth",
        "reason": "x",
        "reminderPreferences": {"email": True, "timing": "24h"},
    }
    fetches.clear()
    # WHEN a video visit is booked with a key THEN the container was fetched once (booking, room, idempotency)
    visit = api.call("POST", "/api/appointments", keyed, body)
    assert (visit.status_code, len(fetches)) == (201, 1), visit.data
    requests = [
        ("GET", f"/api/appointments/{visit.data['id']}", admin(), None),
        ("GET", f"/api/appointments/doctor/{doc['id']}", admin(), None),
        ("GET", "/api/appointments/patient/patient-1", patient(), None),
        ("PUT", f"/api/appointments/{visit.data['id']}/reschedule", keyed, {"date": "2026-12-02", "time": "11:00"}),
        ("PATCH", f"/api/appointments/{visit.data['id']}/status", patient(), {"status": "confirmed"}),
        ("GET", f"/api/holds/{held}", patient(), None),
        ("DELETE", f"/api/holds/{held}", patient(), None),
        ("DELETE", f"/api/appointments/{visit.data['id']}", patient(), None),
    ]
    for method, path, headers, sent in requests:
        fetches.clear()
        # WHEN each is served THEN it succeeded and fetched the container once
        answer = api.call(method, path, headers, sent)
        assert answer.status_code < 300, (path, answer.status_code, answer.data)
        assert len(fetches) == 1, (path, len(fetches))
