"""No protected health information in any log line or metric, through the main flows and their failures; and
the business metrics are published as EMF."""

from __future__ import annotations

import json
import logging

import pytest

from tests.faults import HttpAnswer
from tests.helpers import admin, doctor, patient

NAME = "Zelda Quixote"
EMAIL = "zelda.quixote@example.org"
PHONE = "+16175550199"
REASON = "recurring migraine aura"
PHI = (NAME, EMAIL, PHONE, "6175550199", REASON, "migraine")
DAY = "2026-12-02"


def zelda(sub: str = "zelda") -> dict[str, str]:
    """A patient whose name, e-mail and phone (all verified) are the PHI the logs must never show."""
    return patient(sub, NAME, email=EMAIL, phone_number=PHONE, phone_number_verified=True)


@pytest.fixture
def loud(monkeypatch):
    """Everything at DEBUG, metrics on: the most a production log could ever show."""
    from chalicelib.observability import logger

    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    logger.setLevel("DEBUG")
    logging.getLogger().setLevel(logging.DEBUG)
    yield
    logger.setLevel("WARNING")


def test_main_flows_leave_no_phi_in_logs_or_metrics(api, wired, clock, loud, capsys, caplog):
    caplog.set_level(logging.DEBUG)
    doc = api.doctor_with_hours()
    book = {
        "doctorId": doc["id"],
        "date": DAY,
        "time": "10:00",
        "type": "in-person",
        "reason": REASON,
        "notes": f"{NAME} asked about {REASON}",
        "reminderPreferences": {"email": True, "sms": True, "timing": "24h"},
    }
    made = api.call("POST", "/api/appointments", {**zelda(), "Idempotency-Key": "z-1"}, book)
    assert made.status_code == 201
    a = made.data["id"]
    # failures that carry the same data: conflicts, validation errors, a foreign patient
    assert api.call("POST", "/api/appointments", zelda("other"), book).status_code == 409
    assert api.call("POST", "/api/appointments", zelda(), {**book, "reason": REASON * 40}).status_code == 400
    assert api.call("POST", "/api/appointments", zelda(), {**book, "extra": EMAIL}).status_code == 400
    assert api.call("GET", f"/api/appointments/{a}", zelda("stranger")).status_code == 404
    api.call("PUT", f"/api/appointments/{a}/reschedule", zelda(), {"date": DAY, "time": "11:00"})
    api.call("GET", f"/api/admin/appointments/{a}/audit", admin())
    api.call("GET", f"/api/appointments/doctor/{doc['id']}", doctor(doc["id"]))
    # reminders: one sent, one refused by SES with an error naming the address
    from chalice.test import Client

    from app import app

    def rejected(**_):
        return HttpAnswer(400), {
            "Error": {"Code": "MessageRejected", "Message": f"Email address is not verified: {EMAIL}"},
            "ResponseMetadata": {"HTTPStatusCode": 400},
        }

    wired.deliverer.ses.meta.events.register("before-call.sesv2.SendEmail", rejected)
    clock.current = clock.current.replace(day=1, hour=16)
    with Client(app) as lambdas:
        assert (
            lambdas.lambda_.invoke("reminder_dispatcher", {"reminderId": f"{a}_sms-24h"}).payload["outcome"] == "sent"
        )
        assert (
            lambdas.lambda_.invoke("reminder_dispatcher", {"reminderId": f"{a}_email-24h"}).payload["outcome"]
            == "failed"
        )
    failed = api.call("GET", "/api/admin/reminders?status=failed", admin()).data["reminders"]
    assert EMAIL not in failed[0]["lastError"] and "[email]" in failed[0]["lastError"]
    api.call("DELETE", f"/api/appointments/{a}", zelda())
    # an unexpected error whose message carries contact details is logged redacted
    logging.getLogger("clinic.api").error("boom for %s", EMAIL, exc_info=RuntimeError(f"call {PHONE}"))

    captured = capsys.readouterr()
    everything = captured.out + captured.err + caplog.text + "".join(str(r.__dict__) for r in caplog.records)
    assert len(everything) > 500  # there were logs and metrics to look at
    for secret in PHI:
        assert secret not in everything, secret
    metrics = [json.loads(line) for line in captured.out.splitlines() if line.startswith("{") and "_aws" in line]
    published = {m["Name"] for blob in metrics for d in blob["_aws"]["CloudWatchMetrics"] for m in d["Metrics"]}
    assert {
        "BookingCreated",
        "BookingConflict",
        "BookingRescheduled",
        "BookingCancelled",
        "ReminderSent",
        "ReminderFailed",
    } <= published
    assert {blob["_aws"]["CloudWatchMetrics"][0]["Namespace"] for blob in metrics} == {"ClinicBooking"}
