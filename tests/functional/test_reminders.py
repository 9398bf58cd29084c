"""Reminders end to end against moto (DynamoDB, EventBridge Scheduler, SES v2, SNS): schedules at the right
`at()` times, moved and deleted with the appointment, delivered once, never after a cancellation."""

from __future__ import annotations

import email
import json
from datetime import timedelta

import boto3
import pytest
from icalendar import Calendar
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends
from moto.sns.models import sns_backends

from tests.faults import FaultInjector, HttpAnswer, transaction_cancelled
from tests.helpers import admin, patient, token

DAY = "2026-12-02"  # 10:00 New York = 15:00Z; NOW is 2026-12-01T08:00Z


EVERY_CHANNEL = {"email": True, "sms": True, "timings": ["24h", "2h"]}
"""The reminder preferences these tests book with unless they say otherwise: e-mail and SMS, a day and 2 h ahead."""


@pytest.fixture
def scheduler(wired):
    return boto3.client("scheduler", region_name="us-east-1")


def schedule_of(scheduler, wired, reminder_id):
    try:
        return scheduler.get_schedule(Name=f"r-{reminder_id}", GroupName=wired.settings.schedule_group)
    except scheduler.exceptions.ResourceNotFoundException:
        return None


def emails_sent() -> int:
    """Messages SES accepted (moto's send quota counts the To header twice, so count the messages)."""
    return len(ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages)


def sms_sent() -> list:
    return list(sns_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sms_messages.values())


def dispatch(client, reminder_id, patient_id=None):
    """The reminder Lambda invoked as a schedule invokes it (`patient_id`), or as one made before its input named the
    patient."""
    from app import app  # noqa: F401 - the Lambda is registered on the app

    event = {"reminderId": reminder_id} | ({"patientId": patient_id} if patient_id else {})
    answer = client.lambda_.invoke("reminder_dispatcher", event)
    return answer.payload["outcome"]


def test_booking_creates_one_reminder_per_channel_and_timing_with_schedules_at_the_right_time(api, wired, scheduler):
    a = api.book(api.doctor_with_hours(), reason="chest pain", reminderPreferences=EVERY_CHANNEL)
    listed = api.call("GET", f"/api/reminders/appointment/{a['id']}", patient())
    assert listed.status_code == 200
    reminders = {(r["type"], r["timing"]): r for r in listed.data["reminders"]}
    assert set(reminders) == {("email", "24h"), ("email", "2h"), ("sms", "24h"), ("sms", "2h")}
    assert reminders[("email", "24h")]["scheduledTime"] == "2026-12-01T15:00:00Z"
    assert reminders[("sms", "2h")]["scheduledTime"] == "2026-12-02T13:00:00Z"
    assert reminders[("sms", "2h")]["recipientPhone"] == "+16175550100"
    assert all(r["status"] == "pending" and "chest pain" not in r["message"] for r in reminders.values())
    found = schedule_of(scheduler, wired, reminders[("email", "24h")]["id"])
    assert found["ScheduleExpression"] == "at(2026-12-01T15:00:00)"
    assert found["ScheduleExpressionTimezone"] == "UTC"
    assert found["Target"]["Arn"].endswith(":function:clinic-reminder-dispatcher")
    assert json.loads(found["Target"]["Input"]) == {  # the patient too: the claim reserves one of its messages
        "reminderId": reminders[("email", "24h")]["id"],
        "patientId": a["patientId"],
    }
    assert found["Target"]["RetryPolicy"]["MaximumRetryAttempts"] == 3
    assert found["Target"]["DeadLetterConfig"]["Arn"].endswith(":fn-reminder-dlq")
    assert found.get("ActionAfterCompletion", "DELETE") == "DELETE"


def test_a_timing_already_past_is_skipped_and_the_response_says_so(api):
    made = api.book(
        api.doctor_with_hours(),
        date="2026-12-01",
        time="14:00",
        reminderPreferences={"email": True, "timings": ["24h", "2h"]},
    )
    assert made["skippedReminders"] == [{"type": "email", "timing": "24h", "reason": "already past at booking time"}]


