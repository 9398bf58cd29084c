"""Import time is part of Lambda's cold start: the entry point loads no heavy library that only one path needs
(they are imported where they are used; `make bench` measures the cold start)."""

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
)


def modules_after_import_app() -> set[str]:
    probe = "import sys, app; print(' '.join(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "AWS_DEFAULT_REGION": "us-east-1"},
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return set(done.stdout.split())


@pytest.fixture(scope="module")
def loaded() -> set[str]:
    # GIVEN a fresh interpreter outside Lambda
    # WHEN it imports the entry point
    return modules_after_import_app()


@pytest.mark.parametrize("module", DEFERRED)
def test_import_app_defers(loaded: set[str], module: str) -> None:
    # THEN the library is not loaded yet
    assert module not in loaded
