"""The item <-> entity mappers keep every DynamoDB item exactly as it is stored: each entity, fully populated and
with only its required fields, is pinned attribute by attribute (name, DynamoDB type, value) and comes back equal
from the stored item. A renamed, retyped, added or dropped attribute fails here before it reaches a table."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from pynamodb.attributes import JSONAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.models import Model

from chalicelib.adapters.dynamodb.items import (
    Convert,
    ItemMapper,
    access_from,
    access_item,
    appointment_from,
    appointment_item,
    audit_from,
    audit_item,
    devices_of,
    doctor_from,
    doctor_item,
    profile_from,
    reminder_from,
    reminder_item,
    room_from,
    room_item,
    stored_devices,
)
from chalicelib.adapters.dynamodb.models import (
    AppointmentModel,
    AuditModel,
    DoctorModel,
    PatientModel,
    ReminderModel,
    RoomModel,
)
from chalicelib.domain.appointments import Appointment, AppointmentType, Status
from chalicelib.domain.audit import AccessEntry, AuditEntry
from chalicelib.domain.doctors import Doctor
from chalicelib.domain.patients import Device, PatientProfile
from chalicelib.domain.reminders import Channel, Reminder, ReminderStatus
from chalicelib.domain.schedule import Availability, Break, WallInterval
from chalicelib.domain.telehealth import Room, RoomStatus

AT = datetime(2027, 3, 1, 9, 30, tzinfo=UTC)
START = datetime(2027, 3, 8, 9, 0, tzinfo=UTC)
STAMP = "2027-03-01T09:30:00.000000+0000"
"""`AT` as pynamodb's UTCDateTimeAttribute stores it."""


@dataclass(frozen=True)
class Case:
    entity: Any
    model: type[Model]
    to_item: Callable[[Any, Any], Model]
    from_item: Callable[[Any], Any]
    stored: dict[str, tuple[str, Any]]
    """Attribute name -> (DynamoDB type, value) of the item as DynamoDB holds it."""


def s(value: str) -> tuple[str, Any]:
    return ("S", value)


def n(value: int) -> tuple[str, Any]:
    return ("N", str(value))


def js(value: Any) -> tuple[str, Any]:
    """A JSONAttribute: a string of JSON, compared as the value it encodes (see `as_stored`)."""
    return ("S", value)


AVAILABILITY = Availability(
    {"monday": (WallInterval(time(9), time(12)),)},
    (Break(time(10), time(10, 15), "monday"),),
    frozenset({date(2027, 12, 24)}),
    max_patients_per_day=12,
    appointment_duration=20,
    booking_horizon_days=60,
)
AVAILABILITY_STORED = {
    "workingHours": {"monday": [{"start": "09:00", "end": "12:00"}]},
    "breaks": [{"day": "monday", "start": "10:00", "end": "10:15"}],
    "holidays": ["2027-12-24"],
    "maxPatientsPerDay": 12,
    "appointmentDuration": 20,
    "bookingHorizonDays": 60,
}
DOCTOR = Doctor("d1", "Dr. Ada", "Cardiology", "Room 4", "Europe/Paris", True, AT, "zoom", AVAILABILITY)
DOCTOR_STORED = {
    "id": s("d1"),
    "directory": s("ALL"),
    "name_key": s("dr. ada#d1"),
    "name": s("Dr. Ada"),
    "specialty": s("Cardiology"),
    "location": s("Room 4"),
    "timezone": s("Europe/Paris"),
    "telehealth": ("BOOL", True),
    "telehealth_platform": s("zoom"),
    "availability": js(AVAILABILITY_STORED),
    "created_at": s(STAMP),
}
BARE_DOCTOR = Doctor("d2", "Dr. Bo", "GP", "Room 1", "UTC", False, AT)
BARE_DOCTOR_STORED = {
    "id": s("d2"),
    "directory": s("ALL"),
    "name_key": s("dr. bo#d2"),
    "name": s("Dr. Bo"),
    "specialty": s("GP"),
    "location": s("Room 1"),
    "timezone": s("UTC"),
    "telehealth": ("BOOL", False),
    "created_at": s(STAMP),
}

