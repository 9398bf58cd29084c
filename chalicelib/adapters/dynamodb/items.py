"""Every item <-> entity mapping of the DynamoDB adapters, in one place. A mapper to an item takes the model class
of the configuration (`Tables`) it writes to; lock items of the schedule table are built here too.

The fields of an entity are listed twice only: in its domain dataclass and in its pynamodb model. `ItemMapper`
pairs them by name and converts each value by its two types (an enum is stored as its value, an instant in a
key or index as sortable text, an empty JSON value or set as no attribute at all); what does not follow from the
names and types is declared once, beside the mapper, as an exception."""

from __future__ import annotations

import types
from collections.abc import Callable, Collection, Mapping
from dataclasses import MISSING, Field, dataclass, fields
from datetime import datetime, timedelta
from enum import Enum
from typing import Any, Generic, TypeVar, Union, get_args, get_origin, get_type_hints

from pynamodb.attributes import (
    Attribute,
    BooleanAttribute,
    JSONAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.expressions.update import Action
from pynamodb.models import Model

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
from chalicelib.domain.appointments import Appointment
from chalicelib.domain.audit import AccessEntry, AuditEntry, audit_sort_key
from chalicelib.domain.doctors import Doctor
from chalicelib.domain.patients import Device, PatientProfile
from chalicelib.domain.reminders import Reminder
from chalicelib.domain.schedule import (
    BLOCK_MINUTES,
    availability_from_dict,
    availability_to_dict,
    granules,
    lock_plan,
)
from chalicelib.domain.telehealth import Room
from chalicelib.domain.timefmt import instant, parse_instant

E = TypeVar("E")
M = TypeVar("M", bound=Model)


@dataclass(frozen=True)
class Convert:
    """How one field is stored: `store` makes the attribute's value of the field's, `load` the reverse. Neither
    sees None: an absent field is an absent attribute, and an absent attribute reads as the field's default."""

    store: Callable[[Any], Any]
    load: Callable[[Any], Any]


def _same(value: Any) -> Any:
    return value


def _by_types(hint: Any, attribute: Attribute[Any]) -> Convert:
    """The conversion the two types imply; a pair not listed here must be declared on the mapper."""
    args = [a for a in get_args(hint) if a is not type(None)]
    if get_origin(hint) in (Union, types.UnionType) and len(args) == 1:
        hint = args[0]  # `X | None`: None is handled around every conversion
    origin = get_origin(hint) or hint
    if isinstance(origin, type) and issubclass(origin, Enum) and isinstance(attribute, UnicodeAttribute):
        return Convert(lambda member: member.value, origin)
    if origin is datetime and isinstance(attribute, UnicodeAttribute):
        return Convert(instant, parse_instant)  # a key or index attribute: text that sorts as time does
    if origin is datetime and isinstance(attribute, UTCDateTimeAttribute):
        return Convert(_same, _same)
    if origin is bool and isinstance(attribute, BooleanAttribute):
        return Convert((lambda flag: flag or None) if attribute.null else _same, bool)
    if origin is int and isinstance(attribute, NumberAttribute):  # VersionAttribute too
        return Convert(_same, int)
    if origin is str and isinstance(attribute, UnicodeAttribute):
        return Convert(_same, _same)
    if origin in (dict, list) and isinstance(attribute, JSONAttribute):
        return Convert(lambda value: value or None, origin)  # empty: no attribute
    if origin is tuple and isinstance(attribute, UnicodeSetAttribute):
        return Convert(lambda value: set(value) or None, lambda value: tuple(sorted(value)))
    raise TypeError(f"no conversion of {hint} to {type(attribute).__name__}: declare one")


def _default_of(f: Field[Any]) -> Callable[[], Any]:
    """What a field is when its attribute is absent: its default, or None when it has none."""
    if f.default_factory is not MISSING:
        return f.default_factory
    value = None if f.default is MISSING else f.default
    return lambda: value


@dataclass(frozen=True)
class _Field:
    name: str
    attribute: str
    convert: Convert
    default: Callable[[], Any]
    written: bool


class ItemMapper(Generic[E, M]):
    """One entity's item <-> entity mapping, derived from the dataclass's fields and the model's attributes.

    Exceptions, each named once: `convert` (a field stored other than its types imply), `renamed` (field ->
    attribute), `derived` (attributes only the item has, computed from the entity: keys, index fields),
    `item_only` (attributes the mapper leaves alone: model defaults, or written by their own updates), and
    `read_only` (fields read from the item that a put does not write). A field or attribute that pairs with
    nothing and is not declared is a TypeError when the module is imported, never a silently dropped value."""

    def __init__(
        self,
        entity: type[E],
        model: type[M],
        *,
        convert: Mapping[str, Convert] | None = None,
        renamed: Mapping[str, str] | None = None,
        derived: Mapping[str, Callable[[E], Any]] | None = None,
        item_only: Collection[str] = (),
        read_only: Collection[str] = (),
    ) -> None:
        self._entity = entity
        self._derived = dict(derived or {})
        attributes = model.get_attributes()
        hints = get_type_hints(entity)
        self._fields: list[_Field] = []
        for f in fields(entity):  # type: ignore[arg-type]
            name = (renamed or {}).get(f.name, f.name)
            if name not in attributes:
                raise TypeError(f"{entity.__name__}.{f.name} has no attribute in {model.__name__}")
            declared = (convert or {}).get(f.name)
            self._fields.append(
                _Field(
                    f.name,
                    name,
                    declared or _by_types(hints[f.name], attributes[name]),
                    _default_of(f),
                    f.name not in read_only,
                )
            )
        unpaired = set(attributes) - {f.attribute for f in self._fields} - set(self._derived) - set(item_only)
        if unpaired:
            raise TypeError(f"{model.__name__} attributes {sorted(unpaired)} pair with no {entity.__name__} field")

    def item(self, model: type[M], entity: E) -> M:
        """The item `model` (the configured table's class) stores for `entity`."""
        values = {name: compute(entity) for name, compute in self._derived.items()}
        for f in self._fields:
            value = getattr(entity, f.name) if f.written else None
            if value is not None:  # absent, not None: pynamodb's VersionAttribute refuses None
                values[f.attribute] = f.convert.store(value)
        return model(**values)

    def fields_of(self, attributes: Mapping[str, Any]) -> dict[str, Any]:
        """A stream image's attributes by the entity's field names, values as stored (an image may be partial, so
        no entity is built); attributes only the item has (keys, index fields) are left out."""
        return {f.name: attributes[f.attribute] for f in self._fields if f.attribute in attributes}

    def entity(self, item: M) -> E:
        """The entity `item` holds."""
        values = {}
        for f in self._fields:
            value = getattr(item, f.attribute)
            values[f.name] = f.default() if value is None else f.convert.load(value)
        return self._entity(**values)


# --- doctors ---------------------------------------------------------------------------------------------------
DOCTORS: ItemMapper[Doctor, DoctorModel] = ItemMapper(
    Doctor,
    DoctorModel,
    convert={"availability": Convert(availability_to_dict, availability_from_dict)},
    derived={"name_key": lambda d: f"{d.name.casefold()}#{d.id}"},
    item_only=("directory",),  # the directory index's partition: the model's default, "ALL"
    # written only by their own updates: `set_calendar_token_hash`, and `write_busy` (the sync's transaction)
    read_only=("calendar_token_hash", "has_busy_times"),
)
doctor_item = DOCTORS.item
doctor_from = DOCTORS.entity

# --- appointments ------------------------------------------------------------------------------------------------
APPOINTMENTS: ItemMapper[Appointment, AppointmentModel] = ItemMapper(Appointment, AppointmentModel)
appointment_item = APPOINTMENTS.item
appointment_from = APPOINTMENTS.entity
appointment_fields = APPOINTMENTS.fields_of

# --- audit -------------------------------------------------------------------------------------------------------
AUDIT: ItemMapper[AuditEntry, AuditModel] = ItemMapper(AuditEntry, AuditModel, derived={"sk": audit_sort_key})
audit_item = AUDIT.item
audit_from = AUDIT.entity


# An access entry shares the audit table but not its fields (its route and appointment ids ride in `changes`,
# its partition is the patient's): written out, it reads more plainly than as a mapper of exceptions.
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
GRANULE, WHOLE, SHARED = "granule", "whole", "shared"


@dataclass(frozen=True)
class Lock:
    """One lock item an appointment holds (`domain.schedule.LockPlan`): a granule's (`GRANULE`, owned by
    `appointment_id`), or a block's, held whole (`WHOLE`, `appointment_id`) or shared (`SHARED`, in `sharers`)."""

    item: ScheduleModel
    kind: str
    owner: str


def _locks(model: type[ScheduleModel], a: Appointment, pk_of: Callable[[datetime], str]) -> dict[str, Lock]:
    plan = lock_plan(a.starts_at, a.ends_at)
    named = [(g, keys.slot_sk(g), GRANULE) for g in plan.granules]
    named += [(b, keys.block_sk(b), WHOLE) for b in plan.full]
    named += [(b, keys.block_sk(b), SHARED) for b in plan.shared]
    out: dict[str, Lock] = {}
    for at, sk, kind in named:
        pk = pk_of(at)
        item = model(pk=pk, sk=sk, appointment_id=a.id) if kind == GRANULE else model(pk=pk, sk=sk)
        out[f"{pk}|{sk}"] = Lock(item, kind, a.id)
    return out


def doctor_locks(model: type[ScheduleModel], a: Appointment) -> dict[str, Lock]:
    """The doctor's lock items of the appointment, by `<pk>|<sk>`, in the doctor-day's partition."""
    pk = keys.doctor_day_pk(a.doctor_id, a.date)
    return _locks(model, a, lambda _: pk)


def patient_locks(model: type[ScheduleModel], a: Appointment) -> dict[str, Lock]:
    """The patient's lock items of the appointment, by `<pk>|<sk>`, in the partition of each one's UTC date (a
    block never crosses midnight UTC)."""
    return _locks(model, a, lambda at: keys.patient_day_pk(a.patient_id, at))


def taken_granules(item: ScheduleModel) -> list[datetime]:
    """The 5-minute granules a doctor-day's item says are taken: its own, or all of a block held whole."""
    if item.sk.startswith(keys.SLOT_PREFIX) and item.appointment_id:
        return [keys.parse_instant(item.sk[len(keys.SLOT_PREFIX) :])]
    if item.sk.startswith(keys.BLOCK_PREFIX) and item.appointment_id:
        block = keys.parse_instant(item.sk[len(keys.BLOCK_PREFIX) :])
        return granules(block, block + timedelta(minutes=BLOCK_MINUTES))
    return []


# --- reminders -----------------------------------------------------------------------------------------------------
REMINDERS: ItemMapper[Reminder, ReminderModel] = ItemMapper(Reminder, ReminderModel)
reminder_item = REMINDERS.item
reminder_from = REMINDERS.entity

# --- rooms ---------------------------------------------------------------------------------------------------------
ROOMS: ItemMapper[Room, RoomModel] = ItemMapper(Room, RoomModel)
room_item = ROOMS.item
room_from = ROOMS.entity


# --- patients ------------------------------------------------------------------------------------------------------
def stored_devices(devices: list[Device]) -> list[dict[str, str]]:
    """Push devices as the item's JSON keeps them: `endpoint`, `platform`, `registeredAt` (an instant)."""
    return [
        {"endpoint": d.endpoint, "platform": d.platform}
        | ({"registeredAt": instant(d.registered_at)} if d.registered_at else {})
        for d in devices
    ]


def devices_of(stored: list[dict[str, Any]]) -> list[Device]:
    """The item's push devices (one stored before `registeredAt` was kept has none)."""
    return [
        Device(
            str(d["endpoint"]),
            str(d.get("platform") or ""),
            parse_instant(d["registeredAt"]) if d.get("registeredAt") else None,
        )
        for d in stored
        if d.get("endpoint")
    ]


PROFILES: ItemMapper[PatientProfile, PatientModel] = ItemMapper(
    PatientProfile,
    PatientModel,
    convert={"devices": Convert(stored_devices, devices_of)},
    renamed={"source": "contact_source"},
    # a day's message count is an item of its own, reserved by a reminder's claim (reminders.py); search entries'
    # fields are the directory's (search.py)
    item_only=("updated_at", "messages_sent", "expires_at", "directory", "search_key", "patient_ref"),
)
profile_from = PROFILES.entity


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
