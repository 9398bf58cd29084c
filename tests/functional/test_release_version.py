"""Releases have versions: the one `make package` stamps into the package is in GET /health, in every log line and
in a metrics dimension set beside the service's own (which the alarms watch), so a spike can be tied to a release."""

from __future__ import annotations

import io
import json
import logging
import sys
import types

import boto3
import pytest
from moto import mock_aws

from tests.helpers import patient

RELEASE = "v3.1.0-2-gabc1234"
DAY = "2026-12-02"


@pytest.fixture
def released(monkeypatch):
    """The code as a package stamped RELEASE runs it, with metrics on and every log line shown."""
    from chalicelib import observability

    monkeypatch.setattr(observability, "VERSION", RELEASE)
    observability.metrics.clear_metrics()  # nothing left over from a test that ran with metrics off
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    observability.logger.setLevel("DEBUG")
    written = io.StringIO()  # the logger's own handler holds the stdout of import time: read its formatter's lines
    handler = logging.StreamHandler(written)
    handler.setFormatter(observability.logger.registered_formatter)
    observability.logger.addHandler(handler)
    app_loggers = logging.getLogger(observability.APP_LOGGERS)
    monkeypatch.setattr(app_loggers, "handlers", [])
    monkeypatch.setattr(app_loggers, "propagate", True)
    monkeypatch.setattr(app_loggers, "level", logging.NOTSET)
    observability.json_app_logs()  # as in Lambda
    yield written
    observability.logger.handlers.remove(handler)
    observability.logger.setLevel("WARNING")
    observability.logger.append_keys(version=observability.release_version())


def test_an_unpackaged_checkout_is_the_dev_release_and_health_says_so(api):
    # GIVEN the code run from a checkout (no chalicelib/_version.py) WHEN /health is asked
    from chalicelib.observability import release_version

    answer = api.call("GET", "/health", {})
    # THEN it is up and names the release "dev"
    assert release_version() == "dev"
    assert answer.status_code == 200 and answer.data == {"status": "ok", "version": "dev"}


def test_a_stamped_package_reports_the_version_written_into_it(monkeypatch):
    # GIVEN the module `make package` writes into the package
    from chalicelib.observability import release_version

    stamped = types.ModuleType("chalicelib._version")
    stamped.VERSION = RELEASE  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "chalicelib._version", stamped)
    # THEN that is the release; an empty stamp is still "dev"
    assert release_version() == RELEASE
    stamped.VERSION = ""  # type: ignore[attr-defined]
    assert release_version() == "dev"


def test_health_and_every_metric_name_the_release(api, clock, released, capsys):
    # GIVEN a release serving requests WHEN a visit is booked and /health is asked
    doc = api.doctor_with_hours()
    book = {"doctorId": doc["id"], "date": DAY, "time": "10:00", "type": "in-person", "reason": "check-up"}
    made = api.call("POST", "/api/appointments", {**patient("p-1"), "Idempotency-Key": "v-1"}, book)
    assert made.status_code == 201, made.data
    health = api.call("GET", "/health", {})
    blobs = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    # THEN /health names it
    assert health.data == {"status": "ok", "version": RELEASE}
    # AND each metrics blob is published per service (what the alarms watch) and per service and release
    assert any(m["Name"] == "BookingCreated" for b in blobs for m in b["_aws"]["CloudWatchMetrics"][0]["Metrics"])
    for blob in blobs:
        assert blob["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["service"], ["service", "version"]]
        assert (blob["service"], blob["version"]) == ("clinic-booking", RELEASE)


def test_every_log_line_names_the_release_the_powertools_loggers_and_the_codes_own(released, monkeypatch):
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    with mock_aws():
        cognito = boto3.client("cognito-idp", region_name="us-east-1")
        pool_id = cognito.create_user_pool(PoolName="clinic-test-patients")["UserPool"]["Id"]
        cognito.create_group(UserPoolId=pool_id, GroupName="patients")
        cognito.admin_create_user(UserPoolId=pool_id, Username="p@example.com")
        event = {"triggerSource": "PostConfirmation_ConfirmSignUp", "userPoolId": pool_id, "userName": "p@example.com"}
        # GIVEN a function invocation that logs (its context middleware resets the logger's keys first)
        from chalice.test import Client

        from app import app

        with Client(app) as lambdas:
            lambdas.lambda_.invoke("patient_signup", event)
    # AND a line of the code's own loggers (clinic.*), routed through the Powertools handler as in Lambda
    logging.getLogger("clinic.api").warning("a line of the code's own")
    logs = [json.loads(line) for line in released.getvalue().splitlines()]
    # THEN every line is JSON naming the release
    assert [(line["message"], line["version"]) for line in logs] == [
        ("account confirmed", RELEASE),
        ("a line of the code's own", RELEASE),
    ]
    assert logs[0]["function_name"] == "patient_signup" and logs[1]["service"] == "clinic-booking"
