"""Powertools Logger shared by every Lambda, and the HTTP middleware that tags logs with the request id."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger

logger = Logger(service="clinic-booking")


def correlate(event: Any, get_response: Callable[[Any], Any]) -> Any:
    """Every log line of a request carries API Gateway's request id, and the route, never the body."""
    request_id = (event.context or {}).get("requestId")
    logger.set_correlation_id(request_id)
    logger.append_keys(route=f"{event.method} {(event.context or {}).get('resourcePath', '')}")
    return get_response(event)
