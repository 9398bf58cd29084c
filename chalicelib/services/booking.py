"""Booking use cases: availability, book, reschedule, cancel, status changes, reads and lists; and slot holds
(hold, book a hold, release, the sweep that lapses them), which are bookings with an expiry on the same path."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Protocol

from chalicelib.domain.appointments import (
    Appointment,
    AppointmentType,
    Status,
    can_change,
    check_change_allowed,
    check_status_change,
    may_access,
)
from chalicelib.domain.audit import AuditEntry, audit_of
from chalicelib.domain.booking import Booking
from chalicelib.domain.busy import BusyTimesChanged, busy_taken, overlapping
from chalicelib.domain.doctors import Doctor
from chalicelib.domain.errors import (
    BookingLimitReached,
    Conflict,
    DailyLimitReached,
    DomainError,
    Forbidden,
    InvalidInput,
    InvalidState,
    NotFound,
    NotYourPatient,
    SlotUnavailable,
    TelehealthNotOffered,
)
from chalicelib.domain.holds import (
    DEFAULT_HOLD_MINUTES,
    Hold,
    check_bookable_hold,
    check_matches,
    end_of_hold,
    may_access_hold,
)
from chalicelib.domain.idempotency import appointment_id_for
from chalicelib.domain.identity import Caller, Role
from chalicelib.domain.limits import DEFAULT_HORIZON_DAYS, DEFAULT_MAX_ACTIVE, check_duration, check_horizon
from chalicelib.domain.paging import take_page
from chalicelib.domain.patients import PatientProfile
from chalicelib.domain.reminders import Reminder, Skipped
from chalicelib.domain.schedule import Slot, availability_etag, check_bookable, generate_slots
from chalicelib.services.access import AccessAudit
from chalicelib.services.ports.appointments import AppointmentStore
from chalicelib.services.ports.doctors import DoctorRepository
from chalicelib.services.ports.patients import PatientRepository
from chalicelib.services.ports.system import Clock, IdGenerator
from chalicelib.services.reminders.planning import ReminderPlanner, ReminderRequest, contact_of
from chalicelib.services.telehealth import TelehealthService

log = logging.getLogger("clinic.booking")
EVER = (datetime(2000, 1, 1, tzinfo=UTC), datetime(2101, 1, 1, tzinfo=UTC))  # every date the API accepts
HISTORY_PAGE = 50
BUSY_ATTEMPTS = 3
"""Checks of a change against the doctor's busy times when syncs keep landing between check and commit."""


@dataclass(frozen=True)
class Policy:
    min_notice: timedelta = timedelta(hours=1)
    patient_change_window: timedelta = timedelta(hours=2)
    max_active_bookings: int = DEFAULT_MAX_ACTIVE
    booking_horizon_days: int = DEFAULT_HORIZON_DAYS
    hold_duration: timedelta = timedelta(minutes=DEFAULT_HOLD_MINUTES)
    """How long a hold keeps a time (per clinic: `HOLD_MINUTES`)."""


@dataclass(frozen=True)
class BookingRequest:
    doctor_id: str
    date: date
    time: time
    type: AppointmentType
    reason: str
    patient_id: str | None = None
    patient_name: str | None = None
    duration: int | None = None
    notes: str | None = None
    reminder_preferences: dict[str, Any] = field(default_factory=dict)
    starts_at: datetime | None = None
    """Names the instant where the local time is ambiguous (a fall-back hour); must match date and time."""
    idempotency_key: str | None = None
    """The caller-scoped Idempotency-Key hash: the appointment id derives from it (see domain/idempotency)."""
    via: str = ""
    """The route the request came by (`POST /api/appointments`, `POST /fhir/R4/Appointment/{id}`), for the
    access log's entry of a refusal."""
    language: str | None = None
    """The request's language (`Accept-Language`): its reminders' language while the patient has saved none."""


@dataclass(frozen=True)
class HoldRequest:
    """A time to hold: what a booking names of its time, and no more (the reason and reminders come with the
    booking of the hold)."""

    doctor_id: str
    date: date
    time: time
    type: AppointmentType
    patient_id: str | None = None
    duration: int | None = None
    starts_at: datetime | None = None
    via: str = ""
    """The route it came by, for the access log (see BookingRequest.via)."""


