"""The layers' import rules (README: Layout): use cases and rules never reach for an adapter or an AWS SDK, and
routes read configuration through Settings only."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2] / "chalicelib"
INNER = sorted([*ROOT.joinpath("services").rglob("*.py"), *ROOT.joinpath("domain").rglob("*.py")])
FORBIDDEN = ("chalicelib.adapters", "boto3", "botocore", "pynamodb")


def imported(path: Path) -> list[str]:
    """Every module the file imports, at the top or inside a function."""
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
    return names


@pytest.mark.parametrize("path", INNER, ids=lambda p: str(p.relative_to(ROOT)))
def test_services_and_domain_import_no_adapter_and_no_aws_sdk(path):
    # GIVEN a use case or rule module WHEN its imports are read THEN none is an adapter or an AWS SDK
    bad = [n for n in imported(path) if n.startswith(FORBIDDEN)]
    assert bad == [], f"{path.name} imports {bad}"


def test_the_realtime_routes_read_configuration_through_settings():
    # GIVEN the real-time routes WHEN their imports are read THEN they do not read the environment themselves
    assert "os" not in imported(ROOT / "api" / "realtime.py")
