"""What a booking staff make for a patient reads before its transaction: the doctor and the patient's directory
record, in one strongly consistent call (TransactGetItems over the two tables)."""

from __future__ import annotations

from pynamodb.exceptions import TransactGetError
from pynamodb.transactions import TransactGet

from chalicelib.adapters.dynamodb.errors import cancelled, translated_errors
from chalicelib.adapters.dynamodb.items import doctor_from, profile_from
from chalicelib.adapters.dynamodb.models import DoctorModel, PatientModel, Tables
from chalicelib.domain.doctors import Doctor
from chalicelib.domain.patients import PatientProfile


class DynamoBookingReads:
    def __init__(self, tables: Tables) -> None:
        self.tables = tables

    def doctor_and_patient(self, doctor_id: str, patient_id: str) -> tuple[Doctor | None, PatientProfile | None]:
        """The doctor and the patient's record (None for either that does not exist; a search entry is nobody).

        A TransactGetItems meeting a transaction that writes one of the two items is cancelled (TransactionConflict:
        say the same patient booking for itself at that moment); botocore's standard mode does not retry that
        answer, and no retry loop of ours is needed either: the two are then read one after the other."""
        t = self.tables
        try:
            with translated_errors(), TransactGet(connection=t.connection) as tx:
                doctor_item = tx.get(t.doctors, doctor_id)
                patient_item = tx.get(t.patients, patient_id)
        except TransactGetError as exc:
            codes = [reason.code if reason else None for reason in exc.cancellation_reasons]
            if not (cancelled(exc) and "TransactionConflict" in codes):
                raise
            return self._doctor(doctor_id), self._patient(patient_id)
        try:
            doctor: Doctor | None = doctor_from(doctor_item.get())
        except DoctorModel.DoesNotExist:
            doctor = None
        try:
            patient = patient_item.get()
        except PatientModel.DoesNotExist:
            return doctor, None
        return doctor, None if patient.patient_ref else profile_from(patient)

    def _doctor(self, doctor_id: str) -> Doctor | None:
        with translated_errors():
            try:
                return doctor_from(self.tables.doctors.get(doctor_id, consistent_read=True))
            except DoctorModel.DoesNotExist:
                return None

    def _patient(self, patient_id: str) -> PatientProfile | None:
        with translated_errors():
            try:
                item = self.tables.patients.get(patient_id, consistent_read=True)
            except PatientModel.DoesNotExist:
                return None
        return None if item.patient_ref else profile_from(item)