@dataclass(frozen=True)
class HoldBooking:
    """A booking of a hold: the hold's own fields may be repeated in `matches` (they must be the hold's); the
    rest completes the visit."""

    hold_id: str
    reason: str = ""
    notes: str | None = None
    patient_name: str | None = None
    reminder_preferences: dict[str, Any] = field(default_factory=dict)
    matches: dict[str, Any] = field(default_factory=dict)
    """The request's `doctorId`, `patientId`, `date`, `time`, `duration`, `type`, `startsAt` as sent."""
    language: str | None = None
    """The request's language (`Accept-Language`): its reminders' language while the patient has saved none."""


class HoldMover(Protocol):
    """The store's one transaction of a "move me earlier": a hold booked and a later visit cancelled together."""

    def book_hold_replacing(
        self,
        hold: Hold,
        booking: Booking,
        now: datetime,
        before: Appointment,
        cancelled: Appointment,
        cancel_audit: AuditEntry,
    ) -> None: ...


@dataclass(frozen=True)
class DayAvailability:
    doctor: Doctor
    date: date
    slots: list[Slot]
    etag: str


@dataclass(frozen=True)
class ListFilter:
    status: Status | None = None
    type: AppointmentType | None = None
    date_from: date | None = None
    date_to: date | None = None


class BookingService:
    def __init__(
        self,
        doctors: DoctorRepository,
        store: AppointmentStore,
        clock: Clock,
        ids: IdGenerator,
        policy: Policy,
        reminders: ReminderPlanner,
        telehealth: TelehealthService,
        patients: PatientRepository,
        access: AccessAudit | None = None,
    ) -> None:
        self._doctors = doctors
        self._access = access
        self._store = store
        self._clock = clock
        self._ids = ids
        self.policy = policy
        self._reminders = reminders
        self._telehealth = telehealth
        self._patients = patients

    # --- reads -----------------------------------------------------------------------------------------------
    def doctor(self, doctor_id: str) -> Doctor:
        found = self._doctors.get(doctor_id)
        if found is None:
            raise NotFound("No such doctor.", {"doctorId": doctor_id})
        return found

    def availability(self, doctor_id: str, day: date, duration: int | None) -> DayAvailability:
        doctor = self.doctor(doctor_id)
        state = self._store.day_state(doctor_id, day)
        now = self._clock.now()
        if any(expiry <= now for _, expiry in state.holds):
            # A lapsed hold keeps its time until it is released: released here, then the day is read again.
            self._lapse([hold_id for hold_id, expiry in state.holds if expiry <= now], now)
            state = self._store.day_state(doctor_id, day)
        slots = generate_slots(
            doctor.schedule,
            doctor.zone,
            day,
            duration or doctor.schedule.appointment_duration,
            state,
            now,
            self.policy.min_notice,
        )
        etag = availability_etag(state.version, doctor.schedule, doctor.timezone, day, now, self.policy.min_notice)
        return DayAvailability(doctor, day, slots, etag)

    def availability_etag(self, doctor_id: str, day: date) -> str:
        """The ETag the availability of that day would have now, for one small read (conditional GETs)."""
        doctor, version = self._store.doctor_and_day_version(doctor_id, day)
        if doctor is None:
            raise NotFound("No such doctor.", {"doctorId": doctor_id})
        return availability_etag(
            version, doctor.schedule, doctor.timezone, day, self._clock.now(), self.policy.min_notice
        )

    def get(self, caller: Caller, appointment_id: str) -> Appointment:
        found = self._store.get(appointment_id)
        if found is None or found.status is Status.HELD or not may_access(caller, found):
            raise NotFound("No such appointment.", {"appointmentId": appointment_id})
        return found

    def list_for_patient(self, caller: Caller, patient_id: str, filters: ListFilter) -> list[Appointment]:
        if caller.role is Role.PATIENT and caller.subject != patient_id:
            raise Forbidden("Patients can only see their own appointments.")
        start, end = _utc_window(filters)
        found = self._store.list_for_patient(patient_id, start, end)
        return [a for a in found if may_access(caller, a) and _matches(a, filters)]

    def list_for_doctor(self, caller: Caller, doctor_id: str, filters: ListFilter) -> list[Appointment]:
        if caller.role is Role.PATIENT or (caller.role is Role.DOCTOR and caller.doctor_id != doctor_id):
            raise Forbidden("Only the doctor and clinic admins can see a doctor's appointments.")
        self.doctor(doctor_id)
        start, end = _utc_window(filters)
        return [a for a in self._store.list_for_doctor(doctor_id, start, end) if _matches(a, filters)]

    def page_for_patient(
        self, caller: Caller, patient_id: str, filters: ListFilter, limit: int, after: tuple[str, str] | None
    ) -> tuple[list[Appointment], bool]:
        """One page of a patient's list, read from DynamoDB a page at a time, and whether more follow."""
        if caller.role is Role.PATIENT and caller.subject != patient_id:
            raise Forbidden("Patients can only see their own appointments.")
        start, end = _utc_window(filters)
        found = self._store.iter_for_patient(patient_id, start, end, after, limit + 1)
        return take_page(found, lambda a: may_access(caller, a) and _matches(a, filters), limit)

    def page_for_doctor(
        self, caller: Caller, doctor_id: str, filters: ListFilter, limit: int, after: tuple[str, str] | None
    ) -> tuple[list[Appointment], bool]:
        if caller.role is Role.PATIENT or (caller.role is Role.DOCTOR and caller.doctor_id != doctor_id):
            raise Forbidden("Only the doctor and clinic admins can see a doctor's appointments.")
        self.doctor(doctor_id)
        start, end = _utc_window(filters)
        found = self._store.iter_for_doctor(doctor_id, start, end, after, limit + 1)
        return take_page(found, lambda a: _matches(a, filters), limit)

    def audit_trail(self, appointment_id: str) -> list[AuditEntry]:
        if self._store.get(appointment_id) is None:
            raise NotFound("No such appointment.", {"appointmentId": appointment_id})
        return self._store.audit_trail(appointment_id)

    def can_reschedule(self, caller: Caller, appointment: Appointment) -> bool:
        return can_change(caller, appointment, self._clock.now(), self.policy.patient_change_window)

    # --- writes ----------------------------------------------------------------------------------------------
    def book(self, caller: Caller, request: BookingRequest) -> Appointment:
        return self.book_with_reminders(caller, request)[0]

    def book_with_reminders(
        self, caller: Caller, request: BookingRequest
    ) -> tuple[Appointment, list[Reminder], list[Skipped]]:
        """The booking and its reminders are written in one transaction; schedules follow the commit."""
        now = self._clock.now()
        doctor, appointment = self._new_appointment(caller, request, now)
        try:
            return self._book_new(caller, request, doctor, appointment, now)
        except (SlotUnavailable, Conflict, DailyLimitReached, BookingLimitReached):
            if not self.release_expired_holds():  # a lapsed hold not yet swept may be what refused it
                raise
        return self._book_new(caller, request, doctor, appointment, now)

    def _new_appointment(self, caller: Caller, request: BookingRequest, now: datetime) -> tuple[Doctor, Appointment]:
        """Every rule a new booking (or hold) is checked against before its transaction, and the appointment."""
        if caller.role is Role.DOCTOR and request.doctor_id != caller.doctor_id:
            raise Forbidden("Doctors can book only into their own schedule.")
        patient_id, patient_name = self._patient_for(caller, request)
        doctor = self.doctor(request.doctor_id)
        if request.type is AppointmentType.TELEHEALTH and not doctor.telehealth:
            raise TelehealthNotOffered("This doctor does not offer telehealth visits.")
        duration = request.duration or doctor.schedule.appointment_duration
        check_duration(doctor.schedule, duration, by_staff=caller.role is not Role.PATIENT)
        start, end = check_bookable(
            doctor.schedule,
            doctor.zone,
            request.date,
            request.time,
            duration,
            now,
            self.policy.min_notice,
            request.starts_at,
        )
        check_horizon(start, now, doctor.schedule.booking_horizon_days or self.policy.booking_horizon_days)
        key = request.idempotency_key
        appointment = Appointment(
            id=appointment_id_for(key) if key else self._ids.new_id(),
            doctor_id=doctor.id,
            patient_id=patient_id,
            doctor_name=doctor.name,
            patient_name=patient_name,
            specialty=doctor.specialty,
            date=request.date.isoformat(),
            time=request.time.strftime("%H:%M"),
            duration=duration,
            starts_at=start,
            ends_at=end,
            type=request.type,
            status=Status.SCHEDULED,
            location="Telehealth" if request.type is AppointmentType.TELEHEALTH else doctor.location,
            reason=request.reason,
            notes=request.notes,
            created_at=now,
            updated_at=now,
            timezone=doctor.timezone,
            reminder_preferences=request.reminder_preferences,
            idempotency_key=key,
        )
        return doctor, appointment

    def _book_new(
        self, caller: Caller, request: BookingRequest, doctor: Doctor, appointment: Appointment, now: datetime
    ) -> tuple[Appointment, list[Reminder], list[Skipped]]:
        key = request.idempotency_key
        room = None
        if request.type is AppointmentType.TELEHEALTH:
            room, url = self._telehealth.new_room(appointment, doctor.telehealth_platform or "custom")
            appointment = replace(appointment, telehealth_url=url, room_id=room.id)
        audit = audit_of(self._ids.new_id(), caller, "booked", None, appointment, now)
        planned: list[Reminder] = []
        skipped: list[Skipped] = []
        # A patient booking for itself (re)writes its directory record from its claims, verified flags included.
        contact = contact_of(caller) if caller.role is Role.PATIENT else None
        if request.reminder_preferences:
            wanted = ReminderRequest.from_preferences(
                request.reminder_preferences, video_link=room is not None, request_language=request.language
            )
            planned, skipped, _ = self._reminders.plan_for(caller, appointment, wanted)
        try:
            self._guarded(
                appointment,
                lambda busy_version: self._store.book(
                    Booking(
                        appointment,
                        audit,
                        doctor.schedule.max_patients_per_day,
                        planned,
                        contact,
                        room,
                        max_active=self.policy.max_active_bookings,
                        busy_version=busy_version,
                    )
                ),
            )
        except DomainError as exc:
            original = self._own_booking(appointment) if key else None
            if original is not None:
                return original, [], skipped  # a retry of a booking that committed: the same appointment
            if isinstance(exc, Conflict) and caller.role is not Role.PATIENT:
                # Staff learn only that this patient cannot be booked then, not that (or where) it is elsewhere.
                raise Conflict("This patient cannot be booked at this time.") from exc
            raise
        # Committed means done: nothing below may turn the answer into an error; the sweep finishes it.
        _after_commit("schedules", appointment.id, lambda: self._reminders.scheduled(planned))
        if room is not None:
            _after_commit("room", appointment.id, lambda: self._telehealth.provision_within(room, appointment))
        return appointment, planned, skipped

    def _guarded(self, visit: Appointment, write: Callable[[int], None]) -> None:
        """Writes a visit that overlaps none of the doctor's busy times: checked against the day's busy times,
        then written by a transaction that conditions on the busy version it was checked against. A sync that
        lands in between refuses that transaction (BusyTimesChanged) and the check runs again on what it wrote:
        a stale read can make a refusal, never a booking over a busy time."""
        for _ in range(BUSY_ATTEMPTS):
            version, busy = self._store.busy_of_day(visit.doctor_id, date.fromisoformat(visit.date))
            if overlapping((visit.starts_at, visit.ends_at), busy):
                raise busy_taken()
            try:
                write(version)
                return
            except BusyTimesChanged:
                continue
        raise busy_taken()

    def _own_booking(self, attempt: Appointment) -> Appointment | None:
        """The booking an earlier request with the same key committed (its id derives from the key), if any."""
        found = self._store.get(attempt.id)
        if found is None or found.idempotency_key != attempt.idempotency_key:
            return None
        same = (found.doctor_id, found.patient_id, found.date, found.time, found.duration, found.type) == (
            attempt.doctor_id,
            attempt.patient_id,
            attempt.date,
            attempt.time,
            attempt.duration,
            attempt.type,
        )
        if not same:
            raise Conflict(
                "This Idempotency-Key was already used with a different request.", {"header": "Idempotency-Key"}
            )
        return found

    # --- holds: a booking with an expiry (domain/holds.py) -----------------------------------------------------
    def hold(self, caller: Caller, request: HoldRequest, lasting: timedelta | None = None) -> Hold:
        """Holds a time for a patient: checked as a booking is, and written by the booking's transaction (the same
        lock items, day count, limits and audit) with the appointment in status `held` and an expiry."""
        now = self._clock.now()
        as_booking = BookingRequest(
            doctor_id=request.doctor_id,
            date=request.date,
            time=request.time,
            type=request.type,
            reason="",
            patient_id=request.patient_id,
            duration=request.duration,
            starts_at=request.starts_at,
            via=request.via,
        )
        doctor, appointment = self._new_appointment(caller, as_booking, now)
        held = replace(appointment, status=Status.HELD)
        expires = (now + (lasting or self.policy.hold_duration)).replace(microsecond=0)
        try:
            self._hold_new(caller, doctor, held, expires, now)
        except (SlotUnavailable, Conflict, DailyLimitReached, BookingLimitReached):
            if not self.release_expired_holds():  # a lapsed hold not yet swept may be what refused it
                raise
            self._hold_new(caller, doctor, held, expires, now)
        return Hold(replace(held, version=1), expires)

    def _hold_new(self, caller: Caller, doctor: Doctor, held: Appointment, expires: datetime, now: datetime) -> None:
        audit = audit_of(self._ids.new_id(), caller, "held", None, held, now)
        booking = Booking(held, audit, doctor.schedule.max_patients_per_day, max_active=self.policy.max_active_bookings)
        try:
            self._guarded(
                held, lambda busy_version: self._store.hold(replace(booking, busy_version=busy_version), expires)
            )
        except Conflict as exc:
            if caller.role is not Role.PATIENT:  # as for a booking: staff do not learn where the patient is
                raise Conflict("This patient cannot be booked at this time.") from exc
            raise

    def get_hold(self, caller: Caller, hold_id: str) -> Hold:
        """A hold its patient, its doctor or an admin may see; a lapsed one is released on the spot (404)."""
        hold = self._store.get_hold(hold_id)
        if hold is None or not may_access_hold(caller, hold):
            raise NotFound("No such hold.", {"holdId": hold_id})
        now = self._clock.now()
        if hold.expired(now):
            self._lapse([hold.id], now)
            raise NotFound("No such hold: it has expired.", {"holdId": hold_id})
        return hold

    def holds_of_day(self, caller: Caller, doctor_id: str, day: date) -> list[Hold]:
        """The doctor-day's live holds, for its doctor and admins (lapsed ones are released, not listed)."""
        if caller.role is Role.PATIENT or (caller.role is Role.DOCTOR and caller.doctor_id != doctor_id):
            raise Forbidden("Only the doctor and clinic admins can see a doctor's holds.")
        self.doctor(doctor_id)
        now = self._clock.now()
        holds = self._store.holds_of_day(doctor_id, day)
        lapsed = [h.id for h in holds if h.expired(now)]
        if lapsed:
            self._lapse(lapsed, now)
        return [h for h in holds if not h.expired(now)]

    def book_hold(self, caller: Caller, booking: HoldBooking) -> tuple[Appointment, list[Reminder], list[Skipped]]:
        """Turns a live hold into the visit, in one transaction: the appointment keeps the hold's id (and so its
        lock items, day count and limit items: they never lapse in between); refused once the hold has expired.
        A repeat after it committed (the same caller) answers the visit it became."""
        hold = self._store.get_hold(booking.hold_id)
        if hold is None or not may_access_hold(caller, hold):
            booked = self._store.get(booking.hold_id)
            if booked is not None and booked.active and may_access(caller, booked) and self._was_held(booked):
                return booked, [], []  # a repeat of the booking of this hold
            raise NotFound("No such hold.", {"holdId": booking.hold_id})
        if caller.role is Role.PATIENT and booking.patient_name is not None:
            raise InvalidInput("patientName is set by staff only.", {"fields": {"patientName": "not allowed"}})
        now = self._clock.now()
        check_bookable_hold(hold, now)
        check_matches(hold, booking.matches)
        doctor = self.doctor(hold.appointment.doctor_id)
        after = replace(
            hold.appointment,
            status=Status.SCHEDULED,
            reason=booking.reason,
            notes=booking.notes,
            patient_name=booking.patient_name or hold.appointment.patient_name,
            reminder_preferences=booking.reminder_preferences,
            updated_at=now,
        )
        room = None
        if after.type is AppointmentType.TELEHEALTH:
            room, url = self._telehealth.new_room(after, doctor.telehealth_platform or "custom")
            after = replace(after, telehealth_url=url, room_id=room.id)
        audit = audit_of(self._ids.new_id(), caller, "booked", hold.appointment, after, now)
        planned: list[Reminder] = []
        skipped: list[Skipped] = []
        contact = contact_of(caller) if caller.role is Role.PATIENT else None
        if booking.reminder_preferences:
            wanted = ReminderRequest.from_preferences(
                booking.reminder_preferences, video_link=room is not None, request_language=booking.language
            )
            planned, skipped, _ = self._reminders.plan_for(caller, after, wanted)
        booking_of_hold = Booking(after, audit, doctor.schedule.max_patients_per_day, planned, contact, room)
        self._guarded(  # a busy time that reached the doctor's calendar while the time was held refuses it too
            after,
            lambda busy_version: self._store.book_hold(hold, replace(booking_of_hold, busy_version=busy_version), now),
        )
        after = replace(after, version=(hold.appointment.version or 0) + 1)
        _after_commit("schedules", after.id, lambda: self._reminders.scheduled(planned))
        if room is not None:
            _after_commit("room", after.id, lambda: self._telehealth.provision_within(room, after))
        return after, planned, skipped

    def book_hold_moving(
        self, caller: Caller, hold_id: str, replaces: str, mover: HoldMover
    ) -> tuple[Appointment, Appointment]:
        """A waitlist "move me earlier": the hold becomes the patient's visit and its later visit `replaces` is
        cancelled in the same transaction. The new visit keeps the old one's reason, notes and reminder
        preferences; the old one's reminders and room follow its cancellation. (new visit, cancelled old one)."""
        hold = self._store.get_hold(hold_id)
        if hold is None or not may_access_hold(caller, hold):
            raise NotFound("No such hold.", {"holdId": hold_id})
        before = self.get(caller, replaces)
        if before.patient_id != hold.appointment.patient_id or not before.active:
            raise InvalidState("That visit cannot be moved.", {"appointmentId": replaces})
        now = self._clock.now()
        check_bookable_hold(hold, now)
        check_change_allowed(caller, before, now, self.policy.patient_change_window)
        doctor = self.doctor(hold.appointment.doctor_id)
        after = replace(
            hold.appointment,
            status=Status.SCHEDULED,
            reason=before.reason,
            notes=before.notes,
            patient_name=before.patient_name,
            reminder_preferences=before.reminder_preferences,
            updated_at=now,
        )
        room = None
        if after.type is AppointmentType.TELEHEALTH:
            room, url = self._telehealth.new_room(after, doctor.telehealth_platform or "custom")
            after = replace(after, telehealth_url=url, room_id=room.id)
        audit = audit_of(self._ids.new_id(), caller, "booked", hold.appointment, after, now)
        cancelled = before.with_status(Status.CANCELLED, now)
        cancel_audit = audit_of(self._ids.new_id(), caller, "cancelled", before, cancelled, now)
        planned: list[Reminder] = []
        if before.reminder_preferences:
            try:
                wanted = ReminderRequest.from_preferences(before.reminder_preferences, video_link=room is not None)
                planned, _, _ = self._reminders.plan_for(caller, after, wanted)
            except DomainError:
                planned = []  # the old visit's reminders cannot all be planned again: the move still goes ahead
        mover.book_hold_replacing(
            hold,
            Booking(after, audit, doctor.schedule.max_patients_per_day, planned, None, room),
            now,
            before,
            cancelled,
            cancel_audit,
        )
        after = replace(after, version=(hold.appointment.version or 0) + 1)
        cancelled = replace(cancelled, version=(before.version or 0) + 1)
        _after_commit("schedules", after.id, lambda: self._reminders.scheduled(planned))
        _after_commit("reminders", cancelled.id, lambda: self._reminders.follow_cancel(cancelled))
        _after_commit("room", cancelled.id, lambda: self._telehealth.follow_cancel(cancelled))
        if room is not None:
            _after_commit("room", after.id, lambda: self._telehealth.provision_within(room, after))
        return after, cancelled

    def _was_held(self, appointment: Appointment) -> bool:
        trail = self._store.audit_trail(appointment.id)
        return bool(trail) and trail[0].action == "held"

    def release_hold(self, caller: Caller, hold_id: str) -> None:
        """Frees a held time at once: its patient, its doctor or an admin. A hold already gone is 404."""
        hold = self._store.get_hold(hold_id)
        if hold is None or not may_access_hold(caller, hold):
            raise NotFound("No such hold.", {"holdId": hold_id})
        now = self._clock.now()
        try:
            self._store.release_hold(hold, end_of_hold(self._ids.new_id(), hold, caller, "released", now))
        except InvalidState as exc:  # booked, released or lapsed meanwhile
            raise NotFound("No such hold.", {"holdId": hold_id}) from exc

    def release_expired_holds(self, limit: int = 100) -> int:
        """The sweep's release of lapsed holds (also run when a booking or hold is refused, in case a lapsed hold
        not yet swept is what refused it): each hold on its own; how many were released. Never raises."""
        now = self._clock.now()
        try:
            expired = self._store.expired_holds(now, limit)
        except Exception:
            log.exception("holds: the expired holds could not be read this time")
            return 0
        return self._lapse(expired, now)

    def _lapse(self, hold_ids: list[str], now: datetime) -> int:
        """Releases each hold whose expiry has passed by `now`, conditioned on that in its transaction: a hold
        booked at the same instant is either booked or released, never both. Each on its own."""
        released = 0
        for hold_id in hold_ids:
            try:
                hold = self._store.get_hold(hold_id)
                if hold is None or not hold.expired(now):
                    continue
                self._store.release_hold(hold, end_of_hold(self._ids.new_id(), hold, None, "lapsed", now), now)
                released += 1
            except DomainError:
                continue  # booked or released meanwhile
            except Exception:
                log.exception("hold %s: not released this time (the next sweep retries)", hold_id)
        return released

    def reschedule(
        self,
        caller: Caller,
        appointment_id: str,
        new_date: date,
        new_time: time,
        starts_at: datetime | None = None,
        duration: int | None = None,
    ) -> Appointment:
        """Moves a visit, and changes its length when `duration` says so (a patient only to a length the doctor
        offers, as when booking; keeping a length staff booked is always allowed)."""
        before = self.get(caller, appointment_id)
        now = self._clock.now()
        check_change_allowed(caller, before, now, self.policy.patient_change_window)
        doctor = self.doctor(before.doctor_id)
        length = duration or before.duration
        if length != before.duration:
            check_duration(doctor.schedule, length, by_staff=caller.role is not Role.PATIENT)
        start, end = check_bookable(
            doctor.schedule, doctor.zone, new_date, new_time, length, now, self.policy.min_notice, starts_at
        )
        check_horizon(start, now, doctor.schedule.booking_horizon_days or self.policy.booking_horizon_days)
        after = replace(
            before,
            date=new_date.isoformat(),
            time=new_time.strftime("%H:%M"),
            duration=length,
            starts_at=start,
            ends_at=end,
            status=Status.RESCHEDULED,
            reminder_sent=False,
            updated_at=now,
        )
        audit = audit_of(self._ids.new_id(), caller, "rescheduled", before, after, now)
        self._guarded(
            after,
            lambda busy_version: self._store.reschedule(
                before, after, audit, doctor.schedule.max_patients_per_day, busy_version=busy_version
            ),
        )
        after = replace(after, version=(before.version or 0) + 1)  # as stored: the version its follow-ups carry
        _after_commit("reminders", after.id, lambda: self._reminders.follow_reschedule(after))
        _after_commit("room", after.id, lambda: self._telehealth.follow_reschedule(after))
        return after

    def cancel(self, caller: Caller, appointment_id: str) -> Appointment:
        before = self.get(caller, appointment_id)
        now = self._clock.now()
        check_change_allowed(caller, before, now, self.policy.patient_change_window)
        after = before.with_status(Status.CANCELLED, now)
        self._store.cancel(before, after, audit_of(self._ids.new_id(), caller, "cancelled", before, after, now))
        _after_commit("reminders", after.id, lambda: self._reminders.follow_cancel(after))
        _after_commit("room", after.id, lambda: self._telehealth.follow_cancel(after))
        return after

    def change_status(self, caller: Caller, appointment_id: str, target: Status) -> Appointment:
        before = self.get(caller, appointment_id)
        now = self._clock.now()
        check_status_change(caller, before, target, now)
        after = before.with_status(target, now)
        self._store.update_status(before, after, audit_of(self._ids.new_id(), caller, target.value, before, after, now))
        return after

    def _patient_for(self, caller: Caller, request: BookingRequest) -> tuple[str, str]:
        if caller.role is Role.PATIENT:
            if request.patient_id not in (None, caller.subject):
                raise Forbidden("Patients can book only for themselves.")
            if request.patient_name is not None:
                raise InvalidInput(
                    "patientName is set by staff only.", {"fields": {"patientName": "not allowed for patients"}}
                )
            return caller.subject, caller.display_name
        if not request.patient_id:
            raise InvalidInput(
                "Staff must say which patient the appointment is for.", {"fields": {"patientId": "required"}}
            )
        if caller.role is Role.DOCTOR and not self._has_seen(caller, request.patient_id):
            # Checked before the directory, so an unknown id answers as a stranger does: a doctor learns neither
            # who exists nor (from a conflict) when a stranger sees other doctors. The front desk books anyone.
            # The probe is on that id's access log, whichever face (REST, FHIR $hold/$book) it came by.
            log.warning("booking refused: the doctor has no visit with this patient")
            if self._access is not None:
                self._access.record(caller, request.via, [(request.patient_id, None)], "booking-refused")
            raise NotYourPatient(request.patient_id)
        known = self._patients.get(request.patient_id)
        if known is None:
            # The directory: staff book only patients who have signed in (no made-up ids to hold slots with).
            raise NotFound("No such patient.", {"patientId": request.patient_id})
        return request.patient_id, request.patient_name or known.name or request.patient_id

    def _has_seen(self, caller: Caller, patient_id: str) -> bool:
        """Has (or had) this doctor a visit with the patient, in any status? The patient's own list, read a page
        at a time until one is found."""
        visits = self._store.iter_for_patient(patient_id, EVER[0], EVER[1], None, HISTORY_PAGE)
        return any(visit.doctor_id == caller.doctor_id and visit.status is not Status.HELD for visit in visits)

    def sign_in(self, caller: Caller) -> PatientProfile:
        """A patient's first sign-in (and each later one) writes its directory record from its claims."""
        if caller.role is not Role.PATIENT:
            raise Forbidden("Only patients have a directory record.")
        contact = contact_of(caller)
        self._patients.save_contact(contact, self._clock.now())
        return contact


