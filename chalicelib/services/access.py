"""The access log: every read of patient data and every reminder change, per patient, for HIPAA's accounting
of disclosures (GET /api/admin/patients/{patientId}/access); each read of the log itself is in it too."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from chalicelib.domain.audit import AccessEntry
from chalicelib.domain.identity import Caller
from chalicelib.services.ports.system import Clock, IdGenerator


class AccessLog(Protocol):
    def record_access(self, entries: list[AccessEntry]) -> None: ...

    def access_history(self, patient_id: str) -> list[AccessEntry]: ...


class AccessAudit:
    def __init__(self, log: AccessLog, clock: Clock, ids: IdGenerator) -> None:
        self._log = log
        self._clock = clock
        self._ids = ids

    def record(
        self,
        caller: Caller,
        route: str,
        patients: Iterable[tuple[str, str | None]],
        action: str = "read",
    ) -> None:
        """One entry per patient seen, naming its appointments; written before the answer leaves, so no read
        goes unrecorded (a failed write answers 503 instead)."""
        now = self._clock.now()
        seen: dict[str, list[str]] = {}
        for patient_id, appointment_id in patients:
            ids = seen.setdefault(patient_id, [])
            if appointment_id and appointment_id not in ids:
                ids.append(appointment_id)
        entries = [
            AccessEntry(
                self._ids.new_id(), patient_id, now, caller.subject, caller.role.value, action, route, tuple(ids)
            )
            for patient_id, ids in seen.items()
        ]
        if entries:
            self._log.record_access(entries)

    def history(self, caller: Caller, route: str, patient_id: str) -> list[AccessEntry]:
        """The patient's access log, oldest first. Reading it is itself a disclosure: the read is recorded
        (after the entries are read, so it shows from the next read on), before the answer leaves."""
        entries = self._log.access_history(patient_id)
        self.record(caller, route, [(patient_id, None)], action="access-log-read")
        return entries