APPOINTMENT = Appointment(
    "a1",
    "d1",
    "p1",
    "Dr. Ada",
    "Pat",
    "Cardiology",
    "2027-03-08",
    "10:00",
    30,
    START,
    START + timedelta(minutes=30),
    AppointmentType.TELEHEALTH,
    Status.CONFIRMED,
    "Room 4",
    "check-up",
    AT,
    AT + timedelta(hours=1),
    "Europe/Paris",
    notes="bring results",
    telehealth_url="https://clinic.example/rooms/r1",
    room_id="r1",
    reminder_sent=True,
    reminder_preferences={"channels": ["email"], "timings": ["24h"]},
    version=3,
    idempotency_key="idem",
)
APPOINTMENT_STORED = {
    "id": s("a1"),
    "doctor_id": s("d1"),
    "patient_id": s("p1"),
    "starts_at": s("2027-03-08T09:00:00Z"),
    "ends_at": s("2027-03-08T09:30:00Z"),
    "doctor_name": s("Dr. Ada"),
    "patient_name": s("Pat"),
    "specialty": s("Cardiology"),
    "date": s("2027-03-08"),
    "time": s("10:00"),
    "timezone": s("Europe/Paris"),
    "duration": n(30),
    "type": s("telehealth"),
    "status": s("confirmed"),
    "location": s("Room 4"),
    "reason": s("check-up"),
    "notes": s("bring results"),
    "telehealth_url": s("https://clinic.example/rooms/r1"),
    "room_id": s("r1"),
    "reminder_sent": ("BOOL", True),
    "reminder_preferences": js({"channels": ["email"], "timings": ["24h"]}),
    "idempotency_key": s("idem"),
    "created_at": s(STAMP),
    "updated_at": s("2027-03-01T10:30:00.000000+0000"),
    "version": n(3),
}
BARE_APPOINTMENT = Appointment(
    "a2",
    "d1",
    "p1",
    "Dr. Ada",
    "Pat",
    "Cardiology",
    "2027-03-08",
    "10:00",
    30,
    START,
    START + timedelta(minutes=30),
    AppointmentType.IN_PERSON,
    Status.SCHEDULED,
    "Room 4",
    "",
    AT,
    AT,
    "Europe/Paris",
)
BARE_APPOINTMENT_STORED = {
    "id": s("a2"),
    "doctor_id": s("d1"),
    "patient_id": s("p1"),
    "starts_at": s("2027-03-08T09:00:00Z"),
    "ends_at": s("2027-03-08T09:30:00Z"),
    "doctor_name": s("Dr. Ada"),
    "patient_name": s("Pat"),
    "specialty": s("Cardiology"),
    "date": s("2027-03-08"),
    "time": s("10:00"),
    "timezone": s("Europe/Paris"),
    "duration": n(30),
    "type": s("in-person"),
    "status": s("scheduled"),
    "location": s("Room 4"),
    "reason": s(""),
    "reminder_sent": ("BOOL", False),
    "created_at": s(STAMP),
    "updated_at": s(STAMP),
}

AUDIT = AuditEntry(
    "e1", "a1", AT, "u1", "doctor", "rescheduled", "scheduled", "rescheduled", {"time": {"from": "10", "to": "11"}}, 4
)
AUDIT_STORED = {
    "appointment_id": s("a1"),
    "sk": s("00000004#0#2027-03-01T09:30:00.000000Z#e1"),
    "id": s("e1"),
    "at": s(STAMP),
    "actor_id": s("u1"),
    "actor_role": s("doctor"),
    "action": s("rescheduled"),
    "status_before": s("scheduled"),
    "status_after": s("rescheduled"),
    "changes": js({"time": {"from": "10", "to": "11"}}),
    "seq": n(4),
}
BARE_AUDIT = AuditEntry("e2", "a1", AT, "u1", "patient", "booked", None, "scheduled")
BARE_AUDIT_STORED = {
    "appointment_id": s("a1"),
    "sk": s("00000000#0#2027-03-01T09:30:00.000000Z#e2"),
    "id": s("e2"),
    "at": s(STAMP),
    "actor_id": s("u1"),
    "actor_role": s("patient"),
    "action": s("booked"),
    "status_after": s("scheduled"),
    "seq": n(0),
}

ACCESS = AccessEntry("x1", "p1", AT, "u1", "doctor", "read", "GET /api/appointments/{id}", ("a1", "a2"))
ACCESS_STORED = {
    "appointment_id": s("PATIENT#p1"),
    "sk": s("2027-03-01T09:30:00Z#x1"),
    "id": s("x1"),
    "at": s(STAMP),
    "actor_id": s("u1"),
    "actor_role": s("doctor"),
    "action": s("read"),
    "status_after": s("-"),
    "changes": js({"route": "GET /api/appointments/{id}", "appointmentIds": ["a1", "a2"]}),
}

