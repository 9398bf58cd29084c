"""Booking rules on the in-memory fakes (tests/fakes/clinic.py): booking, reschedule, cancel, the limits, staff
against patient, idempotent retries and the reminders a booking plans. No moto, no HTTP: milliseconds each."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta

import pytest

from chalicelib.domain.appointments import AppointmentType, Status
from chalicelib.domain.errors import (
    BookingLimitReached,
    Conflict,
    DailyLimitReached,
    Forbidden,
    InvalidInput,
    InvalidState,
    NoRecipient,
    NotFound,
    NotStartedYet,
    NotYourPatient,
    SlotUnavailable,
    TelehealthNotOffered,
    TooLateToChange,
    TooShortNotice,
)
from chalicelib.domain.identity import Caller, Role
from chalicelib.domain.patients import PatientProfile
from chalicelib.domain.reminders import LINK_TIMING, ReminderPreferences, ReminderStatus
from chalicelib.services.booking import BookingRequest, ListFilter, Policy
from tests.fakes.clinic import Clinic, add_doctor, clinic, free_times

DAY = date(2027, 3, 3)  # Wednesday, two days after the clinic's clock
PAT = Caller("p1", Role.PATIENT, name="Pat", email="pat@example.org", email_verified=True)
SAM = Caller("p2", Role.PATIENT, name="Sam", email="sam@example.org", email_verified=True)
ADMIN = Caller("admin-1", Role.ADMIN)
KEY = hashlib.sha256(b"p1:key-1").hexdigest()
"""A caller-scoped Idempotency-Key hash, as the API makes it."""
DOCTOR = Caller("user-d1", Role.DOCTOR, doctor_id="d1")


def request(at: str = "10:00", patient: str | None = None, day: date = DAY, **changes) -> BookingRequest:
    hour, minute = map(int, at.split(":"))
    made = BookingRequest(
        doctor_id="d1", date=day, time=time(hour, minute), type=AppointmentType.IN_PERSON, reason="check-up"
    )
    return replace(made, patient_id=patient, **changes)


@pytest.fixture
def at() -> Clinic:
    """A clinic with doctor d1 and two patients in its directory (staff book only those)."""
    made = clinic()
    add_doctor(made)
    for caller in (PAT, SAM):
        made.sign_in.record(caller)
    return made


# --- booking ------------------------------------------------------------------------------------------------------
def test_a_patient_books_a_free_time_and_it_is_no_longer_offered(at: Clinic):
    # WHEN a patient books 10:00 THEN it is scheduled, stored with its audit entry, and the day stops offering it
    booked = at.booking.book(PAT, request()).appointment
    assert (booked.status, booked.patient_id, booked.time) == (Status.SCHEDULED, "p1", "10:00")
    assert at.store.get(booked.id) == replace(booked, version=1)
    assert [e.action for e in at.store.audit_trail(booked.id)] == ["booked"]
    assert "10:00" not in free_times(at, "d1", DAY) and "10:30" in free_times(at, "d1", DAY)


def test_a_taken_time_is_refused_to_the_next_patient(at: Clinic):
    at.booking.book(PAT, request())
    offered = free_times(at, "d1", DAY)
    # WHEN another patient books it THEN refused, and the day is as it was
    with pytest.raises(SlotUnavailable):
        at.booking.book(SAM, request())
    assert free_times(at, "d1", DAY) == offered
    assert at.store.list_for_patient("p2", at.clock.now(), at.clock.now() + timedelta(days=30)) == []


def test_a_patient_at_two_places_at_once_is_told_why_but_staff_are_not_told_where(at: Clinic):
    # GIVEN p1 booked with d1 at 10:00, and a second doctor
    add_doctor(at, "d2")
    at.booking.book(PAT, request())
    # WHEN p1 books d2 at 10:00 THEN a conflict; WHEN staff book p1 there THEN a conflict that names no place
    with pytest.raises(Conflict) as own:
        at.booking.book(PAT, request(doctor_id="d2"))
    with pytest.raises(Conflict) as staff:
        at.booking.book(ADMIN, request(patient="p1", doctor_id="d2"))
    assert own.value.message == "The patient already has an appointment at this time."
    assert staff.value.message == "This patient cannot be booked at this time."


def test_patients_book_only_for_themselves_and_never_name_themselves(at: Clinic):
    with pytest.raises(Forbidden):
        at.booking.book(PAT, request(patient="p2"))
    with pytest.raises(InvalidInput):
        at.booking.book(PAT, request(patient_name="Someone Else"))
    assert at.booking.book(PAT, request(patient="p1")).appointment.patient_id == "p1"


def test_staff_book_a_named_patient_of_the_directory_only(at: Clinic):
    with pytest.raises(InvalidInput):
        at.booking.book(ADMIN, request())
    with pytest.raises(NotFound):
        at.booking.book(ADMIN, request(patient="made-up"))
    booked = at.booking.book(ADMIN, request(patient="p2")).appointment
    assert (booked.patient_id, booked.patient_name) == ("p2", "Sam")


def test_a_doctor_books_only_into_its_own_schedule(at: Clinic):
    add_doctor(at, "d2")
    at.booking.book(PAT, request("09:00"))  # p1 is d1's patient
    with pytest.raises(Forbidden):
        at.booking.book(DOCTOR, request(patient="p1", doctor_id="d2"))
    assert at.booking.book(DOCTOR, request(patient="p1")).appointment.doctor_id == "d1"


def test_a_doctor_books_only_patients_it_has_or_had_a_visit_with(at: Clinic):
    # GIVEN p2 seeing another doctor at 10:00, never d1
    add_doctor(at, "d2")
    at.booking.book(SAM, request(doctor_id="d2"))
    # WHEN d1 books p2 at that time, at a free time, or books an id nobody has THEN one same refusal for all three
    refusals = []
    for attempt in (request(patient="p2"), request("14:00", patient="p2"), request(patient="made-up")):
        with pytest.raises(NotYourPatient) as refused:
            at.booking.book(DOCTOR, attempt)
        refusals.append((type(refused.value), refused.value.message, refused.value.details))
    assert len(set(refusals)) == 1 and refusals[0][2] is None
    assert at.store.list_for_doctor("d1", at.clock.now(), at.clock.now() + timedelta(days=30)) == []
    # WHEN p2 once had a visit with d1, even one cancelled since THEN d1 books it
    first = at.booking.book(ADMIN, request("15:00", patient="p2")).appointment
    at.booking.cancel(ADMIN, first.id)
    assert at.booking.book(DOCTOR, request("14:00", patient="p2")).appointment.patient_id == "p2"


def test_a_booking_needs_the_minimum_notice(at: Clinic):
    # GIVEN the clock at 09:30 in New York on DAY WHEN 10:00 is booked (30 minutes ahead) THEN too short notice
    at.clock.current = datetime(2027, 3, 3, 14, 30, tzinfo=UTC)
    with pytest.raises(TooShortNotice):
        at.booking.book(PAT, request("10:00"))
    assert at.booking.book(PAT, request("11:00")).appointment.time == "11:00"


# --- limits -------------------------------------------------------------------------------------------------------
def test_the_doctors_daily_limit_closes_the_day(at: Clinic):
    add_doctor(at, "d3", max_per_day=1)
    at.booking.book(PAT, request(doctor_id="d3"))
    with pytest.raises(DailyLimitReached):
        at.booking.book(SAM, request("14:00", doctor_id="d3"))
    assert free_times(at, "d3", DAY) == []


def test_a_patient_gets_one_visit_a_day_with_a_doctor_unless_staff_book_it(at: Clinic):
    at.booking.book(PAT, request("09:00"))
    with pytest.raises(BookingLimitReached):
        at.booking.book(PAT, request("14:00"))
    assert at.booking.book(ADMIN, request("14:00", patient="p1")).appointment.time == "14:00"


def test_a_patient_holds_at_most_the_clinics_active_bookings():
    # GIVEN a clinic allowing two active bookings
    at = clinic(Policy(max_active_bookings=2))
    add_doctor(at)
    first = at.booking.book(PAT, request("09:00")).appointment
    at.booking.book(PAT, request("09:00", day=DAY + timedelta(days=1)))
    # WHEN a third is booked THEN refused; once one is cancelled THEN it fits
    with pytest.raises(BookingLimitReached):
        at.booking.book(PAT, request("09:00", day=DAY + timedelta(days=2)))
    at.booking.cancel(PAT, first.id)
    at.booking.book(PAT, request("09:00", day=DAY + timedelta(days=2)))


# --- idempotent retries -----------------------------------------------------------------------------------------
def test_a_retry_with_the_same_key_returns_the_booking_and_a_different_request_is_refused(at: Clinic):
    first = at.booking.book(PAT, request(idempotency_key=KEY)).appointment
    # WHEN the same request comes again with its key (its record lost) THEN the same appointment, booked once
    again = at.booking.book(PAT, request(idempotency_key=KEY)).appointment
    assert again.id == first.id
    assert at.store.day_state("d1", DAY).booked == 1
    # WHEN the key comes with another kind of visit at that time THEN a conflict about the key
    with pytest.raises(Conflict) as reused:
        at.booking.book(PAT, request(idempotency_key=KEY, type=AppointmentType.TELEHEALTH))
    assert reused.value.details == {"header": "Idempotency-Key"}


def test_a_keyed_booking_gets_a_new_id_of_its_own_not_one_derived_from_its_key(at: Clinic):
    # GIVEN the clinic's id generator (id-000001, ...) WHEN a patient books with a key THEN the visit's id is a new
    # one from it, and the visit carries the key's scope as its mark
    booked = at.booking.book(PAT, request(idempotency_key=KEY)).appointment
    assert booked.id.startswith("id-")
    assert booked.idempotency_key == KEY


def test_the_same_key_at_another_time_after_its_record_is_gone_is_a_new_booking(at: Clinic):
    # GIVEN a keyed booking WHEN the key comes again for another day (its record expired) THEN it books anew
    first = at.booking.book(PAT, request(idempotency_key=KEY)).appointment
    other = at.booking.book(PAT, request(idempotency_key=KEY, day=DAY + timedelta(days=1))).appointment
    assert other.id != first.id and at.store.get(other.id) is not None


# --- reschedule and cancel ----------------------------------------------------------------------------------------
def test_a_reschedule_moves_the_time_and_its_reminders(at: Clinic):
    # GIVEN a booking with a 24-hour e-mail reminder
    booked = at.booking.book(
        PAT, request(reminder_preferences=ReminderPreferences.of_stored({"email": True, "timings": ["24h"]}))
    ).appointment
    # WHEN moved to 14:00 THEN the old time is offered again, the new one is not, the reminder moves along
    moved = at.booking.reschedule(PAT, booked.id, DAY, time(14)).appointment
    assert (moved.status, moved.version) == (Status.RESCHEDULED, 2)
    assert "10:00" in free_times(at, "d1", DAY) and "14:00" not in free_times(at, "d1", DAY)
    (reminder,) = at.reminders.for_appointment(booked.id)
    assert reminder.scheduled_time == moved.starts_at - timedelta(hours=24)
    assert at.scheduler.schedules[reminder.id] == reminder.scheduled_time


def test_a_reschedule_onto_a_taken_time_changes_nothing(at: Clinic):
    at.booking.book(SAM, request("14:00"))
    booked = at.booking.book(
        PAT, request(reminder_preferences=ReminderPreferences.of_stored({"email": True}))
    ).appointment
    reminders = at.reminders.for_appointment(booked.id)
    with pytest.raises(SlotUnavailable):
        at.booking.reschedule(PAT, booked.id, DAY, time(14))
    assert at.store.get(booked.id) == replace(booked, version=1)
    assert at.reminders.for_appointment(booked.id) == reminders


def test_patients_change_only_until_shortly_before_the_visit_and_staff_always(at: Clinic):
    booked = at.booking.book(PAT, request()).appointment
    at.clock.current = booked.starts_at - timedelta(hours=1)
    # WHEN the patient moves or cancels an hour before THEN too late; staff THEN may
    with pytest.raises(TooLateToChange):
        at.booking.reschedule(PAT, booked.id, DAY, time(15))
    with pytest.raises(TooLateToChange):
        at.booking.cancel(PAT, booked.id)
    assert at.booking.cancel(ADMIN, booked.id).appointment.status is Status.CANCELLED


def test_cancel_frees_the_time_and_cancels_the_reminders_once(at: Clinic):
    booked = at.booking.book(
        PAT, request(reminder_preferences=ReminderPreferences.of_stored({"email": True}))
    ).appointment
    at.booking.cancel(PAT, booked.id)
    assert "10:00" in free_times(at, "d1", DAY)
    assert [r.status for r in at.reminders.for_appointment(booked.id)] == [ReminderStatus.CANCELLED]
    assert at.scheduler.schedules == {}
    # WHEN cancelled again THEN refused: a cancelled appointment cannot change
    with pytest.raises(InvalidState):
        at.booking.cancel(PAT, booked.id)
    assert at.booking.book(SAM, request()).appointment.time == "10:00"


def test_only_staff_complete_a_visit_and_only_once_it_started(at: Clinic):
    booked = at.booking.book(PAT, request()).appointment
    with pytest.raises(NotStartedYet):
        at.booking.change_status(DOCTOR, booked.id, Status.COMPLETED)
    at.clock.current = booked.starts_at + timedelta(minutes=5)
    with pytest.raises(Forbidden):
        at.booking.change_status(PAT, booked.id, Status.COMPLETED)
    assert at.booking.change_status(DOCTOR, booked.id, Status.COMPLETED).appointment.status is Status.COMPLETED


def test_patients_see_only_their_own_appointments(at: Clinic):
    mine = at.booking.book(PAT, request()).appointment
    at.booking.book(SAM, request("14:00"))
    with pytest.raises(NotFound):
        at.booking_queries.get(SAM, mine.id)
    with pytest.raises(Forbidden):
        at.booking_queries.page_for_patient(SAM, "p1", ListFilter(), 50, None)
    listed, more = at.booking_queries.page_for_patient(PAT, "p1", ListFilter(), 50, None)
    assert ([view.appointment.id for view in listed], more) == ([mine.id], False)


def test_each_use_case_answers_with_what_its_response_shows(at: Clinic):
    # WHEN a patient books a video visit THEN the answer carries whether it may move it, the room's state and the
    # reminders skipped, decided by the use case (the API asks no service again)
    booked = at.booking.book(
        PAT,
        request(type=AppointmentType.TELEHEALTH, reminder_preferences=ReminderPreferences.of_stored({"email": True})),
    )
    room = at.telehealth.room_state(booked.appointment)
    assert (booked.can_reschedule, booked.room_status, booked.skipped) == (True, room, [])
    assert room is not None and len(booked.reminders) == 2
    # AND a read shows the room's state only when asked, a cancel answers that it can no longer be moved
    assert at.booking_queries.view(PAT, booked.appointment.id).room_status == room
    assert at.booking_queries.view(PAT, booked.appointment.id, with_room=False).room_status is None
    cancelled = at.booking.cancel(PAT, booked.appointment.id)
    assert (cancelled.appointment.status, cancelled.can_reschedule, cancelled.skipped) == (
        Status.CANCELLED,
        False,
        None,
    )


def test_a_patient_may_no_longer_move_a_visit_inside_the_change_window_and_staff_still_may(at: Clinic):
    # GIVEN a visit WHEN the clock reaches the patients' change window THEN its answer to the patient says so
    booked = at.booking.book(PAT, request()).appointment
    at.clock.current = booked.starts_at - at.booking_queries.policy.patient_change_window + timedelta(minutes=1)
    assert at.booking_queries.view(PAT, booked.id).can_reschedule is False
    assert at.booking_queries.view(ADMIN, booked.id).can_reschedule is True


# --- reminders a booking plans ------------------------------------------------------------------------------------
def test_a_video_visit_gets_the_link_reminder_and_an_office_visit_does_not(at: Clinic):
    video = at.booking.book(
        PAT,
        request(type=AppointmentType.TELEHEALTH, reminder_preferences=ReminderPreferences.of_stored({"email": True})),
    ).appointment
    office = at.booking.book(
        SAM, request("14:00", reminder_preferences=ReminderPreferences.of_stored({"email": True}))
    ).appointment
    timings = {str(r.timing): r.message for r in at.reminders.for_appointment(video.id)}
    url = str(video.telehealth_url)
    assert sorted(timings) == sorted(["24h", LINK_TIMING])
    assert url in timings[LINK_TIMING] and url not in timings["24h"]
    assert [r.timing for r in at.reminders.for_appointment(office.id)] == ["24h"]


def test_a_reminder_channel_without_a_verified_address_refuses_the_booking(at: Clinic):
    unverified = Caller("p3", Role.PATIENT, name="Una", phone="+16175550123", phone_verified=False)
    with pytest.raises(NoRecipient):
        at.booking.book(unverified, request(reminder_preferences=ReminderPreferences.of_stored({"sms": True})))
    assert "10:00" in free_times(at, "d1", DAY)
    assert at.patients.get("p3") is None


def test_a_lost_schedule_never_fails_the_booking(at: Clinic):
    # GIVEN the scheduler down WHEN a booking with a reminder commits THEN it stands; the reminder waits flagged
    at.scheduler.failing = True
    booked = at.booking.book(
        PAT, request(reminder_preferences=ReminderPreferences.of_stored({"email": True}))
    ).appointment
    (reminder,) = at.reminders.for_appointment(booked.id)
    assert (reminder.status, reminder.schedule_missing) == (ReminderStatus.PENDING, True)


def test_telehealth_is_booked_only_with_a_doctor_who_offers_it(at: Clinic):
    add_doctor(at, "d4", telehealth=False)
    with pytest.raises(TelehealthNotOffered):
        at.booking.book(PAT, request(doctor_id="d4", type=AppointmentType.TELEHEALTH))
    assert at.store.day_state("d4", DAY).booked == 0


def test_a_patient_booking_for_itself_refreshes_its_directory_record(at: Clinic):
    moved = replace(PAT, email="new@example.org")
    at.booking.book(moved, request())
    kept = at.patients.get("p1")
    assert kept == PatientProfile(
        id="p1", email="new@example.org", email_verified=True, name="Pat", source="self", devices=[]
    )
