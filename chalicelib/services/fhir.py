"""The use cases of the FHIR R4 face: Slots from the same availability the REST route serves, Schedules and
Practitioners from the doctor directory, Appointments through the booking service's own reads and access rules,
`$find`'s proposals from real free slots, and the writes (`$hold`, `$book`, cancel and status changes), each one
call of the booking service's own use case: one booking path."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from chalicelib.domain import fhir
from chalicelib.domain.appointments import Appointment, AppointmentType, Status
from chalicelib.domain.doctors import Doctor
from chalicelib.domain.errors import (
    BusinessRuleViolation,
    Forbidden,
    InvalidInput,
    NotFound,
    OutsideBookingWindow,
)
from chalicelib.domain.holds import Hold
from chalicelib.domain.identity import Caller, Role
from chalicelib.domain.limits import check_horizon
from chalicelib.domain.schedule import GRANULE_MINUTES, Slot
from chalicelib.domain.timefmt import instant
from chalicelib.services.booking import AppointmentView, BookingRequest, HoldBooking, HoldRequest, ListFilter
from chalicelib.services.booking.commands import BookingCommands
from chalicelib.services.booking.queries import BookingQueries
from chalicelib.services.doctors import DoctorService
from chalicelib.services.ports.system import Clock

MAX_SLOT_DAYS = 31
"""A Slot search covers at most this many days of one schedule (one availability read per day)."""
MAX_FIND_DAYS = 14
"""`$find` looks at most this many days ahead of its `start` (one availability read per doctor and day)."""
MAX_ROUNDS = 10
"""Store pages one Appointment search page may read through while its filters keep skipping appointments."""
PUBLISH_DAYS = 28
"""The SMART Scheduling Links publication lists free slots from today (each doctor's local date) for 4 weeks."""
PUBLISH_FILE_DAYS = 7
"""One Slot file per doctor and 7 days: a file stays far below Lambda's 6 MB answer whatever the clinic's size."""

Position = tuple[str, str]


class DayVersions(Protocol):
    def day_versions(self, days: Sequence[tuple[str, date]]) -> dict[tuple[str, date], int]: ...


class RangeTooWide(InvalidInput):
    """A search range wider than the face serves in one go (FHIR's `too-costly`)."""


@dataclass(frozen=True)
class SlotHit:
    doctor: Doctor
    service: fhir.Service
    slot: Slot

    @property
    def position(self) -> Position:
        return instant(self.slot.starts_at), fhir.schedule_id(self.doctor.id, self.service)


@dataclass(frozen=True)
class AppointmentQuery:
    patient_id: str | None = None
    practitioner_id: str | None = None
    dates: Sequence[fhir.DateBound] = ()
    statuses: frozenset[str] | None = None
    """FHIR statuses; None: any."""


@dataclass(frozen=True)
class BookTarget:
    """What `$book` books: a live hold (its id), or a free slot (a proposed Appointment's Slot)."""

    hold_id: str | None = None
    slot: fhir.SlotKey | None = None


@dataclass(frozen=True)
class BookOrder:
    target: BookTarget
    patient_id: str | None = None
    reason: str = ""
    comment: str | None = None
    cancelled_id: str | None = None
    """`cancelled-appt-id`: the visit this booking replaces (the booking service's reschedule moves it)."""
    via: str = ""


@dataclass(frozen=True)
class Publication:
    """The SMART Scheduling Links data set: what `$bulk-publish` lists, one NDJSON file per resource type."""

    etag: str
    made_at: datetime
    files: dict[str, list[fhir.Resource]]
    """By file name without `.ndjson`, in the manifest's order: `Location`, `Schedule`, then
    `Slot-<doctorId>-<first local date>` per doctor and 7 days; a file's resource type is its name up to `-`."""


@dataclass(frozen=True)
class PublicationPlan:
    """What a publication is made of, known for the price of its ETag: the doctors and their days."""

    etag: str
    doctors: list[Doctor]
    days: dict[str, list[date]]


class FhirService:
    def __init__(
        self,
        booking: BookingCommands,
        queries: BookingQueries,
        doctors: DoctorService,
        clock: Clock,
        versions: DayVersions | None = None,
    ) -> None:
        self._booking = booking
        self._queries = queries
        self._doctors = doctors
        self._clock = clock
        self._versions = versions

    # --- directory --------------------------------------------------------------------------------------------
    def practitioner(self, doctor_id: str) -> Doctor:
        return self._queries.doctor(doctor_id)

    def practitioners(self) -> list[Doctor]:
        return sorted(self._doctors.search(), key=lambda d: d.id)

    def locations(self) -> list[str]:
        """Every place a doctor names, once, in id order."""
        places = {fhir.location_id(d.location): d.location for d in self._doctors.search()}
        return [places[key] for key in sorted(places)]

    def location(self, location_id: str) -> str:
        for place in self.locations():
            if fhir.location_id(place) == location_id:
                return place
        raise NotFound("No such location.", {"id": location_id})

    def schedule(self, schedule_id: str) -> tuple[Doctor, fhir.Service]:
        parsed = fhir.parse_schedule_id(schedule_id)
        if parsed is None:
            raise NotFound("No such schedule.", {"id": schedule_id})
        try:
            doctor = self._queries.doctor(parsed[0])
        except NotFound:
            raise NotFound("No such schedule.", {"id": schedule_id}) from None
        if parsed[1] not in fhir.services_of(doctor):
            raise NotFound("No such schedule.", {"id": schedule_id})
        return doctor, parsed[1]

    def schedules(self) -> list[tuple[Doctor, fhir.Service]]:
        return [(d, service) for d in self.practitioners() for service in fhir.services_of(d)]

    def horizon(self, doctor: Doctor) -> tuple[datetime, datetime]:
        """From now to how far ahead the doctor can be booked (its own horizon or the clinic's)."""
        now = self._clock.now()
        days = doctor.schedule.booking_horizon_days or self._queries.policy.booking_horizon_days
        return now, now + timedelta(days=days)

    # --- slots ------------------------------------------------------------------------------------------------
    def slot(self, caller: Caller, slot_id: str) -> SlotHit:
        """A slot read back from its id: the availability of its local day, the offered start of that length.
        Patients see free slots only: any other answers as unknown."""
        key = fhir.parse_slot_id(slot_id)
        if key is None:
            raise NotFound("No such slot.", {"id": slot_id})
        doctor, service = self.schedule(fhir.schedule_id(key.doctor_id, key.service))
        day = key.start.astimezone(doctor.zone).date()
        for found in self._queries.availability(doctor.id, day, key.minutes).slots:
            if found.starts_at == key.start and (found.available or caller.role is not Role.PATIENT):
                return SlotHit(doctor, service, found)
        raise NotFound("No such slot.", {"id": slot_id})

    def slots(
        self,
        caller: Caller,
        schedule_id: str,
        bounds: Sequence[fhir.DateBound],
        statuses: frozenset[str] | None,
        limit: int,
        after: Position | None,
        services: frozenset[fhir.Service] | None = None,
    ) -> tuple[list[SlotHit], bool]:
        """One page of a schedule's slots in [low, high) in start order, and whether more follow. Each local day
        costs one availability read, the REST route's own, and is read only as far as the page needs; with date
        bounds the days are known without the doctor, whom the first availability read brings along, so N days
        cost N availability reads and nothing more (an instant bound needs the doctor's zone first: one read)."""
        parsed = fhir.parse_schedule_id(schedule_id)
        if parsed is None:
            raise NotFound("No such schedule.", {"id": schedule_id})
        doctor_id, service = parsed
        _bounded(bounds, ZoneInfo("UTC"), MAX_SLOT_DAYS, "start")  # refused before any read
        if caller.role is Role.PATIENT and statuses is not None and statuses != {"free"}:
            raise Forbidden("Patients see free slots only.")
        wanted = {"free"} if caller.role is Role.PATIENT else statuses
        doctor: Doctor | None = None
        if any(isinstance(b.value, datetime) for b in bounds):
            doctor = self.schedule(schedule_id)[0]
        zone = doctor.zone if doctor else ZoneInfo("UTC")
        low, high = _bounded(bounds, zone, MAX_SLOT_DAYS, "start")
        days = fhir.local_days(low, high, zone)
        if after is not None:  # days wholly before the page token's (within a day of its UTC date) are done
            done = datetime.fromisoformat(after[0]).date() - timedelta(days=1)
            days = [d for d in days if d >= done]
        page: list[SlotHit] = []
        for day in days:
            try:
                result = self._queries.availability(doctor_id, day, None)
            except NotFound:
                raise NotFound("No such schedule.", {"id": schedule_id}) from None
            if doctor is None or doctor.zone != result.doctor.zone:
                doctor = result.doctor
                low, high = _bounded(bounds, doctor.zone, MAX_SLOT_DAYS, "start")
            if service not in fhir.services_of(result.doctor):
                raise NotFound("No such schedule.", {"id": schedule_id})
            if services is not None and service not in services:
                return [], False
            for hit in (SlotHit(result.doctor, service, found) for found in result.slots):
                if _keeps(hit, (low, high), after, wanted):
                    if len(page) == limit:
                        return page, True
                    page.append(hit)
        return page, False

    def find(
        self,
        candidates: Sequence[tuple[Doctor, fhir.Service]],
        start: fhir.DateBound,
        end: fhir.DateBound,
        limit: int,
    ) -> list[SlotHit]:
        """The earliest free, bookable slots of the candidate schedules between `start` and `end`: day by day,
        one availability read per doctor and day, stopping after the day that fills the answer."""
        now = self._clock.now()
        by_doctor: dict[str, list[fhir.Service]] = {}
        doctors: dict[str, Doctor] = {}
        for doctor, service in candidates:
            by_doctor.setdefault(doctor.id, []).append(service)
            doctors[doctor.id] = doctor
        days: dict[str, tuple[datetime, datetime, list[date]]] = {}
        for doctor_id, doctor in doctors.items():
            low, high = _bounded((start, end), doctor.zone, MAX_FIND_DAYS, "start")
            days[doctor_id] = (low, high, fhir.local_days(low, high, doctor.zone))
        found: list[SlotHit] = []
        for step in range(MAX_FIND_DAYS + 1):
            for doctor_id, (low, high, local) in days.items():
                if step >= len(local):
                    continue
                doctor = doctors[doctor_id]
                for offered in self._queries.availability(doctor_id, local[step], None).slots:
                    inside = low <= offered.starts_at and offered.ends_at <= high
                    if offered.available and inside and self._bookable(doctor, offered.starts_at, now):
                        found += [SlotHit(doctor, service, offered) for service in by_doctor[doctor_id]]
            if len(found) >= limit:
                break
        return sorted(found, key=lambda hit: hit.position)[:limit]

    def _bookable(self, doctor: Doctor, start: datetime, now: datetime) -> bool:
        try:
            check_horizon(start, now, doctor.schedule.booking_horizon_days or self._queries.policy.booking_horizon_days)
        except OutsideBookingWindow:
            return False
        return True

    # --- SMART Scheduling Links bulk publication --------------------------------------------------------------
    def publication_plan(self, salt: str) -> PublicationPlan:
        """The publication's doctors and days and its ETag, from what changes its slots: the doctors' records
        (hours, zone, place, visit kinds), every published day's version (bumped by each booking, cancellation,
        move and hold), the window's days, the clinic's notice and horizon, and the 5-minute step of the earliest
        bookable time. Costs the directory read and one BatchGetItem per 100 doctor-days; `salt` is what else the
        files name (their URLs)."""
        import hashlib
        import json

        if self._versions is None:
            raise RuntimeError("the bulk publication needs the store's day versions")
        now = self._clock.now()
        doctors = self.practitioners()
        days = {
            d.id: [now.astimezone(d.zone).date() + timedelta(days=n) for n in range(PUBLISH_DAYS)]
            for d in doctors
            if d.schedule.working_hours
        }
        versions = self._versions.day_versions([(doctor_id, day) for doctor_id, dates in days.items() for day in dates])
        policy = self._queries.policy
        step = int((now + policy.min_notice).timestamp()) // (GRANULE_MINUTES * 60)
        material = [
            salt,
            step,
            str(policy.min_notice),
            policy.booking_horizon_days,
            [repr(d) for d in doctors],
            sorted(f"{doctor_id}|{day.isoformat()}|{version}" for (doctor_id, day), version in versions.items()),
        ]
        digest = hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()[:32]
        return PublicationPlan(f'W/"{digest}"', doctors, days)

    def publication(
        self, plan: PublicationPlan, booking_link: Callable[[Doctor, fhir.Service, Slot], str]
    ) -> Publication:
        """Every Location and Schedule, and the free, bookable Slots of the plan's days (one availability read per
        doctor and day), each Slot with its booking deep link, in one file per doctor and 7 days."""
        now = self._clock.now()
        horizon = {d.id: self.horizon(d) for d in plan.doctors}
        schedules = [(d, kind) for d in plan.doctors for kind in fhir.services_of(d)]
        places = {fhir.location_id(d.location): d.location for d in plan.doctors}
        files: dict[str, list[fhir.Resource]] = {
            "Location": [fhir.location(places[key]) for key in sorted(places)],
            "Schedule": [fhir.schedule(d, kind, horizon[d.id]) for d, kind in schedules],
        }
        for doctor in plan.doctors:
            days = plan.days.get(doctor.id, [])
            for first in range(0, len(days), PUBLISH_FILE_DAYS):
                slots = files.setdefault(f"Slot-{doctor.id}-{days[first].isoformat()}", [])
                for day in days[first : first + PUBLISH_FILE_DAYS]:
                    for offered in self._queries.availability(doctor.id, day, None).slots:
                        if not offered.available or not self._bookable(doctor, offered.starts_at, now):
                            continue
                        for kind in fhir.services_of(doctor):
                            link = booking_link(doctor, kind, offered)
                            slots.append(fhir.published_slot(doctor.id, kind, offered, link))
        return Publication(plan.etag, now, files)

    # --- appointments -----------------------------------------------------------------------------------------
    def appointment(self, caller: Caller, appointment_id: str) -> Appointment | Hold:
        """Through the booking service's read: another's appointment answers as unknown. A live hold reads back
        as the hold (a `pending` Appointment) for whoever may see it; a lapsed one is unknown."""
        try:
            return self._queries.get(_reader(caller), appointment_id)
        except NotFound:
            try:
                return self._queries.get_hold(_reader(caller), appointment_id)
            except NotFound:
                raise NotFound("No such appointment.", {"appointmentId": appointment_id}) from None

    # --- writes: each one call of the booking service's own use case ------------------------------------------
    def hold(self, caller: Caller, slot: fhir.SlotKey, patient_id: str | None, via: str) -> Hold:
        """`$hold`: the REST hold of that slot's time (one transaction), after the doctor's read for its zone."""
        doctor, kind = self._slot_doctor(slot)
        local = slot.start.astimezone(doctor.zone)
        request = HoldRequest(
            doctor_id=doctor.id,
            date=local.date(),
            time=local.time().replace(tzinfo=None),
            type=kind,
            patient_id=patient_id,
            duration=slot.minutes,
            starts_at=slot.start,
            via=via,
        )
        return self._booking.hold(_reader(caller), request)

    def book(self, caller: Caller, order: BookOrder) -> Appointment:
        """`$book`: a hold becomes the visit (the REST booking of a hold: no read added); a proposed slot is booked
        as the REST booking does, after one read (the doctor, for the slot's local date and time); with
        `cancelled-appt-id`, the named visit is moved to the time instead (the REST reschedule)."""
        writer = _reader(caller)
        if order.cancelled_id is not None:
            return self._move(writer, order)
        if order.target.hold_id is not None:
            booking = HoldBooking(
                hold_id=order.target.hold_id,
                reason=order.reason,
                notes=order.comment,
                matches={"patientId": order.patient_id},
            )
            return self._booking.book_hold(writer, booking).appointment
        if order.target.slot is None:  # the order was parsed with it
            raise TypeError("a FHIR order without order.target.slot")
        slot = order.target.slot
        doctor, kind = self._slot_doctor(slot)
        local = slot.start.astimezone(doctor.zone)
        request = BookingRequest(
            doctor_id=doctor.id,
            date=local.date(),
            time=local.time().replace(tzinfo=None),
            type=kind,
            reason=order.reason,
            patient_id=order.patient_id,
            duration=slot.minutes,
            notes=order.comment,
            starts_at=slot.start,
            via=order.via,
        )
        return self._booking.book(writer, request).appointment

    def _move(self, writer: Caller, order: BookOrder) -> Appointment:
        """A reschedule: the visit keeps its practitioner, kind and patient and moves to the new time. A hold of
        the new time (the caller's own) is released first, so the move can take its place."""
        if order.cancelled_id is None:  # the order was parsed with it
            raise TypeError("a FHIR order without order.cancelled_id")
        if order.comment is not None:
            raise InvalidInput(
                "A reschedule (cancelled-appt-id) keeps the visit's comment; send no comment with it.",
                {"fields": {"comment": "not with cancelled-appt-id"}},
            )
        before = self._queries.get(writer, order.cancelled_id)
        hold = self._queries.get_hold(writer, order.target.hold_id) if order.target.hold_id else None
        patient: str | None
        if hold is not None:
            held = hold.appointment
            slot = fhir.SlotKey(held.doctor_id, fhir.service_of(held.type), held.starts_at, held.duration)
            patient = held.patient_id
        else:
            if order.target.slot is None:  # the order was parsed with it
                raise TypeError("a FHIR order without order.target.slot")
            slot, patient = order.target.slot, order.patient_id
        if (slot.doctor_id, slot.service) != (before.doctor_id, fhir.service_of(before.type)):
            raise BusinessRuleViolation(
                "A reschedule keeps the practitioner and the kind of visit; book the new time and cancel the old.",
                {"fields": {"cancelled-appt-id": "another practitioner or kind of visit"}},
            )
        if patient not in (None, before.patient_id):
            raise InvalidInput(
                "cancelled-appt-id names another patient's visit.", {"fields": {"patient-id": "another patient"}}
            )
        if hold is not None:
            self._booking.release_hold(writer, hold.id)
        local = slot.start.astimezone(ZoneInfo(before.timezone))
        return self._booking.reschedule(
            writer,
            before.id,
            local.date(),
            local.time().replace(tzinfo=None),
            slot.start,
            slot.minutes,
        ).appointment

    def set_status(self, caller: Caller, appointment_id: str, status: str) -> Appointment:
        """A PATCH or PUT of `status`: `cancelled` is the REST cancel, `fulfilled` and `noshow` the REST status
        route's completion and no-show; the status a visit already has changes nothing; any other is refused."""
        writer = _reader(caller)
        current = self._queries.get(writer, appointment_id)
        if fhir.APPOINTMENT_STATUS[current.status] == status:
            return current
        target = fhir.SETTABLE_STATUSES.get(status)
        if target is None:
            raise BusinessRuleViolation(
                f"An appointment's status cannot be set to {status} here; clients set "
                f"{', '.join(fhir.SETTABLE_STATUSES)}.",
                {"fields": {"status": "not settable"}},
            )
        if target is Status.CANCELLED:
            return self._booking.cancel(writer, appointment_id).appointment
        return self._booking.change_status(writer, appointment_id, target).appointment

    def _slot_doctor(self, slot: fhir.SlotKey) -> tuple[Doctor, AppointmentType]:
        doctor = self._queries.doctor(slot.doctor_id)
        if slot.service not in fhir.services_of(doctor):
            raise NotFound("No such slot.", {"fields": {"slot": "no such schedule"}})
        kind = AppointmentType.TELEHEALTH if slot.service == "telehealth" else AppointmentType.IN_PERSON
        return doctor, kind

    def appointments(
        self, caller: Caller, query: AppointmentQuery, limit: int, after: Position | None
    ) -> tuple[list[Appointment], Position | None]:
        """One page of appointments in start order through the REST lists' own paged reads and access rules, and
        the position the next page starts after, while more may follow."""
        caller = _reader(caller)
        patient_id, practitioner_id = query.patient_id, query.practitioner_id
        if patient_id is None and practitioner_id is None:
            if caller.role is Role.PATIENT:
                patient_id = caller.subject
            elif caller.role is Role.DOCTOR:
                practitioner_id = caller.doctor_id
            else:
                raise InvalidInput(
                    "Name a patient or a practitioner to search appointments.", {"fields": {"patient": "required"}}
                )
        ours = fhir.ours_for(query.statuses) if query.statuses is not None else None
        low, high = fhir.window(query.dates, ZoneInfo("UTC"))
        filters = ListFilter(
            status=next(iter(ours)) if ours is not None and len(ours) == 1 else None,
            date_from=(low - timedelta(days=1)).date() if low else None,
            date_to=(high + timedelta(days=1)).date() if high else None,
        )
        if ours is not None and not ours:
            return [], None  # statuses none of ours maps to (proposed, arrived, ...)

        def keep(a: Appointment) -> bool:
            if ours is not None and a.status not in ours:
                return False
            if practitioner_id is not None and a.doctor_id != practitioner_id:
                return False
            start, end = fhir.window(query.dates, ZoneInfo(a.timezone))
            return (start is None or a.starts_at >= start) and (end is None or a.starts_at < end)

        fetch: Callable[[Position | None, int], tuple[list[Appointment], bool]]
        if patient_id is not None:
            pid = patient_id
            fetch = lambda at, n: _visits(self._queries.page_for_patient(caller, pid, filters, n, at))  # noqa: E731
        else:
            did = practitioner_id or ""
            fetch = lambda at, n: _visits(self._queries.page_for_doctor(caller, did, filters, n, at))  # noqa: E731
        return _collect(fetch, keep, limit, after)


def _visits(page: tuple[list[AppointmentView], bool]) -> tuple[list[Appointment], bool]:
    """A page of the booking reads' answers as the appointments they show."""
    views, more = page
    return [view.appointment for view in views], more


def _reader(caller: Caller) -> Caller:
    """A system client reads appointments as the clinic's front desk does: its SMART scope (checked by the FHIR
    face) is what limits it, and its own id stays in the access log."""
    return replace(caller, role=Role.ADMIN) if caller.role is Role.SYSTEM else caller


def _keeps(
    hit: SlotHit, window: tuple[datetime, datetime], after: Position | None, wanted: set[str] | frozenset[str] | None
) -> bool:
    """Inside the range, past the page token, and of a wanted status."""
    status = "free" if hit.slot.available else "busy"
    inside = window[0] <= hit.slot.starts_at < window[1]
    return inside and (after is None or hit.position > after) and (wanted is None or status in wanted)


def _collect(
    fetch: Callable[[Position | None, int], tuple[list[Appointment], bool]],
    keep: Callable[[Appointment], bool],
    limit: int,
    after: Position | None,
) -> tuple[list[Appointment], Position | None]:
    """Up to `limit` kept appointments from store pages read in turn; the next page's position, or None."""
    page: list[Appointment] = []
    cursor = after
    for _ in range(MAX_ROUNDS):
        got, more = fetch(cursor, limit)
        for a in got:
            if keep(a):
                if len(page) == limit:
                    return page, _position(page[-1])
                page.append(a)
        if not more or not got:
            return page, None
        cursor = _position(got[-1])
    return page, cursor  # the filters skipped a lot: the next page goes on from the last one read


def _position(a: Appointment) -> Position:
    return instant(a.starts_at), a.id


def _bounded(bounds: Sequence[fhir.DateBound], zone: ZoneInfo, max_days: int, name: str) -> tuple[datetime, datetime]:
    low, high = fhir.window(bounds, zone)
    if low is None or high is None:
        raise InvalidInput(
            f"Give both ends of the {name} range (e.g. {name}=ge2026-12-02&{name}=lt2026-12-09).",
            {"fields": {name: "needs a lower and an upper bound"}},
        )
    if high <= low:
        raise InvalidInput(f"The {name} range is empty.", {"fields": {name: "empty range"}})
    if high - low > timedelta(days=max_days):
        raise RangeTooWide(
            f"The {name} range covers at most {max_days} days; ask for the next days in another search.",
            {"fields": {name: f"at most {max_days} days"}, "maxDays": max_days},
        )
    return low, high
