"""HL7 FHIR R4 (4.0.1) shapes of the clinic: ids, resources, search values and OperationOutcome, as pure mapping.

The FHIR face translates shapes, never rules: a Slot is an availability slot, a Schedule one doctor's visits of one
kind, an Appointment ours with its status mapped. Ids that FHIR clients hold are derived here and read back here.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from chalicelib.domain.appointments import Appointment, AppointmentType, Status
from chalicelib.domain.doctors import Doctor
from chalicelib.domain.errors import InvalidInput
from chalicelib.domain.schedule import GRANULE_MINUTES, MAX_APPOINTMENT_MINUTES, Slot
from chalicelib.domain.timefmt import check_supported, instant

FHIR_VERSION = "4.0.1"
MEDIA_TYPE = "application/fhir+json"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
"""HL7's ActCode: `AMB` (ambulatory, an in-person visit) and `VR` (virtual, a telehealth visit)."""

Resource = dict[str, Any]
Service = Literal["in-person", "telehealth"]
SERVICES: tuple[Service, ...] = ("in-person", "telehealth")
SERVICE_CODES: dict[Service, tuple[str, str]] = {"in-person": ("AMB", "ambulatory"), "telehealth": ("VR", "virtual")}

ID_RE = re.compile(r"[A-Za-z0-9\-.]{1,64}")
"""FHIR's id: letters, digits, `-` and `.`, at most 64 characters."""

# --- statuses -------------------------------------------------------------------------------------------------
FHIR_STATUS_OF: dict[str, str] = {
    "scheduled": "booked",
    "confirmed": "booked",
    "rescheduled": "booked",
    "completed": "fulfilled",
    "cancelled": "cancelled",
    "no-show": "noshow",
    "held": "pending",
}
"""Ours (by value) → FHIR's AppointmentStatus: a hold is `pending`. No status of ours is `arrived` yet (the clinic
records no check-in). Keyed by value so a status of ours added later maps once it is named here (a unit test
checks that every one is)."""
APPOINTMENT_STATUS: dict[Status, str] = {s: FHIR_STATUS_OF[s.value] for s in Status if s.value in FHIR_STATUS_OF}

FHIR_APPOINTMENT_STATUSES = (
    "proposed",
    "pending",
    "booked",
    "arrived",
    "fulfilled",
    "cancelled",
    "noshow",
    "entered-in-error",
    "checked-in",
    "waitlist",
)
SLOT_STATUSES = ("busy", "free", "busy-unavailable", "busy-tentative", "entered-in-error")


def ours_for(fhir_statuses: Iterable[str]) -> frozenset[Status]:
    """The statuses of ours that the FHIR statuses name (none for `arrived`, `proposed`, ...)."""
    wanted = set(fhir_statuses)
    return frozenset(ours for ours, theirs in APPOINTMENT_STATUS.items() if theirs in wanted)


# --- ids ------------------------------------------------------------------------------------------------------
def is_id(text: str) -> bool:
    return ID_RE.fullmatch(text) is not None


def schedule_id(doctor_id: str, service: Service) -> str:
    """`<doctorId>.<service>`: one Schedule per doctor and kind of visit."""
    return f"{doctor_id}.{service}"


def parse_schedule_id(text: str) -> tuple[str, Service] | None:
    doctor_id, _, service = text.rpartition(".")
    for known in SERVICES:
        if service == known and doctor_id and "." not in doctor_id:
            return doctor_id, known
    return None


def slot_id(doctor_id: str, service: Service, start: datetime, minutes: int) -> str:
    """`<scheduleId>.<UTC start as YYYYMMDDHHMM>.<minutes>`: stable, and read back without any lookup."""
    return f"{schedule_id(doctor_id, service)}.{start.astimezone(UTC):%Y%m%d%H%M}.{minutes}"


@dataclass(frozen=True)
class SlotKey:
    doctor_id: str
    service: Service
    start: datetime
    minutes: int


def parse_slot_id(text: str) -> SlotKey | None:
    head, _, minutes = text.rpartition(".")
    rest, _, stamp = head.rpartition(".")
    schedule = parse_schedule_id(rest)
    if schedule is None or not re.fullmatch(r"\d{12}", stamp) or not re.fullmatch(r"\d{1,3}", minutes):
        return None
    try:
        start = check_supported(datetime.strptime(stamp, "%Y%m%d%H%M").replace(tzinfo=UTC))
    except ValueError:
        return None
    length = int(minutes)
    if not GRANULE_MINUTES <= length <= MAX_APPOINTMENT_MINUTES or length % GRANULE_MINUTES:
        return None
    return SlotKey(schedule[0], schedule[1], start, length)


