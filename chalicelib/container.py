"""The one composition root: builds adapters and services from Settings, cached per Lambda container.

Tests swap the whole container (`use(container)`) instead of patching modules.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # each function imports what it builds: `import app` (Lambda's init) loads no service
    from chalicelib.config import Settings
    from chalicelib.services.access import AccessAudit
    from chalicelib.services.accounts import AccountService
    from chalicelib.services.analytics import AnalyticsService
    from chalicelib.services.booking import Policy
    from chalicelib.services.booking.commands import BookingCommands
    from chalicelib.services.booking.queries import BookingQueries
    from chalicelib.services.calendar import CalendarService
    from chalicelib.services.calendar_connections import CalendarConnections
    from chalicelib.services.calendar_visits import VisitsOut
    from chalicelib.services.directory import DirectoryService
    from chalicelib.services.doctors import DoctorService
    from chalicelib.services.patients import PatientDirectory
    from chalicelib.services.ports.appointments import AppointmentStore
    from chalicelib.services.ports.delivery import Deliverer
    from chalicelib.services.ports.system import Clock, Idempotency, IdGenerator, KeyProvider
    from chalicelib.services.realtime import RealtimeService
    from chalicelib.services.reminders.admin import ReminderAdmin
    from chalicelib.services.reminders.devices import DeviceRegistry
    from chalicelib.services.reminders.dispatch import ReminderDispatcher
    from chalicelib.services.reminders.planning import ReminderPlanner
    from chalicelib.services.sign_in import SignIn
    from chalicelib.services.telehealth import TelehealthService
    from chalicelib.services.waitlist import WaitlistService
    from chalicelib.services.webhooks import WebhookQueue, WebhookService


@dataclass
class Adapters:
    """What the services stand on. `build` makes the real adapter for each one left None, and tests hand in theirs
    (the in-memory stores of tests/fakes, a recording scheduler, a video platform in memory, a deliverer that never
    waits); `Container.adapters` holds those the container was built on, for tests to read and to inject faults."""

    doctors: Any = None
    store: Any = None
    """The appointment store (appointments, day locks, holds, audit and access log)."""
    patients: Any = None
    reminders: Any = None
    """The reminder store."""
    rooms: Any = None
    scheduler: Any = None
    """EventBridge Scheduler's reminder schedules (none under make run)."""
    deliverer: Any = None
    video: dict[str, Any] | None = None
    """The video platforms by name (zoom, teams, custom)."""
    keys: Any = None
    waitlist: Any = None
    """The waitlist store (entries, offers, freed times)."""


@dataclass
class Container:
    settings: Settings
    clock: Clock
    ids: IdGenerator
    store: AppointmentStore
    booking: BookingCommands
    """The booking commands: book, reschedule, cancel, status; holds."""
    booking_queries: BookingQueries
    """The booking reads: doctors' days, appointments as their answers show them, holds."""
    sign_in: SignIn
    doctors: DoctorService
    reminders: ReminderPlanner
    """Planning reminders (at booking, on the reminder routes) and following the appointment's changes."""
    dispatcher: ReminderDispatcher
    reminder_admin: ReminderAdmin
    devices: DeviceRegistry
    deliverer: Deliverer
    idempotency: Idempotency
    realtime: RealtimeService
    telehealth: TelehealthService
    calendar: CalendarService
    analytics: AnalyticsService
    access: AccessAudit
    patients: PatientDirectory
    keys: KeyProvider
    """The HMAC key (list page tokens sign with a key derived from it)."""
    directory: DirectoryService
    webhooks: WebhookService
    webhook_queue: WebhookQueue
    calendars: CalendarConnections
    """A doctor's own calendars: connections, their busy-time sync, conflicts."""
    calendar_visits: VisitsOut
    """Visits out: each booked visit's copy in its doctor's CalDAV calendars (the appointments stream's consumer)."""
    """SQS in AWS; locally (no WEBHOOK_QUEUE_URL) an in-process `LocalQueue` that make run's sender drains."""
    waitlist: WaitlistService
    adapters: Adapters = field(default_factory=Adapters)
    publications: dict[str, Any] = field(default_factory=dict)
    """The latest FHIR bulk publication this Lambda container made, by its ETag (unchanged slots cost only the
    ETag's reads); a new container starts without one."""


_current: Container | None = None


