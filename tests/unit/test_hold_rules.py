"""Slot hold rules (domain/holds.py) and the hold use cases on the in-memory fakes (services/booking/)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, time, timedelta

import pytest

from chalicelib.domain.appointments import AppointmentType, Status
from chalicelib.domain.errors import InvalidInput, InvalidState, NotFound, SlotUnavailable
from chalicelib.domain.holds import (
    Hold,
    check_bookable_hold,
    check_matches,
    end_of_hold,
    hold_duration,
    may_access_hold,
)
from chalicelib.domain.identity import Caller, Role
from chalicelib.domain.realtime import SlotChange, doctor_days_of
from chalicelib.services.booking import HoldBooking, HoldRequest, Policy
from tests.fakes.clinic import NOW as CLINIC_NOW
from tests.fakes.clinic import add_doctor, clinic, free_times
from tests.helpers import NOW, make_appointment

HELD = Hold(replace(make_appointment(id="h1", status=Status.HELD), version=1), NOW + timedelta(minutes=5))
DAY = date(2027, 3, 2)  # the Tuesday after the fake clinic's clock
P1, P2 = Caller("p1", Role.PATIENT), Caller("p2", Role.PATIENT)


# --- rules -------------------------------------------------------------------------------------------------------
def test_a_hold_lapses_at_its_expiry_exactly():
    assert not HELD.expired(HELD.expires_at - timedelta(microseconds=1))
    assert HELD.expired(HELD.expires_at)
    check_bookable_hold(HELD, HELD.expires_at - timedelta(seconds=1))
    with pytest.raises(InvalidState) as lapsed:
        check_bookable_hold(HELD, HELD.expires_at)
    assert (lapsed.value.details or {})["reason"] == "hold_expired"


def test_a_booked_hold_cannot_be_booked_again():
    with pytest.raises(InvalidState) as booked:
        check_bookable_hold(replace(HELD, appointment=replace(HELD.appointment, status=Status.SCHEDULED)), NOW)
    assert (booked.value.details or {})["reason"] == "hold_booked"


def test_a_clinics_hold_length_is_one_to_sixty_minutes():
    assert hold_duration(5) == timedelta(minutes=5)
    assert hold_duration(60) == timedelta(minutes=60)
    for wrong in (0, 61, -5):
        with pytest.raises(ValueError):
            hold_duration(wrong)


def test_only_its_patient_its_doctor_and_admins_see_a_hold():
    assert may_access_hold(P1, HELD) and may_access_hold(Caller("a", Role.ADMIN), HELD)
    assert may_access_hold(Caller("u", Role.DOCTOR, doctor_id="d1"), HELD)
    assert not may_access_hold(P2, HELD)
    assert not may_access_hold(Caller("u", Role.DOCTOR, doctor_id="d2"), HELD)


def test_a_booking_of_a_hold_may_repeat_its_fields_and_not_change_them():
    check_matches(
        HELD, {"doctorId": "d1", "time": "10:00", "date": "2026-12-02", "type": "in-person", "duration": None}
    )
    check_matches(HELD, {"startsAt": HELD.appointment.starts_at})
    with pytest.raises(InvalidInput) as wrong:
        check_matches(HELD, {"time": "10:30", "duration": 60, "patientId": "p1"})
    assert (wrong.value.details or {})["fields"] == {
        "time": "does not match the hold",
        "duration": "does not match the hold",
    }


def test_the_end_of_a_hold_is_audited_as_its_last_version():
    entry = end_of_hold("e1", HELD, None, "lapsed", NOW)
    assert (entry.action, entry.actor_role, entry.seq) == ("lapsed", "system", 2)
    assert (entry.status_before, entry.status_after) == ("held", "cancelled")
    by_patient = end_of_hold("e2", HELD, P1, "released", NOW)
    assert (by_patient.actor_id, by_patient.actor_role) == ("p1", "patient")


def test_a_hold_made_or_ended_announces_its_day_and_its_booking_does_not():
    held = {"doctor_id": "d1", "date": "2026-12-02", "time": "10:00", "duration": 30, "status": "held"}
    assert doctor_days_of(SlotChange("1", None, held)) == {("d1", "2026-12-02")}
    assert doctor_days_of(SlotChange("2", held, None)) == {("d1", "2026-12-02")}
    assert doctor_days_of(SlotChange("3", held, {**held, "status": "scheduled"})) == set()


# --- use cases on the fakes --------------------------------------------------------------------------------------
def holding(at: time = time(10), **fields) -> HoldRequest:
    return replace(HoldRequest("d1", DAY, at, AppointmentType.IN_PERSON), **fields)


def test_a_hold_is_checked_as_a_booking_is():
    c = clinic()
    add_doctor(c)
    # WHEN a patient holds a time the day does not offer, or for someone else THEN refused as a booking is
    with pytest.raises(Exception) as outside:
        c.booking.hold(P1, holding(time(7)))
    assert type(outside.value).__name__ == "OutsideWorkingHours"
    with pytest.raises(Exception) as other:
        c.booking.hold(P1, holding(patient_id="p2"))
    assert type(other.value).__name__ == "Forbidden"


def test_a_lapsed_hold_is_released_by_the_next_read_of_its_day_and_never_shown_taken():
    c = clinic(Policy(hold_duration=timedelta(minutes=2)))
    add_doctor(c)
    held = c.booking.hold(P1, holding())
    assert held.expires_at == CLINIC_NOW + timedelta(minutes=2)
    assert "10:00" not in free_times(c, "d1", DAY)
    # WHEN the clock reaches its expiry THEN the day's availability releases it and offers the time
    c.clock.current = held.expires_at
    assert "10:00" in free_times(c, "d1", DAY)
    assert c.store.get(held.id) is None
    assert [e.action for e in c.store.audit_trail(held.id)] == ["held", "lapsed"]


def test_a_booking_refused_by_a_lapsed_hold_releases_it_and_books():
    c = clinic()
    add_doctor(c)
    held = c.booking.hold(P1, holding())
    # WHEN, after the expiry and before any sweep or read of the day, another patient books the time
    c.clock.current = held.expires_at + timedelta(seconds=1)
    booked = c.booking.book(P2, c_request()).appointment
    # THEN the lapsed hold was released and the booking made
    assert booked.status is Status.SCHEDULED and c.store.get(held.id) is None
    # AND a live hold still refuses
    c.booking.hold(P1, holding(time(11)))
    with pytest.raises(SlotUnavailable):
        c.booking.book(P2, replace(c_request(), time=time(11), date=DAY))


def c_request():
    from chalicelib.services.booking import BookingRequest

    return BookingRequest("d1", DAY, time(10), AppointmentType.IN_PERSON, "check-up")


def test_booking_a_hold_twice_answers_the_visit_once_made():
    c = clinic()
    add_doctor(c)
    held = c.booking.hold(P1, holding())
    first = c.booking.book_hold(P1, HoldBooking(held.id, reason="check-up")).appointment
    again = c.booking.book_hold(P1, HoldBooking(held.id, reason="check-up")).appointment
    assert again == first and first.version == 2
    # AND someone else asking for it, or for an id that was never a hold, gets 404
    with pytest.raises(NotFound):
        c.booking.book_hold(P2, HoldBooking(held.id))
    with pytest.raises(NotFound):
        c.booking.book_hold(P1, HoldBooking("never-held"))


# --- a waitlist "move me earlier" on the fakes (the store is the HoldMover, as the composition root wires it) --------
PAT = Caller("p1", Role.PATIENT, name="Pat", email="pat@example.org", email_verified=True)


def test_a_move_books_the_hold_like_the_old_visit_and_frees_the_old_time_and_reminders():
    from chalicelib.domain.reminders import ReminderPreferences, ReminderStatus
    from chalicelib.services.booking import BookingRequest

    # GIVEN p1's visit on the Wednesday after DAY at 15:00, for its knee, with a 24-hour e-mail reminder
    c = clinic()
    add_doctor(c)
    wednesday = DAY + timedelta(days=1)
    wanted = ReminderPreferences.of_stored({"email": True, "timings": ["24h"]})
    asked = BookingRequest("d1", wednesday, time(15), AppointmentType.IN_PERSON, "knee", reminder_preferences=wanted)
    old = c.booking.book(PAT, asked).appointment
    (old_reminder,) = c.reminders.for_appointment(old.id)
    # AND a hold of Tuesday 10:00 for p1
    held = c.booking.hold(PAT, holding())
    # WHEN p1 moves to the held time
    view, cancelled = c.booking.book_hold_moving(PAT, held.id, old.id, c.store)
    # THEN the hold is its visit, with the old visit's reason, and the old visit is cancelled, in the store too
    new = view.appointment
    assert (new.id, new.status, new.reason, new.version) == (held.id, Status.SCHEDULED, "knee", 2)
    assert (cancelled.status, cancelled.version) == (Status.CANCELLED, 2)
    assert (c.store.get(held.id), c.store.get(old.id)) == (new, cancelled)
    assert c.store.get_hold(held.id) is None
    assert [e.action for e in c.store.audit_trail(old.id)] == ["booked", "cancelled"]
    # AND Wednesday offers 15:00 again while Tuesday's 10:00 stays taken
    assert "15:00" in free_times(c, "d1", wednesday)
    assert "10:00" not in free_times(c, "d1", DAY)
    # AND the new visit has the old one's reminder, scheduled for its time; the old one's is cancelled
    (reminder,) = c.reminders.for_appointment(new.id)
    assert (reminder.status, reminder.scheduled_time) == (ReminderStatus.PENDING, new.starts_at - timedelta(hours=24))
    assert c.scheduler.schedules == {reminder.id: reminder.scheduled_time}
    followed = c.reminders.get(old_reminder.id)
    assert followed is not None and followed.status is ReminderStatus.CANCELLED


def test_a_visit_with_another_doctor_is_not_moved_to_a_hold():
    from chalicelib.services.booking import BookingRequest

    # GIVEN p1's visit with d2 on the Wednesday after DAY and a hold of Tuesday 10:00 with d1 for p1
    c = clinic()
    add_doctor(c)
    add_doctor(c, "d2")
    wednesday = DAY + timedelta(days=1)
    booked = c.booking.book(PAT, BookingRequest("d2", wednesday, time(15), AppointmentType.IN_PERSON, "knee"))
    old = c.store.get(booked.appointment.id)
    held = c.booking.hold(PAT, holding())
    assert old is not None
    # WHEN the visit is to be moved to the held time THEN it is refused: a move keeps the doctor
    with pytest.raises(InvalidState):
        c.booking.book_hold_moving(PAT, held.id, old.id, c.store)
    # AND neither the visit nor the hold changed
    assert c.store.get(old.id) == old
    assert c.store.get_hold(held.id) == held