def location_id(text: str) -> str:
    """A Location is a place doctors name: its id is derived from the place's text, so it needs no table."""
    return "loc-" + hashlib.sha256(" ".join(text.casefold().split()).encode()).hexdigest()[:16]


def services_of(doctor: Doctor) -> tuple[Service, ...]:
    return SERVICES if doctor.telehealth else ("in-person",)


def service_of(kind: AppointmentType) -> Service:
    return "telehealth" if kind is AppointmentType.TELEHEALTH else "in-person"


# --- search values --------------------------------------------------------------------------------------------
def reference_id(value: str, resource_type: str) -> str | None:
    """The id of `Type/id`, an absolute `.../Type/id`, or a bare id; None when it names another type."""
    if "/" not in value:
        return value
    kind, _, ident = value.rstrip("/").rpartition("/")
    return ident if kind.rpartition("/")[2] == resource_type else None


def service_for_token(token: str) -> Service | None:
    """A `service-type`/`visit-type` token: `AMB`, `VR` (with or without ActCode's system), or our own names."""
    system, bar, code = token.rpartition("|")
    if bar and system not in ("", ACT_CODE):
        return None
    for service, (act, _) in SERVICE_CODES.items():
        if code in (act, service):
            return service
    return None


def matches_text(value: str, text: str) -> bool:
    """FHIR's string search: the whole text or any of its words starts with the value, ignoring case."""
    wanted = " ".join(value.casefold().split())
    folded = " ".join(text.casefold().replace(",", " ").split())
    if not wanted:
        return True
    words = folded.split(" ")
    return folded.startswith(wanted) or any(" ".join(words[i:]).startswith(wanted) for i in range(len(words)))


Prefix = Literal["eq", "ge", "gt", "le", "lt"]
PREFIXES: tuple[Prefix, ...] = ("eq", "ge", "gt", "le", "lt")
DATETIME_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})")


@dataclass(frozen=True)
class DateBound:
    """One `date` search value: a prefix and a local date (read in the schedule's zone) or an instant."""

    prefix: Prefix
    value: date | datetime

    def interval(self, zone: ZoneInfo) -> tuple[datetime | None, datetime | None]:
        """The half-open UTC range [low, high) this bound allows; None where it is open. An instant covers its
        second, a date the doctor's local day."""
        if isinstance(self.value, datetime):
            start = self.value.astimezone(UTC)
            end = start + timedelta(seconds=1)
        else:
            start = datetime.combine(self.value, time(), tzinfo=zone).astimezone(UTC)
            end = datetime.combine(self.value + timedelta(days=1), time(), tzinfo=zone).astimezone(UTC)
        return {
            "eq": (start, end),
            "ge": (start, None),
            "gt": (end, None),
            "le": (None, end),
            "lt": (None, start),
        }[self.prefix]


def parse_date_bound(name: str, raw: str) -> DateBound:
    """`ge2026-12-02`, `lt2026-12-09T00:00:00Z`, `2026-12-02` (eq); years 2000-2100; an instant needs its zone."""
    prefix: Prefix = "eq"
    text = raw
    if text[:2] in PREFIXES:
        prefix = text[:2]  # type: ignore[assignment]
        text = text[2:]
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return DateBound(prefix, check_supported(date.fromisoformat(text)))
        if DATETIME_RE.fullmatch(text):
            return DateBound(prefix, check_supported(datetime.fromisoformat(text.replace("Z", "+00:00"))))
    except ValueError:
        pass
    raise InvalidInput(
        f"{name} must be a date (YYYY-MM-DD) or an instant with its zone, after one of the prefixes "
        f"{', '.join(PREFIXES)}, within the years 2000-2100.",
        {"fields": {name: "is not a supported date"}},
    )


def window(bounds: Sequence[DateBound], zone: ZoneInfo) -> tuple[datetime | None, datetime | None]:
    """The UTC range [low, high) every bound allows."""
    low: datetime | None = None
    high: datetime | None = None
    for bound in bounds:
        start, end = bound.interval(zone)
        if start is not None:
            low = start if low is None else max(low, start)
        if end is not None:
            high = end if high is None else min(high, end)
    return low, high