def build(  # noqa: PLR0915 - the composition root imports what it builds, one statement each
    settings: Settings | None = None,
    clock: Clock | None = None,
    ids: IdGenerator | None = None,
    adapters: Adapters | None = None,
) -> Container:
    """Wire the real adapters, or those `adapters` hands in (tests). Heavy imports (pynamodb, boto3) happen here, on
    first use, not at cold start."""
    from chalicelib.adapters.delivery import AwsDeliverer, OutboxDeliverer
    from chalicelib.adapters.dynamodb import models
    from chalicelib.adapters.dynamodb.appointments import DynamoAppointmentStore
    from chalicelib.adapters.dynamodb.doctors import DynamoDoctorRepository
    from chalicelib.adapters.dynamodb.idempotency import PowertoolsIdempotency
    from chalicelib.adapters.dynamodb.patients import DynamoPatientRepository
    from chalicelib.adapters.dynamodb.reminders import DynamoReminderStore
    from chalicelib.adapters.dynamodb.rooms import DynamoRoomRepository
    from chalicelib.adapters.dynamodb.search import DynamoPatientSearch
    from chalicelib.adapters.dynamodb.subscriptions import DynamoSubscriptionStore
    from chalicelib.adapters.dynamodb.waitlist import DynamoWaitlistStore
    from chalicelib.adapters.realtime import ApiGatewaySender, SecretsManagerKey, StaticKey
    from chalicelib.adapters.scheduler import EventBridgeReminderScheduler, NoScheduler
    from chalicelib.adapters.system import SystemClock, UuidGenerator
    from chalicelib.api.schemas.realtime import live_message
    from chalicelib.config import Settings
    from chalicelib.domain.holds import hold_duration
    from chalicelib.services.access import AccessAudit
    from chalicelib.services.analytics import AnalyticsService
    from chalicelib.services.booking import Policy
    from chalicelib.services.busy_freed import FreedBusyStore
    from chalicelib.services.calendar import CalendarService
    from chalicelib.services.directory import DirectoryService
    from chalicelib.services.doctors import DoctorService
    from chalicelib.services.patients import PatientDirectory
    from chalicelib.services.realtime import RealtimeService
    from chalicelib.services.reminders.admin import ReminderAdmin
    from chalicelib.services.reminders.devices import DeviceRegistry
    from chalicelib.services.reminders.dispatch import ReminderDispatcher, SweepPolicy
    from chalicelib.services.reminders.planning import ReminderPlanner
    from chalicelib.services.reminders.schedules import ReminderSchedules
    from chalicelib.services.sign_in import SignIn
    from chalicelib.services.telehealth import TelehealthService

    settings = settings or Settings.from_env()
    clock = clock or SystemClock()
    ids = ids or UuidGenerator()
    tables = models.bind(settings)  # names bound to models; nothing is called
    given = adapters or Adapters()
    doctor_repo = given.doctors or DynamoDoctorRepository(tables)
    store = given.store or DynamoAppointmentStore(settings, tables)
    policy = Policy(
        min_notice=settings.min_notice,
        patient_change_window=settings.patient_change_window,
        max_active_bookings=settings.max_active_bookings,
        booking_horizon_days=settings.booking_horizon_days,
        hold_duration=hold_duration(settings.hold_minutes),
    )
    now = clock.now
    deliverer: Deliverer = given.deliverer or (
        OutboxDeliverer(settings, now) if settings.delivery == "outbox" else AwsDeliverer(settings, clock=now)
    )
    patients = given.patients or DynamoPatientRepository(tables)
    reminder_store = given.reminders or DynamoReminderStore(tables)
    scheduler = given.scheduler or (
        NoScheduler() if settings.scheduler == "none" else EventBridgeReminderScheduler(settings)
    )
    schedules = ReminderSchedules(scheduler, reminder_store)
    reminders = ReminderPlanner(reminder_store, store, store, patients, schedules, clock, ids)
    dispatcher = ReminderDispatcher(
        reminder_store,
        store,
        patients,
        deliverer,
        schedules,
        clock,
        SweepPolicy(grace=settings.sweep_grace),
        messages_per_day=settings.messages_per_patient_per_day,
        reads=reminder_store,  # a lone dispatch reads the visit and the patient in one call
    )
    keys: KeyProvider = given.keys or (
        StaticKey(settings.signing_key) if settings.signing_key else SecretsManagerKey(settings)
    )
    rooms = given.rooms or DynamoRoomRepository(tables)
    video = given.video or video_platforms(settings)
    telehealth = TelehealthService(
        rooms,
        store,
        video,
        keys,
        clock,
        ids,
        lambda: secrets.token_hex(16),  # 128 random bits; hex keeps ids URL- and key-safe
        settings.public_base_url,
    )
    access = AccessAudit(store, clock, ids)
    # The store reads a staff booking's doctor and patient in one call when all three are DynamoDB's own.
    dynamo_only = isinstance(store, DynamoAppointmentStore) and given.doctors is None and given.patients is None
    reads = store if dynamo_only else None
    booking_queries, booking = booking_services(
        store, doctor_repo, patients, clock, ids, policy, reminders, telehealth, access, reads
    )
    sign_in = SignIn(patients, clock)
    realtime = RealtimeService(
        DynamoSubscriptionStore(tables),
        ApiGatewaySender(settings),
        booking_queries,
        keys,
        clock,
        ids,
        encode=live_message,
    )
    webhook_queue, webhooks = _webhooks(settings, tables, clock, ids)
    entries = given.waitlist or DynamoWaitlistStore(tables)
    waitlist = _waitlist(settings, entries, booking, booking_queries, sign_in, store, deliverer, patients, clock, ids)
    calendar_busy = FreedBusyStore(store, waitlist.on_busy_freed)  # time a sync frees goes to the waitlist
    calendars, calendar_visits = _calendars(
        settings, tables, calendar_busy, doctor_repo, clock, ids, realtime, policy.booking_horizon_days, webhooks, store
    )
    return Container(
        settings=settings,
        clock=clock,
        ids=ids,
        store=store,
        booking=booking,
        booking_queries=booking_queries,
        sign_in=sign_in,
        doctors=DoctorService(doctor_repo, clock, ids, waitlist.on_availability_changed),
        reminders=reminders,
        dispatcher=dispatcher,
        reminder_admin=ReminderAdmin(reminder_store, store, schedules, clock),
        devices=DeviceRegistry(patients, deliverer, clock),
        deliverer=deliverer,
        idempotency=PowertoolsIdempotency(settings),
        realtime=realtime,
        telehealth=telehealth,
        calendar=CalendarService(booking_queries, doctor_repo, clock),
        analytics=AnalyticsService(doctor_repo, store),
        access=access,
        patients=PatientDirectory(patients, clock),
        keys=keys,
        directory=DirectoryService(DynamoPatientSearch(tables), access, keys),
        webhooks=webhooks,
        webhook_queue=webhook_queue,
        calendars=calendars,
        calendar_visits=calendar_visits,
        waitlist=waitlist,
        adapters=Adapters(
            doctors=doctor_repo,
            store=store,
            patients=patients,
            reminders=reminder_store,
            rooms=rooms,
            scheduler=scheduler,
            deliverer=deliverer,
            video=video,
            keys=keys,
            waitlist=entries,
        ),
    )


