"""Every item <-> entity mapping of the DynamoDB adapters, in one place. A mapper to an item takes the model class
of the configuration (`Tables`) it writes to; lock items of the schedule table are built here too."""

from __future__ import annotations

from datetime import datetime

from pynamodb.expressions.update import Action

from chalicelib.adapters.dynamodb import keys
from chalicelib.adapters.dynamodb.models import (
    AppointmentModel,
    AuditModel,
    DoctorModel,
    PatientModel,
    ReminderModel,
    RoomModel,
    ScheduleModel,
)
from chalicelib.domain.appointments import Appointment, AppointmentType, Status
from chalicelib.domain.audit import AccessEntry, AuditEntry, audit_sort_key
from chalicelib.domain.doctors import Doctor
from chalicelib.domain.reminders import Channel, Reminder, ReminderStatus
from chalicelib.domain.schedule import availability_from_dict, availability_to_dict, granules
from chalicelib.domain.telehealth import Room, RoomStatus
from chalicelib.domain.timefmt import instant, parse_instant
from chalicelib.services.ports import PatientProfile


# --- doctors ---------------------------------------------------------------------------------------------------
def doctor_item(model: type[DoctorModel], doctor: Doctor) -> DoctorModel:
    return model(
        id=doctor.id,
        name_key=f"{doctor.name.casefold()}#{doctor.id}",
        name=doctor.name,
        specialty=doctor.specialty,
        location=doctor.location,
        timezone=doctor.timezone,
        telehealth=doctor.telehealth,
        telehealth_platform=doctor.telehealth_platform,
        availability=availability_to_dict(doctor.availability) if doctor.availability else None,
        created_at=doctor.created_at,
    )


def doctor_from(item: DoctorModel) -> Doctor:
    return Doctor(
        id=item.id,
        name=item.name,
        specialty=item.specialty,
        location=item.location,
        timezone=item.timezone,
        telehealth=bool(item.telehealth),
        telehealth_platform=item.telehealth_platform,
        created_at=item.created_at,
        availability=availability_from_dict(item.availability) if item.availability else None,
        calendar_token_hash=item.calendar_token_hash,
    )


# --- appointments ------------------------------------------------------------------------------------------------
def appointment_item(model: type[AppointmentModel], a: Appointment) -> AppointmentModel:
    item = model(
        id=a.id,
        doctor_id=a.doctor_id,
        patient_id=a.patient_id,
        starts_at=keys.instant(a.starts_at),
        ends_at=keys.instant(a.ends_at),
        doctor_name=a.doctor_name,
        patient_name=a.patient_name,
        specialty=a.specialty,
        date=a.date,
        time=a.time,
        timezone=a.timezone,
        duration=a.duration,
        type=a.type.value,
        status=a.status.value,
        location=a.location,
        reason=a.reason,
        notes=a.notes,
        telehealth_url=a.telehealth_url,
        room_id=a.room_id,
        reminder_sent=a.reminder_sent,
        reminder_preferences=a.reminder_preferences or None,
        idempotency_key=a.idempotency_key,
        created_at=a.created_at,
        updated_at=a.updated_at,
    )
    if a.version is not None:
        item.version = a.version
    return item


def appointment_from(item: AppointmentModel) -> Appointment:
    return Appointment(
        id=item.id,
        doctor_id=item.doctor_id,
        patient_id=item.patient_id,
        doctor_name=item.doctor_name,
        patient_name=item.patient_name,
        specialty=item.specialty,
        date=item.date,
        time=item.time,
        duration=int(item.duration),
        starts_at=keys.parse_instant(item.starts_at),
        ends_at=keys.parse_instant(item.ends_at),
        type=AppointmentType(item.type),
        status=Status(item.status),
        location=item.location,
        reason=item.reason,
        notes=item.notes,
        telehealth_url=item.telehealth_url,
        room_id=item.room_id,
        reminder_sent=bool(item.reminder_sent),
        reminder_preferences=dict(item.reminder_preferences or {}),
        created_at=item.created_at,
        updated_at=item.updated_at,
        timezone=item.timezone,
        version=item.version,
        idempotency_key=item.idempotency_key,
    )


