"""Webhook routes for admins (`/api/admin/webhooks...`), and the work of the webhook Lambdas: the stream fan-out
(appointments and reminders tables), the SQS sender, and the retry sweep."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from chalice import Blueprint, Response

from chalicelib import container
from chalicelib.api import schemas as s
from chalicelib.api.errors import no_content
from chalicelib.api.http import Call, endpoint
from chalicelib.api.stream_batch import each_record
from chalicelib.domain.identity import Role
from chalicelib.observability import count

if TYPE_CHECKING:
    from chalicelib.domain.webhooks import Change

webhooks_api = Blueprint(__name__)
log = logging.getLogger("clinic.webhooks")
ADMIN = (Role.ADMIN,)
TAGS = ("webhooks",)


def _out(subscription: Any, secret: bool = False) -> s.WebhookOut:
    return s.WebhookOut.from_domain(
        subscription,
        events=list(subscription.events),
        state=subscription.state.value,
        secret=subscription.secrets[0].secret if secret else None,
    )


@endpoint(
    webhooks_api,
    "/api/admin/webhooks",
    "POST",
    "Subscribe a clinic system to events (its signing secret is shown only here and on rotation)",
    body="WebhookCreate",
    response="WebhookOut",
    roles=ADMIN,
    status=201,
    tags=TAGS,
)
def create_webhook(call: Call) -> s.WebhookOut:
    b: s.WebhookCreate = call.body
    created = call.services.webhooks.create(
        b.url, list(b.events), b.description, b.doctor_id, b.location, b.include_reason
    )
    return _out(created, secret=True)


@endpoint(webhooks_api, "/api/admin/webhooks", "GET", "Every webhook subscription", response="WebhookList",
          roles=ADMIN, tags=TAGS)  # fmt: skip
def list_webhooks(call: Call) -> s.WebhookList:
    return s.WebhookList(webhooks=[_out(x) for x in call.services.webhooks.all()])


@endpoint(webhooks_api, "/api/admin/webhooks/{id}", "GET", "One webhook subscription", response="WebhookOut",
          roles=ADMIN, errors=(404,), tags=TAGS)  # fmt: skip
def get_webhook(call: Call) -> s.WebhookOut:
    return _out(call.services.webhooks.get(call.params["id"]))


@endpoint(
    webhooks_api,
    "/api/admin/webhooks/{id}",
    "PATCH",
    "Change a subscription, pause it, or resume it (`state: active` sends what waited)",
    body="WebhookPatch",
    response="WebhookOut",
    roles=ADMIN,
    errors=(404,),
    tags=TAGS,
)
def change_webhook(call: Call) -> s.WebhookOut:
    b: s.WebhookPatch = call.body
    given = {name: getattr(b, name) for name in b.model_fields_set}
    if "events" in given and given["events"] is not None:
        given["events"] = list(given["events"])
    for name in ("url", "events", "include_reason", "state"):  # null means "no change" for these
        if given.get(name, ...) is None:
            given.pop(name)
    return _out(call.services.webhooks.change(call.params["id"], **given))


@endpoint(webhooks_api, "/api/admin/webhooks/{id}", "DELETE", "Delete a subscription (its log stays until TTL)",
          roles=ADMIN, status=204, errors=(404,), tags=TAGS)  # fmt: skip
def delete_webhook(call: Call) -> Response:
    call.services.webhooks.delete(call.params["id"])
    return no_content()


@endpoint(
    webhooks_api,
    "/api/admin/webhooks/{id}/rotate-secret",
    "POST",
    "A new signing secret; the previous one keeps signing beside it for 24 hours",
    response="WebhookOut",
    roles=ADMIN,
    errors=(404,),
    tags=TAGS,
)
def rotate_webhook_secret(call: Call) -> s.WebhookOut:
    return _out(call.services.webhooks.rotate_secret(call.params["id"]), secret=True)


def _delivery(d: Any) -> s.WebhookDeliveryOut:
    return s.WebhookDeliveryOut.from_domain(d, status=d.status.value, history=list(d.history))


@endpoint(
    webhooks_api,
    "/api/admin/webhooks/{id}/deliveries",
    "GET",
    "The subscription's delivery log, newest first (event, attempts, answers, the body sent)",
    query="WebhookDeliveryQuery",
    response="WebhookDeliveryList",
    roles=ADMIN,
    errors=(404,),
    tags=TAGS,
)
def list_webhook_deliveries(call: Call) -> s.WebhookDeliveryList:
    q: s.WebhookDeliveryQuery = call.query
    found = call.services.webhooks.deliveries(call.params["id"], q.since, q.limit)
    return s.WebhookDeliveryList(deliveries=[_delivery(d) for d in found])


@endpoint(
    webhooks_api,
    "/api/admin/webhooks/{id}/deliveries/{deliveryId}/resend",
    "POST",
    "Send one delivery again (its retry schedule starts over)",
    response="WebhookDeliveryOut",
    roles=ADMIN,
    errors=(404,),
    tags=TAGS,
)
def resend_webhook_delivery(call: Call) -> s.WebhookDeliveryOut:
    return _delivery(call.services.webhooks.resend(call.params["id"], call.params["deliveryId"]))


@endpoint(
    webhooks_api,
    "/api/admin/webhooks/{id}/resend",
    "POST",
    "Send again every delivery whose event happened at or after `since`",
    body="WebhookResendIn",
    response="WebhookDeliveryList",
    roles=ADMIN,
    errors=(404,),
    tags=TAGS,
)
def resend_webhook_since(call: Call) -> s.WebhookDeliveryList:
    b: s.WebhookResendIn = call.body
    again = call.services.webhooks.resend_since(call.params["id"], b.since)
    return s.WebhookDeliveryList(deliveries=[_delivery(d) for d in again])


# --- the Lambdas' work --------------------------------------------------------------------------------------------
def _rendered(kind: str, entity: Any) -> dict[str, Any] | None:
    if entity is None:
        return None
    if kind == "appointment":
        return s.AppointmentOut.from_domain(entity, can_reschedule=entity.active).to_json()
    if kind == "waitlist":
        from chalicelib.api.schemas.waitlist import EntryOut
        from chalicelib.domain.timefmt import precise_instant

        rendered = EntryOut.of(entity).to_json()
        if entity.updated_at is not None:  # when the change happened: the event's time, the same on a stream retry
            rendered["updatedAt"] = precise_instant(entity.updated_at)
        return rendered
    return s.ReminderOut.from_domain(entity).to_json()


def webhook_changes(records: list[Any]) -> list[Change | str]:
    """The stream's records as rendered changes (the resource as the API returns it); a record that cannot be read
    is passed on as its sequence number only (skipped, logged)."""
    return [change for change in map(webhook_change, records) if change is not None]


def webhook_change(record: Any) -> Change | str | None:
    """One stream record as a rendered change; its sequence number only when it cannot be read (skipped,
    logged); None for a record that makes no event (the waitlist's log of a freed time)."""
    from chalicelib.adapters.dynamodb.webhooks import stream_change
    from chalicelib.domain.webhooks import Change

    try:
        read = stream_change(record)
        if read.kind == "freed":  # the waitlist's log of a freed time: no event of its own
            return None
        current = read.new or read.old
        if current is None:  # neither image: nothing to tell
            raise ValueError("a stream record with neither image")
        version = getattr(read.new, "version", None) if read.kind in ("appointment", "waitlist") else None
        return Change(
            kind=read.kind,
            resource_id=current.id,
            old=_rendered(read.kind, read.old),
            new=_rendered(read.kind, read.new),
            version=version,
            sequence=read.sequence,
        )
    except Exception as exc:  # this record's own problem: the rest of the batch goes on
        sequence = ""
        if isinstance(record, dict) and isinstance(record.get("dynamodb"), dict):
            sequence = str(record["dynamodb"].get("SequenceNumber") or "")
        log.warning("webhook stream record %s skipped: %s", sequence or "?", type(exc).__name__)
        return sequence or "?"


def _occurred_at(change: Change) -> datetime:
    new = change.new or {}
    stamp = new.get("updatedAt") or new.get("sentAt") or new.get("createdAt")
    if isinstance(stamp, str):
        return datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    return container.current().clock.now().astimezone(UTC)


def fan_out_records(records: list[Any]) -> dict[str, Any]:
    """Each record on its own (Powertools' BatchProcessor): its events' deliveries written; only the records whose
    deliveries could not be written are the partial batch response's, retried by the stream. The written
    deliveries are queued in one go after the batch."""
    webhooks = container.current().webhooks
    batch = webhooks.fan_out_batch()
    answer = each_record(records, lambda record: webhooks.fan_out_change(webhook_change(record), _occurred_at, batch))
    webhooks.queue_written(batch)
    report = batch.report
    return {
        **answer,
        "events": report.events,
        "deliveries": report.deliveries,
        "skipped": report.skipped,
    }


def send_messages(bodies: list[str]) -> dict[str, Any]:
    """The sender Lambda: one attempt per delivery named in the SQS messages."""
    from chalicelib.adapters.webhooks import refs_of_messages

    refs = []
    for body in bodies:
        try:
            refs.extend(refs_of_messages([body]))
        except Exception:  # a message not ours: dropped with a log line (the sweep finds every due delivery)
            log.warning("webhook message skipped: not a delivery reference")
    return {"batchItemFailures": [], **_sent(container.current().webhooks.send(refs))}


def _sent(report: Any) -> dict[str, Any]:
    for _ in report.paused:
        count("WebhookSubscriptionPaused")  # the alarm on it tells the admins
    if report.failed:
        count("WebhookAttemptFailed")
    return {
        "attempted": report.attempted,
        "delivered": report.delivered,
        "failed": report.failed,
        "held": report.held,
        "deferred": report.deferred,
        "paused": list(report.paused),
    }


def run_webhook_sweep() -> dict[str, Any]:
    """Queues every delivery whose next attempt is due; with the in-process queue (local runs) sends them too."""
    c = container.current()
    queued = c.webhooks.sweep()
    drain = getattr(c.webhook_queue, "drain", None)
    if drain is None:
        return {"queued": queued}
    return {"queued": queued, **_sent(c.webhooks.send(drain()))}
