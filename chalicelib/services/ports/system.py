"""What every use case may need of the machine: the clock, new ids, the signing key and idempotent runs."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class IdGenerator(Protocol):
    def new_id(self) -> str: ...


class Idempotency(Protocol):
    def run(
        self,
        key: str,
        payload: dict[str, Any],
        action: Callable[[], dict[str, Any]],
        lambda_context: Any = None,
        recover: Callable[[], dict[str, Any] | None] | None = None,
    ) -> dict[str, Any]:
        """Run `action` once per key; a repeat with the same payload returns the stored result; a record stuck
        in progress answers `recover()` when that finds the committed result."""
        ...


class KeyProvider(Protocol):
    def signing_key(self) -> bytes: ...
