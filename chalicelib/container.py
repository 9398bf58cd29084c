"""The one composition root: builds adapters and services from Settings, cached per Lambda container.

Tests swap the whole container (`use(container)`) instead of patching modules.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

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
    from chalicelib.services.reminders.schedules import ReminderSchedules
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


T = TypeVar("T")


class _Once(Generic[T]):
    """A container attribute made on first use, once, then read as a plain attribute. Under the container's lock:
    `make run` serves requests from several threads on one container, and two copies of a store or of the local
    webhook queue would split what they hold."""

    def __init__(self, make: Callable[[Any], T]) -> None:
        self._make = make
        self._name = make.__name__
        self.__doc__ = make.__doc__

    @overload
    def __get__(self, container: None, owner: type) -> _Once[T]: ...

    @overload
    def __get__(self, container: Container, owner: type) -> T: ...

    def __get__(self, container: Container | None, owner: type) -> _Once[T] | T:
        if container is None:
            return self
        with container._lock:
            if self._name not in container.__dict__:  # made once; later reads find it in the instance's dict
                container.__dict__[self._name] = self._make(container)
        made: T = container.__dict__[self._name]
        return made


def once(make: Callable[[Any], T]) -> _Once[T]:
    return _Once(make)


class Container:
    """The services and the adapters they stand on, each made when a request first needs it: a booking's first
    request builds the booking's services and stores, not the calendars', the webhooks' or the analytics' (Lambda's
    first request pays only for its own path). `build` makes one; the real adapter is used for each one `Adapters`
    leaves None."""

    def __init__(self, settings: Settings, clock: Clock, ids: IdGenerator, given: Adapters) -> None:
        self.settings = settings
        self.clock = clock
        self.ids = ids
        self._given = given
        self._lock = threading.RLock()
        self.publications: dict[str, Any] = {}
        """The latest FHIR bulk publication this Lambda container made, by its ETag (unchanged slots cost only the
        ETag's reads); a new container starts without one."""

    # --- the adapters ----------------------------------------------------------------------------------------
    @once
    def _tables(self) -> Any:
        from chalicelib.adapters.dynamodb import models

        return models.bind(self.settings)  # names bound to models; nothing is called

    @once
    def _doctor_repo(self) -> Any:
        from chalicelib.adapters.dynamodb.doctors import DynamoDoctorRepository

        return self._given.doctors or DynamoDoctorRepository(self._tables)

    @once
    def _store(self) -> Any:
        """The appointment store (appointments, day locks, holds, audit and access log), with all its ports."""
        from chalicelib.adapters.dynamodb.appointments import DynamoAppointmentStore

        return self._given.store or DynamoAppointmentStore(self.settings, self._tables)

    @property
    def store(self) -> AppointmentStore:
        """The appointment store, as the handlers use it."""
        store: AppointmentStore = self._store
        return store

    @once
    def _patient_repo(self) -> Any:
        from chalicelib.adapters.dynamodb.patients import DynamoPatientRepository

        return self._given.patients or DynamoPatientRepository(self._tables)

    @once
    def _reminder_store(self) -> Any:
        from chalicelib.adapters.dynamodb.reminders import DynamoReminderStore

        return self._given.reminders or DynamoReminderStore(self._tables)

    @once
    def _scheduler(self) -> Any:
        from chalicelib.adapters.scheduler import EventBridgeReminderScheduler, NoScheduler

        if self._given.scheduler:
            return self._given.scheduler
        return NoScheduler() if self.settings.scheduler == "none" else EventBridgeReminderScheduler(self.settings)

    @once
    def deliverer(self) -> Deliverer:
        from chalicelib.adapters.delivery import AwsDeliverer, OutboxDeliverer

        given: Deliverer | None = self._given.deliverer
        if given:
            return given
        now = self.clock.now
        if self.settings.delivery == "outbox":
            return OutboxDeliverer(self.settings, now)
        return AwsDeliverer(self.settings, clock=now)

    @once
    def keys(self) -> KeyProvider:
        """The HMAC key (list page tokens sign with a key derived from it)."""
        from chalicelib.adapters.realtime import SecretsManagerKey, StaticKey

        given: KeyProvider | None = self._given.keys
        if given:
            return given
        return StaticKey(self.settings.signing_key) if self.settings.signing_key else SecretsManagerKey(self.settings)

    @once
    def _rooms(self) -> Any:
        from chalicelib.adapters.dynamodb.rooms import DynamoRoomRepository

        return self._given.rooms or DynamoRoomRepository(self._tables)

    @once
    def _video(self) -> dict[str, Any]:
        return self._given.video or video_platforms(self.settings)

    @once
    def _waitlist_store(self) -> Any:
        from chalicelib.adapters.dynamodb.waitlist import DynamoWaitlistStore

        return self._given.waitlist or DynamoWaitlistStore(self._tables)

    @once
    def adapters(self) -> Adapters:
        """The adapters the services stand on (all of them made), for tests to read and to inject faults."""
        return Adapters(
            doctors=self._doctor_repo,
            store=self._store,
            patients=self._patient_repo,
            reminders=self._reminder_store,
            rooms=self._rooms,
            scheduler=self._scheduler,
            deliverer=self.deliverer,
            video=self._video,
            keys=self.keys,
            waitlist=self._waitlist_store,
        )

    # --- the services ----------------------------------------------------------------------------------------
    @once
    def _policy(self) -> Policy:
        from chalicelib.domain.holds import hold_duration
        from chalicelib.services.booking import Policy

        settings = self.settings
        return Policy(
            min_notice=settings.min_notice,
            patient_change_window=settings.patient_change_window,
            max_active_bookings=settings.max_active_bookings,
            booking_horizon_days=settings.booking_horizon_days,
            hold_duration=hold_duration(settings.hold_minutes),
        )

    @once
    def _schedules(self) -> ReminderSchedules:
        from chalicelib.services.reminders.schedules import ReminderSchedules

        return ReminderSchedules(self._scheduler, self._reminder_store)

    @once
    def reminders(self) -> ReminderPlanner:
        """Planning reminders (at booking, on the reminder routes) and following the appointment's changes."""
        from chalicelib.services.reminders.planning import ReminderPlanner

        store = self.store
        return ReminderPlanner(
            self._reminder_store, store, store, self._patient_repo, self._schedules, self.clock, self.ids
        )

    @once
    def dispatcher(self) -> ReminderDispatcher:
        from chalicelib.services.reminders.dispatch import ReminderDispatcher, SweepPolicy

        return ReminderDispatcher(
            self._reminder_store,
            self.store,
            self._patient_repo,
            self.deliverer,
            self._schedules,
            self.clock,
            SweepPolicy(grace=self.settings.sweep_grace),
            messages_per_day=self.settings.messages_per_patient_per_day,
            reads=self._reminder_store,  # a lone dispatch reads the visit and the patient in one call
        )

    @once
    def reminder_admin(self) -> ReminderAdmin:
        from chalicelib.services.reminders.admin import ReminderAdmin

        return ReminderAdmin(self._reminder_store, self.store, self._schedules, self.clock)

    @once
    def devices(self) -> DeviceRegistry:
        from chalicelib.services.reminders.devices import DeviceRegistry

        return DeviceRegistry(self._patient_repo, self.deliverer, self.clock)

    @once
    def telehealth(self) -> TelehealthService:
        from chalicelib.services.telehealth import TelehealthService

        return TelehealthService(
            self._rooms,
            self.store,
            self._video,
            self.keys,
            self.clock,
            self.ids,
            lambda: secrets.token_hex(16),  # 128 random bits; hex keeps ids URL- and key-safe
            self.settings.public_base_url,
        )

    @once
    def access(self) -> AccessAudit:
        from chalicelib.services.access import AccessAudit

        return AccessAudit(self._store, self.clock, self.ids)

    @once
    def _booking(self) -> tuple[BookingQueries, BookingCommands]:
        from chalicelib.adapters.dynamodb.appointments import DynamoAppointmentStore

        store = self.store
        # The store reads a staff booking's doctor and patient in one call when all three are DynamoDB's own.
        given = self._given
        dynamo_only = isinstance(store, DynamoAppointmentStore) and given.doctors is None and given.patients is None
        reads = store if dynamo_only else None
        return booking_services(
            store,
            self._doctor_repo,
            self._patient_repo,
            self.clock,
            self.ids,
            self._policy,
            self.reminders,
            self.telehealth,
            self.access,
            reads,
        )

    @property
    def booking(self) -> BookingCommands:
        """The booking commands: book, reschedule, cancel, status; holds."""
        return self._booking[1]

    @property
    def booking_queries(self) -> BookingQueries:
        """The booking reads: doctors' days, appointments as their answers show them, holds."""
        return self._booking[0]

    @once
    def sign_in(self) -> SignIn:
        from chalicelib.services.sign_in import SignIn

        return SignIn(self._patient_repo, self.clock)

    @once
    def doctors(self) -> DoctorService:
        from chalicelib.services.doctors import DoctorService

        def availability_changed(doctor: Any, new: Any) -> int:
            return self.waitlist.on_availability_changed(doctor, new)  # the waitlist is made when first needed

        return DoctorService(self._doctor_repo, self.clock, self.ids, availability_changed)

    @once
    def idempotency(self) -> Idempotency:
        from chalicelib.adapters.dynamodb.idempotency import PowertoolsIdempotency

        return PowertoolsIdempotency(self.settings)

    @once
    def realtime(self) -> RealtimeService:
        from chalicelib.adapters.dynamodb.subscriptions import DynamoSubscriptionStore
        from chalicelib.adapters.realtime import ApiGatewaySender
        from chalicelib.api.schemas.realtime import live_message
        from chalicelib.services.realtime import RealtimeService

        return RealtimeService(
            DynamoSubscriptionStore(self._tables),
            ApiGatewaySender(self.settings),
            self.booking_queries,
            self.keys,
            self.clock,
            self.ids,
            encode=live_message,
        )

    @once
    def calendar(self) -> CalendarService:
        from chalicelib.services.calendar import CalendarService

        return CalendarService(self.booking_queries, self._doctor_repo, self.clock)

    @once
    def analytics(self) -> AnalyticsService:
        from chalicelib.services.analytics import AnalyticsService

        return AnalyticsService(self._doctor_repo, self._store)

    @once
    def patients(self) -> PatientDirectory:
        from chalicelib.services.patients import PatientDirectory

        return PatientDirectory(self._patient_repo, self.clock)

    @once
    def directory(self) -> DirectoryService:
        from chalicelib.adapters.dynamodb.search import DynamoPatientSearch
        from chalicelib.services.directory import DirectoryService

        return DirectoryService(DynamoPatientSearch(self._tables), self.access, self.keys)

    @once
    def _webhooks(self) -> tuple[WebhookQueue, WebhookService]:
        return _webhooks(self.settings, self._tables, self.clock, self.ids)

    @property
    def webhooks(self) -> WebhookService:
        return self._webhooks[1]

    @property
    def webhook_queue(self) -> WebhookQueue:
        """SQS in AWS; locally (no WEBHOOK_QUEUE_URL) an in-process `LocalQueue` that make run's sender drains."""
        return self._webhooks[0]

    @once
    def waitlist(self) -> WaitlistService:
        return _waitlist(
            self.settings,
            self._waitlist_store,
            self.booking,
            self.booking_queries,
            self.sign_in,
            self.store,
            self.deliverer,
            self._patient_repo,
            self.clock,
            self.ids,
        )

    @once
    def _calendars(self) -> tuple[CalendarConnections, VisitsOut]:
        from chalicelib.services.busy_freed import FreedBusyStore

        calendar_busy = FreedBusyStore(self.store, self.waitlist.on_busy_freed)  # time a sync frees: the waitlist's
        return _calendars(
            self.settings,
            self._tables,
            calendar_busy,
            self._doctor_repo,
            self.clock,
            self.ids,
            self.realtime,
            self._policy.booking_horizon_days,
            self.webhooks,
            self.store,
        )

    @property
    def calendars(self) -> CalendarConnections:
        """A doctor's own calendars: connections, their busy-time sync, conflicts."""
        return self._calendars[0]

    @property
    def calendar_visits(self) -> VisitsOut:
        """Visits out: each booked visit's copy in its doctor's CalDAV calendars (the appointments stream's
        consumer)."""
        return self._calendars[1]


_current: Container | None = None


def build(
    settings: Settings | None = None,
    clock: Clock | None = None,
    ids: IdGenerator | None = None,
    adapters: Adapters | None = None,
) -> Container:
    """A container on the real adapters, or on those `adapters` hands in (tests). The settings are read and checked
    here; each service and adapter is made on first use, so heavy imports (pynamodb, botocore, pydantic) and the
    services' modules load when a request needs them, not at cold start."""
    from chalicelib.adapters.system import SystemClock, UuidGenerator
    from chalicelib.config import Settings
    from chalicelib.domain.holds import hold_duration

    settings = settings or Settings.from_env()
    hold_duration(settings.hold_minutes)  # 1-60 minutes: a bad setting fails here, not in a request's service
    hold_duration(settings.waitlist_offer_minutes)  # checked as a hold's length is
    return Container(settings, clock or SystemClock(), ids or UuidGenerator(), adapters or Adapters())


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
