"""The access log of patient data: who saw which patient's data, when and how, under `PATIENT#<patientId>` in
the audit table (PutItem only: the API's role may only put into that table)."""

from __future__ import annotations

from chalicelib.adapters.dynamodb import keys
from chalicelib.adapters.dynamodb.audit_log import put_once
from chalicelib.adapters.dynamodb.errors import translated_errors
from chalicelib.adapters.dynamodb.items import access_from, access_item
from chalicelib.adapters.dynamodb.models import Tables
from chalicelib.domain.audit import AccessEntry


class DynamoAccessLog:
    def __init__(self, tables: Tables) -> None:
        self.tables = tables

    def record_access(self, entries: list[AccessEntry]) -> None:
        """Accesses to patient data, under `PATIENT#<patientId>` in the audit table: PutItems, each only where no
        entry is (the API's role may only put into the audit table; one entry per patient a request showed)."""
        for e in entries:
            put_once(self.tables, access_item(self.tables.audit, e))

    def access_history(self, patient_id: str) -> list[AccessEntry]:
        """Oldest first: one query of the patient's access partition."""
        with translated_errors():
            return [
                access_from(i, patient_id)
                for i in self.tables.audit.query(keys.patient_access_pk(patient_id), consistent_read=True)
            ]