def test_a_channel_without_an_address_fails_at_scheduling_time(api):
    doc = api.doctor_with_hours()
    no_phone = {
        "Authorization": token(
            {
                "sub": "p9",
                "cognito:username": "p9",
                "cognito:groups": ["patients"],
                "email": "p9@example.org",
                "phone_number": "12345",
            }
        )
    }
    refused = api.try_book(doc, no_phone, reminderPreferences={"sms": True})
    assert (refused.status_code, refused.data["error"]["code"]) == (422, "NO_RECIPIENT")
    assert refused.data["error"]["details"] == {"channels": ["sms"]}
    # nothing half-done: the slot is still free
    assert api.book(doc, patient("p10"), reminderPreferences={"email": True})["status"] == "scheduled"


def test_reschedule_moves_pending_reminders_and_their_schedules(api, wired, scheduler):
    a = api.book(api.doctor_with_hours(), reminderPreferences=EVERY_CHANNEL)
    moved = api.call(
        "PUT", f"/api/appointments/{a['id']}/reschedule", patient(), {"date": "2026-12-03", "time": "11:00"}
    )
    assert moved.status_code == 200
    reminders = api.call("GET", f"/api/reminders/appointment/{a['id']}", patient()).data["reminders"]
    email_24h = next(r for r in reminders if r["type"] == "email" and r["timing"] == "24h")
    assert email_24h["scheduledTime"] == "2026-12-02T16:00:00Z"
    assert schedule_of(scheduler, wired, email_24h["id"])["ScheduleExpression"] == "at(2026-12-02T16:00:00)"


def test_cancel_cancels_reminders_and_deletes_their_schedules(api, wired, scheduler, lambdas):
    a = api.book(api.doctor_with_hours(), reminderPreferences=EVERY_CHANNEL)
    api.call("DELETE", f"/api/appointments/{a['id']}", patient())
    reminders = api.call("GET", f"/api/reminders/appointment/{a['id']}", patient()).data["reminders"]
    assert {r["status"] for r in reminders} == {"cancelled"}
    assert all(schedule_of(scheduler, wired, r["id"]) is None for r in reminders)
    # a schedule that fires anyway (already on its way) sends nothing
    assert dispatch(lambdas, reminders[0]["id"]) == "not-claimed"
    assert emails_sent() == 0


def test_dispatcher_sends_exactly_once_when_invoked_twice(api, wired, clock, lambdas):
    a = api.book(api.doctor_with_hours(), reminderPreferences=EVERY_CHANNEL)
    rid = f"{a['id']}_email-24h"
    clock.current = clock.current.replace(hour=15)  # the reminder's time
    assert dispatch(lambdas, rid) == "sent"
    assert dispatch(lambdas, rid) == "not-claimed"
    assert emails_sent() == 1
    sent = api.call("GET", f"/api/reminders/appointment/{a['id']}", patient()).data["reminders"]
    done = next(r for r in sent if r["id"] == rid)
    assert (done["status"], done["sentAt"], done["attempts"]) == ("sent", "2026-12-01T15:00:00Z", 1)
    assert api.call("GET", f"/api/appointments/{a['id']}", patient()).data["reminderSent"] is True


def test_a_lone_dispatch_costs_one_claim_one_read_one_send_and_one_final_write(api, wired, clock, lambdas, scheduler):
    # GIVEN an e-mail reminder due now, the patient's first message of the day
    a = api.book(api.doctor_with_hours(), reminderPreferences={"email": True, "timing": "24h"})
    clock.current = clock.current.replace(hour=15)
    rid = f"{a['id']}_email-24h"
    scheduled = json.loads(schedule_of(scheduler, wired, rid)["Target"]["Input"])
    calls = FaultInjector(wired.store)
    # WHEN its schedule invokes the dispatcher with its input
    outcome = dispatch(lambdas, scheduled["reminderId"], scheduled["patientId"])
    calls.close()
    # THEN it claims the reminder and reserves one of the patient's messages of the day in one transaction, reads
    # the reminder, the visit and the patient in one call, sends once and records the outcome in one transaction:
    # no other DynamoDB call
    assert outcome == "sent" and emails_sent() == 1
    assert calls.calls == {"TransactWriteItems": 2, "TransactGetItems": 1}


