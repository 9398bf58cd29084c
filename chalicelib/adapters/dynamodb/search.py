"""The patient directory's search entries: one item per patient and kind (name, e-mail, phone) in the patients
table, found by prefix through its sparse `search-index` (Query, never Scan)."""

from __future__ import annotations

from typing import Any

from chalicelib.adapters.dynamodb.errors import translated_errors
from chalicelib.adapters.dynamodb.items import profile_from
from chalicelib.adapters.dynamodb.models import PatientModel, Tables
from chalicelib.adapters.dynamodb.transaction import Op, Transaction
from chalicelib.domain.directory import Kind, index_key, normalize, terms
from chalicelib.domain.patients import PatientProfile

SEARCH_PREFIX = "SEARCH#"


def entry_id(kind: Kind, patient_id: str) -> str:
    return f"{SEARCH_PREFIX}{kind}#{patient_id}"


def entries(model: type[PatientModel], contact: PatientProfile) -> list[tuple[PatientModel, bool]]:
    """The patient's three entries as its record makes them, each with whether it is kept (False: deleted, for a
    kind the record has no value of). One id per kind, so a changed name or address replaces its old entry
    instead of leaving it findable."""
    found = []
    for kind, term in terms(contact.name, contact.email, contact.phone).items():
        item = model(id=entry_id(kind, contact.id))
        if term:
            item.directory = f"patients:{kind}"
            item.search_key = index_key(term, contact.id)
            item.patient_ref = contact.id
        found.append((item, bool(term)))
    return found


def index_contact(model: type[PatientModel], contact: PatientProfile) -> None:
    """Rewrites the patient's three entries from its record, in one BatchWriteItem."""
    with translated_errors(), model.batch_write() as batch:
        for item, kept in entries(model, contact):
            if kept:
                batch.save(item)
            else:
                batch.delete(item)


def index_in(tx: Transaction, model: type[PatientModel], contact: PatientProfile) -> None:
    """The same rewrite as operations of a transaction: the entries follow the record the transaction writes."""
    for item, kept in entries(model, contact):
        (tx.puts if kept else tx.deletes).append(Op("search", item))


class DynamoPatientSearch:
    def __init__(self, tables: Tables) -> None:
        self._patients = tables.patients

    def search(
        self, kind: Kind, prefix: str, limit: int, after: tuple[str, str] | None
    ) -> tuple[list[PatientProfile], tuple[str, str] | None]:
        """Patients whose `kind` starts with `prefix`, in that order, `limit` a page; while more remain, the
        position (patient id, search key) after which the next page starts."""
        start: dict[str, Any] | None = None
        if after is not None:
            patient_id, key = after
            start = {
                "id": {"S": entry_id(kind, patient_id)},
                "directory": {"S": f"patients:{kind}"},
                "search_key": {"S": key},
            }
        with translated_errors():
            found = self._patients.search_index.query(
                f"patients:{kind}",
                PatientModel.search_key.startswith(prefix),
                limit=limit,
                last_evaluated_key=start,
            )
            entries = list(found)
            more = found.last_evaluated_key
            ids = [str(e.id).split("#", 2)[2] for e in entries]
            records = {p.id: p for p in self._patients.batch_get(ids)} if ids else {}
        profiles = []
        for patient_id in ids:  # the record is the truth: an entry whose record moved on is not a match
            record = records.get(patient_id)
            if record is None:
                continue
            value = getattr(record, kind, None)
            if value and normalize(kind, value).startswith(prefix):
                profiles.append(profile_from(record))
        if more and entries:
            last = entries[-1]
            return profiles, (str(last.id).split("#", 2)[2], str(last.search_key))
        return profiles, None
