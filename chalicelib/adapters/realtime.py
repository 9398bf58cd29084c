"""Real-time adapters: API Gateway's management API to push messages, and the signing key (Secrets Manager,
cached per container). WebSocket connections and subscriptions are in `dynamodb/subscriptions.py`."""

from __future__ import annotations

from typing import Any

from chalicelib.config import Settings
from chalicelib.services.ports import ConnectionGone


class ApiGatewaySender:
    """Posts to WebSocket connections through API Gateway's management API."""

    def __init__(self, settings: Settings, client: Any | None = None) -> None:
        if client is None:
            import boto3

            client = boto3.client(
                "apigatewaymanagementapi", region_name=settings.region, endpoint_url=settings.websocket_endpoint
            )
        self.client = client

    def send(self, connection_id: str, payload: str) -> None:
        try:
            self.client.post_to_connection(ConnectionId=connection_id, Data=payload.encode())
        except self.client.exceptions.GoneException as exc:
            raise ConnectionGone(connection_id) from exc


class SecretsManagerKey:
    """The HMAC key, read from Secrets Manager once per Lambda container."""

    def __init__(self, settings: Settings, client: Any | None = None) -> None:
        self._secret_id = settings.signing_secret_id
        self._client = client
        self._region = settings.region
        self._key: bytes | None = None

    def signing_key(self) -> bytes:
        if self._key is None:
            if self._client is None:
                import boto3

                self._client = boto3.client("secretsmanager", region_name=self._region)
            self._key = str(self._client.get_secret_value(SecretId=self._secret_id)["SecretString"]).encode()
        return self._key


class StaticKey:
    """Local runs and tests: the key comes from the environment."""

    def __init__(self, key: str) -> None:
        self._key = key.encode()

    def signing_key(self) -> bytes:
        return self._key
