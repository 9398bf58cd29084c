"""Booking commands: book, reschedule, cancel, change a status; hold a time, book a hold (or move a visit to it),
release holds. Each checks its rules, writes one transaction, then runs its follow-ups (schedules, the room) as
bookkeeping that never fails the answer, and returns what the answer shows (`AppointmentView`)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime, time, timedelta

from chalicelib.domain.appointments import (
    Appointment,
    AppointmentType,
    Status,
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
    SlotUnavailable,
    TelehealthNotOffered,
)
from chalicelib.domain.holds import Hold, check_bookable_hold, check_matches, end_of_hold, may_access_hold
from chalicelib.domain.identity import Caller, Role
from chalicelib.domain.limits import check_duration, check_horizon
from chalicelib.domain.patients import PatientProfile
from chalicelib.domain.reminders import Reminder, ReminderPreferences, Skipped
from chalicelib.domain.schedule import check_bookable
from chalicelib.domain.telehealth import Room
from chalicelib.services.booking.lapse import HoldLapse
from chalicelib.services.booking.patients import BookingPatients
from chalicelib.services.booking.queries import BookingQueries
from chalicelib.services.booking.values import (
    AppointmentView,
    BookingRequest,
    HoldBooking,
    HoldMover,
    HoldRequest,
    Policy,
)
from chalicelib.services.ports.appointments import AppointmentStore
from chalicelib.services.ports.system import Clock, IdGenerator
from chalicelib.services.reminders.planning import ReminderPlanner, contact_of
from chalicelib.services.telehealth import TelehealthService

log = logging.getLogger("clinic.booking")
BUSY_ATTEMPTS = 3
"""Checks of a change against the doctor's busy times when syncs keep landing between check and commit."""
REFUSALS_A_LAPSED_HOLD_MAY_CAUSE = (SlotUnavailable, Conflict, DailyLimitReached, BookingLimitReached)


