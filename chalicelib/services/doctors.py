"""Doctor directory use cases: register a doctor, set availability, search."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from chalicelib.domain.doctors import Doctor, matches
from chalicelib.domain.errors import Forbidden, InvalidInput, NotFound
from chalicelib.domain.identity import Caller, Role
from chalicelib.domain.schedule import Availability
from chalicelib.services.ports.doctors import DoctorRepository
from chalicelib.services.ports.system import Clock, IdGenerator

log = logging.getLogger("clinic.doctors")

AvailabilityListener = Callable[[Doctor, Availability], object]
"""Told after an availability change committed: the doctor as it was (with its old availability) and the new one."""


class DoctorService:
    def __init__(
        self,
        doctors: DoctorRepository,
        clock: Clock,
        ids: IdGenerator,
        on_availability: AvailabilityListener | None = None,
    ) -> None:
        self._doctors = doctors
        self._clock = clock
        self._ids = ids
        self.on_availability = on_availability
        """The waitlist's offer of newly opened times (the composition root wires it)."""

    def register(
        self,
        name: str,
        specialty: str,
        location: str,
        timezone: str,
        telehealth: bool,
        telehealth_platform: str | None,
        availability: Availability | None = None,
    ) -> Doctor:
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise InvalidInput("Unknown time zone.", {"fields": {"timezone": "not an IANA time zone"}}) from exc
        doctor = Doctor(
            id=self._ids.new_id(),
            name=name,
            specialty=specialty,
            location=location,
            timezone=timezone,
            telehealth=telehealth,
            telehealth_platform=(telehealth_platform or "custom") if telehealth else None,
            created_at=self._clock.now(),
            availability=availability,
        )
        self._doctors.add(doctor)
        return doctor

    def set_availability(self, doctor_id: str, availability: Availability) -> Doctor:
        """Sets the doctor's availability; once written, the time it opened is offered to the waitlist (a failure
        there is logged and never fails the change)."""
        doctor = self.get(doctor_id)
        self._doctors.set_availability(doctor_id, availability)
        if self.on_availability is not None:
            try:
                self.on_availability(doctor, availability)
            except Exception:
                log.exception("the waitlist was not told of %s's availability change", doctor_id)
        return replace(doctor, availability=availability)

    def set_durations(self, caller: Caller, doctor_id: str, durations: list[int]) -> Doctor:
        """The visit lengths patients may choose beside the default one: set by the doctor itself or an admin; the
        rest of the availability stays as it is. A doctor asking for another doctor gets 403, as for an unknown
        one (no directory probing beyond what the public directory shows)."""
        if not (caller.role is Role.ADMIN or (caller.role is Role.DOCTOR and caller.doctor_id == doctor_id)):
            raise Forbidden("Only the doctor and clinic admins set the doctor's visit lengths.")
        doctor = self.get(doctor_id)
        schedule = replace(doctor.schedule, durations=tuple(sorted(set(durations))))
        self._doctors.set_availability(doctor_id, schedule)
        return replace(doctor, availability=schedule)

    def get(self, doctor_id: str) -> Doctor:
        doctor = self._doctors.get(doctor_id)
        if doctor is None:
            raise NotFound("No such doctor.", {"doctorId": doctor_id})
        return doctor

    def search(
        self,
        q: str | None = None,
        specialty: str | None = None,
        location: str | None = None,
        telehealth: bool | None = None,
    ) -> list[Doctor]:
        return [d for d in self._doctors.list_all() if matches(d, q, specialty, location, telehealth)]