REMINDER = Reminder(
    "a1_sms-24h",
    "a1",
    "p1",
    Channel.SMS,
    "24h",
    START - timedelta(hours=24),
    ReminderStatus.FAILED,
    "Your visit",
    AT,
    AT + timedelta(minutes=5),
    START,
    recipient_email="p@example.com",
    recipient_phone="+15550100",
    custom_message="custom",
    sent_at=AT + timedelta(minutes=2),
    attempts=2,
    last_error="throttled",
    served=("arn:a", "arn:b"),
    schedule_missing=True,
    for_version=3,
    language="es",
)
REMINDER_STORED = {
    "appointment_id": s("a1"),
    "id": s("a1_sms-24h"),
    "patient_id": s("p1"),
    "channel": s("sms"),
    "timing": s("24h"),
    "scheduled_time": s("2027-03-07T09:00:00Z"),
    "status": s("failed"),
    "message": s("Your visit"),
    "recipient_email": s("p@example.com"),
    "recipient_phone": s("+15550100"),
    "custom_message": s("custom"),
    "sent_at": s("2027-03-01T09:32:00.000000+0000"),
    "attempts": n(2),
    "last_error": s("throttled"),
    "created_at": s(STAMP),
    "updated_at": s("2027-03-01T09:35:00.000000+0000"),
    "for_start": s("2027-03-08T09:00:00.000000+0000"),
    "served": ("SS", ["arn:a", "arn:b"]),
    "schedule_missing": ("BOOL", True),
    "for_version": n(3),
    "language": s("es"),
}
BARE_REMINDER = Reminder(
    "a1_email-24h",
    "a1",
    "p1",
    Channel.EMAIL,
    None,
    START - timedelta(hours=24),
    ReminderStatus.PENDING,
    "m",
    AT,
    AT,
    START,
)
BARE_REMINDER_STORED = {
    "appointment_id": s("a1"),
    "id": s("a1_email-24h"),
    "patient_id": s("p1"),
    "channel": s("email"),
    "scheduled_time": s("2027-03-07T09:00:00Z"),
    "status": s("pending"),
    "message": s("m"),
    "attempts": n(0),
    "created_at": s(STAMP),
    "updated_at": s(STAMP),
    "for_start": s("2027-03-08T09:00:00.000000+0000"),
    "language": s("en"),
}

ROOM = Room(
    "r1",
    "a1",
    "d1",
    "p1",
    "zoom",
    RoomStatus.WAITING,
    AT,
    meeting={"id": "m1", "joinUrl": "https://zoom.example/j/1"},
    patient_waiting_since=AT + timedelta(minutes=1),
    recording_consent=True,
    last_error="boom",
    claimed_until=AT + timedelta(minutes=2),
)
ROOM_STORED = {
    "id": s("r1"),
    "appointment_id": s("a1"),
    "doctor_id": s("d1"),
    "patient_id": s("p1"),
    "platform": s("zoom"),
    "status": s("waiting"),
    "created_at": s(STAMP),
    "meeting": js({"id": "m1", "joinUrl": "https://zoom.example/j/1"}),
    "patient_waiting_since": s("2027-03-01T09:31:00.000000+0000"),
    "recording_consent": ("BOOL", True),
    "last_error": s("boom"),
    "claimed_until": s("2027-03-01T09:32:00.000000+0000"),
}
BARE_ROOM = Room("r2", "a1", "d1", "p1", "custom", RoomStatus.PENDING, AT)
BARE_ROOM_STORED = {
    "id": s("r2"),
    "appointment_id": s("a1"),
    "doctor_id": s("d1"),
    "patient_id": s("p1"),
    "platform": s("custom"),
    "status": s("pending"),
    "created_at": s(STAMP),
    "recording_consent": ("BOOL", False),
}

CASES = {
    "doctor": Case(DOCTOR, DoctorModel, doctor_item, doctor_from, DOCTOR_STORED),
    "doctor, required fields only": Case(BARE_DOCTOR, DoctorModel, doctor_item, doctor_from, BARE_DOCTOR_STORED),
    "appointment": Case(APPOINTMENT, AppointmentModel, appointment_item, appointment_from, APPOINTMENT_STORED),
    "appointment, required fields only": Case(
        BARE_APPOINTMENT, AppointmentModel, appointment_item, appointment_from, BARE_APPOINTMENT_STORED
    ),
    "audit entry": Case(AUDIT, AuditModel, audit_item, audit_from, AUDIT_STORED),
    "audit entry, required fields only": Case(BARE_AUDIT, AuditModel, audit_item, audit_from, BARE_AUDIT_STORED),
    "access entry": Case(ACCESS, AuditModel, access_item, lambda i: access_from(i, "p1"), ACCESS_STORED),
    "reminder": Case(REMINDER, ReminderModel, reminder_item, reminder_from, REMINDER_STORED),
    "reminder, required fields only": Case(
        BARE_REMINDER, ReminderModel, reminder_item, reminder_from, BARE_REMINDER_STORED
    ),
    "room": Case(ROOM, RoomModel, room_item, room_from, ROOM_STORED),
    "room, required fields only": Case(BARE_ROOM, RoomModel, room_item, room_from, BARE_ROOM_STORED),
}


