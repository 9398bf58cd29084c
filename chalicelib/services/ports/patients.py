"""The patients' directory, as each use case sees it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from chalicelib.domain.patients import Device, PatientProfile


class PatientReader(Protocol):
    def get(self, patient_id: str) -> PatientProfile | None: ...

    def get_many(self, patient_ids: Sequence[str]) -> dict[str, PatientProfile]:
        """The profiles that exist among these ids, read consistently in batches (the sweep's reads)."""
        ...


class PatientInbox(PatientReader, Protocol):
    """What delivering a reminder needs of the patient: addresses and devices (the daily message count is read
    with the profile and written with the reminder's outcome: `ReminderQueue.finish`)."""

    def remove_device(self, patient_id: str, endpoint: str, now: datetime) -> None: ...


class PatientDevices(Protocol):
    def get(self, patient_id: str) -> PatientProfile | None: ...

    def save_devices(self, patient_id: str, devices: list[Device], now: datetime) -> None: ...


class PatientRepository(PatientInbox, PatientDevices, Protocol):
    def save_contact(self, contact: PatientProfile, now: datetime) -> None:
        """Write (or refresh) the patient's directory record; devices and counters stay as they are."""
        ...

    def save_language(self, patient_id: str, language: str, now: datetime) -> bool:
        """Set the patient's language; False when the patient is not in the directory."""
        ...

    def save_staff_contact(self, patient_id: str, email: str | None, phone: str | None, now: datetime) -> bool:
        """Store contacts staff entered (an empty value removes one); False when the patient is not in the
        directory."""
        ...