def local_days(low: datetime, high: datetime, zone: ZoneInfo) -> list[date]:
    """The doctor's local dates that [low, high) touches, in order."""
    first = low.astimezone(zone).date()
    last = (high - timedelta(microseconds=1)).astimezone(zone).date()
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


# --- resources ------------------------------------------------------------------------------------------------
def _service_type(service: Service) -> list[dict[str, Any]]:
    code, display = SERVICE_CODES[service]
    return [{"coding": [{"system": ACT_CODE, "code": code, "display": display}], "text": service}]


def _ref(resource_type: str, ident: str, display: str | None = None) -> dict[str, str]:
    ref = {"reference": f"{resource_type}/{ident}"}
    if display:
        ref["display"] = display
    return ref


def practitioner(doctor: Doctor) -> Resource:
    return {
        "resourceType": "Practitioner",
        "id": doctor.id,
        "active": True,
        "name": [{"text": doctor.name}],
    }


def location(text: str) -> Resource:
    return {
        "resourceType": "Location",
        "id": location_id(text),
        "status": "active",
        "mode": "instance",
        "name": text,
        "address": {"text": text},
    }


def schedule(doctor: Doctor, service: Service, horizon: tuple[datetime, datetime]) -> Resource:
    """`active` while the doctor has working hours; the planning horizon is how far ahead it can be booked."""
    actors = [_ref("Practitioner", doctor.id, doctor.name)]
    if service == "in-person":
        actors.append(_ref("Location", location_id(doctor.location), doctor.location))
    return {
        "resourceType": "Schedule",
        "id": schedule_id(doctor.id, service),
        "active": bool(doctor.schedule.working_hours),
        "serviceType": _service_type(service),
        "specialty": [{"text": doctor.specialty}],
        "actor": actors,
        "planningHorizon": {"start": instant(horizon[0]), "end": instant(horizon[1])},
        "comment": f"{service} visits of {doctor.schedule.appointment_duration} minutes",
    }