def test_a_lone_dispatchs_read_that_meets_a_concurrent_transaction_is_tried_again(api, wired, clock, lambdas):
    # GIVEN an e-mail reminder due now, whose first read is cancelled by a transaction on the same items (the
    # visit's other reminder being recorded at that moment)
    a = api.book(api.doctor_with_hours(), reminderPreferences={"email": True, "timing": "24h"})
    clock.current = clock.current.replace(hour=15)
    faults = FaultInjector(wired.store)
    faults.fail("TransactGetItems", transaction_cancelled(2))
    # WHEN its schedule fires
    outcome = dispatch(lambdas, f"{a['id']}_email-24h")
    faults.close()
    # THEN the read is tried again and the message goes out once
    assert outcome == "sent" and emails_sent() == 1
    assert faults.calls["TransactGetItems"] == 2


def test_a_claim_that_meets_a_concurrent_transaction_is_tried_again(api, wired, clock, lambdas):
    # GIVEN an e-mail reminder due now, whose first claim is cancelled by a transaction on the same items (another
    # dispatch to the same patient reserving its message of the day at that moment)
    a = api.book(api.doctor_with_hours(), reminderPreferences={"email": True, "timing": "24h"})
    clock.current = clock.current.replace(hour=15)
    faults = FaultInjector(wired.store)
    faults.fail("TransactWriteItems", transaction_cancelled(2))
    # WHEN its schedule fires
    outcome = dispatch(lambdas, f"{a['id']}_email-24h", a["patientId"])
    faults.close()
    # THEN the claim is tried again and the message goes out once (two claims tried, one outcome recorded)
    assert outcome == "sent" and emails_sent() == 1
    assert faults.calls["TransactWriteItems"] == 3


def test_a_claim_that_keeps_meeting_concurrent_transactions_is_left_pending_for_the_schedules_retry(
    api, wired, clock, lambdas
):
    # GIVEN an e-mail reminder due now, whose claims are all cancelled by concurrent transactions
    a = api.book(api.doctor_with_hours(), reminderPreferences={"email": True, "timing": "24h"})
    rid = f"{a['id']}_email-24h"
    clock.current = clock.current.replace(hour=15)
    faults = FaultInjector(wired.store)
    faults.fail("TransactWriteItems", *[transaction_cancelled(2) for _ in range(3)])
    # WHEN its schedule fires
    with pytest.raises(Exception):  # noqa: B017 - the invocation fails as busy: the schedule's retry policy tries again
        dispatch(lambdas, rid, a["patientId"])
    faults.close()
    # THEN nothing was sent and nothing claimed or reserved: the schedule's retry sends it
    assert emails_sent() == 0
    assert wired.adapters.reminders.get(rid).status.value == "pending"
    assert dispatch(lambdas, rid, a["patientId"]) == "sent" and emails_sent() == 1


def test_dispatcher_does_not_send_early(api, lambdas):
    a = api.book(api.doctor_with_hours(), reminderPreferences=EVERY_CHANNEL)
    assert dispatch(lambdas, f"{a['id']}_email-24h") == "not-claimed"
    assert emails_sent() == 0


def test_email_has_text_html_and_the_ics_and_sms_goes_to_the_e164_number(api, wired, clock, lambdas):
    a = api.book(api.doctor_with_hours(), reason="chest pain", reminderPreferences=EVERY_CHANNEL)
    clock.current = clock.current.replace(hour=15)
    assert dispatch(lambdas, f"{a['id']}_email-24h") == "sent"
    assert dispatch(lambdas, f"{a['id']}_sms-24h") == "sent"
    raw = ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages[-1].raw_data
    mail = email.message_from_string(raw)
    parts = {p.get_content_type(): p for p in mail.walk()}
    assert {"text/plain", "text/html", "text/calendar"} <= set(parts)
    assert "chest pain" not in raw
    calendar = Calendar.from_ical(bytes(parts["text/calendar"].get_payload(decode=True)))
    event = calendar.walk("VEVENT")[0]
    assert str(event["UID"]) == f"{a['id']}@clinic-booking"
    assert event.decoded("DTSTART").isoformat() == "2026-12-02T15:00:00+00:00"  # 10:00 in New York, as UTC
    ((_, text),) = [m for m in sms_sent() if m[0] == "+16175550100"]
    assert text.startswith("Reminder:") and len(text) <= 160


