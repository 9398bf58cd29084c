"""The suite's grouping holds with the pytest and pytest-xdist pinned in requirements-dev.txt: the package tests
(`tests/conftest.py`'s ONE_WORKER) run on one worker, so each stage is built once. pytest 9.2 with
pytest-xdist 3.8 dropped the groups silently (xdist marks a group by renaming the test's node id, which pytest
9.2 no longer reads back): every package test ran on either worker and each stage was built twice."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

CONFTEST = f"""
import importlib.util
import sys

sys.path.insert(0, {str(ROOT)!r})
spec = importlib.util.spec_from_file_location("suite_conftest", {str(ROOT / "tests" / "conftest.py")!r})
suite = importlib.util.module_from_spec(spec)
spec.loader.exec_module(suite)
pytest_collection_modifyitems = suite.pytest_collection_modifyitems
"""

DISTRIBUTION = ("-n", "2", "--dist", "loadgroup", "--no-loadscope-reorder")
"""make test's (the Makefile's PYTEST_XDIST)."""

TESTS = """
import pytest


@pytest.mark.parametrize("n", range(8))
def test_{name}(n):
    pass
"""


def test_the_package_tests_run_on_one_worker_under_make_tests_distribution(tmp_path: Path) -> None:
    # GIVEN a project laid out like ours: the package module (a one-worker group) and another module
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    tests = tmp_path / "tests"
    (tests / "integration").mkdir(parents=True)
    (tests / "conftest.py").write_text(CONFTEST)
    (tests / "integration" / "test_package.py").write_text(TESTS.format(name="packaged"))
    (tests / "integration" / "test_other.py").write_text(TESTS.format(name="other"))
    # WHEN it runs with make test's distribution on two workers
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "tests", "-v", "-p", "no:cacheprovider", *DISTRIBUTION],
        cwd=tmp_path,
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout[-3000:]
    ran = re.findall(r"\[(gw\d)\] .*PASSED tests/integration/(test_\w+)\.py", done.stdout)
    # THEN all sixteen ran, every package test on the same worker, and the other tests are not held to it
    assert len(ran) == 16, done.stdout[-3000:]
    assert len({worker for worker, module in ran if module == "test_package"}) == 1, ran
