"""Whom a booking (or hold) is for: a patient books for itself; staff name a patient of the directory, and a
doctor only one it has (or had) a visit with."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from chalicelib.domain.appointments import Status
from chalicelib.domain.doctors import Doctor
from chalicelib.domain.errors import Forbidden, InvalidInput, NotFound, NotYourPatient
from chalicelib.domain.identity import Caller, Role
from chalicelib.domain.patients import PatientProfile
from chalicelib.services.access import AccessAudit
from chalicelib.services.ports.appointments import AppointmentStore, BookingReads
from chalicelib.services.ports.patients import PatientReader

log = logging.getLogger("clinic.booking")
EVER = (datetime(2000, 1, 1, tzinfo=UTC), datetime(2101, 1, 1, tzinfo=UTC))  # every date the API accepts
HISTORY_PAGE = 50


class DirectoryOnly:
    """For stores that cannot read the doctor and the patient in one call (the fakes): the patient's record alone,
    and no doctor (the booking reads it apart)."""

    def __init__(self, patients: PatientReader) -> None:
        self._patients = patients

    def doctor_and_patient(self, doctor_id: str, patient_id: str) -> tuple[Doctor | None, PatientProfile | None]:
        return None, self._patients.get(patient_id)


class BookingPatients:
    def __init__(
        self,
        store: AppointmentStore,
        patients: PatientReader,
        access: AccessAudit | None = None,
        reads: BookingReads | None = None,
    ) -> None:
        self._store = store
        self._reads = reads or DirectoryOnly(patients)
        self._access = access

    def patient_for(
        self, caller: Caller, patient_id: str | None, patient_name: str | None, via: str, doctor_id: str
    ) -> tuple[str, str, Doctor | None]:
        """The patient's id and name for a booking `caller` makes with doctor `doctor_id` naming `patient_id` (and,
        staff only, its name), refused as the rules say; `via` is the route, for the access log's entry of a
        refusal. Staff naming a patient read its directory record with the doctor, in one call where the store
        can: the doctor comes back too (None when it was not read, or does not exist)."""
        if caller.role is Role.PATIENT:
            if patient_id not in (None, caller.subject):
                raise Forbidden("Patients can book only for themselves.")
            if patient_name is not None:
                raise InvalidInput(
                    "patientName is set by staff only.", {"fields": {"patientName": "not allowed for patients"}}
                )
            return caller.subject, caller.display_name, None
        if not patient_id:
            raise InvalidInput(
                "Staff must say which patient the appointment is for.", {"fields": {"patientId": "required"}}
            )
        if caller.role is Role.DOCTOR and not self._has_seen(caller, patient_id):
            # Checked before the directory, so an unknown id answers as a stranger does: a doctor learns neither
            # who exists nor (from a conflict) when a stranger sees other doctors. The front desk books anyone.
            # The probe is on that id's access log, whichever face (REST, FHIR $hold/$book) it came by.
            log.warning("booking refused: the doctor has no visit with this patient")
            if self._access is not None:
                self._access.record(caller, via, [(patient_id, None)], "booking-refused")
            raise NotYourPatient(patient_id)
        doctor, known = self._reads.doctor_and_patient(doctor_id, patient_id)
        if known is None:
            # The directory: staff book only patients who have signed in (no made-up ids to hold slots with).
            raise NotFound("No such patient.", {"patientId": patient_id})
        return patient_id, patient_name or known.name or patient_id, doctor

    def _has_seen(self, caller: Caller, patient_id: str) -> bool:
        """Has (or had) this doctor a visit with the patient, in any status? The patient's own list, read a page
        at a time until one is found."""
        visits = self._store.iter_for_patient(patient_id, EVER[0], EVER[1], None, HISTORY_PAGE)
        return any(visit.doctor_id == caller.doctor_id and visit.status is not Status.HELD for visit in visits)
