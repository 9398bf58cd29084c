"""Reminder routes (owner, its doctor, admins), device registration (patients), admin bulk management."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from chalice import Blueprint, Response

from chalicelib import container
from chalicelib.api import schemas as s
from chalicelib.api.http import Call, endpoint
from chalicelib.api.idempotent import keyed
from chalicelib.domain.identity import Role
from chalicelib.domain.paging import paginate
from chalicelib.domain.timefmt import instant
from chalicelib.observability import count

if TYPE_CHECKING:
    from chalicelib.domain.reminders import Reminder

reminders_api = Blueprint(__name__)
log = logging.getLogger("clinic.reminders")
ADMIN = (Role.ADMIN,)


@endpoint(
    reminders_api,
    "/api/reminders/schedule",
    "POST",
    "Schedule reminders for an appointment",
    body="ReminderScheduleIn",
    response="ReminderList",
    status=201,
    headers=("Idempotency-Key",),
    errors=(404, 409, 422),
    tags=("reminders",),
)
def schedule(call: Call) -> s.ReminderList | Response:
    from chalicelib.domain.reminders import Channel, ReminderRequest, timings_for

    body: s.ReminderScheduleIn = call.body
    timings = timings_for(body.timings, body.timing)
    request = ReminderRequest([c for c in Channel if getattr(body, c.value)], timings, body.custom_message)

    def run() -> s.ReminderList:
        created, skipped = call.services.reminders.schedule(call.caller, body.appointment_id, request)
        _log(call, created, "reminder-change")
        return s.ReminderList(
            reminders=[s.ReminderOut.from_domain(r) for r in created],
            skipped=[s.SkippedReminderOut.from_domain(x) for x in skipped],
        )

    return keyed(call, run, reminders_api.lambda_context)


@endpoint(
    reminders_api,
    "/api/reminders/appointment/{appointmentId}",
    "GET",
    "An appointment's reminders",
    response="ReminderList",
    errors=(404,),
    tags=("reminders",),
)
def for_appointment(call: Call) -> s.ReminderList:
    found = call.services.reminders.for_appointment(call.caller, call.params["appointmentId"])
    _log(call, found)
    return s.ReminderList(reminders=[s.ReminderOut.from_domain(r) for r in found])


@endpoint(
    reminders_api,
    "/api/reminders/{id}",
    "PUT",
    "Move a pending reminder or change its message",
    body="ReminderUpdateIn",
    response="ReminderOut",
    headers=("Idempotency-Key",),
    errors=(404, 409),
    tags=("reminders",),
)
def update(call: Call) -> s.ReminderOut | Response:
    body: s.ReminderUpdateIn = call.body

    def run() -> s.ReminderOut:
        changed = call.services.reminders.update(
            call.caller, call.params["id"], body.timing, body.scheduled_time, body.custom_message
        )
        _log(call, [changed], "reminder-change")
        return s.ReminderOut.from_domain(changed)

    return keyed(call, run, reminders_api.lambda_context)


@endpoint(
    reminders_api,
    "/api/reminders/{id}",
    "DELETE",
    "Cancel a pending reminder",
    response="ReminderOut",
    headers=("Idempotency-Key",),
    errors=(404, 409),
    tags=("reminders",),
)
def cancel(call: Call) -> s.ReminderOut | Response:
    from chalicelib.domain.reminders import ReminderStatus, appointment_of

    def run() -> s.ReminderOut:
        cancelled = call.services.reminders.cancel(call.caller, call.params["id"])
        _log(call, [cancelled], "reminder-change")
        return s.ReminderOut.from_domain(cancelled)

    def landed() -> s.ReminderOut | None:
        """A retry meeting its own cancel still marked in progress: a cancelled reminder is that cancel's answer."""
        listed = call.services.reminders.for_appointment(call.caller, appointment_of(call.params["id"]))
        found = next((r for r in listed if r.id == call.params["id"]), None)
        if found is None or found.status is not ReminderStatus.CANCELLED:
            return None
        _log(call, [found])
        return s.ReminderOut.from_domain(found)

    return keyed(call, run, reminders_api.lambda_context, landed)


def _log(call: Call, reminders: list[Reminder], action: str = "read") -> None:
    """Reminders carry contact details: each read or change is in the patient's access log."""
    call.services.access.record(call.caller, call.route, [(r.patient_id, r.appointment_id) for r in reminders], action)


@endpoint(
    reminders_api,
    "/api/patients/me/devices",
    "POST",
    "Register this device for push reminders",
    body="DeviceIn",
    response="DeviceOut",
    status=201,
    roles=(Role.PATIENT,),
    errors=(422,),
    tags=("reminders",),
)
def register_device(call: Call) -> s.DeviceOut:
    body: s.DeviceIn = call.body
    device = call.services.devices.register(call.caller, body.platform, body.token)
    return s.DeviceOut.from_domain(device)


