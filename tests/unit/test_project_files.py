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
