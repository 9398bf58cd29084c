"""Calendar connections in the schedule table (PK `CALENDARS`, SK `<doctorId>#<connectionId>`), and each booked
visit's copy in the calendars that receive visits (see `keys`)."""

from __future__ import annotations

import json
from datetime import datetime

from pynamodb.exceptions import PutError

from chalicelib.adapters.dynamodb import keys
from chalicelib.adapters.dynamodb.errors import condition_failed, translated_errors
from chalicelib.adapters.dynamodb.models import ScheduleModel, Tables
from chalicelib.domain.calendar_connections import (
    Connection,
    DueCopy,
    VisitCopy,
    copy_from_record,
    copy_record,
    from_record,
    to_record,
)
from chalicelib.domain.timefmt import instant, parse_instant


class DynamoConnectionStore:
    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    def save(self, connection: Connection) -> None:
        item = self._tables.schedule(pk=keys.CALENDARS_PK, sk=f"{connection.doctor_id}#{connection.id}")
        item.calendar = json.dumps(to_record(connection), sort_keys=True)
        with translated_errors():
            item.save()

    def get(self, doctor_id: str, connection_id: str) -> Connection | None:
        with translated_errors():
            try:
                item = self._tables.schedule.get(
                    keys.CALENDARS_PK, f"{doctor_id}#{connection_id}", consistent_read=True
                )
            except ScheduleModel.DoesNotExist:
                return None
        return from_record(json.loads(item.calendar or "{}"))

    def of_doctor(self, doctor_id: str) -> list[Connection]:
        with translated_errors():
            items = self._tables.schedule.query(
                keys.CALENDARS_PK, ScheduleModel.sk.startswith(f"{doctor_id}#"), consistent_read=True
            )
            return [from_record(json.loads(i.calendar or "{}")) for i in items]

    def all(self) -> list[Connection]:
        with translated_errors():
            return [from_record(json.loads(i.calendar or "{}")) for i in self._tables.schedule.query(keys.CALENDARS_PK)]

    def delete(self, doctor_id: str, connection_id: str) -> None:
        with translated_errors():
            self._tables.schedule(pk=keys.CALENDARS_PK, sk=f"{doctor_id}#{connection_id}").delete()


class DynamoVisitCopyStore:
    """Each booked visit's copy in a calendar that receives visits (PK `CALVISITS#<doctorId>#<connectionId>`, SK
    `<appointmentId>`), and the list of copies to retry (PK `CALVISITS#DUE`): see `keys`. A copy's write is
    conditioned on the visit's version never going back, so a slow retry cannot record an older visit over a
    newer one (`save` answers False; the caller reads the visit again)."""

    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    def get(self, doctor_id: str, connection_id: str, appointment_id: str) -> VisitCopy | None:
        with translated_errors():
            try:
                item = self._tables.schedule.get(
                    keys.copies_pk(doctor_id, connection_id), appointment_id, consistent_read=True
                )
            except ScheduleModel.DoesNotExist:
                return None
        return copy_from_record(json.loads(item.calendar or "{}"))

    def save(self, copy: VisitCopy) -> bool:
        """Records the copy, then keeps it in (failed, pending) or takes it out of (written, deleted) the retry
        list: in that order a lost second write only makes a retry find nothing to do."""
        model = self._tables.schedule
        item = model(pk=keys.copies_pk(copy.doctor_id, copy.connection_id), sk=copy.appointment_id)
        item.calendar = json.dumps(copy_record(copy), sort_keys=True)
        item.visit_version = copy.version
        due = model(pk=keys.COPIES_DUE_PK, sk=keys.copy_due_sk(copy.doctor_id, copy.connection_id, copy.appointment_id))
        with translated_errors():
            try:
                item.save(
                    condition=ScheduleModel.visit_version.does_not_exist()
                    | (ScheduleModel.visit_version <= copy.version)
                )
            except PutError as exc:
                if condition_failed(exc):
                    return False
                raise
            if copy.due_again:
                due.ends_at = instant(copy.retry_at or copy.updated_at)
                due.save()
            else:
                due.delete()
        return True

    def of_connection(self, doctor_id: str, connection_id: str) -> list[VisitCopy]:
        with translated_errors():
            items = self._tables.schedule.query(keys.copies_pk(doctor_id, connection_id), consistent_read=True)
            return [copy_from_record(json.loads(i.calendar or "{}")) for i in items]

    def due(self, now: datetime, doctor_id: str | None = None, connection_id: str | None = None) -> list[DueCopy]:
        """Copies to retry whose time has come (all of one connection's when it is named: "sync now")."""
        condition = None
        if doctor_id and connection_id:
            condition = ScheduleModel.sk.startswith(f"{doctor_id}#{connection_id}#")
        out: list[DueCopy] = []
        with translated_errors():
            for item in self._tables.schedule.query(keys.COPIES_DUE_PK, condition, consistent_read=True):
                at = parse_instant(item.ends_at) if item.ends_at else now
                if condition is None and at > now:
                    continue
                doctor, connection, appointment = item.sk.split("#", 2)
                out.append(DueCopy(doctor, connection, appointment, at))
        return sorted(out, key=lambda d: (d.due_at, d.appointment_id))

    def drop_due(self, doctor_id: str, connection_id: str, appointment_id: str) -> None:
        with translated_errors():
            self._tables.schedule(
                pk=keys.COPIES_DUE_PK, sk=keys.copy_due_sk(doctor_id, connection_id, appointment_id)
            ).delete()

    def forget_connection(self, doctor_id: str, connection_id: str) -> None:
        """A disconnected calendar's copies and retries (the events stay in the doctor's calendar)."""
        model = self._tables.schedule
        with translated_errors():
            copies = list(model.query(keys.copies_pk(doctor_id, connection_id)))
            with model.batch_write() as batch:
                for item in copies:
                    batch.delete(item)
                    batch.delete(model(pk=keys.COPIES_DUE_PK, sk=keys.copy_due_sk(doctor_id, connection_id, item.sk)))
