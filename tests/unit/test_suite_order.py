"""The suite's order and markers (tests/conftest.py): unit, then functional, integration and e2e, each test marked
with its directory, the browser tests marked `browser`, and the contract cases on the fakes marked `memory`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.conftest import pytest_collection_modifyitems


@dataclass
class Item:
    """What the hook reads of a collected test, and the markers it adds."""

    nodeid: str
    fixturenames: tuple[str, ...] = ()
    callspec: Any = None
    markers: list[str] = field(default_factory=list)

    def add_marker(self, marker: Any) -> None:
        self.markers.append(marker if isinstance(marker, str) else marker.name)


@dataclass
class CallSpec:
    params: dict[str, Any]


def test_unit_tests_run_first_then_functional_integration_and_e2e_each_in_collection_order():
    # GIVEN tests collected in directory order (e2e first), a browser test among them
    items = [
        Item("tests/e2e/test_webapp.py::test_journey", ("dev_server", "browser")),
        Item("tests/e2e/test_smoke.py::test_smoke", ("dev_server",)),
        Item("tests/functional/test_holds.py::test_a"),
        Item("tests/integration/test_chaos.py::test_chaos"),
        Item("tests/unit/test_zones.py::test_b"),
        Item("tests/functional/test_accounts.py::test_c"),
        Item("tests/unit/test_audit.py::test_d"),
    ]
    # WHEN the hook sorts them
    pytest_collection_modifyitems(items)  # type: ignore[arg-type]
    # THEN the unit tests come first, then functional, integration and e2e; within each, as collected
    assert [i.nodeid.split("::")[1] for i in items] == [
        "test_b",
        "test_d",
        "test_a",
        "test_c",
        "test_chaos",
        "test_journey",
        "test_smoke",
    ]
    # AND each is marked with its directory, the one that uses the browser fixture with `browser` too
    assert [i.markers for i in items] == [
        ["unit"],
        ["unit"],
        ["functional"],
        ["functional"],
        ["integration"],
        ["e2e", "browser"],
        ["e2e"],
    ]


def test_a_contract_case_on_the_fakes_is_marked_memory_and_its_other_backends_are_not():
    items = [
        Item(f"tests/integration/test_store_contracts.py::test_x[{kind}]", callspec=CallSpec({"stores": kind}))
        for kind in ("memory", "moto", "dynamodb-local")
    ]
    pytest_collection_modifyitems(items)  # type: ignore[arg-type]
    assert [i.markers for i in items] == [["integration", "memory"], ["integration"], ["integration"]]


def test_a_test_outside_the_four_directories_is_refused():
    # GIVEN a test file put directly under tests/ THEN collection stops with a usage error naming it
    with pytest.raises(pytest.UsageError, match=r"tests/test_stray\.py"):
        pytest_collection_modifyitems([Item("tests/test_stray.py::test_x")])  # type: ignore[list-item]


def test_every_marker_the_hook_sets_is_registered():
    # GIVEN pytest.ini (run with --strict-markers) THEN it registers every marker the hook adds
    from configparser import ConfigParser
    from pathlib import Path

    ini = ConfigParser()
    ini.read(Path(__file__).resolve().parents[2] / "pytest.ini")
    registered = {line.split(":")[0].strip() for line in ini["pytest"]["markers"].splitlines() if line.strip()}
    assert {"unit", "functional", "integration", "e2e", "browser", "memory"} <= registered
    assert "--strict-markers" in ini["pytest"]["addopts"]


def test_the_package_tests_go_to_one_worker():
    # GIVEN the package tests (a module fixture builds three stages) and another integration test
    items = [Item("tests/integration/test_package.py::test_x[dev]"), Item("tests/integration/test_chaos.py::test_y")]
    pytest_collection_modifyitems(items)  # type: ignore[arg-type]
    # THEN only the package tests are in an xdist group (one worker runs them, each stage built once)
    assert [i.markers for i in items] == [["integration", "xdist_group"], ["integration"]]
