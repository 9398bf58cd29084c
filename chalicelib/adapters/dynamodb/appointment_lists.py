"""Appointments read back: by id (GetItem, BatchGetItem) and a patient's or a doctor's visits in a window, from
the appointments table's `patient_id` and `doctor_id` indexes (a list page reads about a page)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from chalicelib.adapters.dynamodb import keys
from chalicelib.adapters.dynamodb.errors import translated_errors
from chalicelib.adapters.dynamodb.items import appointment_from
from chalicelib.adapters.dynamodb.models import AppointmentModel, Tables
from chalicelib.domain.appointments import Appointment


def stored(tables: Tables, appointment_id: str) -> Appointment | None:
    """The appointment as stored now (strongly consistent GetItem)."""
    with translated_errors():
        try:
            return appointment_from(tables.appointments.get(appointment_id, consistent_read=True))
        except AppointmentModel.DoesNotExist:
            return None


class DynamoAppointmentLists:
    def __init__(self, tables: Tables) -> None:
        self.tables = tables

    def get(self, appointment_id: str) -> Appointment | None:
        return stored(self.tables, appointment_id)

    def get_many(self, appointment_ids: Sequence[str]) -> dict[str, Appointment]:
        return by_ids(self.tables, appointment_ids)

    def list_for_patient(self, patient_id: str, start: datetime, end: datetime) -> list[Appointment]:
        with translated_errors():
            items = self.tables.appointments.patient_index.query(
                patient_id, AppointmentModel.starts_at.between(keys.instant(start), keys.instant(end))
            )
            return [appointment_from(i) for i in items]

    def list_for_doctor(self, doctor_id: str, start: datetime, end: datetime) -> list[Appointment]:
        with translated_errors():
            items = self.tables.appointments.doctor_index.query(
                doctor_id, AppointmentModel.starts_at.between(keys.instant(start), keys.instant(end))
            )
            return [appointment_from(i) for i in items]

    def iter_for_patient(
        self, patient_id: str, start: datetime, end: datetime, after: tuple[str, str] | None, page_size: int
    ) -> Iterator[Appointment]:
        index = self.tables.appointments.patient_index
        return _iter_index(index, "patient_id", patient_id, start, end, after, page_size)

    def iter_for_doctor(
        self, doctor_id: str, start: datetime, end: datetime, after: tuple[str, str] | None, page_size: int
    ) -> Iterator[Appointment]:
        index = self.tables.appointments.doctor_index
        return _iter_index(index, "doctor_id", doctor_id, start, end, after, page_size)


def by_ids(tables: Tables, appointment_ids: Sequence[str]) -> dict[str, Appointment]:
    """BatchGetItem, 100 keys a call (pynamodb splits and re-asks for unprocessed keys), strongly consistent."""
    if not appointment_ids:
        return {}
    with translated_errors():
        items = tables.appointments.batch_get(sorted(set(appointment_ids)), consistent_read=True)
        return {item.id: appointment_from(item) for item in items}


def _iter_index(
    index: Any,
    attribute: str,
    value: str,
    start: datetime,
    end: datetime,
    after: tuple[str, str] | None,
    page_size: int,
) -> Iterator[Appointment]:
    """A list page's reads: Query with Limit (`page_size`) and ExclusiveStartKey (the index key and the table key
    of the last item shown), so a page reads about a page, whatever the window holds."""
    start_key = None
    if after is not None:
        start_key = {"id": {"S": after[1]}, attribute: {"S": value}, "starts_at": {"S": after[0]}}
    with translated_errors():
        items = index.query(
            value,
            AppointmentModel.starts_at.between(keys.instant(start), keys.instant(end)),
            page_size=page_size,
            last_evaluated_key=start_key,
        )
        for item in items:
            yield appointment_from(item)
