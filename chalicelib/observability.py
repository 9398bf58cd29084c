"""Powertools Logger and Metrics shared by every Lambda, and the HTTP middleware that tags logs with the
request id. Log lines and metrics carry ids, routes and codes only: never names, contacts or visit reasons."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

logger = Logger(service="clinic-booking")
metrics = Metrics(namespace="ClinicBooking", service="clinic-booking")

# Reads publish no metric; that is expected, not worth a warning per request.
warnings.filterwarnings("ignore", message="No application metrics to publish")

ERROR_METRICS = {"SLOT_UNAVAILABLE": "BookingConflict", "SERVICE_UNAVAILABLE": "StoreBusy"}


def correlate(event: Any, get_response: Callable[[Any], Any]) -> Any:
    """Every log line of a request carries API Gateway's request id and the route, never the body."""
    context = event.context or {}
    logger.set_correlation_id(context.get("requestId"))
    logger.append_keys(route=f"{event.method} {context.get('resourcePath', '')}")
    return get_response(event)


def count(name: str) -> None:
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)


def count_error(code: str) -> None:
    if code in ERROR_METRICS:
        count(ERROR_METRICS[code])
