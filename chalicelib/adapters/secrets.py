"""Secrets Manager values through Powertools Parameters: cached per Lambda container for `max_age` seconds, so a
rotated secret (a video platform's credentials, the token signing key) is picked up within minutes without a
Secrets Manager call on every request."""

from __future__ import annotations

from typing import Any

SECRET_MAX_AGE_SECONDS = 300


class CachedSecret:
    """One secret by id; the Secrets Manager client is made on the first read, not at cold start."""

    def __init__(
        self,
        secret_id: str,
        region: str,
        client: Any | None = None,
        max_age: int = SECRET_MAX_AGE_SECONDS,
        attempts: int = 3,
        read_timeout: float = 10,
    ) -> None:
        self._secret_id = secret_id
        self._region = region
        self._client = client
        self._max_age = max_age
        self._attempts = attempts
        self._read_timeout = read_timeout
        self._provider: Any = None

    def _secrets(self) -> Any:
        if self._provider is None:
            from aws_lambda_powertools.utilities.parameters import SecretsProvider

            client = self._client
            if client is None:
                from chalicelib.adapters import aws

                client = aws.client(
                    "secretsmanager", self._region, attempts=self._attempts, read_timeout=self._read_timeout
                )
            self._provider = SecretsProvider(boto3_client=client)
        return self._provider

    def text(self) -> str:
        return str(self._secrets().get(self._secret_id, max_age=self._max_age))

    def json(self) -> dict[str, Any]:
        return dict(self._secrets().get(self._secret_id, max_age=self._max_age, transform="json"))
