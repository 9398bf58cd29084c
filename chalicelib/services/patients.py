"""The patient directory as staff see it: a patient's record, and contacts staff enter for it (kept apart from
the patient's own, never verified, so no reminder goes to them)."""

from __future__ import annotations

from collections.abc import Sequence

from chalicelib.domain.contact import e164, email
from chalicelib.domain.errors import InvalidInput, NotFound
from chalicelib.domain.language import LANGUAGES, supported
from chalicelib.domain.patients import PatientProfile
from chalicelib.services.ports.patients import PatientRepository
from chalicelib.services.ports.system import Clock


class PatientDirectory:
    def __init__(self, patients: PatientRepository, clock: Clock) -> None:
        self._patients = patients
        self._clock = clock

    def get(self, patient_id: str) -> PatientProfile:
        found = self._patients.get(patient_id)
        if found is None:
            raise NotFound("No such patient.", {"patientId": patient_id})
        return found

    def languages_of(self, patient_ids: Sequence[str]) -> dict[str, str]:
        """The languages these patients chose, by id (one batch read; those who chose none are left out): what
        staff see beside each visit, so the desk knows to call with an interpreter."""
        if not patient_ids:
            return {}
        found = self._patients.get_many(patient_ids)
        return {pid: lang for pid, profile in found.items() if (lang := supported(profile.language))}

    def set_language(self, patient_id: str, language: str) -> PatientProfile:
        """The patient's language (from the app, or staff); the patient must be in the directory."""
        if supported(language) != language:
            raise InvalidInput("Unknown language.", {"fields": {"language": "must be one of " + ", ".join(LANGUAGES)}})
        if not self._patients.save_language(patient_id, language, self._clock.now()):
            raise NotFound("No such patient.", {"patientId": patient_id})
        return self.get(patient_id)

    def enter_contact(self, patient_id: str, raw_email: str | None, raw_phone: str | None) -> PatientProfile:
        """Store what staff entered (an empty string clears it). A staff-entered address is a note for the
        desk, not consent: reminders still go only to the patient's own verified addresses."""
        bad: dict[str, str] = {}
        new_email = email(raw_email) if raw_email else None
        new_phone = e164(raw_phone) if raw_phone else None
        if raw_email and new_email is None:
            bad["email"] = "is not an e-mail address"
        if raw_phone and new_phone is None:
            bad["phone"] = "is not a valid phone number in international form (+<country><number>)"
        if bad:
            raise InvalidInput("Some contact details are invalid.", {"fields": bad})
        current = self.get(patient_id)
        keep_email = current.staff_email if raw_email is None else new_email
        keep_phone = current.staff_phone if raw_phone is None else new_phone
        if not self._patients.save_staff_contact(patient_id, keep_email, keep_phone, self._clock.now()):
            raise NotFound("No such patient.", {"patientId": patient_id})
        return self.get(patient_id)
