"""Where a calendar connection's credentials live: Secrets Manager in AWS (one secret per connection, encrypted
with the stack's KMS key), a process-local dict under `make run` and in unit tests. Write-only from the API's
point of view: the sync reads them, nothing returns them; they are never logged."""

from __future__ import annotations

import json
from typing import Any

VAULT_PATH_PREFIX = "calendars/"
"""Where a connection's app password is kept, under the stack's own prefix (a name, not a secret)."""


class SecretsManagerVault:
    def __init__(self, region: str, prefix: str, kms_key_id: str | None = None, client: Any | None = None) -> None:
        self._region = region
        self._prefix = prefix
        self._kms_key_id = kms_key_id
        self._client = client

    def _sm(self) -> Any:
        if self._client is None:
            from chalicelib.adapters import aws

            self._client = aws.client("secretsmanager", self._region, attempts=3, read_timeout=10)
        return self._client

    def _name(self, connection_id: str) -> str:
        return f"{self._prefix}/{VAULT_PATH_PREFIX}{connection_id}"

    def put(self, connection_id: str, username: str, password: str) -> None:
        value = json.dumps({"username": username, "password": password})
        extra = {"KmsKeyId": self._kms_key_id} if self._kms_key_id else {}
        self._sm().create_secret(Name=self._name(connection_id), SecretString=value, **extra)

    def get(self, connection_id: str) -> tuple[str, str] | None:
        try:
            raw = self._sm().get_secret_value(SecretId=self._name(connection_id))["SecretString"]
        except Exception as exc:
            if type(exc).__name__ == "ResourceNotFoundException" or "ResourceNotFound" in str(exc):
                return None
            raise
        value = json.loads(raw)
        return str(value["username"]), str(value["password"])

    def delete(self, connection_id: str) -> None:
        try:
            self._sm().delete_secret(SecretId=self._name(connection_id), ForceDeleteWithoutRecovery=True)
        except Exception as exc:
            if "ResourceNotFound" not in (type(exc).__name__ + str(exc)):
                raise


class LocalVault:
    """`make run` and unit tests: kept in this process only (a restart forgets them; reconnect the calendar)."""

    def __init__(self) -> None:
        self._secrets: dict[str, tuple[str, str]] = {}

    def put(self, connection_id: str, username: str, password: str) -> None:
        self._secrets[connection_id] = (username, password)

    def get(self, connection_id: str) -> tuple[str, str] | None:
        return self._secrets.get(connection_id)

    def delete(self, connection_id: str) -> None:
        self._secrets.pop(connection_id, None)
