"""pynamodb models of every table. `bind(settings)` makes the model classes of one configuration (table names,
region and endpoint in their `Meta`), so nothing rewrites a model at run time.

Tables (keys in `keys.py` for the schedule table):
- doctors:      PK `id`. GSI `directory-index` (PK `directory` = "ALL", SK `name_key`) lists the directory.
- appointments: PK `id`. GSIs `patient-index` (PK `patient_id`, SK `starts_at`) and `doctor-index`
  (PK `doctor_id`, SK `starts_at`); `starts_at` is a sortable UTC instant string.
- schedule:     PK `pk`, SK `sk`: lock items of granules and blocks held by appointments, and per-doctor-day
  counters.
- audit:        PK `appointment_id`, SK `sk` = `<version, 8 digits>#<0 wrote it | 1 saw it>#<UTC instant,
  microseconds>#<entry id>` (`domain.audit.audit_sort_key`): a query lists an appointment's entries by its own
  versions, whatever the writers' clocks. A patient's access log (reads of its data, reminder changes) lies under
  PK `PATIENT#<patientId>`. Every entry is put with `attribute_not_exists`: written once, never overwritten.
- reminders:    PK `appointment_id`, SK `id` (`<appointmentId>_<channel>-<timing>`). GSI `status-index`
  (PK `status`, SK `scheduled_time`) finds due, failed or pending reminders by time.
- patients:     PK `id` (the Cognito `sub`): the patient directory: contact details with their verified flags,
  push devices, and the day's message count (the per-patient cap).
- rooms:        PK `id` (128 random bits): a telehealth appointment's video room. GSI `status-index`
  (PK `status`, SK `created_at`) finds rooms whose platform meeting is still pending.
- realtime:     PK `pk`, SK `sk`: WebSocket connections and the doctor-days they follow (TTL `expires_at`);
  key shapes in `subscriptions.py`. The appointments table streams NEW_AND_OLD_IMAGES to the publisher.
- webhook-subscriptions: PK `id`. GSI `all-index` (PK `kind` = "subscription", SK `created_at`) lists them.
- webhook-deliveries: PK `subscription_id`, SK `id` (`<event instant>-<event id>`: a query by subscription reads
  its log in time order, `since` is a key condition). Sparse GSI `due-index` (PK `due` = "due", SK
  `next_attempt_at`), keys only: the deliveries whose next attempt is due. TTL `expires_at`. The appointments and
  reminders tables stream NEW_AND_OLD_IMAGES to the webhook fan-out.
- waitlist:     PK `id`. Entries (`kind` = "entry") and the log of freed times (`kind` = "freed"). GSI
  `doctor-index` (PK `doctor_id`, SK `sort_key`: `E#<joined instant>#<id>` for entries, `F#<local date>#<start
  instant>#<id>` for freed times) lists a doctor's entries in join order and its freed times by day; GSI
  `patient-index` (PK `patient_id`, SK `sort_key`) a patient's entries; sparse GSI `queue-index` (PK
  `queue_doctor`, SK `sort_key`, set only while an entry is waiting or offered) the entries a freed time can go to.
  The appointments table streams NEW_AND_OLD_IMAGES to the waitlist's offer consumer.
"""

from __future__ import annotations

from dataclasses import dataclass
from inspect import getmembers
from typing import Any, TypeVar, cast

from pynamodb.attributes import (
    BooleanAttribute,
    JSONAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
    UTCDateTimeAttribute,
    VersionAttribute,
)
from pynamodb.connection import Connection
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model

from chalicelib.adapters import aws
from chalicelib.config import Settings


class DirectoryIndex(GlobalSecondaryIndex["DoctorModel"]):
    class Meta:
        index_name = "directory-index"
        projection = AllProjection()

    directory = UnicodeAttribute(hash_key=True)
    name_key = UnicodeAttribute(range_key=True)


class DoctorModel(Model):
    class Meta:
        table_name = "doctors"

    id = UnicodeAttribute(hash_key=True)
    directory = UnicodeAttribute(default="ALL")
    name_key = UnicodeAttribute()
    name = UnicodeAttribute()
    specialty = UnicodeAttribute()
    location = UnicodeAttribute()
    timezone = UnicodeAttribute()
    telehealth = BooleanAttribute()
    telehealth_platform = UnicodeAttribute(null=True)
    availability = JSONAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    calendar_token_hash = UnicodeAttribute(null=True)
    has_busy_times = BooleanAttribute(null=True)
    """True once a sync wrote busy times of the doctor's (`DynamoDoctorDays.write_busy`); absent: never."""
    directory_index = DirectoryIndex()


