"""The waitlist table: entries and the log of freed times (key shapes in models.WaitlistModel's table docs).

Every change of an item is conditioned on the version read, so two offers racing for one entry cannot both land.
"""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, time
from enum import Enum
from typing import Any

from pynamodb.exceptions import PutError

from chalicelib.adapters.dynamodb.errors import condition_failed, translated_errors
from chalicelib.adapters.dynamodb.models import Tables, WaitlistModel
from chalicelib.domain.appointments import AppointmentType
from chalicelib.domain.errors import Conflict
from chalicelib.domain.waitlist import (
    Entry,
    EntryStatus,
    FreedRecord,
    Offer,
    OfferOutcome,
    TimeRange,
)

ENTRY, FREED = "entry", "freed"


class VersionChanged(Conflict):
    """The item changed since it was read (another offer, answer or sweep got there first)."""


def entry_sort_key(entry: Entry) -> str:
    return f"E#{_iso(entry.joined_at)}#{entry.id}"


def freed_sort_key(record: FreedRecord) -> str:
    return f"F#{record.date}#{_iso(record.starts_at)}#{record.id}"


class DynamoWaitlistStore:
    def __init__(self, tables: Tables) -> None:
        self._model = tables.waitlist

    # --- entries ---------------------------------------------------------------------------------------------
    def add(self, entry: Entry) -> None:
        item = self._entry_item(entry, 1)
        with translated_errors():
            try:
                item.save(condition=WaitlistModel.id.does_not_exist())
            except PutError as exc:
                if condition_failed(exc):
                    raise VersionChanged("This entry exists already.") from exc
                raise

    def get(self, entry_id: str) -> Entry | None:
        with translated_errors():
            try:
                item = self._model.get(entry_id, consistent_read=True)
            except WaitlistModel.DoesNotExist:
                return None
        return entry_from(item) if item.kind == ENTRY else None

    def save(self, entry: Entry) -> Entry:
        """Writes the entry conditioned on the version it was read at; the stored entry (version + 1)."""
        stored = dataclasses.replace(entry, version=entry.version + 1)
        with translated_errors():
            try:
                self._entry_item(entry, stored.version).save(condition=WaitlistModel.version == entry.version)
            except PutError as exc:
                if condition_failed(exc):
                    raise VersionChanged("The entry changed meanwhile; read it again.") from exc
                raise
        return stored

    def of_patient(self, patient_id: str) -> list[Entry]:
        with translated_errors():
            found = self._model.patient_index.query(patient_id, WaitlistModel.sort_key.startswith("E#"))
            return [entry_from(i) for i in found]

    def of_doctor(self, doctor_id: str) -> list[Entry]:
        with translated_errors():
            found = self._model.doctor_index.query(doctor_id, WaitlistModel.sort_key.startswith("E#"))
            return [entry_from(i) for i in found]

    def queue(self, doctor_id: str) -> list[Entry]:
        """The doctor's waiting and offered entries in join order (the sparse queue index)."""
        with translated_errors():
            return [entry_from(i) for i in self._model.queue_index.query(doctor_id)]

    # --- freed times -----------------------------------------------------------------------------------------
    def add_freed(self, record: FreedRecord) -> bool:
        """Writes a freed time's log once: False when it exists (the same stream record delivered again)."""
        with translated_errors():
            try:
                self._freed_item(record, 1).save(condition=WaitlistModel.id.does_not_exist())
            except PutError as exc:
                if condition_failed(exc):
                    return False
                raise
        return True

    def get_freed(self, record_id: str) -> tuple[FreedRecord, int] | None:
        with translated_errors():
            try:
                item = self._model.get(record_id, consistent_read=True)
            except WaitlistModel.DoesNotExist:
                return None
        return (freed_from(item), int(item.version or 0)) if item.kind == FREED else None

    def save_freed(self, record: FreedRecord, version: int) -> None:
        with translated_errors():
            try:
                self._freed_item(record, version + 1).save(condition=WaitlistModel.version == version)
            except PutError as exc:
                if condition_failed(exc):
                    raise VersionChanged("The freed time's log changed meanwhile.") from exc
                raise

    def freed_of(self, doctor_id: str, first: date, last: date) -> list[FreedRecord]:
        """The doctor's freed times on local days `first`..`last`, in time order."""
        with translated_errors():
            found = self._model.doctor_index.query(
                doctor_id, WaitlistModel.sort_key.between(f"F#{first.isoformat()}", f"F#{last.isoformat()}#~")
            )
            return [freed_from(i) for i in found]

    # --- items -----------------------------------------------------------------------------------------------
    def _entry_item(self, entry: Entry, version: int) -> WaitlistModel:
        return self._model(
            id=entry.id,
            kind=ENTRY,
            doctor_id=entry.doctor_id,
            patient_id=entry.patient_id,
            sort_key=entry_sort_key(entry),
            queue_doctor=entry.doctor_id if entry.active else None,
            status=entry.status.value,
            body=entry_body(entry),
            version=version,
        )

    def _freed_item(self, record: FreedRecord, version: int) -> WaitlistModel:
        return self._model(
            id=record.id,
            kind=FREED,
            doctor_id=record.doctor_id,
            sort_key=freed_sort_key(record),
            status=record.status,
            body=_plain(record),
            version=version,
        )


