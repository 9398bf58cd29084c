"""Idempotency keys scoped to their caller, and the appointment id a keyed booking gets.

A keyed booking's id is derived from the scoped key, so a retry of it (after a lost or failed answer) aims at
the same item and recognises the caller's own booking instead of colliding with it.
"""

from __future__ import annotations

import hashlib
import uuid


def scoped_key(subject: str, key: str) -> str:
    """A hash over the length-prefixed subject and key: no two callers (nor subject/key splits) share one."""
    return hashlib.sha256(f"{len(subject)}:{subject}|{len(key)}:{key}".encode()).hexdigest()


def appointment_id_for(scoped: str) -> str:
    """The id of the appointment booked under a scoped key (UUID-shaped, like every other id)."""
    return str(uuid.UUID(hex=scoped[:32]))
