"""The patients' pool post-confirmation trigger (app.patient_signup) against moto's Cognito."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from chalice.test import Client
from moto import mock_aws

import app as application


@pytest.fixture
def pool(monkeypatch) -> Iterator[tuple[Any, str]]:
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    with mock_aws():
        cognito = boto3.client("cognito-idp", region_name="us-east-1")
        pool_id = cognito.create_user_pool(PoolName="clinic-test-patients")["UserPool"]["Id"]
        cognito.create_group(UserPoolId=pool_id, GroupName="patients")
        cognito.admin_create_user(UserPoolId=pool_id, Username="new-patient@example.com")
        yield cognito, pool_id


def trigger(pool_id: str, source: str) -> dict[str, Any]:
    return {
        "version": "1",
        "triggerSource": source,
        "region": "us-east-1",
        "userPoolId": pool_id,
        "userName": "new-patient@example.com",
        "callerContext": {"clientId": "apps"},
        "request": {"userAttributes": {"email": "new-patient@example.com", "email_verified": "true"}},
        "response": {},
    }


def groups_of(cognito: Any, pool_id: str) -> list[str]:
    found = cognito.admin_list_groups_for_user(UserPoolId=pool_id, Username="new-patient@example.com")
    return [g["GroupName"] for g in found["Groups"]]


def test_a_patient_who_confirms_their_sign_up_lands_in_patients(pool):
    cognito, pool_id = pool
    # GIVEN a new, confirmed account in the patients' pool
    event = trigger(pool_id, "PostConfirmation_ConfirmSignUp")
    # WHEN Cognito calls the post-confirmation trigger
    with Client(application.app) as client:
        answer = client.lambda_.invoke("patient_signup", event).payload
    # THEN the user is in `patients` and Cognito gets its event back
    assert groups_of(cognito, pool_id) == ["patients"]
    assert answer == event


def test_a_password_reset_confirmation_changes_no_group(pool):
    cognito, pool_id = pool
    # GIVEN a confirmed password reset  WHEN the trigger runs  THEN group membership is untouched
    with Client(application.app) as client:
        client.lambda_.invoke("patient_signup", trigger(pool_id, "PostConfirmation_ConfirmForgotPassword"))
    assert groups_of(cognito, pool_id) == []
