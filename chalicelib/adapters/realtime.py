"""Real-time adapters: WebSocket connections and subscriptions in DynamoDB (with TTL), API Gateway's
management API to push messages, and the signing key (Secrets Manager, cached per container).

Keys of the `realtime` table:
- `CONN#<connectionId>` / `META`: the connection, who it is, how many doctor-days it follows.
- `CONN#<connectionId>` / `SUB#<doctorId>#<date>`: what it follows (to clean up on disconnect).
- `SUB#<doctorId>#<date>` / `<connectionId>`: who follows a doctor-day (the fan-out query).
- `TICKET#<ticketId>` / `USED`: a connection ticket already used (tickets are single-use; TTL at its expiry).
"""

from __future__ import annotations

from datetime import date, datetime
from functools import cached_property
from typing import Any

from pynamodb.exceptions import PutError, TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib.adapters.dynamo import translated_errors
from chalicelib.adapters.models import RealtimeModel
from chalicelib.adapters.secrets import SECRET_MAX_AGE_SECONDS, CachedSecret
from chalicelib.config import Settings
from chalicelib.domain.errors import NotFound
from chalicelib.services.ports import ConnectionGone


def _day_key(doctor_id: str, day: date) -> str:
    return f"SUB#{doctor_id}#{day.isoformat()}"


class DynamoSubscriptionStore:
    def add_connection(self, connection_id: str, subject: str, expires_at: datetime) -> None:
        with translated_errors():
            RealtimeModel(
                pk=f"CONN#{connection_id}",
                sk="META",
                subject=subject,
                subscriptions=0,
                expires_at=int(expires_at.timestamp()),
            ).save()

    def use_ticket(self, ticket_id: str, expires_at: datetime) -> bool:
        """One conditional put per connection: `TICKET#<id>` / `USED`, kept until the ticket expires (TTL)."""
        with translated_errors():
            try:
                RealtimeModel(pk=f"TICKET#{ticket_id}", sk="USED", expires_at=int(expires_at.timestamp())).save(
                    condition=RealtimeModel.pk.does_not_exist()
                )
                return True
            except PutError as exc:
                if getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException":
                    return False
                raise

    def remove_connection(self, connection_id: str) -> None:
        with translated_errors():
            items = list(RealtimeModel.query(f"CONN#{connection_id}", consistent_read=True))
            with RealtimeModel.batch_write() as batch:
                for item in items:
                    batch.delete(item)
                    if item.sk.startswith("SUB#"):
                        batch.delete(RealtimeModel(pk=item.sk, sk=connection_id))

    def subscribe(self, connection_id: str, doctor_id: str, day: date, limit: int, expires_at: datetime) -> bool:
        """False when the connection already follows `limit` doctor-days; following one twice is a no-op."""
        key = _day_key(doctor_id, day)
        epoch = int(expires_at.timestamp())
        with translated_errors():
            try:
                RealtimeModel.get(f"CONN#{connection_id}", key, consistent_read=True)
                return True
            except RealtimeModel.DoesNotExist:
                pass
            try:
                with TransactWrite(connection=RealtimeModel._get_connection().connection) as tx:
                    tx.update(
                        RealtimeModel(pk=f"CONN#{connection_id}", sk="META"),
                        actions=[RealtimeModel.subscriptions.add(1)],
                        condition=RealtimeModel.pk.exists() & (RealtimeModel.subscriptions < limit),
                    )
                    tx.save(RealtimeModel(pk=f"CONN#{connection_id}", sk=key, expires_at=epoch))
                    tx.save(RealtimeModel(pk=key, sk=connection_id, expires_at=epoch))
                return True
            except TransactWriteError as exc:
                reasons = getattr(exc.cause, "cancellation_reasons", None) or []
                if any(r and r.code == "ConditionalCheckFailed" for r in reasons):
                    return False
                raise

    def unsubscribe(self, connection_id: str, doctor_id: str, day: date) -> None:
        """Raises NotFound when the connection does not follow that day (answered on the socket)."""
        key = _day_key(doctor_id, day)
        try:
            with translated_errors(), TransactWrite(connection=RealtimeModel._get_connection().connection) as tx:
                tx.delete(RealtimeModel(pk=f"CONN#{connection_id}", sk=key), condition=RealtimeModel.pk.exists())
                tx.delete(RealtimeModel(pk=key, sk=connection_id))
                tx.update(
                    RealtimeModel(pk=f"CONN#{connection_id}", sk="META"),
                    actions=[RealtimeModel.subscriptions.add(-1)],
                )
        except TransactWriteError as exc:
            reasons = getattr(exc.cause, "cancellation_reasons", None) or []
            if any(r and r.code == "ConditionalCheckFailed" for r in reasons):
                raise NotFound("This connection does not follow that day.", {"date": day.isoformat()}) from exc
            raise

    def subscribers(self, doctor_id: str, day: date) -> list[str]:
        with translated_errors():
            return [item.sk for item in RealtimeModel.query(_day_key(doctor_id, day))]


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
        import boto3

        s = self._settings
        return boto3.client("apigatewaymanagementapi", region_name=s.region, endpoint_url=s.websocket_endpoint)

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