class PatientIndex(GlobalSecondaryIndex["AppointmentModel"]):
    class Meta:
        index_name = "patient-index"
        projection = AllProjection()

    patient_id = UnicodeAttribute(hash_key=True)
    starts_at = UnicodeAttribute(range_key=True)


class DoctorIndex(GlobalSecondaryIndex["AppointmentModel"]):
    class Meta:
        index_name = "doctor-index"
        projection = AllProjection()

    doctor_id = UnicodeAttribute(hash_key=True)
    starts_at = UnicodeAttribute(range_key=True)


class AppointmentModel(Model):
    class Meta:
        table_name = "appointments"
        stream_view_type = "NEW_AND_OLD_IMAGES"

    id = UnicodeAttribute(hash_key=True)
    doctor_id = UnicodeAttribute()
    patient_id = UnicodeAttribute()
    starts_at = UnicodeAttribute()
    ends_at = UnicodeAttribute()
    doctor_name = UnicodeAttribute()
    patient_name = UnicodeAttribute()
    specialty = UnicodeAttribute()
    date = UnicodeAttribute()
    time = UnicodeAttribute()
    timezone = UnicodeAttribute()
    duration = NumberAttribute()
    type = UnicodeAttribute()
    status = UnicodeAttribute()
    location = UnicodeAttribute()
    reason = UnicodeAttribute()
    notes = UnicodeAttribute(null=True)
    telehealth_url = UnicodeAttribute(null=True)
    room_id = UnicodeAttribute(null=True)
    reminder_sent = BooleanAttribute(default=False)
    reminder_preferences = JSONAttribute(null=True)
    idempotency_key = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    version = VersionAttribute()
    patient_index = PatientIndex()
    doctor_index = DoctorIndex()


class ScheduleModel(Model):
    class Meta:
        table_name = "schedule"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    appointment_id = UnicodeAttribute(null=True)
    sharers = UnicodeSetAttribute(null=True)
    """A lock block's visits that cover only part of it (none while one visit holds it whole)."""
    ends_at = UnicodeAttribute(null=True)
    """An end instant; keys.py says of what (a hold's expiry, ...)."""
    active = UnicodeSetAttribute(null=True)
    """A patient's active-booking item (`PATIENT#<id>#ACTIVE` / `BOOKINGS`): the ids of the visits counted."""
    booked = NumberAttribute(null=True)
    day_version = NumberAttribute(null=True)
    busy = UnicodeAttribute(null=True)
    """A doctor-day's busy times from one calendar connection (`BUSY#<connectionId>`), `domain.busy.encode`d."""
    busy_version = NumberAttribute(null=True)
    calendar = UnicodeAttribute(null=True)
    """A doctor's calendar connection (PK `CALENDARS`), as `domain.calendar_connections.to_record` JSON."""
    visit_version = NumberAttribute(null=True)
    """A visit's copy in a doctor's calendar (PK `CALVISITS#...`): the visit's version it was last recorded at."""
    """The doctor-day's `BUSY` item: bumped by every change of its busy times; bookings condition on it."""
    # analytics aggregates of the doctor-day (see domain/analytics.py), updated in the same transactions
    n_booked = NumberAttribute(null=True)
    n_cancelled = NumberAttribute(null=True)
    n_rescheduled = NumberAttribute(null=True)
    n_completed = NumberAttribute(null=True)
    n_no_show = NumberAttribute(null=True)
    booked_minutes = NumberAttribute(null=True)
    lead_minutes = NumberAttribute(null=True)
    lead_count = NumberAttribute(null=True)
    sent_email = NumberAttribute(null=True)
    sent_sms = NumberAttribute(null=True)
    sent_push = NumberAttribute(null=True)
    failed_email = NumberAttribute(null=True)
    failed_sms = NumberAttribute(null=True)
    failed_push = NumberAttribute(null=True)


