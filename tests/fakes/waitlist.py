"""An in-memory waitlist store, with the contract of DynamoWaitlistStore (test_waitlist_store_contract.py)."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import date

from chalicelib.adapters.dynamodb.waitlist import VersionChanged, entry_sort_key, freed_sort_key
from chalicelib.domain.waitlist import Entry, FreedRecord


class InMemoryWaitlistStore:
    def __init__(self) -> None:
        self._entries: dict[str, Entry] = {}
        self._freed: dict[str, tuple[FreedRecord, int]] = {}
        self._lock = threading.Lock()

    def add(self, entry: Entry) -> None:
        with self._lock:
            if entry.id in self._entries or entry.id in self._freed:
                raise VersionChanged("This entry exists already.")
            self._entries[entry.id] = replace(entry, version=1)

    def get(self, entry_id: str) -> Entry | None:
        return self._entries.get(entry_id)

    def save(self, entry: Entry) -> Entry:
        with self._lock:
            stored = self._entries.get(entry.id)
            if stored is None or stored.version != entry.version:
                raise VersionChanged("The entry changed meanwhile; read it again.")
            saved = replace(entry, version=entry.version + 1)
            self._entries[entry.id] = saved
            return saved

    def of_patient(self, patient_id: str) -> list[Entry]:
        return sorted((e for e in self._entries.values() if e.patient_id == patient_id), key=entry_sort_key)

    def of_doctor(self, doctor_id: str) -> list[Entry]:
        return sorted((e for e in self._entries.values() if e.doctor_id == doctor_id), key=entry_sort_key)

    def queue(self, doctor_id: str) -> list[Entry]:
        return [e for e in self.of_doctor(doctor_id) if e.active]

    def add_freed(self, record: FreedRecord) -> bool:
        with self._lock:
            if record.id in self._freed or record.id in self._entries:
                return False
            self._freed[record.id] = (record, 1)
            return True

    def get_freed(self, record_id: str) -> tuple[FreedRecord, int] | None:
        return self._freed.get(record_id)

    def save_freed(self, record: FreedRecord, version: int) -> None:
        with self._lock:
            stored = self._freed.get(record.id)
            if stored is None or stored[1] != version:
                raise VersionChanged("The freed time's log changed meanwhile.")
            self._freed[record.id] = (record, version + 1)

    def freed_of(self, doctor_id: str, first: date, last: date) -> list[FreedRecord]:
        found = [
            r
            for r, _ in self._freed.values()
            if r.doctor_id == doctor_id and first.isoformat() <= r.date <= last.isoformat()
        ]
        return sorted(found, key=freed_sort_key)