def as_stored(item: Model) -> dict[str, tuple[str, Any]]:
    """The item as DynamoDB holds it: a JSON attribute as the value it encodes, a string set in a fixed order."""
    attributes = item.get_attributes()
    stored: dict[str, tuple[str, Any]] = {}
    for name, typed in item.serialize().items():
        ((kind, value),) = typed.items()
        if isinstance(attributes[name], JSONAttribute):
            value = json.loads(value)
        stored[name] = (kind, sorted(value) if kind == "SS" else value)
    return stored


def raw(stored: dict[str, tuple[str, Any]], model: type[Model]) -> dict[str, Any]:
    """Pinned attributes as DynamoDB returns them."""
    attributes = model.get_attributes()
    return {
        name: {kind: json.dumps(value) if isinstance(attributes[name], JSONAttribute) else value}
        for name, (kind, value) in stored.items()
    }


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_an_entity_is_stored_with_exactly_its_pinned_attribute_names_types_and_values(case: Case):
    # GIVEN an entity WHEN it is mapped to its item
    item = case.to_item(case.model, case.entity)
    # THEN the item holds exactly the pinned attributes, each with its DynamoDB type and value
    assert as_stored(item) == case.stored


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_an_entity_read_back_from_its_stored_item_is_equal_to_the_one_written(case: Case):
    # GIVEN an entity written as DynamoDB stores it
    written = case.to_item(case.model, case.entity).serialize()
    # WHEN the stored item is read and mapped back
    read = case.from_item(case.model.from_raw_data(written))
    # THEN nothing was lost or changed on the way
    assert read == case.entity


def test_a_doctor_put_leaves_the_calendar_token_hash_to_its_own_update():
    # GIVEN a doctor whose calendar feed is enabled
    doctor = Doctor("d1", "Dr. Ada", "GP", "Room 4", "UTC", False, AT, calendar_token_hash="abc")
    # WHEN it is mapped to an item THEN the hash is not part of it (only `set_calendar_token_hash` writes it)
    assert "calendar_token_hash" not in doctor_item(DoctorModel, doctor).serialize()
    # AND a stored hash is read back
    stored = {**DOCTOR_STORED, "calendar_token_hash": s("abc")}
    assert doctor_from(DoctorModel.from_raw_data(raw(stored, DoctorModel))).calendar_token_hash == "abc"


def test_a_doctor_put_leaves_its_busy_times_flag_to_the_busy_times_write():
    # GIVEN a doctor a calendar sync wrote busy times for
    doctor = Doctor("d1", "Dr. Ada", "GP", "Room 4", "UTC", False, AT, has_busy_times=True)
    # WHEN it is mapped to an item THEN the flag is not part of it (only `write_busy`'s transaction sets it)
    assert "has_busy_times" not in doctor_item(DoctorModel, doctor).serialize()
    # AND a stored flag is read back, an absent one as unset
    stored = {**DOCTOR_STORED, "has_busy_times": ("BOOL", True)}
    assert doctor_from(DoctorModel.from_raw_data(raw(stored, DoctorModel))).has_busy_times is True
    assert doctor_from(DoctorModel.from_raw_data(raw(DOCTOR_STORED, DoctorModel))).has_busy_times is False


def test_a_patient_profile_is_read_from_the_directory_record():
    # GIVEN a directory record with every contact field, a device, the day's message count and the bookkeeping
    stored = {
        "id": s("p1"),
        "name": s("Pat"),
        "email": s("p@example.com"),
        "phone": s("+15550100"),
        "email_verified": ("BOOL", True),
        "phone_verified": ("BOOL", False),
        "contact_source": s("staff"),
        "staff_email": s("front@example.com"),
        "staff_phone": s("+15550199"),
        "devices": js(
            [
                {"endpoint": "arn:e", "platform": "fcm", "registeredAt": "2027-02-01T09:30:00Z"},
                {"endpoint": "arn:old", "platform": "apns"},
            ]
        ),
        "updated_at": s(STAMP),
    }
    item = PatientModel.from_raw_data(raw(stored, PatientModel))
    # WHEN it is mapped THEN the profile carries the contact fields (the source from `contact_source`), typed devices
    # (one stored before its registration time was kept has none)
    assert profile_from(item) == PatientProfile(
        id="p1",
        email="p@example.com",
        phone="+15550100",
        devices=[
            Device("arn:e", "fcm", datetime(2027, 2, 1, 9, 30, tzinfo=UTC)),
            Device("arn:old", "apns"),
        ],
        email_verified=True,
        phone_verified=False,
        source="staff",
        name="Pat",
        staff_email="front@example.com",
        staff_phone="+15550199",
    )


