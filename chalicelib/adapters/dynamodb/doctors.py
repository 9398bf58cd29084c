"""The doctor directory in DynamoDB: one item per doctor, listed through the `directory-index` (never a scan)."""

from __future__ import annotations

from chalicelib.adapters.dynamodb.errors import translated_errors
from chalicelib.adapters.dynamodb.items import doctor_from, doctor_item
from chalicelib.adapters.dynamodb.models import DoctorModel, Tables
from chalicelib.domain.doctors import Doctor
from chalicelib.domain.schedule import Availability, availability_to_dict


class DynamoDoctorRepository:
    def __init__(self, tables: Tables) -> None:
        self._doctors = tables.doctors

    def add(self, doctor: Doctor) -> None:
        with translated_errors():
            doctor_item(self._doctors, doctor).save(condition=DoctorModel.id.does_not_exist())

    def get(self, doctor_id: str) -> Doctor | None:
        with translated_errors():
            try:
                return doctor_from(self._doctors.get(doctor_id, consistent_read=True))
            except DoctorModel.DoesNotExist:
                return None

    def list_all(self) -> list[Doctor]:
        """One query of the directory index (a clinic's directory is small); never a scan."""
        with translated_errors():
            return [doctor_from(d) for d in self._doctors.directory_index.query("ALL")]

    def set_calendar_token_hash(self, doctor_id: str, token_hash: str | None) -> None:
        action = (
            DoctorModel.calendar_token_hash.set(token_hash) if token_hash else DoctorModel.calendar_token_hash.remove()
        )
        with translated_errors():
            self._doctors(id=doctor_id).update(actions=[action], condition=DoctorModel.id.exists())

    def set_availability(self, doctor_id: str, availability: Availability) -> None:
        with translated_errors():
            self._doctors(id=doctor_id).update(
                actions=[DoctorModel.availability.set(availability_to_dict(availability))],
                condition=DoctorModel.id.exists(),
            )