class AuditModel(Model):
    class Meta:
        table_name = "audit"

    appointment_id = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    id = UnicodeAttribute()
    at = UTCDateTimeAttribute()
    actor_id = UnicodeAttribute()
    actor_role = UnicodeAttribute()
    action = UnicodeAttribute()
    status_before = UnicodeAttribute(null=True)
    status_after = UnicodeAttribute()
    changes = JSONAttribute(null=True)
    seq = NumberAttribute(null=True)


class StatusIndex(GlobalSecondaryIndex["ReminderModel"]):
    class Meta:
        index_name = "status-index"
        projection = AllProjection()

    status = UnicodeAttribute(hash_key=True)
    scheduled_time = UnicodeAttribute(range_key=True)


class ReminderModel(Model):
    class Meta:
        table_name = "reminders"
        stream_view_type = "NEW_AND_OLD_IMAGES"

    appointment_id = UnicodeAttribute(hash_key=True)
    id = UnicodeAttribute(range_key=True)
    patient_id = UnicodeAttribute()
    channel = UnicodeAttribute()
    timing = UnicodeAttribute(null=True)
    scheduled_time = UnicodeAttribute()
    status = UnicodeAttribute()
    message = UnicodeAttribute()
    recipient_email = UnicodeAttribute(null=True)
    recipient_phone = UnicodeAttribute(null=True)
    custom_message = UnicodeAttribute(null=True)
    sent_at = UTCDateTimeAttribute(null=True)
    attempts = NumberAttribute(default=0)
    last_error = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    for_start = UTCDateTimeAttribute()
    served = UnicodeSetAttribute(null=True)
    unknown_devices = UnicodeSetAttribute(null=True)
    schedule_missing = BooleanAttribute(null=True)
    for_version = NumberAttribute(null=True)
    language = UnicodeAttribute(null=True)
    """The patient's language when the reminder was planned (absent: English, the clinic's own)."""
    status_index = StatusIndex()


class PatientSearchIndex(GlobalSecondaryIndex["PatientModel"]):
    """Sparse: only the directory's search entries (`SEARCH#<kind>#<patientId>`) carry `directory`."""

    class Meta:
        index_name = "search-index"
        projection = KeysOnlyProjection()

    directory = UnicodeAttribute(hash_key=True)
    search_key = UnicodeAttribute(range_key=True)


class PatientModel(Model):
    """A patient's directory record (PK: `<patientId>`), its search entries (PK: `SEARCH#<kind>#<patientId>`,
    `directory` = `patients:<kind>`, `search_key` = the normalized term, then the id; `patient_ref` = the id), and
    its daily message counts (PK: `MESSAGES#<patientId>#<UTC date>`, `messages_sent`, TTL `expires_at`)."""

    class Meta:
        table_name = "patients"

    id = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute(null=True)
    email = UnicodeAttribute(null=True)
    phone = UnicodeAttribute(null=True)
    email_verified = BooleanAttribute(null=True)
    phone_verified = BooleanAttribute(null=True)
    contact_source = UnicodeAttribute(null=True)
    staff_email = UnicodeAttribute(null=True)
    staff_phone = UnicodeAttribute(null=True)
    """Contacts staff entered: never verified, never a reminder's recipient."""
    language = UnicodeAttribute(null=True)
    """The language the patient chose (or staff set): `en`, `es` (absent: its browser's, until it chooses)."""
    devices = JSONAttribute(null=True)
    updated_at = UTCDateTimeAttribute(null=True)
    messages_sent = NumberAttribute(null=True)
    """A day's message count item only (`keys.patient_messages_pk`): the patient's messages reserved that day."""
    expires_at = NumberAttribute(null=True)
    """Epoch seconds; the table's TTL attribute (a day's message count only)."""
    directory = UnicodeAttribute(null=True)
    search_key = UnicodeAttribute(null=True)
    patient_ref = UnicodeAttribute(null=True)
    search_index = PatientSearchIndex()


class RealtimeModel(Model):
    class Meta:
        table_name = "realtime"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    subject = UnicodeAttribute(null=True)
    subscriptions = NumberAttribute(null=True)
    expires_at = NumberAttribute(null=True)
    """Epoch seconds; the table's TTL attribute."""


