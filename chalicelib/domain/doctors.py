"""Doctors: the profile, its availability, and directory search matching."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from chalicelib.domain.schedule import Availability


@dataclass(frozen=True)
class Doctor:
    id: str
    name: str
    specialty: str
    location: str
    timezone: str
    telehealth: bool
    created_at: datetime
    telehealth_platform: str | None = None
    availability: Availability | None = None
    calendar_token_hash: str | None = None
    """SHA-256 of the doctor's calendar-feed token; None when no feed is enabled (or it was revoked)."""
    has_busy_times: bool = False
    """Internal (in no answer): set by every write of the doctor's busy times, in its transaction, and never
    cleared. Without it the doctor's days have had no busy times written (unless before the flag existed), so a
    booking's first attempt does not read them: its transaction's busy guard at version 0 refuses it if any
    were ever written, and the next attempt reads them (`BookingCommands._guarded`)."""

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def schedule(self) -> Availability:
        """Without availability set, a doctor has no working hours (every day is a day off)."""
        return self.availability or Availability()


def matches(
    doctor: Doctor,
    q: str | None = None,
    specialty: str | None = None,
    location: str | None = None,
    telehealth: bool | None = None,
) -> bool:
    """Case-insensitive: `q` in name or specialty, `specialty` and `location` as substrings."""
    if q and q.casefold() not in doctor.name.casefold() and q.casefold() not in doctor.specialty.casefold():
        return False
    if specialty and specialty.casefold() not in doctor.specialty.casefold():
        return False
    if location and location.casefold() not in doctor.location.casefold():
        return False
    return telehealth is None or doctor.telehealth == telehealth
