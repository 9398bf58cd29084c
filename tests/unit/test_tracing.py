"""X-Ray tracing is on only where it traces something (in Lambda), so `import app` elsewhere never pays for the
X-Ray SDK: about half of the entry point's import time before."""

from __future__ import annotations

import subprocess
import sys

import pytest

from chalicelib.observability import tracing_is_on
from infra.local.dynamodb_local import ROOT

IN_LAMBDA = {"LAMBDA_TASK_ROOT": "/var/task"}


@pytest.mark.parametrize(
    ("env", "on"),
    [
        ({}, False),  # a laptop, CI, the benchmarks
        (IN_LAMBDA, True),
        ({**IN_LAMBDA, "AWS_SAM_LOCAL": "true"}, False),  # sam local: no X-Ray daemon listens
        ({**IN_LAMBDA, "AWS_CHALICE_CLI_MODE": "true"}, False),  # chalice local
        ({**IN_LAMBDA, "POWERTOOLS_TRACE_DISABLED": "true"}, False),
        ({**IN_LAMBDA, "POWERTOOLS_TRACE_DISABLED": "false"}, True),
    ],
)
def test_tracing_is_on_only_inside_lambda_unless_disabled(monkeypatch, env, on):
    # GIVEN the environment a function runs in
    for name in ("LAMBDA_TASK_ROOT", "AWS_SAM_LOCAL", "AWS_CHALICE_CLI_MODE", "POWERTOOLS_TRACE_DISABLED"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    # THEN tracing is on exactly in Lambda, and can be turned off there
    assert tracing_is_on() is on


def loads_xray(env: dict[str, str]) -> bool:
    probe = "import sys, app; print('aws_xray_sdk' in sys.modules)"
    done = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "AWS_DEFAULT_REGION": "us-east-1", **env},
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return done.stdout.strip().splitlines()[-1] == "True"


def test_the_entry_point_loads_the_xray_sdk_only_where_it_traces():
    # WHEN the entry point is imported outside Lambda THEN X-Ray is never imported; inside Lambda it is (and traces)
    assert loads_xray({}) is False
    assert loads_xray(IN_LAMBDA) is True
