"""Telehealth use cases: a room per telehealth appointment on the doctor's platform (created after the booking
commits, retried while the platform fails), follow reschedules and cancellations, signed links, the waiting
room (patient waits, doctor admits, patient joins), end, recording consent, and the requirements check."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from chalicelib.domain.appointments import Appointment, AppointmentType, may_access
from chalicelib.domain.audit import side_audit
from chalicelib.domain.errors import BusinessRuleViolation, Forbidden, InvalidState, NotFound
from chalicelib.domain.identity import Caller, Role
from chalicelib.domain.telehealth import (
    MEETING_DUE,
    ClientReport,
    DeviceCheck,
    PlatformError,
    Room,
    RoomLink,
    RoomStatus,
    RoomView,
    WaitingPatient,
    admit,
    check_requirements,
    not_this_room,
    room_token_body,
    token_for,
    verify_room_token,
)
from chalicelib.services.ports.appointments import AppointmentRecords
from chalicelib.services.ports.system import Clock, IdGenerator, KeyProvider
from chalicelib.services.ports.telehealth import RoomRepository, VideoPlatform

log = logging.getLogger("clinic.telehealth")
CLAIM_LEASE = timedelta(minutes=2)
"""How long a worker owns a pending room's meeting creation; a crashed worker's claim lapses after it."""
REQUEST_WAIT = 5.0
"""Seconds a booking waits for the meeting before answering with the room pending (API Gateway stops at 29)."""


class NotTelehealth(BusinessRuleViolation):
    code = "NOT_TELEHEALTH"


OBSERVER = "observer"
"""Admins' role in a room: they see and hear the visit, they do not host it."""


