"""WebSocket connections and the doctor-days they follow, in DynamoDB (with TTL).

Keys of the `realtime` table:
- `CONN#<connectionId>` / `META`: the connection, who it is, how many doctor-days it follows.
- `CONN#<connectionId>` / `SUB#<doctorId>#<date>`: what it follows (to clean up on disconnect).
- `SUB#<doctorId>#<date>` / `<connectionId>`: who follows a doctor-day (the fan-out query).
- `TICKET#<ticketId>` / `USED`: a connection ticket already used (tickets are single-use; TTL at its expiry).
"""

from __future__ import annotations

from datetime import date, datetime

from pynamodb.exceptions import PutError, TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib.adapters.dynamodb.errors import condition_failed, failed_conditions, translated_errors
from chalicelib.adapters.dynamodb.models import RealtimeModel, Tables
from chalicelib.domain.errors import NotFound


def _day_key(doctor_id: str, day: date) -> str:
    return f"SUB#{doctor_id}#{day.isoformat()}"


class DynamoSubscriptionStore:
    def __init__(self, tables: Tables) -> None:
        self._realtime = tables.realtime
        self._connection = tables.connection

    def add_connection(self, connection_id: str, subject: str, expires_at: datetime) -> None:
        with translated_errors():
            self._realtime(
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
                self._realtime(pk=f"TICKET#{ticket_id}", sk="USED", expires_at=int(expires_at.timestamp())).save(
                    condition=RealtimeModel.pk.does_not_exist()
                )
                return True
            except PutError as exc:
                if condition_failed(exc):
                    return False
                raise

    def remove_connection(self, connection_id: str) -> None:
        with translated_errors():
            items = list(self._realtime.query(f"CONN#{connection_id}", consistent_read=True))
            with self._realtime.batch_write() as batch:
                for item in items:
                    batch.delete(item)
                    if item.sk.startswith("SUB#"):
                        batch.delete(self._realtime(pk=item.sk, sk=connection_id))

    def subscribe(self, connection_id: str, doctor_id: str, day: date, limit: int, expires_at: datetime) -> bool:
        """False when the connection already follows `limit` doctor-days; following one twice is a no-op."""
        key = _day_key(doctor_id, day)
        epoch = int(expires_at.timestamp())
        with translated_errors():
            try:
                self._realtime.get(f"CONN#{connection_id}", key, consistent_read=True)
                return True
            except RealtimeModel.DoesNotExist:
                pass
            try:
                with TransactWrite(connection=self._connection) as tx:
                    tx.update(
                        self._realtime(pk=f"CONN#{connection_id}", sk="META"),
                        actions=[RealtimeModel.subscriptions.add(1)],
                        condition=RealtimeModel.pk.exists() & (RealtimeModel.subscriptions < limit),
                    )
                    tx.save(self._realtime(pk=f"CONN#{connection_id}", sk=key, expires_at=epoch))
                    tx.save(self._realtime(pk=key, sk=connection_id, expires_at=epoch))
                return True
            except TransactWriteError as exc:
                if failed_conditions(exc):
                    return False
                raise

    def unsubscribe(self, connection_id: str, doctor_id: str, day: date) -> None:
        """Raises NotFound when the connection does not follow that day (answered on the socket)."""
        key = _day_key(doctor_id, day)
        try:
            with translated_errors(), TransactWrite(connection=self._connection) as tx:
                tx.delete(self._realtime(pk=f"CONN#{connection_id}", sk=key), condition=RealtimeModel.pk.exists())
                tx.delete(self._realtime(pk=key, sk=connection_id))
                tx.update(
                    self._realtime(pk=f"CONN#{connection_id}", sk="META"),
                    actions=[RealtimeModel.subscriptions.add(-1)],
                )
        except TransactWriteError as exc:
            if failed_conditions(exc):
                raise NotFound("This connection does not follow that day.", {"date": day.isoformat()}) from exc
            raise

    def subscribers(self, doctor_id: str, day: date) -> list[str]:
        with translated_errors():
            return [item.sk for item in self._realtime.query(_day_key(doctor_id, day))]
