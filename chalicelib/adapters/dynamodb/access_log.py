"""The access log of patient data: who saw which patient's data, when and how, under `PATIENT#<patientId>` in
the audit table (puts only: the API's role may only put into that table; a request's entries in one
transaction)."""

from __future__ import annotations

from chalicelib.adapters.dynamodb import keys
from chalicelib.adapters.dynamodb.audit_log import put_once
from chalicelib.adapters.dynamodb.errors import translated_errors
from chalicelib.adapters.dynamodb.items import access_from, access_item
from chalicelib.adapters.dynamodb.models import AuditModel, Tables
from chalicelib.adapters.dynamodb.transaction import MAX_ITEMS, ConditionsFailed, Op, Transaction
from chalicelib.domain import errors
from chalicelib.domain.audit import AccessEntry


class DynamoAccessLog:
    def __init__(self, tables: Tables) -> None:
        self.tables = tables

    def record_access(self, entries: list[AccessEntry]) -> None:
        """Accesses to patient data, one entry per patient a request showed under `PATIENT#<patientId>` in the
        audit table, each put only where no entry is (the API's role may only put into that table). A request's
        entries go in one TransactWriteItems (per 100 patients, DynamoDB's limit): a day of 20 visits is one
        write, not 20 PutItems; a lone entry is one PutItem."""
        if len(entries) == 1:
            put_once(self.tables, access_item(self.tables.audit, entries[0]))
            return
        for at in range(0, len(entries), MAX_ITEMS):
            self._put_all(entries[at : at + MAX_ITEMS])

    def _put_all(self, entries: list[AccessEntry]) -> None:
        items = [access_item(self.tables.audit, e) for e in entries]
        tx = Transaction(puts=[Op("access-entry", item, AuditModel.sk.does_not_exist()) for item in items])

        def landed() -> bool:
            """An earlier send whose answer was lost committed these very entries."""
            for item in items:
                try:
                    stored = self.tables.audit.get(item.appointment_id, item.sk, consistent_read=True)
                except AuditModel.DoesNotExist:
                    return False
                if stored.serialize() != item.serialize():
                    return False
            return True

        with translated_errors():
            try:
                tx.commit(self.tables.connection, f"access#{entries[0].id}", landed)
            except ConditionsFailed:
                raise errors.audit_entry_exists() from None

    def access_history(self, patient_id: str) -> list[AccessEntry]:
        """Oldest first: one query of the patient's access partition."""
        with translated_errors():
            return [
                access_from(i, patient_id)
                for i in self.tables.audit.query(keys.patient_access_pk(patient_id), consistent_read=True)
            ]