class TelehealthService:
    def __init__(
        self,
        rooms: RoomRepository,
        appointments: AppointmentRecords,
        platforms: Mapping[str, VideoPlatform],
        keys: KeyProvider,
        clock: Clock,
        ids: IdGenerator,
        room_ids: Callable[[], str],
        public_base_url: str,
    ) -> None:
        self._rooms = rooms
        self._appointments = appointments
        self.platforms = platforms
        self._keys = keys
        self._clock = clock
        self._ids = ids
        self._room_ids = room_ids
        self._base = public_base_url.rstrip("/")
        self.request_wait = REQUEST_WAIT

    # --- following the appointment ---------------------------------------------------------------------------
    def new_room(self, appointment: Appointment, platform: str) -> tuple[Room, str]:
        """The room to store with the booking, and the appointment's `telehealthUrl` (our room page)."""
        room = Room(
            self._room_ids(),
            appointment.id,
            appointment.doctor_id,
            appointment.patient_id,
            platform,
            RoomStatus.PENDING,
            self._clock.now(),
        )
        return room, f"{self._base}/rooms/{room.id}"

    def provision(self, room: Room, appointment: Appointment) -> Room:
        """Claim the pending room (once: a conditional update), create the platform meeting, and store it while
        the claim stands. A platform error leaves the room pending for the sweep; a room cancelled meanwhile
        gets its fresh meeting deleted, so no live meeting outlives its visit."""
        now = self._clock.now()
        claimed = self._rooms.claim(room.id, now, now + CLAIM_LEASE)
        if claimed is None or claimed.claimed_until is None:
            return room  # another worker has it, or it is no longer pending
        lease = claimed.claimed_until
        platform = self.platforms[claimed.platform]
        try:
            meeting = platform.create(appointment, claimed.recording_consent)
        except Exception as exc:  # platform down, credentials missing: the booking stands, the room waits
            log.warning("room %s: platform %s failed: %s", room.id, claimed.platform, type(exc).__name__)
            failed = replace(claimed, last_error=f"{type(exc).__name__}: {exc}"[:300], claimed_until=None)
            self._rooms.save_claimed(failed, lease)
            return failed
        ready = replace(claimed, meeting=meeting, status=RoomStatus.WAITING, last_error=None, claimed_until=None)
        if self._rooms.save_claimed(ready, lease):
            return ready
        log.warning("room %s: ended or taken over while its meeting was created; deleting the meeting", room.id)
        try:
            platform.delete(dict(meeting))
        except Exception:
            log.exception("room %s: could not delete the meeting of a room no longer pending", room.id)
        return self._rooms.get(room.id) or room

    def provision_within(self, room: Room, appointment: Appointment, wait: float | None = None) -> None:
        """A booking's own attempt, bounded: after `wait` seconds it answers with the room pending and the
        attempt finishes on its own (its claim keeps the sweep from creating a second meeting)."""
        done = threading.Event()

        def attempt() -> None:
            try:
                self.provision(room, appointment)
            except Exception:  # the room stays pending: the sweep retries it
                log.exception("room %s: provisioning failed", room.id)
            finally:
                done.set()

        threading.Thread(target=attempt, name=f"room-{room.id}", daemon=True).start()
        limit = self.request_wait if wait is None else wait
        if not done.wait(limit):
            log.warning("room %s: platform slower than %.1f s; answering with the room pending", room.id, limit)

    def retry_pending(self, limit: int = 100, budget: float = 60.0, timer: Callable[[], float] = time.monotonic) -> int:
        """Rooms whose meeting could not be created yet (called by the sweep, after reminders). Each room on
        its own: one that raises is logged and the rest go on; stops when `budget` seconds are spent."""
        ready = 0
        deadline = timer() + budget
        for room in self._rooms.pending(limit):
            if timer() >= deadline:
                log.warning("room sweep: time budget spent; the rest wait for the next run")
                break
            try:
                appointment = self._appointments.get(room.appointment_id)
                if appointment is None or not appointment.active:
                    self._rooms.save(replace(room, status=RoomStatus.ENDED))
                    continue
                ready += self.provision(room, appointment).status is RoomStatus.WAITING
            except Exception:
                log.exception("room %s: sweep could not provision it", room.id)
        return ready

    def follow_reschedule(self, appointment: Appointment, wait: float | None = None) -> None:
        """The room after its visit moved: an admission was for the old time (the patient waits again), and the
        platform meeting is marked due, then moved within `wait` seconds (default `request_wait`); past that the
        request answers and the attempt finishes on its own, and the sweep moves it if that attempt never does."""
        room = self._room_of(appointment)
        if room is not None and room.status in (RoomStatus.ADMITTED, RoomStatus.IN_PROGRESS):
            # An admission was for the old time: at the new one the patient waits to be admitted again.
            room = replace(room, status=RoomStatus.WAITING, patient_waiting_since=None)
            self._rooms.save(room)
        if room is None or room.status is RoomStatus.PENDING:
            return
        self._rooms.mark_meeting_due(room.id)
        self._within(lambda: self.sync_meeting(room.id), wait, room.id)

    def follow_cancel(self, appointment: Appointment, wait: float | None = None) -> None:
        """The room ends with its visit; its platform meeting (if any) is deleted within `wait` seconds, else by
        the attempt finishing on its own or by the sweep (the room is marked due in the same write)."""
        room = self._room_of(appointment)
        if room is None:
            return
        self._rooms.save(replace(room, status=RoomStatus.ENDED, meeting_sync=MEETING_DUE if room.meeting else None))
        if room.meeting:
            self._within(lambda: self.sync_meeting(room.id), wait, room.id)

    def sync_meeting(self, room_id: str) -> None:
        """Bring a room's platform meeting in line with its visit, if it is marked due: deleted once the room
        ended, else moved to the visit's current time; then the mark is removed. Raises what the platform
        raises (the mark stays: the sweep tries again)."""
        room = self._rooms.get(room_id)
        if room is None or room.meeting_sync is None:
            return
        platform = self.platforms[room.platform]
        if room.status is RoomStatus.ENDED:
            if room.meeting:
                platform.delete(dict(room.meeting))
            self._rooms.meeting_synced(room.id, None)
            return
        appointment = self._appointments.get(room.appointment_id)
        if appointment is None or not appointment.active:
            return  # its cancel ends the room and marks it: the deletion follows from that
        meeting = platform.update(dict(room.meeting), appointment, room.recording_consent)
        self._rooms.meeting_synced(room.id, meeting)

    def sync_due_meetings(
        self, limit: int = 100, budget: float = 60.0, timer: Callable[[], float] = time.monotonic
    ) -> int:
        """The sweep's share of reschedules and cancels: meetings still marked due (the request's own attempt
        failed, or outlived its wait and never finished). Each room on its own; stops when `budget` is spent."""
        synced = 0
        deadline = timer() + budget
        for room in self._rooms.meeting_due(limit):
            if timer() >= deadline:
                log.warning("meeting sweep: time budget spent; the rest wait for the next run")
                break
            try:
                self.sync_meeting(room.id)
                synced += 1
            except Exception:
                log.exception("room %s: sweep could not bring its platform meeting in line", room.id)
        return synced

    def _within(self, action: Callable[[], None], wait: float | None, room_id: str) -> None:
        """Run a room's platform step for at most `wait` seconds (default `request_wait`) of the request; past
        that the request goes on and the step finishes on its own. A failure is logged: the room's mark stays
        and the sweep does the step."""
        done = threading.Event()

        def attempt() -> None:
            try:
                action()
            except Exception:
                log.exception("room %s: the platform step failed; the sweep retries it", room_id)
            finally:
                done.set()

        threading.Thread(target=attempt, name=f"room-{room_id}", daemon=True).start()
        limit = self.request_wait if wait is None else wait
        if not done.wait(limit):
            log.warning(
                "room %s: platform slower than %.1f s; left to finish on its own or to the sweep", room_id, limit
            )

    # --- links and the waiting room ----------------------------------------------------------------------------
    def generate_url(self, caller: Caller, appointment_id: str) -> RoomLink:
        appointment = self._appointment_for(caller, appointment_id)
        if appointment.type is not AppointmentType.TELEHEALTH:
            raise NotTelehealth("This is not a telehealth appointment.")
        if not appointment.active:
            raise InvalidState(f"The appointment is {appointment.status.value}.")
        room = self._room_of(appointment)
        if room is None:
            raise NotFound("This appointment has no room.")
        token, claims = token_for(
            room, appointment, self._role(caller, appointment), caller.subject, self._keys.signing_key()
        )
        return RoomLink(
            room.id,
            f"{self._base}/rooms/{room.id}?token={token}",
            token,
            room.platform,
            claims.valid_from,
            claims.expires_at,
        )

    def open_room(self, caller: Caller, room_id: str, token: str | None) -> RoomView:
        room = self._rooms.get(room_id)
        appointment = self._appointments.get(room.appointment_id) if room else None
        if room is None or appointment is None:
            # An unknown room answers as a known one does to a token that is not for it: 401 for a missing or
            # forged token, else 403 (the token names another room).
            room_token_body(token, self._keys.signing_key())
            raise not_this_room()
        claims = verify_room_token(token, self._keys.signing_key(), self._clock.now(), room, appointment)
        if claims.subject != caller.subject:
            raise Forbidden("This link was made for someone else.")
        now = self._clock.now()
        if claims.role == "patient":
            if room.status in (RoomStatus.WAITING, RoomStatus.PENDING):
                if room.patient_waiting_since is None:
                    room = replace(room, patient_waiting_since=now)
                    self._rooms.save(room)
                    self._audit(caller, appointment, "patient-waiting", now)
                return RoomView(room)
            if room.status in (RoomStatus.ADMITTED, RoomStatus.IN_PROGRESS):
                join = self._join(room, "patient", caller.subject)
                if room.status is not RoomStatus.IN_PROGRESS:
                    room = replace(room, status=RoomStatus.IN_PROGRESS)
                    self._rooms.save(room)
                self._audit(caller, appointment, "patient-joined", now)
                return RoomView(room, join)
            return RoomView(room)
        if room.status is RoomStatus.ENDED:
            return RoomView(room)
        if claims.role == OBSERVER:
            # Admins observe: an attendee's join details, never the host's, and no waiting room to run.
            self._audit(caller, appointment, "observer-joined", now)
            return RoomView(room, self._join(room, OBSERVER, caller.subject))
        join = self._join(room, "doctor", caller.subject)
        self._audit(caller, appointment, "doctor-joined", now)
        waiting: tuple[WaitingPatient, ...] = ()
        if room.patient_waiting_since and room.status is RoomStatus.WAITING:
            waiting = (WaitingPatient(room.patient_id, room.patient_waiting_since),)
        return RoomView(room, join, waiting)

    def admit(self, caller: Caller, room_id: str) -> RoomView:
        room, appointment = self._room_and_appointment(room_id, caller)
        if not appointment.active:
            raise InvalidState(f"The appointment is {appointment.status.value}.")
        room = replace(room, status=admit(room))
        self._rooms.save(room)
        self._audit(caller, appointment, "patient-admitted", self._clock.now())
        return RoomView(room)

    def end(self, caller: Caller, room_id: str) -> RoomView:
        room, appointment = self._room_and_appointment(room_id, caller)
        room = replace(room, status=RoomStatus.ENDED)
        self._rooms.save(room)
        self._audit(caller, appointment, "room-ended", self._clock.now())
        if room.meeting and room.platform == "custom":
            self.platforms[room.platform].delete(dict(room.meeting))
        return RoomView(room)

    def consent(self, caller: Caller, appointment_id: str, recording: bool) -> Room:
        """Recording stays off unless the patient itself consents; consent is stored and audited. The room
        carries it (`recording_consent`) on return."""
        appointment = self._appointment_for(caller, appointment_id)
        if caller.role is not Role.PATIENT or appointment.patient_id != caller.subject:
            raise Forbidden("Only the patient can consent to recording.")
        room = self._room_of(appointment)
        if room is None:
            raise NotTelehealth("This is not a telehealth appointment.")
        room = replace(room, recording_consent=recording)
        self._rooms.save(room)
        self._audit(
            caller,
            appointment,
            "recording-consent-given" if recording else "recording-consent-withdrawn",
            self._clock.now(),
        )
        if room.meeting and room.status is not RoomStatus.PENDING:
            try:
                self.platforms[room.platform].update(dict(room.meeting), appointment, recording)
            except Exception:
                log.exception("room %s: could not change recording on the platform", room.id)
        return room

    def room_state(self, appointment: Appointment) -> str | None:
        """`pending` until the platform meeting exists, then `ready`; `ended` after the visit or a cancel."""
        room = self._room_of(appointment)
        if room is None:
            return None
        if room.status is RoomStatus.PENDING:
            return "pending"
        return "ended" if room.status is RoomStatus.ENDED else "ready"

    @staticmethod
    def requirements(report: ClientReport) -> DeviceCheck:
        return DeviceCheck(tuple(check_requirements(report)))

    # --- helpers -----------------------------------------------------------------------------------------------
    def _appointment_for(self, caller: Caller, appointment_id: str) -> Appointment:
        appointment = self._appointments.get(appointment_id)
        if appointment is None or not may_access(caller, appointment):
            raise NotFound("No such appointment.", {"appointmentId": appointment_id})
        return appointment

    def _room_of(self, appointment: Appointment) -> Room | None:
        return self._rooms.get(appointment.room_id) if appointment.room_id else None

    def _room_and_appointment(self, room_id: str, doctor: Caller) -> tuple[Room, Appointment]:
        """The room and its appointment for the appointment's own doctor; to any other caller a room that is not
        theirs is as unknown as one that does not exist (404 both)."""
        room = self._rooms.get(room_id)
        appointment = self._appointments.get(room.appointment_id) if room else None
        if room is None or appointment is None or not self._is_doctor(doctor, appointment):
            raise NotFound("No such room.", {"roomId": room_id})
        return room, appointment

    @staticmethod
    def _role(caller: Caller, appointment: Appointment) -> str:
        if caller.role is Role.PATIENT:
            return "patient"
        if caller.role is Role.ADMIN:
            return OBSERVER
        return "doctor" if caller.doctor_id == appointment.doctor_id else "patient"

    @staticmethod
    def _is_doctor(caller: Caller, appointment: Appointment) -> bool:
        return caller.role is Role.DOCTOR and caller.doctor_id == appointment.doctor_id

    def _join(self, room: Room, role: str, subject: str) -> dict[str, Any]:
        if room.status is RoomStatus.PENDING:
            raise InvalidState("The video meeting is not ready yet; it is being created.")
        meeting = dict(room.meeting)
        try:
            join = self.platforms[room.platform].join(meeting, role, subject)
        except PlatformError as exc:
            raise InvalidState("The video platform is not answering; try again in a moment.") from exc
        if meeting != room.meeting:  # Chime: the meeting was created on first join
            self._rooms.save(replace(room, meeting=meeting))
        return join

    def _audit(self, caller: Caller, appointment: Appointment, action: str, at: datetime) -> None:
        self._appointments.record_audit(side_audit(self._ids.new_id(), caller, action, appointment, at))
