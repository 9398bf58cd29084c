"""Test-wide settings: fake AWS credentials, a quiet local Powertools, the botocore patches (tests/patches.py),
and the suite's order and markers."""

from __future__ import annotations

import os

import pytest

from tests import patches

os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_SECURITY_TOKEN", "testing")
os.environ.setdefault("AWS_SESSION_TOKEN", "testing")
os.environ["AWS_DEFAULT_REGION"] = "us-east-1"
os.environ["AWS_REGION"] = "us-east-1"
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "ClinicBookingTest")
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")

patches.apply()

LAYERS = ("unit", "functional", "integration", "e2e")
"""The suite's order: each test directory is also its marker (pytest.ini). The cheapest tests run first, so a
broken rule shows within seconds and `pytest -x` stops before a server is started."""

BROWSER_FIXTURE = "browser"
"""The Chromium fixture of the browser modules: a test that uses it, directly or through another fixture, is also
marked `browser`."""

ONE_WORKER = {"tests/integration/test_package.py": "package"}
"""Modules whose module-scoped fixture is costly (the package is built for three stages: the first build makes the
code zip and releases it, 15-25 s; the others reuse both): all their tests go to one worker (an `xdist_group`,
`make test`'s `--dist loadgroup`), so each stage is built once, not once per worker
(tests/integration/test_suite_grouping.py shows the groups hold)."""

ON_THE_FAKES = "memory"
"""The contract suites' backend parameter (`memory`, `moto`, `dynamodb-local`) that runs a case on the in-memory
fakes: such a case is also marked `memory`, and `make test-fast` runs it with the unit and functional tests."""


def layer_of(item: pytest.Item) -> str:
    """The test's directory under tests/ (`unit`, `functional`, `integration` or `e2e`)."""
    parts = item.nodeid.split("/")
    if len(parts) < 3 or parts[0] != "tests" or parts[1] not in LAYERS:
        raise pytest.UsageError(f"{item.nodeid}: every test lives in one of tests/{{{','.join(LAYERS)}}}/")
    return parts[1]


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Marks each test with its layer (and `browser`), then sorts the suite unit -> functional -> integration -> e2e
    (stable: within a layer, the collection's order). Every xdist worker collects and sorts alike, and `make test`
    hands tests out in this order (`--dist loadgroup --no-loadscope-reorder`), so both workers start on the unit
    tests."""
    for item in items:
        item.add_marker(layer_of(item))
        if BROWSER_FIXTURE in getattr(item, "fixturenames", ()):
            item.add_marker("browser")
        group = ONE_WORKER.get(item.nodeid.split("::")[0])
        if group is not None:
            item.add_marker(pytest.mark.xdist_group(group))
        callspec = getattr(item, "callspec", None)
        if callspec is not None and ON_THE_FAKES in callspec.params.values():
            item.add_marker("memory")
    items.sort(key=lambda item: LAYERS.index(layer_of(item)))
