"""Lapsing holds: a hold whose expiry has passed is released (its time free again) by the sweep, and on the spot
by whichever read or booking meets it first."""

from __future__ import annotations

import logging
from datetime import datetime

from chalicelib.domain.errors import DomainError
from chalicelib.domain.holds import end_of_hold
from chalicelib.services.ports.appointments import AppointmentStore
from chalicelib.services.ports.system import Clock, IdGenerator

log = logging.getLogger("clinic.booking")


class HoldLapse:
    def __init__(self, store: AppointmentStore, clock: Clock, ids: IdGenerator) -> None:
        self._store = store
        self._clock = clock
        self._ids = ids

    def release_expired(self, limit: int = 100) -> int:
        """The sweep's release of lapsed holds (also run when a booking or hold is refused, in case a lapsed hold
        not yet swept is what refused it): each hold on its own; how many were released. Never raises."""
        now = self._clock.now()
        try:
            expired = self._store.expired_holds(now, limit)
        except Exception:
            log.exception("holds: the expired holds could not be read this time")
            return 0
        return self.lapse(expired, now)

    def lapse(self, hold_ids: list[str], now: datetime) -> int:
        """Releases each hold whose expiry has passed by `now`, conditioned on that in its transaction: a hold
        booked at the same instant is either booked or released, never both. Each on its own."""
        released = 0
        for hold_id in hold_ids:
            try:
                hold = self._store.get_hold(hold_id)
                if hold is None or not hold.expired(now):
                    continue
                self._store.release_hold(hold, end_of_hold(self._ids.new_id(), hold, None, "lapsed", now), now)
                released += 1
            except DomainError:
                continue  # booked or released meanwhile
            except Exception:
                log.exception("hold %s: not released this time (the next sweep retries)", hold_id)
        return released
