"""Status transitions, who may set what, and the patient change window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.domain import errors
from chalicelib.domain.appointments import (
    Appointment,
    Status,
    can_change,
    check_change_allowed,
    check_status_change,
    check_transition,
    may_access,
)
from chalicelib.domain.identity import Caller, Role
from tests.helpers import make_appointment

START = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)
WINDOW = timedelta(hours=2)
PATIENT = Caller("p1", Role.PATIENT)
OTHER_PATIENT = Caller("p2", Role.PATIENT)
DOCTOR = Caller("u-d1", Role.DOCTOR, doctor_id="d1")
OTHER_DOCTOR = Caller("u-d2", Role.DOCTOR, doctor_id="d2")
ADMIN = Caller("a1", Role.ADMIN)


def appointment(status: Status = Status.SCHEDULED) -> Appointment:
    return make_appointment(status=status)


@pytest.mark.parametrize("terminal", [Status.CANCELLED, Status.COMPLETED, Status.NO_SHOW])
@pytest.mark.parametrize("target", list(Status))
def test_terminal_statuses_allow_nothing(terminal, target):
    with pytest.raises(errors.InvalidState):
        check_transition(terminal, target)


def test_active_statuses_move_as_documented():
    check_transition(Status.SCHEDULED, Status.CONFIRMED)
    check_transition(Status.RESCHEDULED, Status.CONFIRMED)
    check_transition(Status.CONFIRMED, Status.COMPLETED)
    with pytest.raises(errors.InvalidState):
        check_transition(Status.CONFIRMED, Status.CONFIRMED)
    with pytest.raises(errors.InvalidState):
        check_transition(Status.CONFIRMED, Status.SCHEDULED)


def test_patient_may_change_until_the_window_staff_always():
    a = appointment()
    assert can_change(PATIENT, a, START - WINDOW, WINDOW)
    assert not can_change(PATIENT, a, START - WINDOW + timedelta(minutes=1), WINDOW)
    assert can_change(DOCTOR, a, START + timedelta(minutes=5), WINDOW)
    assert can_change(ADMIN, a, START, WINDOW)
    with pytest.raises(errors.TooLateToChange):
        check_change_allowed(PATIENT, a, START - timedelta(hours=1), WINDOW)
    with pytest.raises(errors.InvalidState):
        check_change_allowed(ADMIN, appointment(Status.CANCELLED), START - timedelta(days=1), WINDOW)


def test_who_may_set_which_status():
    a = appointment()
    after_start = START + timedelta(minutes=1)
    check_status_change(PATIENT, a, Status.CONFIRMED, START - timedelta(days=1))
    with pytest.raises(errors.Forbidden):
        check_status_change(PATIENT, a, Status.COMPLETED, after_start)
    check_status_change(DOCTOR, a, Status.COMPLETED, after_start)
    check_status_change(ADMIN, a, Status.NO_SHOW, after_start)
    with pytest.raises(errors.NotStartedYet):
        check_status_change(DOCTOR, a, Status.NO_SHOW, START - timedelta(minutes=1))
    with pytest.raises(errors.InvalidState):
        check_status_change(ADMIN, a, Status.CANCELLED, after_start)  # cancel has its own route


def test_access_is_own_patient_own_doctor_or_admin():
    a = appointment()
    assert may_access(PATIENT, a) and may_access(DOCTOR, a) and may_access(ADMIN, a)
    assert not may_access(OTHER_PATIENT, a) and not may_access(OTHER_DOCTOR, a)
