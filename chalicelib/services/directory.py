"""Staff find a patient in the directory (by name, e-mail or phone) to book for; every patient a search shows
is recorded in that patient's access history, like any other read of patient data."""

from __future__ import annotations

from typing import Protocol

from chalicelib.domain.directory import Kind, parse_query
from chalicelib.domain.identity import Caller
from chalicelib.services.access import AccessAudit
from chalicelib.services.ports import PatientProfile


class PatientSearch(Protocol):
    def search(
        self, kind: Kind, prefix: str, limit: int, token: str | None
    ) -> tuple[list[PatientProfile], str | None]: ...


class DirectoryService:
    def __init__(self, index: PatientSearch, access: AccessAudit) -> None:
        self._index = index
        self._access = access

    def search(
        self, caller: Caller, route: str, query: str, limit: int, token: str | None
    ) -> tuple[list[PatientProfile], str | None]:
        kind, prefix = parse_query(query)
        found, next_token = self._index.search(kind, prefix, limit, token)
        self._access.record(caller, route, [(p.id, None) for p in found], action="search")
        return found, next_token
