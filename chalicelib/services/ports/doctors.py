"""The doctors' store."""

from __future__ import annotations

from typing import Protocol

from chalicelib.domain.doctors import Doctor
from chalicelib.domain.schedule import Availability


class DoctorRepository(Protocol):
    def add(self, doctor: Doctor) -> None: ...

    def get(self, doctor_id: str) -> Doctor | None: ...

    def list_all(self) -> list[Doctor]: ...

    def set_availability(self, doctor_id: str, availability: Availability) -> None: ...

    def set_calendar_token_hash(self, doctor_id: str, token_hash: str | None) -> None: ...
