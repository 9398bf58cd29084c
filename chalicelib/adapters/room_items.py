"""Room items in DynamoDB and back (shared by the booking transaction and the room repository)."""

from __future__ import annotations

from datetime import datetime

from chalicelib.adapters.dynamodb.errors import condition_failed, translated_errors
from chalicelib.adapters.models import RoomModel
from chalicelib.domain.telehealth import Room, RoomStatus


def room_item(room: Room) -> RoomModel:
    return RoomModel(
        id=room.id,
        appointment_id=room.appointment_id,
        doctor_id=room.doctor_id,
        patient_id=room.patient_id,
        platform=room.platform,
        status=room.status.value,
        created_at=room.created_at,
        meeting=room.meeting or None,
        patient_waiting_since=room.patient_waiting_since,
        recording_consent=room.recording_consent,
        last_error=room.last_error,
        claimed_until=room.claimed_until,
    )


def room_from(item: RoomModel) -> Room:
    return Room(
        id=item.id,
        appointment_id=item.appointment_id,
        doctor_id=item.doctor_id,
        patient_id=item.patient_id,
        platform=item.platform,
        status=RoomStatus(item.status),
        created_at=item.created_at,
        meeting=dict(item.meeting or {}),
        patient_waiting_since=item.patient_waiting_since,
        recording_consent=bool(item.recording_consent),
        last_error=item.last_error,
        claimed_until=item.claimed_until,
    )


class DynamoRoomRepository:
    def get(self, room_id: str) -> Room | None:
        with translated_errors():
            try:
                return room_from(RoomModel.get(room_id, consistent_read=True))
            except RoomModel.DoesNotExist:
                return None

    def save(self, room: Room) -> None:
        with translated_errors():
            room_item(room).save()

    def claim(self, room_id: str, now: datetime, until: datetime) -> Room | None:
        """Pending and not claimed by a live worker -> claimed until `until` (one conditional update)."""
        from pynamodb.exceptions import UpdateError

        item = RoomModel(id=room_id)
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
        from pynamodb.exceptions import PutError

        with translated_errors():
            try:
                room_item(room).save(
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
            return [room_from(i) for i in RoomModel.status_index.query(RoomStatus.PENDING.value, limit=limit)]
