"""Every boto3 client of ours is made here: botocore's standard retry mode (exponential backoff with jitter on
throttling and transient errors) and bounded timeouts, configured once. No adapter loops on top of it; the one
exception is delivery, whose clients make a single attempt (a retried timeout may send a message twice) and
retry only refusals that prove nothing was sent."""

from __future__ import annotations

from typing import Any

ATTEMPTS = 3
"""botocore's standard mode default: the first call and two retries."""


def client(
    service: str,
    region: str,
    *,
    attempts: int = ATTEMPTS,
    connect_timeout: float = 3,
    read_timeout: float = 10,
    endpoint_url: str | None = None,
) -> Any:
    import boto3
    from botocore.config import Config

    config = Config(
        retries={"mode": "standard", "total_max_attempts": attempts},
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
    )
    return boto3.client(service, region_name=region, endpoint_url=endpoint_url, config=config)