def booking_services(
    store: AppointmentStore,
    doctors: Any,
    patients: Any,
    clock: Clock,
    ids: IdGenerator,
    policy: Policy,
    reminders: ReminderPlanner,
    telehealth: TelehealthService,
    access: AccessAudit | None,
    reads: Any = None,
) -> tuple[BookingQueries, BookingCommands]:
    """The booking reads and commands, sharing the release of lapsed holds."""
    from chalicelib.services.booking.commands import BookingCommands
    from chalicelib.services.booking.lapse import HoldLapse
    from chalicelib.services.booking.patients import BookingPatients
    from chalicelib.services.booking.queries import BookingQueries

    lapse = HoldLapse(store, clock, ids)
    queries = BookingQueries(doctors, store, clock, policy, lapse, telehealth)
    commands = BookingCommands(
        queries, store, clock, ids, BookingPatients(store, patients, access, reads), reminders, telehealth, lapse
    )
    return queries, commands


def _waitlist(
    settings: Settings,
    entries: Any,
    booking: BookingCommands,
    queries: BookingQueries,
    sign_in: SignIn,
    store: Any,
    deliverer: Deliverer,
    patients: Any,
    clock: Clock,
    ids: IdGenerator,
) -> WaitlistService:
    from chalicelib.domain import waitlist
    from chalicelib.domain.holds import hold_duration
    from chalicelib.services.waitlist import WaitlistService

    hold_duration(settings.waitlist_offer_minutes)  # 1-60 minutes, checked as a hold's length is
    rules = waitlist.Settings(
        offer_minutes=settings.waitlist_offer_minutes,
        min_notice=settings.min_notice,
        move_earlier_first=settings.waitlist_move_earlier_first,
        quiet_hours=waitlist.parse_quiet_hours(settings.waitlist_quiet_hours),
    )
    return WaitlistService(
        entries, booking, queries, sign_in, store, deliverer, patients, clock, ids, rules, settings.public_base_url
    )


def _webhooks(settings: Settings, tables: Any, clock: Clock, ids: IdGenerator) -> tuple[WebhookQueue, WebhookService]:
    from chalicelib.adapters.dynamodb.webhooks import DynamoWebhookStore
    from chalicelib.adapters.system import SystemClock
    from chalicelib.adapters.webhooks import HttpTransport, LocalQueue, SqsQueue, new_secret, sign
    from chalicelib.services.webhooks import WebhookService

    queue: WebhookQueue = SqsQueue(settings) if settings.webhook_queue_url else LocalQueue()
    spread = secrets.SystemRandom()
    service = WebhookService(
        DynamoWebhookStore(tables),
        queue,
        HttpTransport(),
        sign,
        new_secret,
        clock,
        ids,
        allow_loopback=settings.webhook_allow_loopback,
        wall=SystemClock(),
        jitter=lambda: spread.uniform(-1.0, 1.0),
    )
    return queue, service


