"""The sweep under faults: one reminder that raises is marked and the others due are delivered; schedules are
re-created only for reminders known to miss theirs; every failure path counts ReminderFailed."""

from __future__ import annotations

import json
from datetime import date, time

from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from chalicelib.adapters.dynamodb.models import AppointmentModel
from chalicelib.domain.identity import Caller, Role
from tests.faults import FaultInjector, throttled
from tests.functional.test_reminders import DAY, EVERY_CHANNEL, emails_sent, sms_sent, tick
from tests.helpers import admin, patient


def test_one_reminder_that_cannot_be_built_does_not_stop_the_others(api, wired, clock, lambdas):
    # GIVEN two visits due for their reminders, one whose doctor name has a line break (no valid e-mail subject)
    doc = api.doctor_with_hours()
    broken = api.book(doc, reminderPreferences={"email": True, "timing": "24h"})
    fine = api.book(
        doc, patient("patient-2"), time="11:00", reminderPreferences={"email": True, "sms": True, "timing": "24h"}
    )  # another patient: one booking per patient and doctor-day
    item = wired.store.tables.appointments.get(broken["id"])
    item.update(actions=[AppointmentModel.doctor_name.set("Dr. Ada\r\nBcc: everyone@example.org")])
    clock.current = clock.current.replace(hour=16, minute=5)  # both visits' 24h reminders are overdue
    # WHEN the sweep runs
    report = lambdas.lambda_.invoke("reminder_sweep", tick(lambdas)).payload
    # THEN the other visit's reminders went out, and the broken one is failed with the reason, not stuck
    assert report["delivered"] == {"sent": 2, "failed": 1}
    assert emails_sent() == 1 and len(sms_sent()) == 1
    failed = api.call("GET", "/api/admin/reminders?status=failed", admin()).data["reminders"]
    assert [r["id"] for r in failed] == [f"{broken['id']}_email-24h"]
    assert failed[0]["lastError"].startswith("could not send") and fine["id"] not in failed[0]["id"]


def test_schedules_are_not_recreated_for_reminders_that_have_theirs(api, wired, clock, lambdas):
    # GIVEN reminders whose schedules were created at booking
    calls = []
    [scheduler_client] = wired.adapters.scheduler.botocore_clients()
    events = scheduler_client.meta.events
    api.book(api.doctor_with_hours(), reminderPreferences=EVERY_CHANNEL)

    def count(**_):
        calls.append(1)

    events.register("before-call.scheduler.*", count)
    # WHEN the sweep runs while they are due within the hour
    clock.current = clock.current.replace(day=2, hour=12, minute=30)
    report = lambdas.lambda_.invoke("reminder_sweep", tick(lambdas)).payload
    events.unregister("before-call.scheduler.*", count)
    # THEN it makes no scheduler call at all
    assert report["schedulesEnsured"] == 0 and calls == []


def test_the_sweep_counts_reminder_failed(api, wired, clock, lambdas, monkeypatch, capsys):
    # GIVEN a due reminder that fails, and metrics on
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    doc = api.doctor_with_hours()
    broken = api.book(doc, reminderPreferences={"email": True, "timing": "24h"})
    wired.store.tables.appointments.get(broken["id"]).update(actions=[AppointmentModel.doctor_name.set("Dr.\nX")])
    clock.current = clock.current.replace(hour=15, minute=5)
    capsys.readouterr()
    # WHEN the sweep runs
    lambdas.lambda_.invoke("reminder_sweep", tick(lambdas))
    # THEN a ReminderFailed metric is published
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    failed = [m.get("ReminderFailed") for m in lines if "ReminderFailed" in m]
    assert failed and sum(failed if isinstance(failed[0], int | float) else failed[0]) >= 1


def test_the_sweep_publishes_its_sent_count_in_one_data_point(api, wired, clock, lambdas, monkeypatch, capsys):
    # GIVEN six overdue reminders of three visits, and metrics on
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    three_visits_due(api, clock)
    capsys.readouterr()
    # WHEN the sweep delivers them
    lambdas.lambda_.invoke("reminder_sweep", tick(lambdas))
    # THEN each published metric set carries ReminderSent once, as the count 6 (not six values of 1)
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    sent = [m["ReminderSent"] for m in lines if "ReminderSent" in m]
    assert sent and all((value if isinstance(value, list) else [value]) == [6] for value in sent)


def three_visits_due(api, clock) -> list[dict]:
    """Three patients' visits with e-mail and SMS reminders at 24 h, all overdue: six reminders."""
    doc = api.doctor_with_hours()
    prefs = {"email": True, "sms": True, "timing": "24h"}
    made = [api.book(doc, patient(f"patient-{n}"), time=f"{9 + n:02d}:00", reminderPreferences=prefs) for n in range(3)]
    clock.current = clock.current.replace(hour=16, minute=5)
    return made


def test_the_sweep_reads_appointments_and_patients_in_batches_not_one_read_per_reminder(api, wired, clock, lambdas):
    # GIVEN six overdue reminders of three visits and three patients
    three_visits_due(api, clock)
    faults = FaultInjector(wired.store)
    # WHEN the sweep runs
    report = lambdas.lambda_.invoke("reminder_sweep", tick(lambdas)).payload
    faults.close()
    # THEN all six go out, after one batch read of the appointments and one of the patients (no read each)
    assert report["delivered"] == {"sent": 6}
    assert emails_sent() == 3 and len(sms_sent()) == 3
    assert faults.calls.get("BatchGetItem") == 2
    assert faults.calls.get("GetItem", 0) == 0