class BookingCommands:
    def __init__(
        self,
        queries: BookingQueries,
        store: AppointmentStore,
        clock: Clock,
        ids: IdGenerator,
        patients: BookingPatients,
        reminders: ReminderPlanner,
        telehealth: TelehealthService,
        lapse: HoldLapse,
    ) -> None:
        self._queries = queries
        self._store = store
        self._clock = clock
        self._ids = ids
        self._patients = patients
        self._reminders = reminders
        self._telehealth = telehealth
        self._lapse = lapse

    @property
    def policy(self) -> Policy:
        """The clinic's booking policy: the reads' own, so both always apply the same."""
        return self._queries.policy

    # --- a new visit --------------------------------------------------------------------------------------------
    def book(self, caller: Caller, request: BookingRequest) -> AppointmentView:
        """The booking and its reminders are written in one transaction; schedules and the room follow the
        commit. A refusal a lapsed hold not yet swept may have caused is tried once more after the sweep."""
        now = self._clock.now()
        doctor, appointment = self._new_appointment(caller, request, now)
        try:
            return self._book_new(caller, request, doctor, appointment, now)
        except REFUSALS_A_LAPSED_HOLD_MAY_CAUSE:
            if not self.release_expired_holds():
                raise
        return self._book_new(caller, request, doctor, appointment, now)

    def _new_appointment(self, caller: Caller, request: BookingRequest, now: datetime) -> tuple[Doctor, Appointment]:
        """Every rule a new booking (or hold) is checked against before its transaction, and the appointment."""
        if caller.role is Role.DOCTOR and request.doctor_id != caller.doctor_id:
            raise Forbidden("Doctors can book only into their own schedule.")
        patient_id, patient_name, read = self._patients.patient_for(
            caller, request.patient_id, request.patient_name, request.via, request.doctor_id
        )
        doctor = read or self._queries.doctor(request.doctor_id)  # not read with the patient, or no such doctor
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
        appointment = Appointment(
            id=self._ids.new_id(),
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
            reminder_preferences=request.reminder_preferences.stored() if request.reminder_preferences else {},
            idempotency_key=request.idempotency_key,
        )
        return doctor, appointment

    def _book_new(
        self, caller: Caller, request: BookingRequest, doctor: Doctor, appointment: Appointment, now: datetime
    ) -> AppointmentView:
        key = request.idempotency_key
        appointment, room, audit, planned, skipped, contact = self._booked_with(
            caller, None, appointment, doctor, request.reminder_preferences, request.language, now
        )
        try:
            self._guarded(
                doctor,
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
            if original is not None:  # a retry of a booking that committed: the same appointment
                return self._queries.view_of(caller, original, with_room=True, skipped=skipped)
            if isinstance(exc, Conflict) and caller.role is not Role.PATIENT:
                # Staff learn only that this patient cannot be booked then, not that (or where) it is elsewhere.
                raise Conflict("This patient cannot be booked at this time.") from exc
            raise
        # Committed means done: nothing below may turn the answer into an error; the sweep finishes it.
        _after_commit("schedules", appointment.id, lambda: self._reminders.scheduled(planned))
        if room is not None:
            _after_commit("room", appointment.id, lambda: self._telehealth.provision_within(room, appointment))
        return self._queries.view_of(caller, appointment, with_room=True, skipped=skipped, reminders=planned)

    def _booked_with(
        self,
        caller: Caller,
        before: Appointment | None,
        visit: Appointment,
        doctor: Doctor,
        preferences: ReminderPreferences | None,
        language: str | None,
        now: datetime,
    ) -> tuple[Appointment, Room | None, AuditEntry, list[Reminder], list[Skipped], PatientProfile | None]:
        """What booking a visit brings along, the same for a new booking and a booked hold: its video room (the
        visit gets the room's link), its audit entry, the reminders planned and those skipped, and for a patient
        booking for itself its directory record from its claims (verified flags included)."""
        room = None
        if visit.type is AppointmentType.TELEHEALTH:
            room, url = self._telehealth.new_room(visit, doctor.telehealth_platform or "custom")
            visit = replace(visit, telehealth_url=url, room_id=room.id)
        audit = audit_of(self._ids.new_id(), caller, "booked", before, visit, now)
        planned: list[Reminder] = []
        skipped: list[Skipped] = []
        contact = contact_of(caller) if caller.role is Role.PATIENT else None
        if preferences:
            wanted = preferences.request(video_link=room is not None, request_language=language)
            planned, skipped, _ = self._reminders.plan_for(caller, visit, wanted)
        return visit, room, audit, planned, skipped, contact

    def _guarded(self, doctor: Doctor, visit: Appointment, write: Callable[[int], None]) -> None:
        """Writes a visit that overlaps none of the doctor's busy times: checked against the day's busy times,
        then written by a transaction that conditions on the busy version it was checked against. A sync that
        lands in between refuses that transaction (BusyTimesChanged) and the check runs again on what it wrote:
        a stale read can make a refusal, never a booking over a busy time.

        A doctor no sync ever wrote busy times for (`Doctor.has_busy_times` unset: most doctors) has none, so its
        first attempt skips the read and is checked against none at version 0, which its transaction's guard
        holds (refused once any busy time of the day was ever written: by a sync since the doctor was read, or
        before the flag existed); every attempt after that reads them."""
        read = doctor.has_busy_times
        for _ in range(BUSY_ATTEMPTS if read else BUSY_ATTEMPTS + 1):  # an attempt without the read is an extra one
            version, busy = (
                self._store.busy_of_day(visit.doctor_id, date.fromisoformat(visit.date)) if read else (0, ())
            )
            read = True
            if overlapping((visit.starts_at, visit.ends_at), busy):
                raise busy_taken()
            try:
                write(version)
                return
            except BusyTimesChanged:
                continue
        raise busy_taken()

    def _own_booking(self, attempt: Appointment) -> Appointment | None:
        """The visit an earlier attempt with the same Idempotency-Key booked at this instant, if any: what refused
        a retry whose first answer was lost. The same key at that time for another visit is a conflict."""
        holders = (self._store.get(i) for i in sorted(self._store.holders_of(attempt)))
        found = next((a for a in holders if a and a.idempotency_key == attempt.idempotency_key and a.active), None)
        if found is None:
            return None
        same = (found.patient_id, found.date, found.time, found.duration, found.type) == (
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
        except REFUSALS_A_LAPSED_HOLD_MAY_CAUSE:
            if not self.release_expired_holds():
                raise
            self._hold_new(caller, doctor, held, expires, now)
        return Hold(replace(held, version=1), expires)

    def _hold_new(self, caller: Caller, doctor: Doctor, held: Appointment, expires: datetime, now: datetime) -> None:
        audit = audit_of(self._ids.new_id(), caller, "held", None, held, now)
        booking = Booking(held, audit, doctor.schedule.max_patients_per_day, max_active=self.policy.max_active_bookings)
        try:
            self._guarded(
                doctor,
                held,
                lambda busy_version: self._store.hold(replace(booking, busy_version=busy_version), expires),
            )
        except Conflict as exc:
            if caller.role is not Role.PATIENT:  # as for a booking: staff do not learn where the patient is
                raise Conflict("This patient cannot be booked at this time.") from exc
            raise

    def book_hold(self, caller: Caller, booking: HoldBooking) -> AppointmentView:
        """Turns a live hold into the visit, in one transaction: the appointment keeps the hold's id (and so its
        lock items, day count and limit items: they never lapse in between); refused once the hold has expired.
        A repeat after it committed (the same caller) answers the visit it became."""
        hold = self._store.get_hold(booking.hold_id)
        if hold is None or not may_access_hold(caller, hold):
            booked = self._store.get(booking.hold_id)
            if booked is not None and booked.active and may_access(caller, booked) and self._was_held(booked):
                return self._queries.view_of(caller, booked, with_room=True, skipped=[])  # a repeat of it
            raise NotFound("No such hold.", {"holdId": booking.hold_id})
        if caller.role is Role.PATIENT and booking.patient_name is not None:
            raise InvalidInput("patientName is set by staff only.", {"fields": {"patientName": "not allowed"}})
        now = self._clock.now()
        check_bookable_hold(hold, now)
        check_matches(hold, booking.matches)
        doctor = self._queries.doctor(hold.appointment.doctor_id)
        after = replace(
            hold.appointment,
            status=Status.SCHEDULED,
            reason=booking.reason,
            notes=booking.notes,
            patient_name=booking.patient_name or hold.appointment.patient_name,
            reminder_preferences=booking.reminder_preferences.stored() if booking.reminder_preferences else {},
            updated_at=now,
        )
        after, room, audit, planned, skipped, contact = self._booked_with(
            caller, hold.appointment, after, doctor, booking.reminder_preferences, booking.language, now
        )
        booking_of_hold = Booking(after, audit, doctor.schedule.max_patients_per_day, planned, contact, room)
        self._guarded(  # a busy time that reached the doctor's calendar while the time was held refuses it too
            doctor,
            after,
            lambda busy_version: self._store.book_hold(hold, replace(booking_of_hold, busy_version=busy_version), now),
        )
        after = replace(after, version=(hold.appointment.version or 0) + 1)
        _after_commit("schedules", after.id, lambda: self._reminders.scheduled(planned))
        if room is not None:
            _after_commit("room", after.id, lambda: self._telehealth.provision_within(room, after))
        return self._queries.view_of(caller, after, with_room=True, skipped=skipped, reminders=planned)

    def book_hold_moving(
        self, caller: Caller, hold_id: str, replaces: str, mover: HoldMover
    ) -> tuple[AppointmentView, Appointment]:
        """A waitlist "move me earlier": the hold becomes the patient's visit and its later visit `replaces` is
        cancelled in the same transaction. The new visit keeps the old one's reason, notes and reminder
        preferences; the old one's reminders and room follow its cancellation. Checked against the doctor's busy
        times as `book_hold` is (`_guarded`): refused as busy, nothing changes. (new visit, cancelled old one)."""
        hold = self._store.get_hold(hold_id)
        if hold is None or not may_access_hold(caller, hold):
            raise NotFound("No such hold.", {"holdId": hold_id})
        before = self._queries.get(caller, replaces)
        held = hold.appointment
        # a move is to another time with the same doctor (the waitlist takes only such a visit at joining)
        if before.patient_id != held.patient_id or before.doctor_id != held.doctor_id or not before.active:
            raise InvalidState("That visit cannot be moved.", {"appointmentId": replaces})
        now = self._clock.now()
        check_bookable_hold(hold, now)
        check_change_allowed(caller, before, now, self.policy.patient_change_window)
        doctor = self._queries.doctor(hold.appointment.doctor_id)
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
                wanted = ReminderPreferences.of_stored(before.reminder_preferences).request(video_link=room is not None)
                planned, _, _ = self._reminders.plan_for(caller, after, wanted)
            except DomainError:
                planned = []  # the old visit's reminders cannot all be planned again: the move still goes ahead
        moved = Booking(after, audit, doctor.schedule.max_patients_per_day, planned, None, room)
        self._guarded(  # as book_hold: a busy time that reached the doctor's calendar while held refuses it
            doctor,
            after,
            lambda busy_version: mover.book_hold_replacing(
                hold, replace(moved, busy_version=busy_version), now, before, cancelled, cancel_audit
            ),
        )
        after = replace(after, version=(hold.appointment.version or 0) + 1)
        cancelled = replace(cancelled, version=(before.version or 0) + 1)
        _after_commit("schedules", after.id, lambda: self._reminders.scheduled(planned))
        _after_commit("reminders", cancelled.id, lambda: self._reminders.follow_cancel(cancelled))
        _after_commit("room", cancelled.id, lambda: self._telehealth.follow_cancel(cancelled))
        if room is not None:
            _after_commit("room", after.id, lambda: self._telehealth.provision_within(room, after))
        return self._queries.view_of(caller, after, reminders=planned), cancelled

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
        """The sweep's release of lapsed holds (see HoldLapse.release_expired); how many. Never raises."""
        return self._lapse.release_expired(limit)

    # --- changes of a visit -------------------------------------------------------------------------------------
    def reschedule(
        self,
        caller: Caller,
        appointment_id: str,
        new_date: date,
        new_time: time,
        starts_at: datetime | None = None,
        duration: int | None = None,
    ) -> AppointmentView:
        """Moves a visit, and changes its length when `duration` says so (a patient only to a length the doctor
        offers, as when booking; keeping a length staff booked is always allowed)."""
        before = self._queries.get(caller, appointment_id)
        now = self._clock.now()
        check_change_allowed(caller, before, now, self.policy.patient_change_window)
        doctor = self._queries.doctor(before.doctor_id)
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
            doctor,
            after,
            lambda busy_version: self._store.reschedule(
                before, after, audit, doctor.schedule.max_patients_per_day, busy_version=busy_version
            ),
        )
        after = replace(after, version=(before.version or 0) + 1)  # as stored: the version its follow-ups carry
        _after_commit("reminders", after.id, lambda: self._reminders.follow_reschedule(after))
        _after_commit("room", after.id, lambda: self._telehealth.follow_reschedule(after))
        return self._queries.view_of(caller, after)

    def cancel(self, caller: Caller, appointment_id: str) -> AppointmentView:
        before = self._queries.get(caller, appointment_id)
        now = self._clock.now()
        check_change_allowed(caller, before, now, self.policy.patient_change_window)
        after = before.with_status(Status.CANCELLED, now)
        self._store.cancel(before, after, audit_of(self._ids.new_id(), caller, "cancelled", before, after, now))
        _after_commit("reminders", after.id, lambda: self._reminders.follow_cancel(after))
        _after_commit("room", after.id, lambda: self._telehealth.follow_cancel(after))
        return self._queries.view_of(caller, after)

    def change_status(self, caller: Caller, appointment_id: str, target: Status) -> AppointmentView:
        before = self._queries.get(caller, appointment_id)
        now = self._clock.now()
        check_status_change(caller, before, target, now)
        after = before.with_status(target, now)
        self._store.update_status(before, after, audit_of(self._ids.new_id(), caller, target.value, before, after, now))
        return self._queries.view_of(caller, after)


def _after_commit(step: str, appointment_id: str, action: Callable[[], object]) -> None:
    """A step after the transaction committed: its failure is logged (the sweep catches up), never answered."""
    try:
        action()
    except Exception:
        log.exception("appointment %s committed; the %s step failed and is left to the sweep", appointment_id, step)
