"""Shapes domain objects into the contract's JSON."""

from __future__ import annotations

from typing import Any

from chalicelib.domain.appointments import Appointment
from chalicelib.domain.audit import AuditEntry
from chalicelib.domain.doctors import Doctor
from chalicelib.domain.reminders import Reminder, Skipped
from chalicelib.domain.schedule import availability_to_dict, slot_to_dict
from chalicelib.domain.timefmt import instant


def doctor_json(doctor: Doctor) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": doctor.id,
        "name": doctor.name,
        "specialty": doctor.specialty,
        "location": doctor.location,
        "timezone": doctor.timezone,
        "telehealth": doctor.telehealth,
        "telehealthPlatform": doctor.telehealth_platform,
        "availability": availability_to_dict(doctor.availability) if doctor.availability else None,
        "createdAt": instant(doctor.created_at),
    }
    return out


slot_json = slot_to_dict


def appointment_json(a: Appointment, can_reschedule: bool) -> dict[str, Any]:
    return {
        "id": a.id,
        "doctorId": a.doctor_id,
        "patientId": a.patient_id,
        "doctorName": a.doctor_name,
        "patientName": a.patient_name,
        "specialty": a.specialty,
        "date": a.date,
        "time": a.time,
        "timezone": a.timezone,
        "duration": a.duration,
        "startsAt": instant(a.starts_at),
        "endsAt": instant(a.ends_at),
        "type": a.type.value,
        "status": a.status.value,
        "location": a.location,
        "telehealthUrl": a.telehealth_url,
        "roomId": a.room_id,
        "reason": a.reason,
        "notes": a.notes,
        "reminderSent": a.reminder_sent,
        "reminderPreferences": a.reminder_preferences,
        "canReschedule": can_reschedule,
        "createdAt": instant(a.created_at),
        "updatedAt": instant(a.updated_at),
    }


def audit_json(entry: AuditEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "appointmentId": entry.appointment_id,
        "at": instant(entry.at),
        "actorId": entry.actor_id,
        "actorRole": entry.actor_role,
        "action": entry.action,
        "statusBefore": entry.status_before,
        "statusAfter": entry.status_after,
        "changes": entry.changes,
        "sequence": entry.seq,
    }


def reminder_json(r: Reminder) -> dict[str, Any]:
    return {
        "id": r.id,
        "appointmentId": r.appointment_id,
        "type": r.channel.value,
        "timing": r.timing,
        "scheduledTime": instant(r.scheduled_time),
        "status": r.status.value,
        "recipientEmail": r.recipient_email,
        "recipientPhone": r.recipient_phone,
        "message": r.message,
        "customMessage": r.custom_message,
        "sentAt": instant(r.sent_at) if r.sent_at else None,
        "attempts": r.attempts,
        "lastError": r.last_error,
        "outcomeUnknown": r.outcome_unknown,
    }


def skipped_json(s: Skipped) -> dict[str, Any]:
    return {"type": s.channel.value, "timing": s.timing, "reason": s.reason}