class RoomStatusIndex(GlobalSecondaryIndex["RoomModel"]):
    class Meta:
        index_name = "status-index"
        projection = AllProjection()

    status = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class RoomMeetingSyncIndex(GlobalSecondaryIndex["RoomModel"]):
    """Sparse: only rooms whose platform meeting has yet to follow a reschedule or cancel (the sweep's work)."""

    class Meta:
        index_name = "meeting-sync-index"
        projection = AllProjection()

    meeting_sync = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class RoomModel(Model):
    class Meta:
        table_name = "rooms"

    id = UnicodeAttribute(hash_key=True)
    appointment_id = UnicodeAttribute()
    doctor_id = UnicodeAttribute()
    patient_id = UnicodeAttribute()
    platform = UnicodeAttribute()
    status = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    meeting = JSONAttribute(null=True)
    patient_waiting_since = UTCDateTimeAttribute(null=True)
    recording_consent = BooleanAttribute(default=False)
    last_error = UnicodeAttribute(null=True)
    claimed_until = UTCDateTimeAttribute(null=True)
    meeting_sync = UnicodeAttribute(null=True)
    status_index = RoomStatusIndex()
    meeting_sync_index = RoomMeetingSyncIndex()


class WebhookSubscriptionIndex(GlobalSecondaryIndex["WebhookSubscriptionModel"]):
    class Meta:
        index_name = "all-index"
        projection = AllProjection()

    kind = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class WebhookSubscriptionModel(Model):
    """A clinic system's webhook subscription; `secrets` holds the signing secrets (the table is KMS-encrypted)."""

    class Meta:
        table_name = "webhook-subscriptions"

    id = UnicodeAttribute(hash_key=True)
    kind = UnicodeAttribute(default="subscription")
    url = UnicodeAttribute()
    events = JSONAttribute()
    state = UnicodeAttribute()
    secrets = JSONAttribute()
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    description = UnicodeAttribute(null=True)
    doctor_id = UnicodeAttribute(null=True)
    location = UnicodeAttribute(null=True)
    include_reason = BooleanAttribute(default=False)
    failing_since = UnicodeAttribute(null=True)
    backoff_until = UnicodeAttribute(null=True)
    paused_reason = UnicodeAttribute(null=True)
    paused_at = UnicodeAttribute(null=True)
    all_index = WebhookSubscriptionIndex()


class WebhookDueIndex(GlobalSecondaryIndex["WebhookDeliveryModel"]):
    """Sparse: only deliveries with an attempt to make."""

    class Meta:
        index_name = "due-index"
        projection = KeysOnlyProjection()

    due = UnicodeAttribute(hash_key=True)
    next_attempt_at = UnicodeAttribute(range_key=True)


class WebhookDeliveryModel(Model):
    class Meta:
        table_name = "webhook-deliveries"

    subscription_id = UnicodeAttribute(hash_key=True)
    id = UnicodeAttribute(range_key=True)
    event_id = UnicodeAttribute()
    type = UnicodeAttribute()
    appointment_id = UnicodeAttribute()
    body = UnicodeAttribute()
    created_at = UnicodeAttribute()
    sequence = NumberAttribute(null=True)
    status = UnicodeAttribute()
    attempts = NumberAttribute(default=0)
    last_status_code = NumberAttribute(null=True)
    last_error = UnicodeAttribute(null=True)
    last_attempt_at = UnicodeAttribute(null=True)
    next_attempt_at = UnicodeAttribute(null=True)
    due = UnicodeAttribute(null=True)
    delivered_at = UnicodeAttribute(null=True)
    history = JSONAttribute(null=True)
    expires_at = NumberAttribute()
    """Epoch seconds; the table's TTL attribute."""
    due_index = WebhookDueIndex()


class WaitlistDoctorIndex(GlobalSecondaryIndex["WaitlistModel"]):
    class Meta:
        index_name = "doctor-index"
        projection = AllProjection()

    doctor_id = UnicodeAttribute(hash_key=True)
    sort_key = UnicodeAttribute(range_key=True)


class WaitlistPatientIndex(GlobalSecondaryIndex["WaitlistModel"]):
    class Meta:
        index_name = "patient-index"
        projection = AllProjection()

    patient_id = UnicodeAttribute(hash_key=True)
    sort_key = UnicodeAttribute(range_key=True)


