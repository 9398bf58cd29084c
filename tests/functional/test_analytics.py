"""The admin analytics report, from aggregates that every booking, cancel, reschedule, status change and
reminder outcome updates in its own transaction."""

from __future__ import annotations

from datetime import timedelta

from tests.helpers import STANDARD_AVAILABILITY, admin, doctor, patient


def test_report_counts_events_utilization_lead_time_and_reminder_delivery(api, wired, clock):
    # Mon-Fri 09:00-17:00, lunch 12:00-13:00: 420 minutes a day; patients may book 30 or 60 minutes
    doc = api.doctor_with_hours({**STANDARD_AVAILABILITY, "durations": [60]})
    other = api.doctor_with_hours(name="Dr. Quiet")
    kept = api.book(
        doc,
        patient("p1"),
        date="2026-12-02",
        time="09:00",
        duration=60,
        reminderPreferences={"email": True, "timing": "24h"},
    )
    cancelled = api.book(doc, patient("p2"), date="2026-12-02", time="11:00", duration=30)
    moved = api.book(doc, patient("p3"), date="2026-12-02", time="14:00", duration=30)
    api.call("DELETE", f"/api/appointments/{cancelled['id']}", patient("p2"))
    api.call(
        "PUT", f"/api/appointments/{moved['id']}/reschedule", patient("p3"), {"date": "2026-12-03", "time": "10:00"}
    )
    clock.current = clock.current.replace(hour=14)  # the 24h reminder of the 09:00 visit is due
    from chalice.test import Client

    from app import app

    with Client(app) as lambdas:
        outcome = lambdas.lambda_.invoke("reminder_dispatcher", {"reminderId": f"{kept['id']}_email-24h"})
        assert outcome.payload["outcome"] == "sent"
    clock.current = clock.current + timedelta(days=1, hours=1)  # 10:00 local on the 2nd
    assert (
        api.call(
            "PATCH", f"/api/appointments/{kept['id']}/status", doctor(doc["id"]), {"status": "completed"}
        ).status_code
        == 200
    )

    report = api.call("GET", "/api/admin/analytics?from=2026-12-01&to=2026-12-03", admin())
    assert report.status_code == 200, report.data
    days = {d["date"]: d for d in report.data["days"]}
    assert days["2026-12-02"] == {
        "date": "2026-12-02",
        "bookings": 3,
        "cancellations": 1,
        "reschedules": 0,
        "completions": 1,
        "noShows": 0,
    }
    assert days["2026-12-03"]["reschedules"] == 1
    doctors = {d["doctorId"]: d for d in report.data["doctors"]}
    assert doctors[doc["id"]]["bookedMinutes"] == 90  # 60 kept on the 2nd + 30 moved to the 3rd
    assert doctors[doc["id"]]["availableMinutes"] == 3 * 420
    assert doctors[doc["id"]]["utilization"] == round(90 / 1260, 4)
    assert doctors[other["id"]]["bookedMinutes"] == 0
    # booked at 2026-12-01 08:00Z for 14:00Z, 16:00Z and 19:00Z on the 2nd: 30 h, 32 h and 35 h
    assert report.data["leadTime"] == {"bookings": 3, "averageHours": 32.33}
    assert report.data["reminders"]["email"] == {"sent": 1, "failed": 0, "deliveryRate": 1.0}
    assert report.data["reminders"]["sms"]["deliveryRate"] is None

    one = api.call("GET", f"/api/admin/analytics?from=2026-12-01&to=2026-12-03&doctorId={other['id']}", admin())
    assert [d["doctorId"] for d in one.data["doctors"]] == [other["id"]]
    assert api.call("GET", "/api/admin/analytics?from=2026-01-01&to=2026-12-31", admin()).status_code == 400
    assert api.call("GET", "/api/admin/analytics?from=2026-12-03&to=2026-12-01", admin()).status_code == 400
    assert api.call("GET", "/api/admin/analytics?from=2026-12-01", admin()).status_code == 400
