"""The channels that carry a reminder's message (e-mail, SMS, push) and register push devices."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from chalicelib.domain.appointments import Appointment
from chalicelib.domain.delivery import Delivery
from chalicelib.domain.reminders import Reminder


class MessageSender(Protocol):
    """Sends one reminder's message by its channel."""

    def send(self, reminder: Reminder, appointment: Appointment, push_endpoints: Sequence[str]) -> Delivery: ...


class PushRegistrar(Protocol):
    def register_device(self, patient_id: str, platform: str, token: str) -> str:
        """The push endpoint of this device token (created, or the existing one)."""
        ...


class Deliverer(MessageSender, PushRegistrar, Protocol):
    """The channels' adapter: sends messages and registers push devices."""
