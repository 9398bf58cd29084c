"""A request fetches the wired services once (`call.services`, shared with the check of its caller), however many
of them its handler uses."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib import container
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
