"""Instants on the wire and in keys: ISO-8601 UTC with a Z, to the second, sortable as text."""

from __future__ import annotations

from datetime import UTC, datetime


def instant(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_instant(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
