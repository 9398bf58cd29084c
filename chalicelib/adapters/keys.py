"""Key shapes of the schedule table, built in this one place.

- Doctor lock:    PK `DOCTOR#<doctorId>#<local date>`  SK `SLOT#<UTC instant of the 5-minute granule>`
- Day counter:    PK `DOCTOR#<doctorId>#<local date>`  SK `COUNTER`  (attribute `booked`)
- Patient lock:   PK `PATIENT#<patientId>#<UTC date>`  SK `SLOT#<UTC instant of the granule>`
"""

from __future__ import annotations

from datetime import date, datetime

from chalicelib.domain.timefmt import instant, parse_instant

__all__ = ["COUNTER_SK", "SLOT_PREFIX", "doctor_day_pk", "instant", "parse_instant", "patient_day_pk", "slot_sk"]

COUNTER_SK = "COUNTER"
SLOT_PREFIX = "SLOT#"


def doctor_day_pk(doctor_id: str, day: date | str) -> str:
    return f"DOCTOR#{doctor_id}#{day if isinstance(day, str) else day.isoformat()}"


def patient_day_pk(patient_id: str, granule: datetime) -> str:
    return f"PATIENT#{patient_id}#{granule.date().isoformat()}"


def slot_sk(granule: datetime) -> str:
    return SLOT_PREFIX + instant(granule)
