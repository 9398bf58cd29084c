"""Settings read once from the environment (set per stage in .chalice/config.json and template.yaml)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class Settings:
    region: str
    dynamodb_endpoint: str | None
    doctors_table: str
    appointments_table: str
    schedule_table: str
    audit_table: str
    idempotency_table: str
    reminders_table: str
    patients_table: str
    min_notice: timedelta
    patient_change_window: timedelta
    idempotency_ttl_seconds: int
    delivery: str
    """`aws` sends through SES and SNS; `outbox` writes each message as a file under `outbox_dir` (local runs)."""
    outbox_dir: str
    scheduler: str
    """`aws` creates EventBridge Scheduler schedules; `none` leaves delivery to the sweep (local runs)."""
    schedule_group: str
    reminder_function_arn: str
    scheduler_role_arn: str
    reminder_dlq_arn: str
    ses_from_address: str
    ses_configuration_set: str | None
    sns_apns_application_arn: str | None
    sns_fcm_application_arn: str | None
    sweep_grace: timedelta
    realtime_table: str
    websocket_endpoint: str | None
    """API Gateway's management endpoint of the WebSocket API (https://<id>.execute-api.<region>...)."""
    signing_secret_id: str
    signing_key: str | None
    zoom_secret_id: str
    teams_secret_id: str
    zoom_api_base: str
    zoom_oauth_base: str
    graph_base: str
    ms_login_base: str
    public_base_url: str
    """Where our web app serves room pages: an appointment's `telehealthUrl` is `<this>/rooms/<roomId>`."""
    rooms_table: str
    """Local runs and tests only: the HMAC key itself instead of a Secrets Manager secret."""
    messages_per_patient_per_day: int = 12
    """Reminder messages one patient may receive per UTC day (any channel), checked at send time."""
    max_active_bookings: int = 10
    """Active future appointments one patient may hold; enforced in the booking transaction."""
    hold_minutes: int = 5
    """How long a slot hold keeps its time (`HOLD_MINUTES`, 1-60)."""
    booking_horizon_days: int = 180
    """How far ahead a visit can be booked, for doctors without their own `bookingHorizonDays`."""
    staff_pool_issuer: str | None = None
    """The staff user pool's issuer (`iss`): staff groups count only in its tokens. Unset in local runs."""
    system_client_issuer: str | None = None
    """The integrations user pool's issuer: FHIR system clients count only in its tokens. Unset in local runs."""
    system_token_url: str | None = None
    """That pool's OAuth 2.0 token endpoint, named in the FHIR CapabilityStatement; unset in local runs."""
    websocket_url: str | None = None
    """The WebSocket API's public URL (wss://...) that a real-time ticket names; unset: tickets name none."""

    webhook_subscriptions_table: str = "clinic-dev-webhook-subscriptions"
    webhook_deliveries_table: str = "clinic-dev-webhook-deliveries"
    waitlist_table: str = "clinic-dev-waitlist"
    waitlist_offer_minutes: int = 15
    """How long a waitlist offer's hold keeps its time (`WAITLIST_OFFER_MINUTES`, 1-60)."""
    waitlist_move_earlier_first: bool = False
    """"Move me earlier" entries go before the others (`WAITLIST_MOVE_EARLIER_FIRST`)."""
    waitlist_quiet_hours: str | None = None
    """`HH:MM-HH:MM` in the doctor's zone (`WAITLIST_QUIET_HOURS`, e.g. `21:00-08:00`): no offer (and so no offer
    message) is made then; the freed time stays free and is offered when they end. Unset: no quiet hours."""
    webhook_queue_url: str | None = None
    """The SQS queue the webhook sender reads; unset (local runs, tests): an in-process queue and the sweep."""
    webhook_allow_loopback: bool = False
    """Local runs and tests only (`make run` sets it): receivers on loopback, over http too. A deployed stack
    refuses loopback, private, link-local and metadata addresses, at creation and after DNS resolution."""
    calendar_secrets_kms_key: str | None = None
    """The KMS key that encrypts doctors' CalDAV app passwords in Secrets Manager (unset: the account's default)."""

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        prefix = env.get("TABLE_PREFIX", "clinic-dev")
        return cls(
            region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1",
            dynamodb_endpoint=env.get("DYNAMODB_ENDPOINT") or None,
            doctors_table=env.get("DOCTORS_TABLE", f"{prefix}-doctors"),
            appointments_table=env.get("APPOINTMENTS_TABLE", f"{prefix}-appointments"),
            schedule_table=env.get("SCHEDULE_TABLE", f"{prefix}-schedule"),
            audit_table=env.get("AUDIT_TABLE", f"{prefix}-audit"),
            idempotency_table=env.get("IDEMPOTENCY_TABLE", f"{prefix}-idempotency"),
            min_notice=timedelta(minutes=int(env.get("MIN_NOTICE_MINUTES", "60"))),
            patient_change_window=timedelta(minutes=int(env.get("PATIENT_CHANGE_WINDOW_MINUTES", "120"))),
            idempotency_ttl_seconds=int(env.get("IDEMPOTENCY_TTL_SECONDS", "86400")),
            reminders_table=env.get("REMINDERS_TABLE", f"{prefix}-reminders"),
            patients_table=env.get("PATIENTS_TABLE", f"{prefix}-patients"),
            delivery=env.get("DELIVERY_MODE", "aws"),
            outbox_dir=env.get("OUTBOX_DIR", ".data/outbox"),
            scheduler=env.get("SCHEDULER_MODE", "aws"),
            schedule_group=env.get("SCHEDULE_GROUP", f"{prefix}-reminders"),
            reminder_function_arn=env.get("REMINDER_FUNCTION_ARN", ""),
            scheduler_role_arn=env.get("SCHEDULER_ROLE_ARN", ""),
            reminder_dlq_arn=env.get("REMINDER_DLQ_ARN", ""),
            ses_from_address=env.get("SES_FROM_ADDRESS", "reminders@clinic.example"),
            ses_configuration_set=env.get("SES_CONFIGURATION_SET") or None,
            sns_apns_application_arn=env.get("SNS_APNS_APPLICATION_ARN") or None,
            sns_fcm_application_arn=env.get("SNS_FCM_APPLICATION_ARN") or None,
            sweep_grace=timedelta(seconds=int(env.get("SWEEP_GRACE_SECONDS", "60"))),
            realtime_table=env.get("REALTIME_TABLE", f"{prefix}-realtime"),
            websocket_endpoint=env.get("WEBSOCKET_ENDPOINT") or None,
            signing_secret_id=env.get("SIGNING_SECRET", f"{prefix}/signing-key"),
            signing_key=env.get("SIGNING_KEY") or None,
            zoom_secret_id=env.get("ZOOM_SECRET", f"{prefix}/zoom"),
            teams_secret_id=env.get("TEAMS_SECRET", f"{prefix}/teams"),
            zoom_api_base=env.get("ZOOM_API_BASE", "https://api.zoom.us"),
            zoom_oauth_base=env.get("ZOOM_OAUTH_BASE", "https://zoom.us"),
            graph_base=env.get("GRAPH_BASE", "https://graph.microsoft.com"),
            ms_login_base=env.get("MS_LOGIN_BASE", "https://login.microsoftonline.com"),
            public_base_url=env.get("PUBLIC_BASE_URL", "https://app.clinic.example"),
            rooms_table=env.get("ROOMS_TABLE", f"{prefix}-rooms"),
            messages_per_patient_per_day=int(env.get("MESSAGES_PER_PATIENT_PER_DAY", "12")),
            max_active_bookings=int(env.get("MAX_ACTIVE_BOOKINGS_PER_PATIENT", "10")),
            hold_minutes=int(env.get("HOLD_MINUTES", "5")),
            booking_horizon_days=int(env.get("BOOKING_HORIZON_DAYS", "180")),
            staff_pool_issuer=env.get("STAFF_POOL_ISSUER") or None,
            system_client_issuer=env.get("SYSTEM_CLIENT_ISSUER") or None,
            system_token_url=env.get("SYSTEM_TOKEN_URL") or None,
            websocket_url=env.get("WEBSOCKET_URL") or None,
            webhook_subscriptions_table=env.get("WEBHOOK_SUBSCRIPTIONS_TABLE", f"{prefix}-webhook-subscriptions"),
            webhook_deliveries_table=env.get("WEBHOOK_DELIVERIES_TABLE", f"{prefix}-webhook-deliveries"),
            waitlist_table=env.get("WAITLIST_TABLE", f"{prefix}-waitlist"),
            waitlist_offer_minutes=int(env.get("WAITLIST_OFFER_MINUTES", "15")),
            waitlist_move_earlier_first=env.get("WAITLIST_MOVE_EARLIER_FIRST", "").lower() == "true",
            waitlist_quiet_hours=env.get("WAITLIST_QUIET_HOURS") or None,
            webhook_queue_url=env.get("WEBHOOK_QUEUE_URL") or None,
            webhook_allow_loopback=env.get("WEBHOOK_ALLOW_LOOPBACK", "").lower() == "true",
            calendar_secrets_kms_key=env.get("CALENDAR_SECRETS_KMS_KEY") or None,
        )
