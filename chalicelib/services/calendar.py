"""Calendars: an appointment as an .ics file, and a doctor's subscribable feed behind a revocable token
(calendar apps cannot send our sign-in, so the feed URL carries a secret that the doctor can rotate)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from chalicelib.domain.calendar import appointment_ics, doctor_feed_ics
from chalicelib.domain.errors import Forbidden, Unauthenticated
from chalicelib.domain.identity import Caller, Role
from chalicelib.domain.language import DEFAULT as DEFAULT_LANGUAGE
from chalicelib.services.booking import ListFilter
from chalicelib.services.booking.queries import BookingQueries
from chalicelib.services.ports.doctors import DoctorRepository
from chalicelib.services.ports.system import Clock

FEED_PAST = timedelta(days=30)
FEED_AHEAD = timedelta(days=365)
INVALID_FEED_LINK = "This calendar link is not valid (it may have been revoked)."


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class CalendarService:
    def __init__(self, booking: BookingQueries, doctors: DoctorRepository, clock: Clock) -> None:
        self._booking = booking
        self._doctors = doctors
        self._clock = clock

    def appointment(self, caller: Caller, appointment_id: str, language: str = DEFAULT_LANGUAGE) -> bytes:
        return appointment_ics(self._booking.get(caller, appointment_id), self._clock.now(), language)

    def enable_feed(self, caller: Caller, doctor_id: str) -> str:
        """A new feed token (any earlier one stops working). Only the hash is stored."""
        self._check_owner(caller, doctor_id)
        self._booking.doctor(doctor_id)
        token = secrets.token_urlsafe(32)
        self._doctors.set_calendar_token_hash(doctor_id, _digest(token))
        return token

    def revoke_feed(self, caller: Caller, doctor_id: str) -> None:
        self._check_owner(caller, doctor_id)
        self._booking.doctor(doctor_id)
        self._doctors.set_calendar_token_hash(doctor_id, None)

    def feed(self, doctor_id: str, token: str | None) -> bytes:
        """The feed for a valid token. Anything else, an unknown doctor included, gets the one same 401: the
        link's holder has no right to learn which doctor ids exist."""
        doctor = self._doctors.get(doctor_id)
        stored = doctor.calendar_token_hash if doctor else None
        if not token or not stored or not hmac.compare_digest(_digest(token), stored):
            raise Unauthenticated(INVALID_FEED_LINK)
        now = self._clock.now()
        staff = Caller(subject=f"feed:{doctor_id}", role=Role.DOCTOR, doctor_id=doctor_id)
        window = ListFilter(date_from=(now - FEED_PAST).date(), date_to=(now + FEED_AHEAD).date())
        return doctor_feed_ics(self._booking.list_for_doctor(staff, doctor_id, window), now)

    @staticmethod
    def _check_owner(caller: Caller, doctor_id: str) -> None:
        if not (caller.role is Role.ADMIN or (caller.role is Role.DOCTOR and caller.doctor_id == doctor_id)):
            raise Forbidden("Only the doctor and clinic admins manage the doctor's calendar feed.")
