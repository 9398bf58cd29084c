"""The slot-updates WebSocket: its connections, subscriptions and sender."""

from __future__ import annotations

from datetime import date, datetime
from typing import Protocol


class ConnectionSender(Protocol):
    def send(self, connection_id: str, payload: str) -> None: ...


class SubscriptionStore(Protocol):
    """WebSocket connections and the doctor-days each follows; records expire with the connection (TTL)."""

    def add_connection(self, connection_id: str, subject: str, expires_at: datetime) -> None: ...

    def use_ticket(self, ticket_id: str, expires_at: datetime) -> bool:
        """Claim a ticket for its one connection; False when it was claimed before."""
        ...

    def remove_connection(self, connection_id: str) -> None: ...

    def subscribe(self, connection_id: str, doctor_id: str, day: date, limit: int, expires_at: datetime) -> bool: ...

    def unsubscribe(self, connection_id: str, doctor_id: str, day: date) -> None: ...

    def subscribers(self, doctor_id: str, day: date) -> list[str]: ...