def test_when_the_batch_read_fails_each_reminder_reads_its_own_and_all_go_out(api, wired, clock, lambdas):
    # GIVEN six overdue reminders, and a store that throttles every batch read
    three_visits_due(api, clock)
    faults = FaultInjector(wired.store)
    faults.fail("BatchGetItem", *[throttled() for _ in range(50)])
    # WHEN the sweep runs
    report = lambdas.lambda_.invoke("reminder_sweep", tick(lambdas)).payload
    faults.close()
    # THEN each reminder reads its appointment and patient itself (one call for both), and all six go out once
    assert report["delivered"] == {"sent": 6}
    assert emails_sent() == 3 and len(sms_sent()) == 3
    assert faults.calls.get("TransactGetItems", 0) == 6


def test_a_visit_moved_after_the_sweeps_read_is_sent_for_its_new_time_not_moved_back(api, wired, clock, lambdas):
    # GIVEN a visit at 10:00 New York with its e-mail reminder at 24 h, overdue
    doc = api.doctor_with_hours()
    visit = api.book(doc, reminderPreferences={"email": True, "timing": "24h"})
    clock.current = clock.current.replace(hour=15, minute=59, second=30)
    # ... and a reschedule to 11:00 that commits after the sweep's reads, just before its claim: the reminder's new
    # moment (16:00Z) is still within the claim's minute
    moved: list[str] = []

    def reschedule_once(params, **_):
        tables = {next(iter(item.values())).get("TableName") for item in params.get("TransactItems", [])}
        if not moved and wired.settings.reminders_table in tables:
            moved.append("11:00")
            wired.booking.reschedule(Caller("admin", Role.ADMIN), visit["id"], date.fromisoformat(DAY), time(11))

    clients = wired.store.botocore_clients()
    for client in clients:
        client.meta.events.register("before-parameter-build.dynamodb.TransactWriteItems", reschedule_once)
    # WHEN the sweep runs
    report = lambdas.lambda_.invoke("reminder_sweep", tick(lambdas)).payload
    for client in clients:
        client.meta.events.unregister("before-parameter-build.dynamodb.TransactWriteItems", reschedule_once)
    # THEN its claim, conditioned on the reminder it read, is refused: nothing goes out for the old 10:00
    assert moved and report["delivered"] == {"not-claimed": 1} and emails_sent() == 0
    # WHEN its schedule, moved to the new time (16:00Z, 11:00 in New York), fires THEN it goes out for that time
    clock.current = clock.current.replace(hour=16, minute=0, second=0)
    rid = f"{visit['id']}_email-24h"
    assert lambdas.lambda_.invoke("reminder_dispatcher", {"reminderId": rid}).payload["outcome"] == "sent"
    (reminder,) = api.call("GET", f"/api/reminders/appointment/{visit['id']}", admin()).data["reminders"]
    assert reminder["status"] == "sent"
    raw = ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages[-1].raw_data
    assert "11:00" in raw and "10:00" not in raw


def test_a_claim_whose_appointment_cannot_be_read_is_released_not_left_sending(api, wired, clock, lambdas):
    # GIVEN an e-mail reminder due now, and a store whose appointment read fails right after the claim
    visit = api.book(api.doctor_with_hours(), reminderPreferences={"email": True, "timing": "24h"})
    rid = f"{visit['id']}_email-24h"
    clock.current = clock.current.replace(hour=15)
    faults = FaultInjector(wired.store)
    faults.fail("TransactGetItems", *[throttled() for _ in range(3)])  # botocore's three attempts of the one read
    # WHEN the reminder's schedule fires
    try:
        lambdas.lambda_.invoke("reminder_dispatcher", {"reminderId": rid})
    except Exception as exc:  # the invocation fails (the schedule's retry policy tries it again)
        print("dispatch raised", type(exc).__name__)
    finally:
        faults.close()
    # THEN nothing was sent and the reminder is pending again (its attempt counted)
    assert emails_sent() == 0
    listed = api.call("GET", f"/api/reminders/appointment/{visit['id']}", admin()).data["reminders"]
    assert [(r["status"], r["attempts"]) for r in listed] == [("pending", 1)]
    # WHEN the stuck-reminder sweep runs well after, THEN it delivers it once instead of failing it as unknown
    clock.current = clock.current.replace(hour=15, minute=20)
    report = lambdas.lambda_.invoke("reminder_sweep", tick(lambdas)).payload
    assert (report["delivered"], report["stuckFailed"], emails_sent()) == ({"sent": 1}, 0, 1)


def test_a_reminder_whose_appointment_can_never_be_read_is_failed_as_not_sent_after_its_attempts(
    api, wired, clock, lambdas
):
    # GIVEN an e-mail reminder due now, and a store whose appointment reads always fail
    visit = api.book(api.doctor_with_hours(), reminderPreferences={"email": True, "timing": "24h"})
    rid = f"{visit['id']}_email-24h"
    clock.current = clock.current.replace(hour=15)
    faults = FaultInjector(wired.store)
    faults.fail("TransactGetItems", *[throttled() for _ in range(100)])
    # WHEN its schedule fires again and again
    for _ in range(6):
        try:
            lambdas.lambda_.invoke("reminder_dispatcher", {"reminderId": rid})
        except Exception as exc:
            print("dispatch raised", type(exc).__name__)
    faults.close()
    # THEN after its five attempts it is failed as not sent (not as an unknown outcome), nothing went out
    listed = api.call("GET", f"/api/reminders/appointment/{visit['id']}", admin()).data["reminders"]
    assert [(r["status"], r["attempts"], r["outcomeUnknown"]) for r in listed] == [("failed", 5, False)]
    assert listed[0]["lastError"].startswith("not sent: ServiceBusy before the send")
    assert emails_sent() == 0