def slot(doctor_id: str, service: Service, found: Slot) -> Resource:
    minutes = int((found.ends_at - found.starts_at).total_seconds() // 60)
    return {
        "resourceType": "Slot",
        "id": slot_id(doctor_id, service, found.starts_at, minutes),
        "schedule": _ref("Schedule", schedule_id(doctor_id, service)),
        "serviceType": _service_type(service),
        "status": "free" if found.available else "busy",
        "start": instant(found.starts_at),
        "end": instant(found.ends_at),
    }


BOOKING_DEEP_LINK = "http://fhir-registry.smarthealthit.org/StructureDefinition/booking-deep-link"
"""SMART Scheduling Links' Slot extension: where a person can book that slot."""
BULK_PUBLISH = "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/bulk-publish"
NDJSON_MEDIA_TYPE = "application/fhir+ndjson"


def published_slot(doctor_id: str, service: Service, found: Slot, booking_link: str) -> Resource:
    """A Slot as SMART Scheduling Links publishes it: the FHIR read's Slot with its booking deep link."""
    return {**slot(doctor_id, service, found), "extension": [{"url": BOOKING_DEEP_LINK, "valueUrl": booking_link}]}


def bulk_manifest(request_url: str, made_at: datetime, outputs: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """The SMART Scheduling Links manifest (the Bulk Data publish manifest): when the data set was made, the
    manifest's own URL, one `{type, url}` per NDJSON file, and no errors."""
    return {
        "transactionTime": instant(made_at),
        "request": request_url,
        "requiresAccessToken": False,
        "output": [{"type": kind, "url": url} for kind, url in outputs],
        "error": [],
    }


def ndjson(resources: Iterable[Resource]) -> str:
    """One minified resource a line, each line ending with a newline."""
    import json

    return "".join(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n" for r in resources)


def appointment(a: Appointment) -> Resource:
    service = service_of(a.type)
    participants = [
        {"actor": _ref("Patient", a.patient_id, a.patient_name), "required": "required", "status": "accepted"},
        {"actor": _ref("Practitioner", a.doctor_id, a.doctor_name), "required": "required", "status": "accepted"},
    ]
    if service == "in-person" and a.location:
        participants.append(
            {
                "actor": _ref("Location", location_id(a.location), a.location),
                "required": "required",
                "status": "accepted",
            }
        )
    resource: Resource = {
        "resourceType": "Appointment",
        "id": a.id,
        "meta": {"lastUpdated": instant(a.updated_at), **({"versionId": str(a.version)} if a.version else {})},
        "status": APPOINTMENT_STATUS[a.status],
        "serviceType": _service_type(service),
        "specialty": [{"text": a.specialty}],
        "start": instant(a.starts_at),
        "end": instant(a.ends_at),
        "minutesDuration": a.duration,
        "slot": [_ref("Slot", slot_id(a.doctor_id, service, a.starts_at, a.duration))],
        "created": instant(a.created_at),
        "participant": participants,
    }
    if a.reason.strip():  # a hold has no reason yet, and FHIR strings are never empty
        resource["reasonCode"] = [{"text": a.reason}]
    if a.notes:
        resource["comment"] = a.notes
    return resource


HOLD_EXPIRY_PATH = "StructureDefinition/appointment-hold-expiry"
"""This server's extension on a `pending` Appointment (a hold), at `<base>/StructureDefinition/...`: the instant
the hold lapses (`valueInstant`); until then no one else can book or hold the time."""


def held_appointment(a: Appointment, expires_at: datetime, base: str) -> Resource:
    """A hold as FHIR's `pending` Appointment, with when it lapses."""
    resource = appointment(a)
    resource["extension"] = [{"url": f"{base}/{HOLD_EXPIRY_PATH}", "valueInstant": instant(expires_at)}]
    return resource


SETTABLE_STATUSES: dict[str, Status] = {
    "cancelled": Status.CANCELLED,
    "fulfilled": Status.COMPLETED,
    "noshow": Status.NO_SHOW,
}
"""The FHIR statuses a PATCH or PUT may set, and ours they become: a cancellation (the REST cancel's rules) and
the REST status route's completion and no-show (doctors and admins, once the visit has started). `booked` set on a
booked visit changes nothing; `arrived` is not recorded here (no check-in), and the rest are not set by a client."""


def proposed_appointment(doctor: Doctor, service: Service, found: Slot, patient_id: str | None) -> Resource:
    """What `$find` proposes: a free slot as an Appointment with status `proposed` (nothing is stored)."""
    minutes = int((found.ends_at - found.starts_at).total_seconds() // 60)
    participants = [
        {"actor": _ref("Practitioner", doctor.id, doctor.name), "required": "required", "status": "needs-action"}
    ]
    if service == "in-person":
        participants.append(
            {
                "actor": _ref("Location", location_id(doctor.location), doctor.location),
                "required": "required",
                "status": "needs-action",
            }
        )
    if patient_id:
        participants.append({"actor": _ref("Patient", patient_id), "required": "required", "status": "needs-action"})
    return {
        "resourceType": "Appointment",
        "status": "proposed",
        "serviceType": _service_type(service),
        "specialty": [{"text": doctor.specialty}],
        "start": instant(found.starts_at),
        "end": instant(found.ends_at),
        "minutesDuration": minutes,
        "slot": [_ref("Slot", slot_id(doctor.id, service, found.starts_at, minutes))],
        "participant": participants,
    }


def patient(patient_id: str, name: str | None, email: str | None = None, phone: str | None = None) -> Resource:
    resource: Resource = {"resourceType": "Patient", "id": patient_id, "active": True}
    if name:
        resource["name"] = [{"text": name}]
    telecom = [{"system": "email", "value": email}] if email else []
    telecom += [{"system": "phone", "value": phone}] if phone else []
    if telecom:
        resource["telecom"] = telecom
    return resource


def operation_outcome(code: str, diagnostics: str, expression: Sequence[str] = ()) -> Resource:
    issue: dict[str, Any] = {"severity": "error", "code": code, "diagnostics": diagnostics}
    if expression:
        issue["expression"] = list(expression)
    return {"resourceType": "OperationOutcome", "issue": [issue]}


def bundle(
    base: str,
    resources: Sequence[Resource],
    self_url: str,
    next_url: str | None = None,
    total: int | None = None,
) -> Resource:
    """A `searchset` Bundle; entries with an id get their `fullUrl`."""
    entries = []
    for resource in resources:
        entry: dict[str, Any] = {"resource": resource, "search": {"mode": "match"}}
        if "id" in resource:
            entry["fullUrl"] = f"{base}/{resource['resourceType']}/{resource['id']}"
        entries.append(entry)
    links = [{"relation": "self", "url": self_url}]
    if next_url:
        links.append({"relation": "next", "url": next_url})
    out: Resource = {"resourceType": "Bundle", "type": "searchset"}
    if total is not None:
        out["total"] = total
    out["link"] = links
    if entries:
        out["entry"] = entries
    return out