def test_devices_are_stored_as_the_items_json_keeps_them():
    # GIVEN typed devices WHEN they are stored THEN the item's JSON has the keys it always had, and reads back equal
    devices = [Device("arn:e", "fcm", datetime(2027, 2, 1, 9, 30, tzinfo=UTC)), Device("arn:old", "apns")]
    assert stored_devices(devices) == [
        {"endpoint": "arn:e", "platform": "fcm", "registeredAt": "2027-02-01T09:30:00Z"},
        {"endpoint": "arn:old", "platform": "apns"},
    ]
    assert devices_of(stored_devices(devices)) == devices


def test_a_patient_record_with_only_its_id_reads_as_an_unverified_self_entered_profile():
    item = PatientModel.from_raw_data({"id": {"S": "p1"}})
    assert profile_from(item) == PatientProfile(id="p1")


# --- the mapper's own rules --------------------------------------------------------------------------------------
class ThingModel(Model):
    class Meta:
        table_name = "things"

    id = UnicodeAttribute(hash_key=True)
    size = NumberAttribute()


@dataclass(frozen=True)
class Thing:
    id: str
    size: int


@dataclass(frozen=True)
class ThingWithColour:
    id: str
    size: int
    colour: str = "red"


@dataclass(frozen=True)
class Measured:
    id: str
    size: float


def test_a_field_without_an_attribute_is_refused_when_the_mapper_is_made():
    # GIVEN an entity with a field its model lacks WHEN a mapper pairs them THEN it refuses, naming the field
    with pytest.raises(TypeError, match=r"ThingWithColour\.colour has no attribute"):
        ItemMapper(ThingWithColour, ThingModel)


class LabelledModel(Model):
    class Meta:
        table_name = "labelled"

    id = UnicodeAttribute(hash_key=True)
    size = NumberAttribute()
    label = UnicodeAttribute(null=True)


@dataclass(frozen=True)
class Tagged:
    id: str
    size: int
    tag: str | None = None


def test_an_attribute_without_a_field_is_refused_unless_declared_item_only_or_derived():
    # GIVEN a model with an attribute the entity lacks WHEN a mapper pairs them THEN it refuses, naming it
    with pytest.raises(TypeError, match=r"\['label'\] pair with no Thing field"):
        ItemMapper(Thing, LabelledModel)
    # AND declared as the item's own, or derived from the entity, the attribute is accepted
    ItemMapper(Thing, LabelledModel, item_only=("label",))
    derived = ItemMapper(Thing, LabelledModel, derived={"label": lambda t: f"#{t.id}"})
    assert derived.item(LabelledModel, Thing("t1", 3)).serialize()["label"] == {"S": "#t1"}


def test_a_pair_of_types_without_a_conversion_must_be_declared():
    # GIVEN a float field stored in a number attribute (no conversion follows from the types)
    with pytest.raises(TypeError, match="no conversion"):
        ItemMapper(Measured, ThingModel)
    # WHEN the conversion is declared THEN the mapper uses it both ways
    mapper = ItemMapper(Measured, ThingModel, convert={"size": Convert(lambda v: round(v * 10), lambda v: v / 10)})
    item = mapper.item(ThingModel, Measured("m1", 1.5))
    assert item.serialize()["size"] == {"N": "15"}
    assert mapper.entity(ThingModel.from_raw_data(item.serialize())) == Measured("m1", 1.5)


def test_a_renamed_field_is_stored_under_its_attribute_name_and_read_back_from_it():
    mapper = ItemMapper(Tagged, LabelledModel, renamed={"tag": "label"})
    # GIVEN an entity whose field is stored under another name WHEN it is mapped THEN the attribute holds it
    stored = mapper.item(LabelledModel, Tagged("t1", 2, "blue")).serialize()
    assert stored == {"id": {"S": "t1"}, "size": {"N": "2"}, "label": {"S": "blue"}}
    # AND it reads back; an absent attribute reads as the field's default
    assert mapper.entity(LabelledModel.from_raw_data(stored)) == Tagged("t1", 2, "blue")
    assert mapper.entity(LabelledModel.from_raw_data({"id": {"S": "t2"}, "size": {"N": "1"}})) == Tagged("t2", 1)