def test_an_appointment_cancelled_after_its_schedule_was_created_gets_no_message(api, wired, clock, lambdas):
    a = api.book(api.doctor_with_hours(), reminderPreferences=EVERY_CHANNEL)
    rid = f"{a['id']}_email-24h"
    api.call("DELETE", f"/api/appointments/{a['id']}", admin())
    # even if the reminder had stayed pending (its cancellation lost), the dispatcher re-reads the appointment
    store = wired.adapters.reminders
    from dataclasses import replace

    from chalicelib.domain.reminders import ReminderStatus

    store.replace(replace(store.get(rid), status=ReminderStatus.PENDING), ReminderStatus.CANCELLED)
    clock.current = clock.current.replace(hour=15)
    assert dispatch(lambdas, rid) == "cancelled"
    assert emails_sent() == 0


def ses_fault(code: str, message: str):
    return HttpAnswer(400), {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": 400}}


@pytest.fixture
def ses_faults(wired):
    queue: list = []
    calls = {"n": 0}

    def before(**_):
        calls["n"] += 1
        return queue.pop(0) if queue else None

    events = wired.deliverer.ses.meta.events
    events.register("before-call.sesv2.SendEmail", before)
    yield queue, calls
    events.unregister("before-call.sesv2.SendEmail", before)


def test_throttling_is_retried_with_backoff_then_succeeds(api, wired, clock, lambdas, ses_faults):
    queue, calls = ses_faults
    queue.extend([ses_fault("TooManyRequestsException", "Maximum sending rate exceeded.")] * 2)
    a = api.book(api.doctor_with_hours(), reminderPreferences=EVERY_CHANNEL)
    clock.current = clock.current.replace(hour=15)
    assert dispatch(lambdas, f"{a['id']}_email-24h") == "sent"
    assert calls["n"] == 3 and emails_sent() == 1


def test_throttling_that_persists_is_tried_again_later_then_fails(api, wired, clock, lambdas, ses_faults):
    queue, _ = ses_faults
    queue.extend([ses_fault("TooManyRequestsException", "Maximum sending rate exceeded.")] * 100)
    a = api.book(api.doctor_with_hours(), reminderPreferences=EVERY_CHANNEL)
    rid = f"{a['id']}_email-24h"
    clock.current = clock.current.replace(hour=15)
    outcomes = []
    for _ in range(6):
        outcomes.append(dispatch(lambdas, rid))
        clock.current += timedelta(hours=1)
    assert outcomes == ["retry-later"] * 4 + ["failed", "not-claimed"]
    failed = api.call("GET", "/api/admin/reminders?status=failed", admin()).data["reminders"]
    assert [(r["id"], r["attempts"]) for r in failed] == [(rid, 5)]
    assert "gave up after 5 attempts" in failed[0]["lastError"]


def test_a_permanent_error_fails_at_once_with_the_reason(api, wired, clock, lambdas, ses_faults):
    queue, calls = ses_faults
    queue.append(ses_fault("MessageRejected", "Email address is not verified."))
    a = api.book(api.doctor_with_hours(), reminderPreferences=EVERY_CHANNEL)
    clock.current = clock.current.replace(hour=15)
    assert dispatch(lambdas, f"{a['id']}_email-24h") == "failed"
    assert calls["n"] == 1
    reminder = api.call("GET", f"/api/reminders/appointment/{a['id']}", patient()).data["reminders"]
    failed = next(r for r in reminder if r["id"] == f"{a['id']}_email-24h")
    assert failed["status"] == "failed" and "not verified" in failed["lastError"]


def test_sweep_delivers_a_reminder_whose_schedule_is_missing_and_recreates_upcoming_ones(
    api, wired, clock, scheduler, lambdas
):
    # schedules cannot be created at booking time: the reminders are flagged as missing their schedule
    [scheduler_client] = wired.adapters.scheduler.botocore_clients()
    events = scheduler_client.meta.events
    events.register("before-call.scheduler.CreateSchedule", scheduler_down)
    a = api.book(api.doctor_with_hours(), reminderPreferences=EVERY_CHANNEL)
    events.unregister("before-call.scheduler.CreateSchedule", scheduler_down)
    for r in api.call("GET", f"/api/reminders/appointment/{a['id']}", patient()).data["reminders"]:
        assert schedule_of(scheduler, wired, r["id"]) is None
    clock.current = clock.current.replace(hour=15, minute=5)  # 24h reminders are 5 minutes overdue
    report = lambdas.lambda_.invoke("reminder_sweep", tick(lambdas)).payload
    assert report["delivered"] == {"sent": 2}
    assert emails_sent() == 1 and len(sms_sent()) == 1
    clock.current = clock.current.replace(day=2, hour=12, minute=30)  # 2h reminders due in 30 minutes
    report = lambdas.lambda_.invoke("reminder_sweep", tick(lambdas)).payload
    assert report["schedulesEnsured"] == 2
    assert schedule_of(scheduler, wired, f"{a['id']}_sms-2h")["ScheduleExpression"] == "at(2026-12-02T13:00:00)"


def scheduler_down(**_):
    return HttpAnswer(500), {
        "Error": {"Code": "InternalServerException", "Message": "unavailable"},
        "ResponseMetadata": {"HTTPStatusCode": 500},
    }


def tick(lambdas):
    return lambdas.events.generate_cw_event("aws.events", "Scheduled Event", {}, [], "us-east-1")


def test_reminder_routes_update_cancel_and_schedule(api, wired, scheduler):
    a = api.book(api.doctor_with_hours(), reminderPreferences={"email": True, "timing": "24h"})
    rid = f"{a['id']}_email-24h"
    moved = api.call("PUT", f"/api/reminders/{rid}", patient(), {"timing": "2h"})
    assert moved.status_code == 200
    worded = api.call("PUT", f"/api/reminders/{rid}", admin(), {"customMessage": "Bring your card"})  # staff only
    assert (worded.data["scheduledTime"], worded.data["customMessage"]) == ("2026-12-02T13:00:00Z", "Bring your card")
    assert worded.data["message"].endswith("Bring your card")
    assert schedule_of(scheduler, wired, rid)["ScheduleExpression"] == "at(2026-12-02T13:00:00)"
    too_late = api.call("PUT", f"/api/reminders/{rid}", patient(), {"scheduledTime": "2026-12-03T09:00:00Z"})
    assert too_late.status_code == 400
    cancelled = api.call("DELETE", f"/api/reminders/{rid}", patient())
    assert cancelled.status_code == 200 and cancelled.data["status"] == "cancelled"
    assert schedule_of(scheduler, wired, rid) is None
    again = api.call("DELETE", f"/api/reminders/{rid}", patient())
    assert (again.status_code, again.data["error"]["code"]) == (409, "INVALID_STATE")
    added = api.call(
        "POST", "/api/reminders/schedule", patient(), {"appointmentId": a["id"], "sms": True, "timings": ["30m", "15m"]}
    )
    assert added.status_code == 201
    assert sorted(r["timing"] for r in added.data["reminders"]) == ["15m", "30m"]
    twice = api.call(
        "POST", "/api/reminders/schedule", patient(), {"appointmentId": a["id"], "sms": True, "timing": "30m"}
    )
    assert twice.status_code == 409


def test_push_devices_and_a_disabled_endpoint_is_cleaned_up(api, wired, clock, lambdas, settings, fcm_push):
    sns = boto3.client("sns", region_name="us-east-1")
    no_apns = api.call("POST", "/api/patients/me/devices", patient(), {"platform": "apns", "token": "apns-token-1"})
    assert (no_apns.status_code, no_apns.data["error"]["code"]) == (422, "PUSH_NOT_CONFIGURED")
    first = api.call("POST", "/api/patients/me/devices", patient(), {"platform": "fcm", "token": "fcm-token-1"})
    second = api.call("POST", "/api/patients/me/devices", patient(), {"platform": "fcm", "token": "fcm-token-2"})
    assert first.status_code == second.status_code == 201
    sns.set_endpoint_attributes(EndpointArn=first.data["endpoint"], Attributes={"Enabled": "false"})
    a = api.book(api.doctor_with_hours(), reminderPreferences={"push": True, "timing": "24h"})
    clock.current = clock.current.replace(hour=15)
    assert dispatch(lambdas, f"{a['id']}_push-24h") == "sent"
    profile = wired.adapters.patients.get("patient-1")
    assert [d.endpoint for d in profile.devices] == [second.data["endpoint"]]


def test_push_without_a_device_fails_at_scheduling_time(api):
    doc = api.doctor_with_hours()
    refused = api.try_book(doc, patient("nodevice"), reminderPreferences={"push": True})
    assert (refused.status_code, refused.data["error"]["code"]) == (422, "NO_RECIPIENT")


def test_admin_lists_retries_and_cancels_in_bulk(api, wired, clock, lambdas, ses_faults):
    queue, _ = ses_faults
    queue.append(ses_fault("MessageRejected", "Email address is not verified."))
    a = api.book(api.doctor_with_hours(), reminderPreferences=EVERY_CHANNEL)
    clock.current = clock.current.replace(hour=15)
    dispatch(lambdas, f"{a['id']}_email-24h")
    failed = api.call("GET", "/api/admin/reminders?status=failed&from=2026-12-01&to=2026-12-01", admin())
    assert [r["id"] for r in failed.data["reminders"]] == [f"{a['id']}_email-24h"]
    none_later = api.call("GET", "/api/admin/reminders?status=failed&from=2026-12-02", admin())
    assert none_later.data["reminders"] == []
    retried = api.call("POST", "/api/admin/reminders/retry", admin(), {"reminderIds": [f"{a['id']}_email-24h"]})
    assert retried.data["outcomes"] == {f"{a['id']}_email-24h": "pending"}
    clock.current += timedelta(minutes=2)
    assert dispatch(lambdas, f"{a['id']}_email-24h") == "sent"
    pending = api.call("GET", "/api/admin/reminders?status=pending", admin()).data["reminders"]
    cancelled = api.call("POST", "/api/admin/reminders/cancel", admin(), {"reminderIds": [r["id"] for r in pending]})
    assert set(cancelled.data["outcomes"].values()) == {"cancelled"}
    assert api.call("GET", "/api/admin/reminders?status=pending", admin()).data["reminders"] == []


def test_cancelling_after_a_schedule_already_fired_and_deleted_itself_is_fine(api, wired, scheduler, caplog):
    a = api.book(api.doctor_with_hours(), reminderPreferences=EVERY_CHANNEL)
    for r in api.call("GET", f"/api/reminders/appointment/{a['id']}", patient()).data["reminders"]:
        scheduler.delete_schedule(Name=f"r-{r['id']}", GroupName=wired.settings.schedule_group)
    cancelled = api.call("DELETE", f"/api/appointments/{a['id']}", patient())
    assert cancelled.status_code == 200
    assert "could not delete the schedule" not in caplog.text
    reminders = api.call("GET", f"/api/reminders/appointment/{a['id']}", patient()).data["reminders"]
    assert {r["status"] for r in reminders} == {"cancelled"}


# --- a reminder moved onto another's timing -------------------------------------------------------------------
def test_moving_a_reminder_onto_a_timing_its_channel_has_is_a_conflict_and_changes_nothing(api, wired):
    # GIVEN a visit with e-mail reminders at 24 h and at 2 h, and an SMS at 2 h
    a = api.book(api.doctor_with_hours(), reminderPreferences={"email": True, "sms": True, "timings": ["24h", "2h"]})
    rid = f"{a['id']}_email-2h"
    # WHEN the 2-hour e-mail is moved to 24 h, or to the instant the 24-hour one goes out
    by_timing = api.call("PUT", f"/api/reminders/{rid}", patient(), {"timing": "24h"})
    by_instant = api.call("PUT", f"/api/reminders/{rid}", patient(), {"scheduledTime": "2026-12-01T15:00:00Z"})
    # THEN both are refused with 409 CONFLICT naming the reminder already there, and nothing changed
    for refused in (by_timing, by_instant):
        assert (refused.status_code, refused.data["error"]["code"]) == (409, "CONFLICT")
        assert refused.data["error"]["details"]["reminderId"] == f"{a['id']}_email-24h"
    listed = api.call("GET", f"/api/reminders/appointment/{a['id']}", patient()).data["reminders"]
    assert sorted((r["type"], r["timing"], r["status"]) for r in listed) == [
        ("email", "24h", "pending"),
        ("email", "2h", "pending"),
        ("sms", "24h", "pending"),
        ("sms", "2h", "pending"),
    ]
    # WHEN the 24-hour e-mail is cancelled THEN the 2-hour one may take its timing
    api.call("DELETE", f"/api/reminders/{a['id']}_email-24h", patient())
    moved = api.call("PUT", f"/api/reminders/{rid}", patient(), {"timing": "24h"})
    assert (moved.status_code, moved.data["timing"], moved.data["kind"]) == (200, "24h", "reminder")


def test_a_new_reminder_at_the_timing_a_moved_one_took_is_a_conflict(api, wired):
    # GIVEN a visit whose only e-mail reminder was moved from 2 h to 24 h
    a = api.book(api.doctor_with_hours(), reminderPreferences={"email": True, "timing": "2h"})
    assert api.call("PUT", f"/api/reminders/{a['id']}_email-2h", patient(), {"timing": "24h"}).status_code == 200
    # WHEN a 24-hour e-mail is added
    added = api.call("POST", "/api/reminders/schedule", patient(), {"appointmentId": a["id"], "email": True})
    # THEN it is refused, and the visit still has one e-mail at 24 h
    assert (added.status_code, added.data["error"]["code"]) == (409, "CONFLICT")
    listed = api.call("GET", f"/api/reminders/appointment/{a['id']}", patient()).data["reminders"]
    assert [(r["type"], r["timing"]) for r in listed] == [("email", "24h")]


def test_the_video_link_reminder_is_a_kind_of_its_own_and_is_not_moved(api, wired):
    # GIVEN a telehealth visit with an e-mail at 24 h, so also the 10-minute e-mail with the link
    a = api.book(api.doctor_with_hours(), type="telehealth", reminderPreferences={"email": True, "timing": "24h"})
    link_id = f"{a['id']}_email-10m"
    listed = api.call("GET", f"/api/reminders/appointment/{a['id']}", patient()).data["reminders"]
    # THEN the response says which is which
    assert sorted((r["timing"], r["kind"]) for r in listed) == [("10m", "video-link"), ("24h", "reminder")]
    # WHEN the app moves the link reminder to 24 h, or to some instant
    to_timing = api.call("PUT", f"/api/reminders/{link_id}", patient(), {"timing": "24h"})
    to_instant = api.call("PUT", f"/api/reminders/{link_id}", admin(), {"scheduledTime": "2026-12-02T10:00:00Z"})
    # THEN both are refused and it stays the link reminder, ten minutes before, with the link
    for refused in (to_timing, to_instant):
        assert (refused.status_code, refused.data["error"]["code"]) == (409, "INVALID_STATE")
        assert refused.data["error"]["details"] == {"kind": "video-link"}
    # WHEN staff change only its message THEN it keeps its moment and its link
    worded = api.call("PUT", f"/api/reminders/{link_id}", admin(), {"customMessage": "Test your camera first"})
    assert worded.status_code == 200
    assert (worded.data["kind"], worded.data["timing"], worded.data["scheduledTime"]) == (
        "video-link",
        "10m",
        "2026-12-02T14:50:00Z",
    )
    assert a["telehealthUrl"] in worded.data["message"] and "Test your camera first" in worded.data["message"]
