"""Staff find a patient in the directory (by name, e-mail or phone) to book for; every patient a search shows
is recorded in that patient's access history, like any other read of patient data."""

from __future__ import annotations

from typing import Protocol

from chalicelib.domain.directory import Kind, parse_query
from chalicelib.domain.identity import Caller
from chalicelib.domain.paging import open_token, sign_token
from chalicelib.domain.patients import PatientProfile
from chalicelib.services.access import AccessAudit
from chalicelib.services.ports.system import KeyProvider


class PatientSearch(Protocol):
    def search(
        self, kind: Kind, prefix: str, limit: int, after: tuple[str, str] | None
    ) -> tuple[list[PatientProfile], tuple[str, str] | None]:
        """A page of matches after `after`, and the position after which the next page starts while more remain."""
        ...


class DirectoryService:
    def __init__(self, index: PatientSearch, access: AccessAudit, keys: KeyProvider) -> None:
        self._index = index
        self._access = access
        self._keys = keys

    def search(
        self, caller: Caller, route: str, query: str, limit: int, token: str | None
    ) -> tuple[list[PatientProfile], str | None]:
        kind, prefix = parse_query(query)
        scope = f"{route}|{kind}|{prefix}"  # a page token is good only for the search that gave it out
        key = self._keys.signing_key()
        after = open_token(token, scope, key) if token is not None else None
        found, position = self._index.search(kind, prefix, limit, after)
        self._access.record(caller, route, [(p.id, None) for p in found], action="search")
        return found, (sign_token(position, scope, key) if position else None)
