"""Reminder items in DynamoDB and back (shared by the appointment store's transactions and the reminder store)."""

from __future__ import annotations

from chalicelib.adapters.models import ReminderModel
from chalicelib.domain.reminders import Channel, Reminder, ReminderStatus
from chalicelib.domain.timefmt import instant, parse_instant


def reminder_item(r: Reminder) -> ReminderModel:
    return ReminderModel(
        appointment_id=r.appointment_id,
        id=r.id,
        patient_id=r.patient_id,
        channel=r.channel.value,
        timing=r.timing,
        scheduled_time=instant(r.scheduled_time),
        status=r.status.value,
        message=r.message,
        recipient_email=r.recipient_email,
        recipient_phone=r.recipient_phone,
        custom_message=r.custom_message,
        sent_at=r.sent_at,
        attempts=r.attempts,
        last_error=r.last_error,
        created_at=r.created_at,
        updated_at=r.updated_at,
        for_start=r.for_start,
        served=set(r.served) or None,
        schedule_missing=r.schedule_missing or None,
        for_version=r.for_version,
    )


def reminder_from(item: ReminderModel) -> Reminder:
    return Reminder(
        id=item.id,
        appointment_id=item.appointment_id,
        patient_id=item.patient_id,
        channel=Channel(item.channel),
        timing=item.timing,
        scheduled_time=parse_instant(item.scheduled_time),
        status=ReminderStatus(item.status),
        message=item.message,
        created_at=item.created_at,
        updated_at=item.updated_at,
        for_start=item.for_start,
        recipient_email=item.recipient_email,
        recipient_phone=item.recipient_phone,
        custom_message=item.custom_message,
        sent_at=item.sent_at,
        attempts=int(item.attempts or 0),
        last_error=item.last_error,
        served=tuple(sorted(item.served or ())),
        schedule_missing=bool(item.schedule_missing),
        for_version=int(item.for_version) if item.for_version is not None else None,
    )