# --- audit -------------------------------------------------------------------------------------------------------
def audit_item(model: type[AuditModel], entry: AuditEntry) -> AuditModel:
    return model(
        appointment_id=entry.appointment_id,
        sk=audit_sort_key(entry),
        seq=entry.seq,
        id=entry.id,
        at=entry.at,
        actor_id=entry.actor_id,
        actor_role=entry.actor_role,
        action=entry.action,
        status_before=entry.status_before,
        status_after=entry.status_after,
        changes=entry.changes or None,
    )


def audit_from(item: AuditModel) -> AuditEntry:
    return AuditEntry(
        id=item.id,
        appointment_id=item.appointment_id,
        at=item.at,
        actor_id=item.actor_id,
        actor_role=item.actor_role,
        action=item.action,
        status_before=item.status_before,
        status_after=item.status_after,
        changes=dict(item.changes or {}),
        seq=int(item.seq or 0),
    )


def access_item(model: type[AuditModel], e: AccessEntry) -> AuditModel:
    """An access to patient data, under `PATIENT#<patientId>` in the audit table."""
    return model(
        appointment_id=keys.patient_access_pk(e.patient_id),
        sk=f"{keys.instant(e.at)}#{e.id}",
        id=e.id,
        at=e.at,
        actor_id=e.actor_id,
        actor_role=e.actor_role,
        action=e.action,
        status_after="-",
        changes={"route": e.route, "appointmentIds": list(e.appointment_ids)},
    )


def access_from(item: AuditModel, patient_id: str) -> AccessEntry:
    return AccessEntry(
        id=item.id,
        patient_id=patient_id,
        at=item.at,
        actor_id=item.actor_id,
        actor_role=item.actor_role,
        action=item.action,
        route=str((item.changes or {}).get("route", "")),
        appointment_ids=tuple((item.changes or {}).get("appointmentIds", [])),
    )


# --- schedule: lock items ------------------------------------------------------------------------------------------
def doctor_locks(model: type[ScheduleModel], a: Appointment) -> dict[str, ScheduleModel]:
    """The doctor's lock item of each granule the appointment covers, by `<pk>|<sk>`."""
    pk = keys.doctor_day_pk(a.doctor_id, a.date)
    return {
        f"{pk}|{keys.slot_sk(g)}": model(pk=pk, sk=keys.slot_sk(g), appointment_id=a.id)
        for g in granules(a.starts_at, a.ends_at)
    }


def patient_locks(model: type[ScheduleModel], a: Appointment) -> dict[str, ScheduleModel]:
    """The patient's lock item of each granule the appointment covers, by `<pk>|<sk>`."""
    return {
        f"{keys.patient_day_pk(a.patient_id, g)}|{keys.slot_sk(g)}": model(
            pk=keys.patient_day_pk(a.patient_id, g), sk=keys.slot_sk(g), appointment_id=a.id
        )
        for g in granules(a.starts_at, a.ends_at)
    }


# --- reminders -----------------------------------------------------------------------------------------------------
def reminder_item(model: type[ReminderModel], r: Reminder) -> ReminderModel:
    return model(
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


# --- rooms ---------------------------------------------------------------------------------------------------------
def room_item(model: type[RoomModel], room: Room) -> RoomModel:
    return model(
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


# --- patients ------------------------------------------------------------------------------------------------------
def profile_from(item: PatientModel) -> PatientProfile:
    return PatientProfile(
        id=item.id,
        email=item.email,
        phone=item.phone,
        devices=[dict(d) for d in (item.devices or [])],
        email_verified=bool(item.email_verified),
        phone_verified=bool(item.phone_verified),
        source=item.contact_source or "self",
        name=item.name,
        staff_email=item.staff_email,
        staff_phone=item.staff_phone,
    )


def contact_actions(contact: PatientProfile, at: datetime) -> list[Action]:
    """The directory record as the patient's claims have it now: a changed address replaces the old one with
    its own verified flag, so a reminder planned for the old address is not sent to the new one unverified."""
    actions: list[Action] = [
        PatientModel.updated_at.set(at),
        PatientModel.email_verified.set(contact.email_verified),
        PatientModel.phone_verified.set(contact.phone_verified),
        PatientModel.contact_source.set(contact.source),
    ]
    for attribute, value in (
        (PatientModel.email, contact.email),
        (PatientModel.phone, contact.phone),
        (PatientModel.name, contact.name),
    ):
        actions.append(attribute.set(value) if value else attribute.remove())
    return actions