def _calendars(
    settings: Settings,
    tables: Any,
    store: Any,
    doctors: Any,
    clock: Clock,
    ids: IdGenerator,
    realtime: RealtimeService,
    horizon_days: int,
    webhooks: WebhookService | None = None,
    visits: Any = None,
) -> tuple[CalendarConnections, VisitsOut]:
    from chalicelib.adapters.calendar_feeds import CalendarFetchers
    from chalicelib.adapters.calendar_vault import LocalVault, SecretsManagerVault
    from chalicelib.adapters.dynamodb.calendars import DynamoConnectionStore, DynamoVisitCopyStore
    from chalicelib.observability import count
    from chalicelib.services.calendar_connections import CalendarConnections
    from chalicelib.services.calendar_visits import VisitsOut

    def flagged(new_conflicts: int) -> None:
        for _ in range(new_conflicts):
            count("CalendarConflicts")  # the alarm metric: a busy time now overlaps a booked visit

    def publish_conflicts(calendar_id: str, found: list[tuple[Any, Any]]) -> None:
        """`calendar.conflict` for each visit a busy time newly overlaps: the visit as the API returns it to staff
        (the payload shaping drops contact details, and the reason unless a subscription opts in)."""
        from chalicelib.api.schemas.appointments import AppointmentOut
        from chalicelib.domain.timefmt import instant
        from chalicelib.domain.webhooks import conflict_event

        if webhooks is None:
            return
        now = clock.now()
        events = [
            conflict_event(
                AppointmentOut.from_domain(visit, can_reschedule=visit.active).to_json(),
                calendar_id,
                conflict.start,
                conflict.end,
                now,
                instant,
                visit.version,
            )
            for conflict, visit in found
        ]
        webhooks.publish(events)  # a delivery it cannot write is logged there; the sync goes on

    local = settings.scheduler == "none"  # make run: no Secrets Manager, credentials kept in the process
    vault = (
        LocalVault()
        if local
        else SecretsManagerVault(settings.region, settings.schedule_table, settings.calendar_secrets_kms_key)
    )
    connections = DynamoConnectionStore(tables)
    fetchers = CalendarFetchers(allow_loopback=settings.webhook_allow_loopback)
    visits_out = VisitsOut(
        DynamoVisitCopyStore(tables),
        connections,
        visits if visits is not None else store,
        vault,
        fetchers.visit_writer,
        clock,
        on_failed=lambda n: count("CalendarVisitFailed", n),
    )
    return CalendarConnections(
        connections,
        store,
        vault,
        fetchers,
        doctors,
        clock,
        ids,
        horizon_days,
        allow_loopback=settings.webhook_allow_loopback,
        announce=realtime.announce,
        on_conflicts=flagged,
        publish_conflicts=publish_conflicts,
        on_failing=lambda: count("CalendarSyncFailing"),
        visits_out=visits_out,
    ), visits_out


def video_platforms(settings: Settings) -> dict[str, Any]:
    """The three platforms, each built (and its credentials read) on first use."""
    from chalicelib.adapters.video import ChimePlatform, SecretsManagerJson, TeamsPlatform, ZoomPlatform

    class Lazy:
        def __init__(self, make: Any) -> None:
            self._make = make
            self._platform: Any = None

        def __getattr__(self, name: str) -> Any:
            if self._platform is None:
                self._platform = self._make()
            return getattr(self._platform, name)

    return {
        "zoom": Lazy(lambda: ZoomPlatform(settings, SecretsManagerJson(settings.zoom_secret_id, settings.region))),
        "teams": Lazy(lambda: TeamsPlatform(settings, SecretsManagerJson(settings.teams_secret_id, settings.region))),
        "custom": Lazy(lambda: ChimePlatform(settings)),
    }


def accounts(settings: Settings | None = None) -> AccountService:
    """The sign-up trigger's service on its own: it touches no table, so it does not build the whole container."""
    from chalicelib.adapters.accounts import CognitoGroups
    from chalicelib.config import Settings
    from chalicelib.services.accounts import AccountService

    return AccountService(CognitoGroups((settings or Settings.from_env()).region))


def current() -> Container:
    global _current
    if _current is None:
        _current = build()
    return _current


def use(container: Container | None) -> None:
    """Install a container (tests), or None to build from the environment again on next use."""
    global _current
    _current = container
