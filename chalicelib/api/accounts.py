"""The patients' user pool's post-confirmation trigger: the Cognito event in, the same event back."""

from __future__ import annotations

from typing import Any

from chalicelib import container
from chalicelib.observability import logger


def on_confirmation(event: dict[str, Any]) -> dict[str, Any]:
    """Cognito requires the event back; raising fails the confirmation (the user sees it and may retry)."""
    group = container.accounts().confirmed(event["userPoolId"], event["userName"], event.get("triggerSource", ""))
    logger.info("account confirmed", extra={"trigger": event.get("triggerSource"), "group": group})
    return event
