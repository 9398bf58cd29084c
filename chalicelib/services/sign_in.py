"""A patient's sign-in: its directory record (re)written from its own claims, Cognito's verified flags included,
so staff book only patients that exist and reminders go only to verified addresses."""

from __future__ import annotations

from chalicelib.domain.errors import Forbidden
from chalicelib.domain.identity import Caller, Role
from chalicelib.domain.patients import PatientProfile
from chalicelib.services.ports.patients import PatientRepository
from chalicelib.services.ports.system import Clock
from chalicelib.services.reminders.planning import contact_of


class SignIn:
    def __init__(self, patients: PatientRepository, clock: Clock) -> None:
        self._patients = patients
        self._clock = clock

    def record(self, caller: Caller) -> PatientProfile:
        """A patient's first sign-in (and each later one) writes its directory record from its claims."""
        if caller.role is not Role.PATIENT:
            raise Forbidden("Only patients have a directory record.")
        contact = contact_of(caller)
        self._patients.save_contact(contact, self._clock.now())
        return contact
