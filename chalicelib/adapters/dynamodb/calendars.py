"""Calendar connections in the schedule table (PK `CALENDARS`, SK `<doctorId>#<connectionId>`)."""

from __future__ import annotations

import json

from chalicelib.adapters.dynamodb import keys
from chalicelib.adapters.dynamodb.errors import translated_errors
from chalicelib.adapters.dynamodb.models import ScheduleModel, Tables
from chalicelib.domain.calendar_connections import Connection, from_record, to_record


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
