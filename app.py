"""Lambda entry point: creates the Chalice app, registers Powertools middleware and the blueprints."""

from __future__ import annotations

from typing import Any

from chalice import Chalice, ConvertToMiddleware, Rate

from chalicelib.adapters.aws import each_request
from chalicelib.api.accounts import on_confirmation
from chalicelib.api.admin import admin_api
from chalicelib.api.appointments import appointments_api
from chalicelib.api.calendar import calendar_api
from chalicelib.api.doctors import doctors_api
from chalicelib.api.errors import contract_errors
from chalicelib.api.fhir import fhir_api
from chalicelib.api.headers import security_headers
from chalicelib.api.holds import holds_api
from chalicelib.api.method_guard import guard_unsupported_methods
from chalicelib.api.own_calendars import own_calendars_api, run_calendar_sweep, visit_records
from chalicelib.api.patients import patients_api
from chalicelib.api.realtime import realtime_api, stream_records, ws_connect, ws_disconnect, ws_message
from chalicelib.api.reminders import dispatch_event, reminders_api, run_sweep
from chalicelib.api.system import system_api
from chalicelib.api.telehealth import telehealth_api
from chalicelib.api.waitlist import offer_records, run_waitlist_sweep, waitlist_api
from chalicelib.api.webapp import webapp_api
from chalicelib.api.webhooks import fan_out_records, run_webhook_sweep, send_messages, webhooks_api
from chalicelib.observability import correlate, logger, metrics, tracer, tracing_is_on, with_version

app = Chalice(app_name="clinic-booking")
app.experimental_feature_flags.update(["WEBSOCKETS"])
app.register_middleware(ConvertToMiddleware(logger.inject_lambda_context(clear_state=True)))
app.register_middleware(with_version)  # after the context's keys are reset: every line names the release
app.register_middleware(ConvertToMiddleware(metrics.log_metrics))
if tracing_is_on():
    app.register_middleware(ConvertToMiddleware(tracer().capture_lambda_handler))
app.register_middleware(each_request, "http")  # a request waits on a hung DynamoDB once, not per call
app.register_middleware(correlate, "http")
app.register_middleware(security_headers, "http")  # outside contract_errors, so its answers get them too
app.register_middleware(contract_errors, "http")

for blueprint in (
    system_api,
    doctors_api,
    appointments_api,
    calendar_api,
    reminders_api,
    telehealth_api,
    realtime_api,
    admin_api,
    webapp_api,
    patients_api,
    fhir_api,
    holds_api,
    webhooks_api,
    own_calendars_api,
    waitlist_api,
):
    app.register_blueprint(blueprint)
guard_unsupported_methods(app)  # 405 with Allow, deployed as locally


@app.lambda_function(name="reminder_dispatcher")
def reminder_dispatcher(event: dict[str, Any], context: Any) -> dict[str, str]:
    """Invoked by a reminder's EventBridge Scheduler schedule with `{"reminderId": ...}`."""
    return dispatch_event(event)


@app.lambda_function(name="patient_signup")
def patient_signup(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The patients' user pool's post-confirmation trigger: a confirmed sign-up joins `patients`."""
    return on_confirmation(event)


@app.schedule(Rate(5, unit=Rate.MINUTES), name="reminder_sweep")
def reminder_sweep(event: Any) -> dict[str, Any]:
    """Delivers reminders whose schedule was lost and re-creates missing schedules."""
    return run_sweep()


@app.on_ws_connect(name="slots_connect")
def slots_connect(event: Any) -> Any:
    """WebSocket `$connect`: refused (401) without a valid ticket from `POST /api/realtime/ticket`."""
    return ws_connect(event.connection_id, event.to_dict().get("queryStringParameters"))


@app.on_ws_message(name="slots_message")
def slots_message(event: Any) -> None:
    """`{"action": "subscribe"|"unsubscribe", "doctorId", "date"}`."""
    ws_message(event.connection_id, event.body)


@app.on_ws_disconnect(name="slots_disconnect")
def slots_disconnect(event: Any) -> None:
    ws_disconnect(event.connection_id)


APPOINTMENTS_STREAM = "arn:aws:dynamodb:us-east-1:000000000000:table/appointments/stream/replaced-by-template"


@app.on_dynamodb_record(stream_arn=APPOINTMENTS_STREAM, name="slot_publisher", batch_size=100)
def slot_publisher(event: Any) -> dict[str, Any]:
    """Announces every booking, cancellation and move once, from the appointments table's stream."""
    return stream_records(event.to_dict()["Records"])


@app.on_dynamodb_record(stream_arn=APPOINTMENTS_STREAM, name="webhook_fanout", batch_size=100)
def webhook_fanout(event: Any) -> dict[str, Any]:
    """Turns each change of an appointment (and, by the template's second source, of a reminder) into one
    delivery per subscription that wants it, and queues them for the sender."""
    return fan_out_records(event.to_dict()["Records"])


WEBHOOK_QUEUE = "arn:aws:sqs:us-east-1:000000000000:replaced-by-template"


@app.on_sqs_message(queue_arn=WEBHOOK_QUEUE, name="webhook_sender", batch_size=10)
def webhook_sender(event: Any) -> dict[str, Any]:
    """One signed attempt per delivery named in the messages (10 s each); failures are scheduled, not raised."""
    return send_messages([record.body for record in event])


@app.schedule(Rate(5, unit=Rate.MINUTES), name="calendar_sync")
def calendar_sync(event: Any) -> dict[str, Any]:
    """Syncs every doctor's own calendar that is due (every 5 minutes, backing off while one fails), and retries
    the visits' copies a calendar refused once their backoff is over."""
    return run_calendar_sweep()


@app.on_dynamodb_record(stream_arn=APPOINTMENTS_STREAM, name="calendar_visits", batch_size=5)
def calendar_visits(event: Any) -> dict[str, Any]:
    """Writes each booked visit into its doctor's CalDAV calendars that receive visits (rewrites it when it moves,
    deletes it when it is cancelled), recording each copy's state; the calendar sync retries the failed ones."""
    return visit_records(event.to_dict()["Records"])


@app.schedule(Rate(1, unit=Rate.MINUTES), name="webhook_sweep")
def webhook_sweep(event: Any) -> dict[str, Any]:
    """Queues webhook deliveries whose retry is due."""
    return run_webhook_sweep()


@app.on_dynamodb_record(stream_arn=APPOINTMENTS_STREAM, name="waitlist_offers", batch_size=100)
def waitlist_offers(event: Any) -> dict[str, Any]:
    """Offers each freed time (a cancellation, a reschedule away, a hold released or lapsed) to the first matching
    waitlist entry, with a hold on it."""
    return offer_records(event.to_dict()["Records"])


@app.schedule(Rate(1, unit=Rate.MINUTES), name="waitlist_sweep")
def waitlist_sweep(event: Any) -> dict[str, Any]:
    """Releases lapsed holds, ends offers whose hold went without a stream record, expires ended windows."""
    return run_waitlist_sweep()