class WaitlistQueueIndex(GlobalSecondaryIndex["WaitlistModel"]):
    """Sparse: only entries that are waiting or offered."""

    class Meta:
        index_name = "queue-index"
        projection = AllProjection()

    queue_doctor = UnicodeAttribute(hash_key=True)
    sort_key = UnicodeAttribute(range_key=True)


class WaitlistModel(Model):
    """A waitlist entry or the log of one freed time (`kind`); `body` holds the rest of its fields as JSON."""

    class Meta:
        table_name = "waitlist"
        stream_view_type = "NEW_AND_OLD_IMAGES"  # waitlist.* webhooks

    id = UnicodeAttribute(hash_key=True)
    kind = UnicodeAttribute()
    doctor_id = UnicodeAttribute()
    patient_id = UnicodeAttribute(null=True)
    sort_key = UnicodeAttribute()
    queue_doctor = UnicodeAttribute(null=True)
    status = UnicodeAttribute()
    body = JSONAttribute()
    version = NumberAttribute(default=0)
    doctor_index = WaitlistDoctorIndex()
    patient_index = WaitlistPatientIndex()
    queue_index = WaitlistQueueIndex()


ALL_MODELS: tuple[type[Model], ...] = (
    DoctorModel,
    AppointmentModel,
    ScheduleModel,
    AuditModel,
    ReminderModel,
    PatientModel,
    RealtimeModel,
    RoomModel,
    WebhookSubscriptionModel,
    WebhookDeliveryModel,
    WaitlistModel,
)


def table_names(settings: Settings) -> dict[type[Model], str]:
    return {
        DoctorModel: settings.doctors_table,
        AppointmentModel: settings.appointments_table,
        ScheduleModel: settings.schedule_table,
        AuditModel: settings.audit_table,
        ReminderModel: settings.reminders_table,
        PatientModel: settings.patients_table,
        RealtimeModel: settings.realtime_table,
        RoomModel: settings.rooms_table,
        WebhookSubscriptionModel: settings.webhook_subscriptions_table,
        WebhookDeliveryModel: settings.webhook_deliveries_table,
        WaitlistModel: settings.waitlist_table,
    }


@dataclass(frozen=True)
class Tables:
    """The model classes of one configuration, and the connection its transactions go through."""

    doctors: type[DoctorModel]
    appointments: type[AppointmentModel]
    schedule: type[ScheduleModel]
    audit: type[AuditModel]
    reminders: type[ReminderModel]
    patients: type[PatientModel]
    realtime: type[RealtimeModel]
    rooms: type[RoomModel]
    webhook_subscriptions: type[WebhookSubscriptionModel]
    webhook_deliveries: type[WebhookDeliveryModel]
    waitlist: type[WaitlistModel]
    connection: Connection

    def all(self) -> tuple[type[Model], ...]:
        return (
            self.doctors,
            self.appointments,
            self.schedule,
            self.audit,
            self.reminders,
            self.patients,
            self.realtime,
            self.rooms,
            self.webhook_subscriptions,
            self.webhook_deliveries,
            self.waitlist,
        )

    def botocore_clients(self) -> list[Any]:
        """The botocore clients DynamoDB is called through (the transactions' and each model's), so benchmarks
        can count calls and tests can inject faults through botocore's own event hooks. pynamodb has no public
        accessor of a model's client: this read of `_get_connection()` is the only one, for tests and bench."""
        clients = {id(self.connection.client): self.connection.client}
        for model in self.all():
            client = model._get_connection().connection.client
            clients[id(client)] = client
        return list(clients.values())


RETRY_ATTEMPTS = aws.DYNAMODB_ATTEMPTS - 1
"""botocore's retries of one call (pynamodb's `max_retry_attempts`, in botocore's standard mode); with the
timeouts below, a hung DynamoDB costs one call a few seconds, not pynamodb's default of up to two minutes."""
TIMEOUTS = {
    "connect_timeout_seconds": aws.DYNAMODB_CONNECT_TIMEOUT,
    "read_timeout_seconds": aws.DYNAMODB_READ_TIMEOUT,
}

_M = TypeVar("_M", bound=Model)


