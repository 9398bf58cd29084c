"""Every response is checked against its model at run time: a stored value the documented schema does not allow
is a logged 500 in the contract's error shape, never a 200 that breaks a generated client."""

from __future__ import annotations

import logging

import boto3
import pytest

from tests.helpers import admin, patient


def test_a_stored_value_outside_the_schema_answers_a_logged_500(api, wired, caplog):
    # GIVEN a doctor whose stored telehealth platform was changed behind the API to one the contract does not name
    doctor = api.create_doctor(telehealthPlatform="zoom")
    boto3.client("dynamodb", region_name=wired.settings.region).update_item(
        TableName=wired.settings.doctors_table,
        Key={"id": {"S": doctor["id"]}},
        UpdateExpression="SET telehealth_platform = :p",
        ExpressionAttributeValues={":p": {"S": "skype"}},
    )
    caplog.set_level(logging.ERROR, logger="clinic.api")
    # WHEN a patient reads the doctor
    got = api.call("GET", f"/api/doctors/{doctor['id']}", patient())
    # THEN the answer is the contract's 500, not the unchecked value, and the error is logged with its cause
    assert got.status_code == 500
    assert got.data == {"error": {"code": "INTERNAL_ERROR", "message": "Something went wrong on our side."}}
    assert "skype" not in got.body.decode()
    logged = [r for r in caplog.records if r.name == "clinic.api" and r.levelno == logging.ERROR]
    assert logged and "GET /api/doctors/{doctorId}" in logged[0].getMessage()
    assert "telehealthPlatform" in (logged[0].exc_text or "") or "telehealth_platform" in (logged[0].exc_text or "")


def test_the_same_doctor_still_answers_200_while_its_stored_values_fit(api):
    # GIVEN a doctor as registered WHEN it is read THEN the checked answer is the ordinary 200
    doctor = api.create_doctor(telehealthPlatform="zoom")
    got = api.call("GET", f"/api/doctors/{doctor['id']}", admin())
    assert got.status_code == 200 and got.data == doctor


def test_every_json_route_but_the_document_itself_declares_its_response_model():
    # GIVEN every route the app serves
    import app  # noqa: F401  (registers every route)
    from chalicelib.api.http import ROUTES

    # THEN each JSON answer has a model to be built and checked with (the OpenAPI document describes itself; a 204
    # answers no body at all; the web app's files, its JSON catalogues among them, are files served as they are)
    unmodelled = [
        f"{r.method} {r.path}"
        for r in ROUTES
        if r.media_type == "application/json" and r.response is None and r.status != 204 and "web" not in r.tags
    ]
    assert unmodelled == ["GET /openapi.json"]


def test_a_handler_that_answers_a_plain_dict_is_a_bug_not_a_response():
    from chalicelib.api import schemas as s
    from chalicelib.api.http import RouteSpec, _serialized

    # GIVEN a route declaring HealthOut WHEN its handler answers a hand-built dict THEN it is refused (a 500)
    spec = RouteSpec("/health", "GET", "", 200, True, (), None, None, s.HealthOut, handler="health")
    with pytest.raises(TypeError, match="not its HealthOut"):
        _serialized(spec, {"status": "ok"})
    assert _serialized(spec, s.HealthOut(status="ok", version="dev")) == {"status": "ok", "version": "dev"}