def _after_commit(step: str, appointment_id: str, action: Callable[[], object]) -> None:
    """A step after the transaction committed: its failure is logged (the sweep catches up), never answered."""
    try:
        action()
    except Exception:
        log.exception("appointment %s committed; the %s step failed and is left to the sweep", appointment_id, step)


def _utc_window(filters: ListFilter) -> tuple[datetime, datetime]:
    """A UTC range wide enough for local dates in any zone (±14 h); exact filtering happens on local dates."""
    start = (
        datetime.combine(filters.date_from, time(), tzinfo=UTC) - timedelta(days=1)
        if filters.date_from
        else datetime(1970, 1, 1, tzinfo=UTC)
    )
    end = (
        datetime.combine(filters.date_to, time(), tzinfo=UTC) + timedelta(days=2)
        if filters.date_to
        else datetime(9999, 1, 1, tzinfo=UTC)
    )
    return start, end


def _matches(appointment: Appointment, filters: ListFilter) -> bool:
    if appointment.status is Status.HELD:  # holds are listed by their own route, never as appointments
        return False
    if filters.status and appointment.status is not filters.status:
        return False
    if filters.type and appointment.type is not filters.type:
        return False
    if filters.date_from and appointment.date < filters.date_from.isoformat():
        return False
    return not (filters.date_to and appointment.date > filters.date_to.isoformat())
