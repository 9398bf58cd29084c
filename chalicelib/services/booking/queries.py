"""Booking reads: a doctor, a day's availability (and its ETag), one appointment or a page of a patient's or a
doctor's, each as its answer shows it (`AppointmentView`), an appointment's audit trail, live holds."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol

from chalicelib.domain.appointments import Appointment, Status, can_change, may_access
from chalicelib.domain.audit import AuditEntry
from chalicelib.domain.doctors import Doctor
from chalicelib.domain.errors import Forbidden, NotFound
from chalicelib.domain.holds import Hold, may_access_hold
from chalicelib.domain.identity import Caller, Role
from chalicelib.domain.paging import take_page
from chalicelib.domain.reminders import Reminder, Skipped
from chalicelib.domain.schedule import availability_etag, generate_slots
from chalicelib.services.booking.lapse import HoldLapse
from chalicelib.services.booking.values import AppointmentView, DayAvailability, ListFilter, Policy
from chalicelib.services.ports.appointments import AppointmentStore
from chalicelib.services.ports.doctors import DoctorRepository
from chalicelib.services.ports.system import Clock

log = logging.getLogger("clinic.booking")


class RoomStates(Protocol):
    """A telehealth room's live state (services/telehealth.py)."""

    def room_state(self, appointment: Appointment) -> str | None: ...


class BookingQueries:
    def __init__(
        self,
        doctors: DoctorRepository,
        store: AppointmentStore,
        clock: Clock,
        policy: Policy,
        lapse: HoldLapse,
        rooms: RoomStates,
    ) -> None:
        self._doctors = doctors
        self._store = store
        self._clock = clock
        self.policy = policy
        self._lapse = lapse
        self._rooms = rooms

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
            self._lapse.lapse([hold_id for hold_id, expiry in state.holds if expiry <= now], now)
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

    def view(self, caller: Caller, appointment_id: str, with_room: bool = True) -> AppointmentView:
        """One appointment as its answer shows it (with its room's live state unless `with_room` is False)."""
        return self.view_of(caller, self.get(caller, appointment_id), with_room=with_room)

    def view_of(
        self,
        caller: Caller,
        appointment: Appointment,
        with_room: bool = False,
        skipped: Sequence[Skipped] | None = None,
        reminders: Sequence[Reminder] = (),
    ) -> AppointmentView:
        """What an answer shows of `appointment` to `caller` now. The room's state is a read after any commit:
        the answer stands without it when it fails."""
        room_status = None
        if with_room and appointment.room_id:
            try:
                room_status = self._rooms.room_state(appointment)
            except Exception:
                log.warning("room state of appointment %s unavailable", appointment.id)
        can = can_change(caller, appointment, self._clock.now(), self.policy.patient_change_window)
        return AppointmentView(appointment, can, room_status, skipped, reminders)

    def list_for_doctor(self, caller: Caller, doctor_id: str, filters: ListFilter) -> list[Appointment]:
        _check_doctor_reader(caller, doctor_id)
        self.doctor(doctor_id)
        start, end = _utc_window(filters)
        return [a for a in self._store.list_for_doctor(doctor_id, start, end) if _matches(a, filters)]

    def page_for_patient(
        self, caller: Caller, patient_id: str, filters: ListFilter, limit: int, after: tuple[str, str] | None
    ) -> tuple[list[AppointmentView], bool]:
        """One page of a patient's list, read from DynamoDB a page at a time, and whether more follow."""
        if caller.role is Role.PATIENT and caller.subject != patient_id:
            raise Forbidden("Patients can only see their own appointments.")
        start, end = _utc_window(filters)
        found = self._store.iter_for_patient(patient_id, start, end, after, limit + 1)
        page, more = take_page(found, lambda a: may_access(caller, a) and _matches(a, filters), limit)
        return [self.view_of(caller, a) for a in page], more

    def page_for_doctor(
        self, caller: Caller, doctor_id: str, filters: ListFilter, limit: int, after: tuple[str, str] | None
    ) -> tuple[list[AppointmentView], bool]:
        _check_doctor_reader(caller, doctor_id)
        self.doctor(doctor_id)
        start, end = _utc_window(filters)
        found = self._store.iter_for_doctor(doctor_id, start, end, after, limit + 1)
        page, more = take_page(found, lambda a: _matches(a, filters), limit)
        return [self.view_of(caller, a) for a in page], more

    def audit_trail(self, appointment_id: str) -> list[AuditEntry]:
        if self._store.get(appointment_id) is None:
            raise NotFound("No such appointment.", {"appointmentId": appointment_id})
        return self._store.audit_trail(appointment_id)

    def get_hold(self, caller: Caller, hold_id: str) -> Hold:
        """A hold its patient, its doctor or an admin may see; a lapsed one is released on the spot (404)."""
        hold = self._store.get_hold(hold_id)
        if hold is None or not may_access_hold(caller, hold):
            raise NotFound("No such hold.", {"holdId": hold_id})
        now = self._clock.now()
        if hold.expired(now):
            self._lapse.lapse([hold.id], now)
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
            self._lapse.lapse(lapsed, now)
        return [h for h in holds if not h.expired(now)]


def _check_doctor_reader(caller: Caller, doctor_id: str) -> None:
    if caller.role is Role.PATIENT or (caller.role is Role.DOCTOR and caller.doctor_id != doctor_id):
        raise Forbidden("Only the doctor and clinic admins can see a doctor's appointments.")


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
