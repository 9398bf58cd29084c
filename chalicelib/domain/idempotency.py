"""Idempotency keys scoped to their caller: the name of an `Idempotency-Key`'s record, and the mark a keyed booking
carries so that a retry meeting its own earlier booking recognises it (see api/idempotent.py)."""

from __future__ import annotations

import hashlib


def scoped_key(subject: str, key: str) -> str:
    """A hash over the length-prefixed subject and key: no two callers (nor subject/key splits) share one."""
    return hashlib.sha256(f"{len(subject)}:{subject}|{len(key)}:{key}".encode()).hexdigest()
