"""The audit table's appointment entries: an event that changes no appointment field (room joins, admits,
consent) put on its own, and an appointment's trail read back. (Entries of changes ride in the change's
transaction: `changes.add_audit`.)"""

from __future__ import annotations

from pynamodb.exceptions import PutError

from chalicelib.adapters.dynamodb.errors import condition_failed, translated_errors
from chalicelib.adapters.dynamodb.items import audit_from, audit_item
from chalicelib.adapters.dynamodb.models import AuditModel, Tables
from chalicelib.domain import errors
from chalicelib.domain.audit import AuditEntry


def put_once(tables: Tables, item: AuditModel) -> None:
    """PutItem conditioned on `attribute_not_exists`: an entry under the key of another is refused
    (`audit_entry_exists`) and the stored one stays. When the stored entry is this very one, an earlier attempt
    whose answer was lost wrote it (botocore resends a PutItem after a timeout): done, not refused."""
    with translated_errors():
        try:
            item.save(condition=AuditModel.sk.does_not_exist())
            return
        except PutError as exc:
            if not condition_failed(exc):
                raise
        try:
            stored = tables.audit.get(item.appointment_id, item.sk, consistent_read=True)
        except AuditModel.DoesNotExist:
            stored = None
    if stored is None or stored.serialize() != item.serialize():
        raise errors.audit_entry_exists()


class DynamoAuditLog:
    def __init__(self, tables: Tables) -> None:
        self.tables = tables

    def record_audit(self, entry: AuditEntry) -> None:
        """An event that changes no appointment field (room joins, admits, consent): one put, only where no entry
        is."""
        put_once(self.tables, audit_item(self.tables.audit, entry))

    def audit_trail(self, appointment_id: str) -> list[AuditEntry]:
        """One strongly consistent query of the appointment's partition."""
        with translated_errors():
            return [audit_from(i) for i in self.tables.audit.query(appointment_id, consistent_read=True)]
