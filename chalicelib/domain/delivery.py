"""A reminder's delivery: what the channels report, and how a send can fail (retry later, never resend, never)."""

from __future__ import annotations

from dataclasses import dataclass


class TransientDeliveryError(Exception):
    """Throttled or unavailable after the sender's own retries: try again later."""


class UnknownDeliveryOutcome(Exception):
    """The provider may have accepted the message (read timeout, connection reset mid-request): never resend it
    automatically, since the patient would get it twice."""


class PermanentDeliveryError(Exception):
    """The address can never receive this (unverified, opted out, disabled endpoint): fail at once."""

    def __init__(self, message: str, disabled_endpoint: str | None = None) -> None:
        super().__init__(message)
        self.disabled_endpoint = disabled_endpoint


@dataclass(frozen=True)
class Delivery:
    message_id: str
    disabled_endpoints: tuple[str, ...] = ()
    """Push endpoints that turned out disabled while others received the message: to be cleaned up."""
    served: tuple[str, ...] = ()
    """Push endpoints that accepted the message (or may have: `unknown`): never sent to again."""
    unknown: tuple[str, ...] = ()
    """Push endpoints whose outcome is unknown (timeout after sending): not resent either."""
    pending: tuple[str, ...] = ()
    """Push endpoints that were throttled or unavailable: a retry goes to these only."""
    refused: str | None = None
    """Why the endpoints not served, not pending and not disabled refused the message (e.g. AuthorizationError)."""
