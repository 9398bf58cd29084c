"""The patient directory in DynamoDB: contact details with their verified flags, push devices, and the day's
message count (the per-patient cap, written with each reminder's outcome: reminders.py), one item per patient."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pynamodb.exceptions import UpdateError

from chalicelib.adapters.dynamodb.errors import condition_failed, translated_errors
from chalicelib.adapters.dynamodb.items import contact_actions, profile_from, stored_devices
from chalicelib.adapters.dynamodb.models import PatientModel, Tables
from chalicelib.adapters.dynamodb.search import index_contact
from chalicelib.domain.patients import Device, PatientProfile


class DynamoPatientRepository:
    def __init__(self, tables: Tables) -> None:
        self._patients = tables.patients

    def get(self, patient_id: str) -> PatientProfile | None:
        with translated_errors():
            try:
                item = self._patients.get(patient_id, consistent_read=True)
            except PatientModel.DoesNotExist:
                return None
        return None if item.patient_ref else profile_from(item)  # a search entry is nobody

    def get_many(self, patient_ids: Sequence[str]) -> dict[str, PatientProfile]:
        """BatchGetItem, 100 keys a call (pynamodb splits and re-asks for unprocessed keys)."""
        with translated_errors():
            items = self._patients.batch_get(sorted(set(patient_ids)), consistent_read=True)
            return {item.id: profile_from(item) for item in items}

    def save_contact(self, contact: PatientProfile, now: datetime) -> None:
        with translated_errors():
            self._patients(id=contact.id).update(actions=contact_actions(contact, now))
        index_contact(self._patients, contact)  # after the record: a search finds only patients that exist

    def save_language(self, patient_id: str, language: str, now: datetime) -> bool:
        """One conditional update: only a patient already in the directory gets a language."""
        return self._update_existing(
            patient_id, [PatientModel.language.set(language), PatientModel.updated_at.set(now)]
        )

    def save_staff_contact(self, patient_id: str, email: str | None, phone: str | None, now: datetime) -> bool:
        """One conditional update: only a patient already in the directory gets staff-entered contacts."""
        actions: list[Any] = [PatientModel.updated_at.set(now)]
        for attribute, value in ((PatientModel.staff_email, email), (PatientModel.staff_phone, phone)):
            actions.append(attribute.set(value) if value else attribute.remove())
        return self._update_existing(patient_id, actions)

    def _update_existing(self, patient_id: str, actions: list[Any]) -> bool:
        with translated_errors():
            try:
                self._patients(id=patient_id).update(actions=actions, condition=PatientModel.id.exists())
                return True
            except UpdateError as exc:
                if condition_failed(exc):
                    return False
                raise

    def save_devices(self, patient_id: str, devices: list[Device], now: datetime) -> None:
        with translated_errors():
            self._patients(id=patient_id).update(
                actions=[PatientModel.devices.set(stored_devices(devices)), PatientModel.updated_at.set(now)]
            )

    def remove_device(self, patient_id: str, endpoint: str, now: datetime) -> None:
        profile = self.get(patient_id)
        if profile is None:
            return
        remaining = [d for d in profile.devices if d.endpoint != endpoint]
        self.save_devices(patient_id, remaining, now)
