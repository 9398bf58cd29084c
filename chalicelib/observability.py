"""Powertools Logger and Metrics shared by every Lambda, and the HTTP middleware that tags logs with the
request id and the release. Log lines and metrics carry ids, routes, codes and the release only: never names,
contacts or visit reasons."""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

if TYPE_CHECKING:
    from aws_lambda_powertools import Tracer

SERVICE = "clinic-booking"


def release_version() -> str:
    """The release this code is: `git describe` as `make package` wrote it into the package
    (`chalicelib/_version.py`, never committed), or "dev" where the code runs from a checkout."""
    import importlib

    try:
        stamped = importlib.import_module("chalicelib._version")
    except ImportError:
        return "dev"
    return str(getattr(stamped, "VERSION", "") or "dev")


VERSION = release_version()
logger = Logger(service=SERVICE)
logger.append_keys(version=VERSION)
metrics = Metrics(namespace="ClinicBooking", service=SERVICE)


def tracing_is_on() -> bool:
    """X-Ray traces only inside Lambda (not under `sam local` or `chalice local`), unless POWERTOOLS_TRACE_DISABLED.

    The same rule as Powertools' own Tracer; asked first so that the X-Ray SDK (about half of `import app`) is
    never imported where it would trace nothing: local runs, tests and the cold-start benchmark's baseline."""
    disabled = os.environ.get("POWERTOOLS_TRACE_DISABLED", "false").strip().lower() in {"1", "true", "yes", "on"}
    in_lambda = bool(os.environ.get("LAMBDA_TASK_ROOT"))
    emulated = bool(os.environ.get("AWS_SAM_LOCAL") or os.environ.get("AWS_CHALICE_CLI_MODE"))
    return in_lambda and not emulated and not disabled


@cache
def tracer() -> Tracer:
    """The one X-Ray tracer (auto-patching boto3), built on first use."""
    from aws_lambda_powertools import Tracer

    return Tracer(service=SERVICE)


# Reads publish no metric; that is expected, not worth a warning per request.
warnings.filterwarnings("ignore", message="No application metrics to publish")

ERROR_METRICS = {"SLOT_UNAVAILABLE": "BookingConflict", "SERVICE_UNAVAILABLE": "StoreBusy"}


class RedactContacts(logging.Filter):
    """Defence in depth: no e-mail address or phone number reaches a log line, even inside an error."""

    def filter(self, record: logging.LogRecord) -> bool:
        from chalicelib.domain.contact import redact

        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a malformed record: leave it to logging's own error handling
            return True
        if isinstance(record.msg, str) or record.args:
            record.msg = redact(message)
            record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


WIRE_LOGGERS = ("botocore", "boto3", "urllib3", "pynamodb", "s3transfer", "aws_lambda_powertools")
"""Libraries that log whole requests and responses (patient data) at DEBUG: never below WARNING."""


def install_redaction() -> None:
    for name in WIRE_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    redaction = RedactContacts()
    logger.addFilter(redaction)
    for handler in (*logging.getLogger().handlers, *logger.handlers):
        handler.addFilter(redaction)
    for name in ("clinic.api", "clinic.reminders", "clinic-booking"):
        logging.getLogger(name).addFilter(redaction)


install_redaction()

APP_LOGGERS = "clinic"
"""The parent of the code's own loggers (`clinic.api`, `clinic.reminders`, ...)."""


def json_app_logs() -> None:
    """The code's own loggers write through the Powertools handler: JSON lines carrying the service, the release,
    the request's correlation id and the Lambda context, as the Powertools logger's own lines do.

    Only in Lambda (the root logger there is the runtime's plain-text handler); elsewhere they go to the root
    logger as before, where the tests and `make run` read them."""
    parent = logging.getLogger(APP_LOGGERS)
    parent.handlers = list(logger.handlers)
    parent.setLevel(logger.log_level)
    parent.propagate = False


if os.environ.get("LAMBDA_TASK_ROOT"):
    json_app_logs()


def correlate(event: Any, get_response: Callable[[Any], Any]) -> Any:
    """Every log line of a request carries API Gateway's request id and the route, never the body."""
    context = event.context or {}
    logger.set_correlation_id(context.get("requestId"))
    logger.append_keys(route=f"{event.method} {context.get('resourcePath', '')}")
    return get_response(event)


def with_version(event: Any, get_response: Callable[[Any], Any]) -> Any:
    """Every log line of every invocation names the release (the Lambda context middleware clears the keys
    appended before it), so a spike in the logs can be tied to a deploy."""
    logger.append_keys(version=VERSION)
    return get_response(event)


def count(name: str, value: int = 1) -> None:
    """One of this invocation's counts (`value` of them in one data point): published per service (what the alarms
    watch) and per service and release (a second EMF dimension set, so a canary's numbers can be told from the old
    release's)."""
    if not any(dimensions.get("version") == VERSION for dimensions in metrics.provider.dimension_sets):
        metrics.add_dimensions(service=SERVICE, version=VERSION)
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


def count_error(code: str) -> None:
    if code in ERROR_METRICS:
        count(ERROR_METRICS[code])