def _bound(model: type[_M], table_name: str, settings: Settings) -> type[_M]:
    """A subclass of `model` whose `Meta` names the configured table, region and endpoint, as pynamodb documents
    a model's settings; it keeps the model's `DoesNotExist` and gets its own copies of the indexes."""
    meta = {name: value for name, value in vars(model.Meta).items() if not name.startswith("__")}
    meta.update(
        table_name=table_name,
        region=settings.region,
        host=settings.dynamodb_endpoint,
        max_retry_attempts=RETRY_ATTEMPTS,
        **TIMEOUTS,
    )
    namespace = {
        "Meta": type("Meta", (), meta),
        "DoesNotExist": model.DoesNotExist,
        "__module__": model.__module__,
        "__qualname__": model.__qualname__,
    }
    return cast(type[_M], type(model.__name__, (model,), namespace))


def bind(settings: Settings) -> Tables:
    """The model classes pointing at the configured tables, region and (locally) endpoint. Their clients (made
    by pynamodb on first use) fail fast after a call of the same request hung (`aws.guard_every_dynamodb_client`)."""
    aws.guard_every_dynamodb_client()
    names = table_names(settings)
    return Tables(
        doctors=_bound(DoctorModel, names[DoctorModel], settings),
        appointments=_bound(AppointmentModel, names[AppointmentModel], settings),
        schedule=_bound(ScheduleModel, names[ScheduleModel], settings),
        audit=_bound(AuditModel, names[AuditModel], settings),
        reminders=_bound(ReminderModel, names[ReminderModel], settings),
        patients=_bound(PatientModel, names[PatientModel], settings),
        realtime=_bound(RealtimeModel, names[RealtimeModel], settings),
        rooms=_bound(RoomModel, names[RoomModel], settings),
        webhook_subscriptions=_bound(WebhookSubscriptionModel, names[WebhookSubscriptionModel], settings),
        webhook_deliveries=_bound(WebhookDeliveryModel, names[WebhookDeliveryModel], settings),
        waitlist=_bound(WaitlistModel, names[WaitlistModel], settings),
        connection=Connection(
            region=settings.region,
            host=settings.dynamodb_endpoint,
            max_retry_attempts=RETRY_ATTEMPTS,
            connect_timeout_seconds=aws.DYNAMODB_CONNECT_TIMEOUT,
            read_timeout_seconds=aws.DYNAMODB_READ_TIMEOUT,
        ),
    )


def create_tables(settings: Settings) -> Tables:
    """Create missing tables on demand (local runs and tests; deployed stacks use template.yaml)."""
    tables = bind(settings)
    for model in tables.all():
        if not model.exists():
            model.create_table(billing_mode="PAY_PER_REQUEST", wait=True)
        else:
            add_missing_indexes(model, tables.connection.client)
    return tables


def add_missing_indexes(model: type[Model], client: Any) -> None:
    """A local table made before an index was added gets it (one at a time, as DynamoDB allows), so `make run`
    keeps its data across such a change."""
    name = model.Meta.table_name
    described = client.describe_table(TableName=name)["Table"]
    have = {i["IndexName"] for i in described.get("GlobalSecondaryIndexes", [])}
    for _, index in getmembers(model, lambda member: isinstance(member, GlobalSecondaryIndex)):
        meta = index.Meta
        if meta.index_name in have:
            continue
        keys = [a for a in meta.attributes.values() if a.is_hash_key or a.is_range_key]
        projection: dict[str, Any] = {"ProjectionType": meta.projection.projection_type}
        if meta.projection.non_key_attributes:
            projection["NonKeyAttributes"] = meta.projection.non_key_attributes
        client.update_table(
            TableName=name,
            AttributeDefinitions=[{"AttributeName": a.attr_name, "AttributeType": a.attr_type} for a in keys],
            GlobalSecondaryIndexUpdates=[
                {
                    "Create": {
                        "IndexName": meta.index_name,
                        "KeySchema": [
                            {"AttributeName": a.attr_name, "KeyType": "HASH" if a.is_hash_key else "RANGE"}
                            for a in sorted(keys, key=lambda a: not a.is_hash_key)
                        ],
                        "Projection": projection,
                    }
                }
            ],
        )
        client.get_waiter("table_exists").wait(TableName=name)