@endpoint(
    reminders_api,
    "/api/admin/reminders",
    "GET",
    "Reminders by status and scheduled date (UTC)",
    query="AdminReminderQuery",
    response="ReminderList",
    roles=ADMIN,
    tags=("admin",),
)
def admin_list(call: Call) -> s.ReminderList:
    from chalicelib.domain.reminders import ReminderStatus

    q: s.AdminReminderQuery = call.query
    start = datetime.combine(q.date_from, time(), tzinfo=UTC) if q.date_from else None
    end = datetime.combine(q.date_to, time(), tzinfo=UTC) + timedelta(days=1) if q.date_to else None
    found = call.services.reminder_admin.by_status(ReminderStatus(q.status), start, end)
    scope = f"{call.route}|{q.status}|{q.date_from}|{q.date_to}"  # a page token is good for this list only
    secret = call.services.keys.signing_key()
    page, token = paginate(found, lambda r: (instant(r.scheduled_time), r.id), q.limit, q.next_token, scope, secret)
    _log(call, page)
    return s.ReminderList(reminders=[s.ReminderOut.from_domain(r) for r in page], next_token=token or None)


@endpoint(
    reminders_api,
    "/api/admin/reminders/retry",
    "POST",
    "Retry failed reminders",
    body="ReminderRetryIn",
    response="BulkOutcome",
    roles=ADMIN,
    errors=(409,),
    tags=("admin",),
)
def admin_retry(call: Call) -> s.BulkOutcome:
    body: s.ReminderRetryIn = call.body
    changed: list[Reminder] = []
    outcomes = call.services.reminder_admin.retry_failed(body.reminder_ids, body.confirm_unknown_outcome, changed)
    _log(call, changed, "reminder-change")
    return s.BulkOutcome(outcomes=outcomes)


@endpoint(
    reminders_api,
    "/api/admin/reminders/cancel",
    "POST",
    "Cancel pending reminders",
    body="ReminderIdsIn",
    response="BulkOutcome",
    roles=ADMIN,
    tags=("admin",),
)
def admin_cancel(call: Call) -> s.BulkOutcome:
    body: s.ReminderIdsIn = call.body
    changed: list[Reminder] = []
    outcomes = call.services.reminder_admin.cancel_pending(body.reminder_ids, changed)
    _log(call, changed, "reminder-change")
    return s.BulkOutcome(outcomes=outcomes)


def dispatch_event(event: dict[str, Any]) -> dict[str, str]:
    """The reminder Lambda's work: the schedule's input names one reminder and its patient (schedules made before
    it named the patient cost the dispatcher one read of the reminder)."""
    reminder_id = str(event.get("reminderId", ""))
    if not reminder_id:
        return {"outcome": "ignored", "reason": "no reminderId"}
    patient_id = str(event.get("patientId") or "") or None
    outcome = container.current().dispatcher.dispatch(reminder_id, patient_id=patient_id)
    if outcome == "sent":
        count("ReminderSent")
    elif outcome == "failed":
        count("ReminderFailed")
    return {"reminderId": reminder_id, "outcome": outcome}


def run_sweep() -> dict[str, Any]:
    """Reminders whose schedule was lost, telehealth rooms whose platform meeting is still pending, and holds that
    lapsed (their locks, day count and the patient's limits freed; each hold on its own)."""
    wired = container.current()
    report = wired.dispatcher.sweep()  # reminders first: they are due now; rooms can wait a run
    try:
        rooms_ready = wired.telehealth.retry_pending()
    except Exception:  # e.g. the rooms' index unreadable: the reminders' work above stands
        log.exception("sweep: rooms not retried this run")
        rooms_ready = 0
    try:
        meetings_synced = wired.telehealth.sync_due_meetings()
    except Exception:  # the same: the work above stands, the marked rooms wait for the next run
        log.exception("sweep: platform meetings not brought in line this run")
        meetings_synced = 0
    holds_lapsed = wired.booking.release_expired_holds()  # never raises: each hold on its own
    sent, failed = report.delivered.get("sent", 0), report.delivered.get("failed", 0) + report.stuck_failed
    if sent:  # one data point with the run's count, not one per reminder
        count("ReminderSent", sent)
    if failed:  # the failed-reminders alarm sees all, the stuck ones too
        count("ReminderFailed", failed)
    return {
        "delivered": report.delivered,
        "schedulesEnsured": report.schedules_ensured,
        "stuckFailed": report.stuck_failed,
        "errors": report.errors,
        "deferred": report.deferred,
        "roomsReady": rooms_ready,
        "meetingsSynced": meetings_synced,
        "holdsLapsed": holds_lapsed,
    }
