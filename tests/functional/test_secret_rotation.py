"""Secrets (the token signing key, a video platform's credentials) are cached per container for a few minutes,
not for its whole life: a rotation in Secrets Manager is picked up without a redeploy."""

from __future__ import annotations

import json
import time
from dataclasses import replace

import boto3
import pytest
from moto import mock_aws

from chalicelib.adapters.realtime import SecretsManagerKey
from chalicelib.adapters.video import SecretsManagerJson
from chalicelib.config import Settings


@pytest.fixture
def secretsmanager():
    with mock_aws():
        yield boto3.client("secretsmanager", region_name="us-east-1")


def counted(client) -> list[str]:
    calls: list[str] = []
    client.meta.events.register("before-call.secrets-manager.GetSecretValue", lambda **_: calls.append("get"))
    return calls


def test_the_signing_key_is_read_once_within_its_max_age(secretsmanager):
    # GIVEN the signing key in Secrets Manager
    secretsmanager.create_secret(Name="clinic-dev/signing", SecretString="key-one")
    calls = counted(secretsmanager)
    settings = replace(Settings.from_env(), signing_secret_id="clinic-dev/signing")
    key = SecretsManagerKey(settings, secretsmanager)
    # WHEN it is rotated between two reads within the cache's max age
    assert key.signing_key() == b"key-one"
    secretsmanager.put_secret_value(SecretId="clinic-dev/signing", SecretString="key-two")
    # THEN the second read is served from the cache (no call per request)
    assert key.signing_key() == b"key-one"
    assert calls == ["get"]


def test_a_rotated_secret_is_picked_up_once_its_max_age_has_passed(secretsmanager):
    # GIVEN a platform's credentials, cached for one second
    secretsmanager.create_secret(Name="clinic-dev/zoom", SecretString=json.dumps({"clientId": "old"}))
    credentials = SecretsManagerJson("clinic-dev/zoom", "us-east-1", secretsmanager, max_age=1)
    assert credentials.get()["clientId"] == "old"
    # WHEN the secret is rotated and the max age passes
    secretsmanager.put_secret_value(SecretId="clinic-dev/zoom", SecretString=json.dumps({"clientId": "new"}))
    time.sleep(1.2)
    # THEN the next read has the new credentials
    assert credentials.get()["clientId"] == "new"
