"""Import time is part of Lambda's cold start: the entry point loads no heavy library that only one path needs
(they are imported where they are used; `make bench` measures the cold start). Chalice needs only the routes at
import: a route names its models, and its handler imports its use cases, when it first runs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

DEFERRED = (
    "boto3",
    "botocore.session",  # (Powertools' user agent imports botocore's package, which is small)
    "pynamodb",
    "jwt",  # PyJWT and cryptography: only the FHIR authorizer's token check and key fetch
    "cryptography",
    "urllib.request",  # only the key fetch and the video platform's calls
    "aws_xray_sdk",  # only in Lambda with tracing on
    "pydantic",  # the request and response models: a route's load when it first runs
    "pydantic_core",
    "chalicelib.api.schemas.common",
    "chalicelib.services",  # the use cases: built by the container on the first request
    "chalicelib.services.booking",
    "chalicelib.config",  # the settings: read on the first request
)


def printed_by_fresh_interpreter(program: str) -> str:
    """What `program` prints in a fresh interpreter outside Lambda (no AWS settings but the region)."""
    done = subprocess.run(
        [sys.executable, "-c", program],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "AWS_DEFAULT_REGION": "us-east-1"},
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return done.stdout


def modules_after(probe: str) -> set[str]:
    """The modules a fresh interpreter has loaded after running `probe` (then listing `sys.modules`)."""
    printed = printed_by_fresh_interpreter(probe + "\nimport sys\nprint(' '.join(sorted(sys.modules)))")
    return set(printed.splitlines()[-1].split())


def modules_after_import_app() -> set[str]:
    return modules_after("import app")


@pytest.fixture(scope="module")
def loaded() -> set[str]:
    # GIVEN a fresh interpreter outside Lambda
    # WHEN it imports the entry point
    return modules_after_import_app()


@pytest.mark.parametrize("module", DEFERRED)
def test_import_app_defers(loaded: set[str], module: str) -> None:
    # THEN the library is not loaded yet
    assert module not in loaded


def test_every_route_is_registered_without_loading_a_model(loaded: set[str]) -> None:
    # GIVEN a fresh interpreter WHEN it imports the entry point THEN Chalice has every route (the booking's among
    # them), and no model module is loaded
    probe = "import app\nprint(len(app.app.routes), '/api/appointments' in app.app.routes)"
    count, booking = printed_by_fresh_interpreter(probe).split()
    assert int(count) > 50
    assert booking == "True"
    assert not [m for m in loaded if m.startswith("chalicelib.api.schemas.")]


def test_a_request_loads_its_own_models_only() -> None:
    # GIVEN a fresh interpreter with the app imported
    # WHEN it answers one request (the health check)
    loaded = modules_after(
        "import app\n"
        "from chalice.test import Client\n"
        "with Client(app.app) as client:\n"
        "    assert client.http.get('/health').status_code == 200"
    )
    # THEN the health check's models are loaded, and no other resource's
    assert "chalicelib.api.schemas.system" in loaded
    others = {"appointments", "waitlist", "calendars", "doctors", "webhooks", "patients", "reminders", "analytics"}
    assert not {f"chalicelib.api.schemas.{name}" for name in others} & loaded


def test_the_schemas_package_offers_each_name_from_the_module_that_defines_it() -> None:
    # GIVEN the schemas package, whose names load lazily
    import importlib

    from chalicelib.api import schemas

    homes = {name: module for module, names in schemas._HOME.items() for name in names.split()}
    # THEN it offers exactly the names it exports, each the very object of its module
    assert sorted(homes) == sorted(schemas.__all__)
    for name, module in homes.items():
        assert getattr(schemas, name) is getattr(importlib.import_module(f"chalicelib.api.schemas.{module}"), name)


def test_a_route_may_name_a_model_of_a_resource_module() -> None:
    # GIVEN model references as routes write them
    # THEN a plain name is the package's, a dotted one its module's, a class itself
    from chalicelib.api import schemas
    from chalicelib.api.http import resolve_model
    from chalicelib.api.schemas import waitlist

    assert resolve_model("AppointmentOut") is schemas.AppointmentOut
    assert resolve_model("waitlist.EntryOut") is waitlist.EntryOut
    assert resolve_model(waitlist.EntryOut) is waitlist.EntryOut
    with pytest.raises(AttributeError):
        resolve_model("NoSuchModel")


def test_the_container_makes_each_service_when_first_needed_and_once() -> None:
    # GIVEN a fresh interpreter with the app imported and the container built
    # WHEN a booking's services are asked for (twice)
    probe = (
        "import sys\n"
        "import app\n"
        "from chalicelib import container\n"
        "wired = container.build()\n"
        "print(' '.join(sorted(sys.modules)))\n"
        "booking = wired.booking\n"
        "assert wired.booking is booking and wired.adapters.store is wired.store\n"
    )
    printed = printed_by_fresh_interpreter(probe + "print(' '.join(sorted(sys.modules)))\n").splitlines()
    after_build, after_booking = set(printed[0].split()), set(printed[-1].split())
    # THEN building read the settings only: no service, no pynamodb
    assert "chalicelib.config" in after_build
    assert not {"pynamodb", "chalicelib.services.booking.commands"} & after_build
    # and the booking's first use made its services and stores (the same ones on every later use), not the
    # calendars', the webhooks', the waitlist's or the analytics'
    made = {"pynamodb", "chalicelib.services.booking.commands", "chalicelib.adapters.dynamodb.appointments"}
    assert made <= after_booking
    others = ("calendar_connections", "webhooks", "waitlist", "analytics")
    assert not {f"chalicelib.services.{name}" for name in others} & after_booking
