"""Telehealth rooms in DynamoDB: one item per room; a worker claims a pending room with a conditional update."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pynamodb.exceptions import PutError, UpdateError

from chalicelib.adapters.dynamodb.errors import condition_failed, translated_errors
from chalicelib.adapters.dynamodb.items import room_from, room_item
from chalicelib.adapters.dynamodb.models import RoomModel, Tables
from chalicelib.domain.telehealth import MEETING_DUE, Room, RoomStatus


class DynamoRoomRepository:
    def __init__(self, tables: Tables) -> None:
        self._rooms = tables.rooms

    def get(self, room_id: str) -> Room | None:
        with translated_errors():
            try:
                return room_from(self._rooms.get(room_id, consistent_read=True))
            except RoomModel.DoesNotExist:
                return None

    def save(self, room: Room) -> None:
        with translated_errors():
            room_item(self._rooms, room).save()

    def claim(self, room_id: str, now: datetime, until: datetime) -> Room | None:
        """Pending and not claimed by a live worker -> claimed until `until` (one conditional update)."""
        item = self._rooms(id=room_id)
        with translated_errors():
            try:
                item.update(
                    actions=[RoomModel.claimed_until.set(until)],
                    condition=(RoomModel.status == RoomStatus.PENDING.value)
                    & (RoomModel.claimed_until.does_not_exist() | (RoomModel.claimed_until < now)),
                )
            except UpdateError as exc:
                if condition_failed(exc):
                    return None
                raise
        return room_from(item)

    def save_claimed(self, room: Room, claimed_until: datetime) -> bool:
        """Write the claimer's result only while its claim stands (a cancel ends the room and drops it)."""
        with translated_errors():
            try:
                room_item(self._rooms, room).save(
                    condition=(RoomModel.status == RoomStatus.PENDING.value)
                    & (RoomModel.claimed_until == claimed_until)
                )
                return True
            except PutError as exc:
                if condition_failed(exc):
                    return False
                raise

    def pending(self, limit: int) -> list[Room]:
        with translated_errors():
            return [room_from(i) for i in self._rooms.status_index.query(RoomStatus.PENDING.value, limit=limit)]

    def mark_meeting_due(self, room_id: str) -> None:
        """The platform meeting has to follow the visit: one update of the marker alone (the sparse index)."""
        with translated_errors():
            try:
                self._rooms(id=room_id).update(
                    actions=[RoomModel.meeting_sync.set(MEETING_DUE)], condition=RoomModel.id.exists()
                )
            except UpdateError as exc:
                if not condition_failed(exc):
                    raise

    def meeting_synced(self, room_id: str, meeting: dict[str, Any] | None) -> None:
        """The platform meeting followed: the marker removed, and the meeting as the platform now has it."""
        actions: list[Any] = [RoomModel.meeting_sync.remove()]
        if meeting is not None:
            actions.append(RoomModel.meeting.set(meeting))
        with translated_errors():
            try:
                self._rooms(id=room_id).update(actions=actions, condition=RoomModel.id.exists())
            except UpdateError as exc:
                if not condition_failed(exc):
                    raise

    def meeting_due(self, limit: int) -> list[Room]:
        """Rooms whose platform meeting has yet to follow a reschedule or cancel, oldest first."""
        with translated_errors():
            return [room_from(i) for i in self._rooms.meeting_sync_index.query(MEETING_DUE, limit=limit)]