# --- mapping: the domain objects' own fields, written as JSON-safe values and read back by their types ----------
def entry_body(entry: Entry) -> dict[str, Any]:
    return {k: v for k, v in _plain(entry).items() if k != "version"}


def entry_from(item: WaitlistModel) -> Entry:
    b = dict(item.body)
    offer = b.get("offer")
    return Entry(
        id=b["id"],
        doctor_id=b["doctor_id"],
        patient_id=b["patient_id"],
        date_from=date.fromisoformat(b["date_from"]),
        date_to=date.fromisoformat(b["date_to"]),
        type=AppointmentType(b["type"]),
        duration=int(b["duration"]),
        notify=tuple(b.get("notify") or ()),
        joined_at=_dt(b["joined_at"]),
        status=EntryStatus(b["status"]),
        days=tuple(b.get("days") or ()),
        times=tuple(
            TimeRange(time.fromisoformat(r["start"]), time.fromisoformat(r["end"])) for r in b.get("times") or ()
        ),
        move_earlier=b.get("move_earlier"),
        move_earlier_starts_at=_dt(b["move_earlier_starts_at"]) if b.get("move_earlier_starts_at") else None,
        priority=int(b.get("priority") or 0),
        offer=_offer(offer) if offer else None,
        past_offers=tuple(_offer(o) for o in b.get("past_offers") or ()),
        passed=tuple(b.get("passed") or ()),
        appointment_id=b.get("appointment_id"),
        recipient_email=b.get("recipient_email"),
        recipient_phone=b.get("recipient_phone"),
        updated_at=_dt(b["updated_at"]) if b.get("updated_at") else None,
        version=int(item.version or 0),
    )


def freed_from(item: WaitlistModel) -> FreedRecord:
    b = dict(item.body)
    return FreedRecord(
        id=b["id"],
        doctor_id=b["doctor_id"],
        date=b["date"],
        starts_at=_dt(b["starts_at"]),
        ends_at=_dt(b["ends_at"]),
        freed_at=_dt(b["freed_at"]),
        origin=b["origin"],
        source_id=b["source_id"],
        status=b.get("status") or "open",
        reason=b.get("reason"),
        offers=tuple(b.get("offers") or ()),
        refilled_at=_dt(b["refilled_at"]) if b.get("refilled_at") else None,
        refilled_minutes=int(b.get("refilled_minutes") or 0),
    )


def _offer(raw: dict[str, Any]) -> Offer:
    return Offer(
        hold_id=raw["hold_id"],
        date=raw["date"],
        time=raw["time"],
        starts_at=_dt(raw["starts_at"]),
        ends_at=_dt(raw["ends_at"]),
        expires_at=_dt(raw["expires_at"]),
        offered_at=_dt(raw["offered_at"]),
        freed_id=raw["freed_id"],
        outcome=OfferOutcome(raw.get("outcome") or "pending"),
        ended_at=_dt(raw["ended_at"]) if raw.get("ended_at") else None,
        by_hand=bool(raw.get("by_hand")),
        messages=tuple(raw.get("messages") or ()),
    )


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, datetime):
        return _iso(value)
    if isinstance(value, date | time):
        return value.isoformat(timespec="minutes") if isinstance(value, time) else value.isoformat()
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, Enum):
        return value.value
    return value


def _iso(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _dt(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
