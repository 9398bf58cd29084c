"""Key shapes of the schedule table, built in this one place.

- Doctor lock:    PK `DOCTOR#<doctorId>#<local date>`  SK `SLOT#<UTC instant of a 5-minute granule>` (attribute
  `appointment_id`, its owner) or `BLOCK#<UTC instant of a 30-minute block>` (attribute `appointment_id` for the
  visit that covers it whole, or `sharers`, the set of visits covering part of it): see `domain.schedule.LockPlan`
- Day counter:    PK `DOCTOR#<doctorId>#<local date>`  SK `COUNTER`  (attribute `booked`)
- Patient lock:   PK `PATIENT#<patientId>#<UTC date>`  SK `SLOT#<granule>` or `BLOCK#<block>`, as the doctor's
- Patient's active bookings: PK `PATIENT#<patientId>#ACTIVE`  SK `BOOKINGS` (attribute `active`: the set of the
  ids of the visits counted against the clinic's limit, see `active_limit`; tables written before it may still
  hold per-slot items, SK `N#<k>`, until `active_limit.fold_legacy_items` runs)
- Patient per doctor-day: PK `DOCTOR#<doctorId>#<local date>`  SK `PATIENT#<patientId>` (attribute `booked`)
- Hold on a doctor-day: PK `DOCTOR#<doctorId>#<local date>`  SK `HOLD#<holdId>` (attributes `appointment_id`,
  `ends_at` = the hold's expiry): read with the day's locks, so availability sees a lapsed hold at no extra cost
- Busy times:     PK `DOCTOR#<doctorId>#<local date>`  SK `BUSY#<connectionId>` (attribute `busy`: the day's busy
  intervals from that calendar connection) and SK `BUSY` (attribute `busy_version`): read with the day's locks; a
  booking's transaction conditions on `busy_version` being the one it checked its interval against
- Calendar connections: PK `CALENDARS`  SK `<doctorId>#<connectionId>` (attribute `calendar`, JSON): one
  partition, so the sync sweep reads every connection with one query and a doctor's list is a prefix query
- Visits' copies: PK `CALVISITS#<doctorId>#<connectionId>`  SK `<appointmentId>` (attribute `calendar`: the
  copy's state as `domain.calendar_connections.copy_record` JSON, `visit_version`): one per visit and calendar
  that receives visits; a connection's copies are one query
- Copies to retry: PK `CALVISITS#DUE`  SK `<doctorId>#<connectionId>#<appointmentId>` (attribute `ends_at`: when
  it is due): only failed and pending copies, so the sync's retry is one query of a small partition
- Live holds:     PK `HOLDS`  SK `<holdId>` (attributes `appointment_id`, `ends_at` = expiry): every hold not yet
  booked, released or lapsed (minutes old at most), the sweep's one query; its condition decides book or lapse

And one key of the patients table (hash key `id` alone):
- Patient's messages of a day: `MESSAGES#<patientId>#<UTC date>` (attribute `messages_sent`, TTL `expires_at`):
  the daily message cap's count, reserved by each reminder's claim
"""

from __future__ import annotations

from datetime import date, datetime

from chalicelib.domain.timefmt import instant, parse_instant

__all__ = [
    "ACTIVE_SK",
    "BLOCK_PREFIX",
    "BUSY_PREFIX",
    "BUSY_SK",
    "CALENDARS_PK",
    "COPIES_DUE_PK",
    "COUNTER_SK",
    "HOLDS_PK",
    "HOLD_PREFIX",
    "LEGACY_ACTIVE_PREFIX",
    "SLOT_PREFIX",
    "block_sk",
    "busy_sk",
    "copies_pk",
    "copy_due_sk",
    "doctor_day_pk",
    "hold_sk",
    "instant",
    "parse_instant",
    "patient_access_pk",
    "patient_active_pk",
    "patient_day_pk",
    "patient_messages_pk",
    "patient_on_day_sk",
    "slot_sk",
]

COUNTER_SK = "COUNTER"
SLOT_PREFIX = "SLOT#"
BLOCK_PREFIX = "BLOCK#"
HOLD_PREFIX = "HOLD#"
HOLDS_PK = "HOLDS"
BUSY_SK = "BUSY"
CALENDARS_PK = "CALENDARS"
BUSY_PREFIX = "BUSY#"
ACTIVE_SK = "BOOKINGS"
LEGACY_ACTIVE_PREFIX = "N#"
COPIES_DUE_PK = "CALVISITS#DUE"


def copies_pk(doctor_id: str, connection_id: str) -> str:
    return f"CALVISITS#{doctor_id}#{connection_id}"


def copy_due_sk(doctor_id: str, connection_id: str, appointment_id: str) -> str:
    return f"{doctor_id}#{connection_id}#{appointment_id}"


def doctor_day_pk(doctor_id: str, day: date | str) -> str:
    return f"DOCTOR#{doctor_id}#{day if isinstance(day, str) else day.isoformat()}"


def patient_day_pk(patient_id: str, granule: datetime) -> str:
    return f"PATIENT#{patient_id}#{granule.date().isoformat()}"


def slot_sk(granule: datetime) -> str:
    return SLOT_PREFIX + instant(granule)


def block_sk(block: datetime) -> str:
    return BLOCK_PREFIX + instant(block)


def hold_sk(hold_id: str) -> str:
    return HOLD_PREFIX + hold_id


def busy_sk(connection_id: str) -> str:
    return BUSY_PREFIX + connection_id


def patient_active_pk(patient_id: str) -> str:
    return f"PATIENT#{patient_id}#ACTIVE"


def patient_messages_pk(patient_id: str, day: str) -> str:
    """The patients table's item counting the patient's messages of `day` (a UTC date, `YYYY-MM-DD`)."""
    return f"MESSAGES#{patient_id}#{day}"


def patient_on_day_sk(patient_id: str) -> str:
    return f"PATIENT#{patient_id}"


def patient_access_pk(patient_id: str) -> str:
    """The audit table's partition of one patient's access log (appointment ids never contain `#`)."""
    return f"PATIENT#{patient_id}"
