"""Functional tests: the real app through chalice.test.Client, the real adapters against moto."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from chalice.test import Client

from chalicelib import container
from chalicelib.config import Settings
from tests.helpers import NOW, STANDARD_AVAILABILITY, FixedClock, SequentialIds, admin
from tests.moto_cloud import KeptClients, empty_cloud, fresh_tables, worker_cloud

SENDER = "reminders@clinic.example"
FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:clinic-reminder-dispatcher"


FCM_APPLICATION_ARN = "arn:aws:sns:us-east-1:123456789012:app/GCM/clinic-fcm"
"""The SNS FCM platform application of tests that ask for push (`fcm_push`): made in moto, named in the settings."""


@pytest.fixture
def settings(tmp_path, request: pytest.FixtureRequest) -> Settings:
    push = {"SNS_FCM_APPLICATION_ARN": FCM_APPLICATION_ARN} if "fcm_push" in request.fixturenames else {}
    return Settings.from_env(
        {
            **push,
            "TABLE_PREFIX": "fn",
            "AWS_REGION": "us-east-1",
            "SCHEDULE_GROUP": "fn-reminders",
            "REMINDER_FUNCTION_ARN": FUNCTION_ARN,
            "SCHEDULER_ROLE_ARN": "arn:aws:iam::123456789012:role/clinic-scheduler",
            "REMINDER_DLQ_ARN": "arn:aws:sqs:us-east-1:123456789012:fn-reminder-dlq",
            "SES_FROM_ADDRESS": SENDER,
            "SNS_APNS_APPLICATION_ARN": "",
            "OUTBOX_DIR": str(tmp_path / "outbox"),
            "SIGNING_KEY": "functional-test-signing-key",
            "WEBSOCKET_ENDPOINT": "https://ws123.execute-api.us-east-1.amazonaws.com/api",
        }
    )


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def ids() -> Any:
    """The container's id generator; a test module may override this fixture."""
    return SequentialIds()


@pytest.fixture(scope="package")
def kept_clients() -> Iterator[KeptClients]:
    """Package-scoped: moto (with its fake credentials) ends with the functional tests, so the worker's
    integration and end-to-end tests, which share it under pytest-xdist, never run inside it."""
    with worker_cloud() as kept:
        yield kept


@pytest.fixture(autouse=True)
def cloud(kept_clients: KeptClients) -> KeptClients:
    """Every functional test starts on an empty moto cloud (tests that open their own `mock_aws()` too)."""
    empty_cloud(kept_clients)
    return kept_clients


def no_wait(_: float) -> None:
    """A retry's sleep in tests: no test waits on time."""


@pytest.fixture
def adapters(settings: Settings, clock: FixedClock) -> container.Adapters:
    """What the container is built on beyond the real adapters against moto: an appointment store and a deliverer
    whose retries do not wait. A test module overrides this fixture to hand in its own."""
    from chalicelib.adapters.delivery import AwsDeliverer
    from chalicelib.adapters.dynamodb import models
    from chalicelib.adapters.dynamodb.appointments import DynamoAppointmentStore
    from chalicelib.adapters.dynamodb.transaction import BACKOFF

    store = DynamoAppointmentStore(settings, models.bind(settings), backoff=replace(BACKOFF, sleep=no_wait))
    return container.Adapters(store=store, deliverer=AwsDeliverer(settings, clock=clock.now, sleep=no_wait))


@pytest.fixture
def wired(
    settings: Settings, clock: FixedClock, ids: Any, cloud: KeptClients, adapters: container.Adapters
) -> Iterator[container.Container]:
    fresh_tables(settings)
    cloud.client("scheduler", settings.region).create_schedule_group(Name=settings.schedule_group)
    cloud.client("sqs", settings.region).create_queue(QueueName="fn-reminder-dlq")
    cloud.client("ses", settings.region).verify_email_identity(EmailAddress=SENDER)
    if settings.sns_fcm_application_arn:
        made = cloud.client("sns", settings.region).create_platform_application(
            Name="clinic-fcm", Platform="GCM", Attributes={"PlatformCredential": "key"}
        )
        assert made["PlatformApplicationArn"] == settings.sns_fcm_application_arn
    built = container.build(settings, clock=clock, ids=ids, adapters=adapters)
    container.use(built)
    yield built
    container.use(None)


@pytest.fixture
def client(wired: container.Container) -> Iterator[Any]:
    from app import app

    with Client(app) as test_client:
        yield test_client.http


@pytest.fixture
def lambdas(wired: container.Container) -> Iterator[Client]:
    """chalice's test client for invoking the app's other Lambda functions (dispatcher, sweep, publisher)."""
    from app import app

    with Client(app) as test_client:
        yield test_client


class Api:
    """Small JSON helpers over chalice's test client."""

    def __init__(self, http: Any) -> None:
        self.http = http

    def call(self, method: str, path: str, headers: dict[str, str] | None = None, body: Any = None) -> Any:
        import json

        h = {"Content-Type": "application/json", **(headers or {})}
        payload = None if body is None else (body if isinstance(body, str | bytes) else json.dumps(body))
        response = self.http.request(method, path, headers=h, body=payload or b"")
        response.data = json.loads(response.body) if response.body else None
        return response

    def create_doctor(self, **overrides: Any) -> dict[str, Any]:
        body = {
            "name": "Dr. Ada Smith",
            "specialty": "Cardiology",
            "location": "Main St Clinic, Room 4",
            "timezone": "America/New_York",
            "telehealth": True,
            "telehealthPlatform": "custom",
            **overrides,
        }
        created = self.call("POST", "/api/admin/doctors", admin(), body)
        assert created.status_code == 201, created.data
        return created.data

    def doctor_with_hours(self, availability: dict[str, Any] | None = None, **overrides: Any) -> dict[str, Any]:
        doctor = self.create_doctor(**overrides)
        done = self.call(
            "PUT", f"/api/admin/doctors/{doctor['id']}/availability", admin(), availability or STANDARD_AVAILABILITY
        )
        assert done.status_code == 200, done.data
        return doctor

    def try_book(self, doc: dict[str, Any], who: dict[str, str] | None = None, **fields: Any) -> Any:
        """POST /api/appointments as `who` (default: patient-1) with `booking_body(doc, **fields)`; the response,
        whatever its status."""
        from tests.helpers import booking_body, patient

        return self.call("POST", "/api/appointments", who or patient(), booking_body(doc, **fields))

    def book(self, doc: dict[str, Any], who: dict[str, str] | None = None, **fields: Any) -> dict[str, Any]:
        """As `try_book`, for a booking that must be made: the appointment the 201 answered."""
        made = self.try_book(doc, who, **fields)
        assert made.status_code == 201, made.data
        return made.data

    def appointments_of(self, doc: dict[str, Any]) -> list[dict[str, Any]]:
        """The doctor's appointments, as staff list them."""
        listed = self.call("GET", f"/api/appointments/doctor/{doc['id']}", admin())
        assert listed.status_code == 200, listed.data
        return listed.data["appointments"]


@pytest.fixture
def api(client: Any) -> Api:
    return Api(client)


@pytest.fixture
def fcm_push(wired: container.Container) -> str:
    """Push through FCM: the SNS platform application is made in moto and named in the settings before the
    container is built (the `settings` fixture looks for this fixture); its ARN."""
    return FCM_APPLICATION_ARN


@pytest.fixture
def faults(wired: container.Container) -> Iterator[Any]:
    """Faults injected into the store's DynamoDB calls (botocore hooks); its retries do not wait (`adapters`)."""
    from tests.faults import FaultInjector

    injector = FaultInjector(wired.store)
    yield injector
    injector.close()
