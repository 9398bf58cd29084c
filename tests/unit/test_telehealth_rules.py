"""Telehealth rules on the in-memory fakes (tests/fakes/clinic.py) with a fake video platform: the room follows
the booking, reschedules and cancellations; the waiting room and admission; a platform outage never fails a
booking and is caught up by the sweep. No moto, no HTTP, no network: milliseconds each."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, time, timedelta

import pytest

from chalicelib.domain.appointments import Appointment, AppointmentType, Status
from chalicelib.domain.audit import audit_of
from chalicelib.domain.errors import Forbidden, InvalidState, NotFound, Unauthenticated
from chalicelib.domain.identity import Caller, Role
from chalicelib.domain.telehealth import Room, RoomStatus, token_for
from chalicelib.services.booking import BookingRequest
from tests.fakes.clinic import BASE_URL, Clinic, add_doctor, clinic

DAY = date(2027, 3, 3)
PAT = Caller("p1", Role.PATIENT, name="Pat")
SAM = Caller("p2", Role.PATIENT, name="Sam")
DOCTOR = Caller("user-d1", Role.DOCTOR, doctor_id="d1")
OTHER_DOCTOR = Caller("user-d2", Role.DOCTOR, doctor_id="d2")
ADMIN = Caller("admin-1", Role.ADMIN)


@pytest.fixture
def at() -> Clinic:
    made = clinic()
    add_doctor(made)
    made.telehealth.request_wait = 1.0  # the fake platform answers at once; never wait long for it
    return made


def book_video(at: Clinic, at_time: time = time(10), who: Caller = PAT) -> tuple[Appointment, Room]:
    booked = at.booking.book(
        who, BookingRequest("d1", DAY, at_time, AppointmentType.TELEHEALTH, "follow-up")
    ).appointment
    assert booked.room_id is not None
    return booked, room(at, booked)


def room(at: Clinic, appointment: Appointment) -> Room:
    assert appointment.room_id is not None
    found = at.rooms.get(appointment.room_id)
    assert found is not None
    return found


def link(at: Clinic, appointment: Appointment, caller: Caller, role: str) -> str:
    """The signed room token the caller's link carries (what `generate_url` hands out)."""
    return token_for(room(at, appointment), appointment, role, caller.subject, at.keys.signing_key())[0]


def open_as(at: Clinic, appointment: Appointment, caller: Caller, role: str) -> None:
    assert appointment.room_id is not None
    at.telehealth.open_room(caller, appointment.room_id, link(at, appointment, caller, role))


# --- the room follows the appointment -------------------------------------------------------------------------
def test_a_video_booking_gets_a_room_with_a_meeting_on_the_doctors_platform(at: Clinic):
    booked, made = book_video(at)
    assert booked.telehealth_url == f"{BASE_URL}/rooms/{made.id}"
    assert (made.status, made.appointment_id, made.platform) == (RoomStatus.WAITING, booked.id, "custom")
    assert at.platform.meetings == {made.meeting["meetingId"]: made.meeting}


def test_a_platform_outage_leaves_the_booking_standing_and_the_sweep_creates_the_meeting_once(at: Clinic):
    # GIVEN the platform down WHEN a video visit is booked THEN the booking stands and its room waits pending
    at.platform.down = True
    booked, pending = book_video(at)
    assert at.store.get(booked.id) is not None
    assert pending.status is RoomStatus.PENDING and "unavailable" in (pending.last_error or "")
    # WHEN the sweep runs while it is still down THEN the room stays pending
    assert at.telehealth.retry_pending() == 0
    # WHEN the platform is back THEN the sweep creates one meeting; a second sweep creates none
    at.platform.down = False
    assert at.telehealth.retry_pending() == 1
    assert at.telehealth.retry_pending() == 0
    assert room(at, booked).status is RoomStatus.WAITING
    assert len(at.platform.meetings) == 1


def test_the_sweep_ends_the_pending_room_of_a_cancelled_visit_without_creating_a_meeting(at: Clinic):
    # GIVEN a room left pending by an outage, and its visit cancelled by a request that stopped after the commit
    at.platform.down = True
    booked, _ = book_video(at)
    stored = at.store.get(booked.id)
    assert stored is not None
    cancelled = stored.with_status(Status.CANCELLED, at.clock.now())
    at.store.cancel(stored, cancelled, audit_of("audit-x", PAT, "cancelled", stored, cancelled, at.clock.now()))
    # WHEN the platform is back and the sweep runs THEN the room ends and no meeting is created
    at.platform.down = False
    assert at.telehealth.retry_pending() == 0
    assert room(at, booked).status is RoomStatus.ENDED
    assert at.platform.meetings == {}


def test_a_meeting_created_while_its_visit_was_cancelled_is_deleted(at: Clinic):
    # GIVEN a pending room WHEN the visit is cancelled while the sweep creates its meeting
    at.platform.down = True
    booked, _ = book_video(at)
    at.platform.down = False

    def cancel() -> None:
        at.booking.cancel(PAT, booked.id)

    at.platform.while_creating = cancel
    # THEN the room stays ended and no live meeting outlives the visit
    assert at.telehealth.retry_pending() == 0
    assert room(at, booked).status is RoomStatus.ENDED
    assert at.platform.calls.count("create") == 2 and at.platform.meetings == {}


