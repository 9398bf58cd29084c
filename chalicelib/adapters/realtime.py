"""Real-time adapters: API Gateway's management API to push messages, and the signing key (Secrets Manager,
cached for a few minutes). WebSocket connections and subscriptions are in `dynamodb/subscriptions.py`."""

from __future__ import annotations

from functools import cached_property
from typing import Any

from chalicelib.adapters.secrets import SECRET_MAX_AGE_SECONDS, CachedSecret
from chalicelib.config import Settings
from chalicelib.domain.realtime import ConnectionGone


class ApiGatewaySender:
    """Posts to WebSocket connections through API Gateway's management API."""

    def __init__(self, settings: Settings, client: Any | None = None) -> None:
        self._given = client
        self._settings = settings

    @cached_property
    def client(self) -> Any:
        """Made on the first push, not at cold start."""
        if self._given is not None:
            return self._given
        from chalicelib.adapters import aws

        s = self._settings
        return aws.client("apigatewaymanagementapi", s.region, endpoint_url=s.websocket_endpoint)

    def send(self, connection_id: str, payload: str) -> None:
        try:
            self.client.post_to_connection(ConnectionId=connection_id, Data=payload.encode())
        except self.client.exceptions.GoneException as exc:
            raise ConnectionGone(connection_id) from exc


class SecretsManagerKey:
    """The HMAC key from Secrets Manager, cached for `max_age` seconds: a rotation is picked up."""

    def __init__(self, settings: Settings, client: Any | None = None, max_age: int = SECRET_MAX_AGE_SECONDS) -> None:
        self._secret = CachedSecret(settings.signing_secret_id, settings.region, client, max_age)

    def signing_key(self) -> bytes:
        return self._secret.text().encode()


class StaticKey:
    """Local runs and tests: the key comes from the environment."""

    def __init__(self, key: str) -> None:
        self._key = key.encode()

    def signing_key(self) -> bytes:
        return self._key