def test_the_meeting_moves_with_a_reschedule(at: Clinic):
    booked, made = book_video(at)
    moved = at.booking.reschedule(PAT, booked.id, DAY, time(15)).appointment
    meeting = at.platform.meetings[made.meeting["meetingId"]]
    assert meeting["start"] == room(at, moved).meeting["start"] == "2027-03-03T20:00:00Z"


def test_an_admission_is_for_the_old_time_so_after_a_reschedule_the_patient_waits_again(at: Clinic):
    booked, _ = book_video(at)
    at.clock.current = booked.starts_at - timedelta(minutes=10)
    open_as(at, booked, PAT, "patient")
    at.telehealth.admit(DOCTOR, booked.room_id or "")
    assert room(at, booked).status is RoomStatus.ADMITTED
    # WHEN staff move the visit THEN the room goes back to waiting, with nobody waiting in it
    moved = at.booking.reschedule(ADMIN, booked.id, DAY, time(15)).appointment
    assert (room(at, moved).status, room(at, moved).patient_waiting_since) == (RoomStatus.WAITING, None)


def test_cancel_ends_the_room_and_deletes_the_meeting_even_when_the_platform_fails(at: Clinic):
    first, _ = book_video(at)
    second, kept = book_video(at, time(14), SAM)
    at.booking.cancel(ADMIN, first.id)
    assert room(at, first).status is RoomStatus.ENDED
    assert list(at.platform.meetings) == [kept.meeting["meetingId"]]
    # WHEN the platform is down at a cancel THEN the cancel stands and the room still ends
    at.platform.down = True
    at.booking.cancel(ADMIN, second.id)
    assert room(at, second).status is RoomStatus.ENDED


# --- the waiting room -----------------------------------------------------------------------------------------
def test_the_patient_waits_the_doctor_admits_and_the_patient_joins(at: Clinic):
    booked, _ = book_video(at)
    at.clock.current = booked.starts_at - timedelta(minutes=10)
    # WHEN the patient opens the room THEN it waits, since then
    open_as(at, booked, PAT, "patient")
    assert room(at, booked).patient_waiting_since == at.clock.current
    # WHEN the doctor admits and the patient opens it again THEN the visit is in progress
    at.telehealth.admit(DOCTOR, booked.room_id or "")
    open_as(at, booked, PAT, "patient")
    assert room(at, booked).status is RoomStatus.IN_PROGRESS
    actions = [e.action for e in at.store.audit_trail(booked.id)]
    assert actions == ["booked", "patient-waiting", "patient-admitted", "patient-joined"]


def test_only_the_visits_doctor_admits(at: Clinic):
    booked, _ = book_video(at)
    # to anyone else the room is as unknown as a room that does not exist (the routes refuse other roles first)
    for caller in (PAT, OTHER_DOCTOR, ADMIN):
        with pytest.raises(NotFound) as refused:
            at.telehealth.admit(caller, booked.room_id or "")
        with pytest.raises(NotFound) as unknown:
            at.telehealth.admit(caller, "no-such-room")
        assert refused.value.message == unknown.value.message
    assert room(at, booked).status is RoomStatus.WAITING


def test_nobody_is_admitted_to_a_cancelled_visit_or_before_the_meeting_exists(at: Clinic):
    at.platform.down = True
    pending, _ = book_video(at)
    with pytest.raises(InvalidState):
        at.telehealth.admit(DOCTOR, pending.room_id or "")
    at.platform.down = False
    booked, _ = book_video(at, time(14), SAM)
    at.booking.cancel(DOCTOR, booked.id)
    with pytest.raises(InvalidState):
        at.telehealth.admit(DOCTOR, booked.room_id or "")


def test_a_room_link_opens_only_for_its_own_subject_and_not_too_early(at: Clinic):
    booked, _ = book_video(at)
    token = link(at, booked, PAT, "patient")
    # WHEN opened an hour early THEN refused; WHEN opened by someone else in time THEN refused
    at.clock.current = booked.starts_at - timedelta(hours=1)
    with pytest.raises(Unauthenticated):
        at.telehealth.open_room(PAT, booked.room_id or "", token)
    at.clock.current = booked.starts_at - timedelta(minutes=10)
    with pytest.raises(Forbidden):
        at.telehealth.open_room(replace(PAT, subject="p9"), booked.room_id or "", token)
    assert room(at, booked).patient_waiting_since is None


def test_a_platform_outage_at_join_is_answered_as_a_retryable_state_not_a_failure(at: Clinic):
    booked, _ = book_video(at)
    at.telehealth.admit(DOCTOR, booked.room_id or "")
    at.clock.current = booked.starts_at - timedelta(minutes=5)
    at.platform.down = True
    with pytest.raises(InvalidState):
        open_as(at, booked, PAT, "patient")
    assert room(at, booked).status is RoomStatus.ADMITTED
