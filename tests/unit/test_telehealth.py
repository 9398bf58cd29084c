"""Room tokens and every rejection, the validity window around DST, and the requirements table (pure)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.domain import errors
from chalicelib.domain.appointments import Appointment, AppointmentType, Status
from chalicelib.domain.telehealth import (
    ClientReport,
    Room,
    RoomStatus,
    check_requirements,
    token_for,
    verify_room_token,
    window,
)
from tests.helpers import make_appointment

KEY = b"room-key"
START = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)


def appointment(**overrides) -> Appointment:
    return make_appointment(**{"type": AppointmentType.TELEHEALTH, "location": "Telehealth", **overrides})


ROOM = Room("room-1", "a1", "d1", "p1", "custom", RoomStatus.WAITING, START)


def test_token_is_valid_from_15_minutes_before_to_30_after_the_end():
    token, claims = token_for(ROOM, appointment(), "patient", "p1", KEY)
    assert (claims.valid_from, claims.expires_at) == (START - timedelta(minutes=15), START + timedelta(minutes=60))
    assert verify_room_token(token, KEY, START - timedelta(minutes=15), ROOM, appointment()).subject == "p1"
    assert verify_room_token(token, KEY, START + timedelta(minutes=59), ROOM, appointment()).role == "patient"
    with pytest.raises(errors.Unauthenticated, match="opens"):
        verify_room_token(token, KEY, START - timedelta(minutes=16), ROOM, appointment())
    with pytest.raises(errors.Unauthenticated, match="expired"):
        verify_room_token(token, KEY, START + timedelta(minutes=60), ROOM, appointment())


def test_validity_window_is_real_time_across_a_dst_change():
    # 2026-11-01 01:30 EDT (05:30Z), 60 minutes: the wall clock falls back during the visit
    start = datetime(2026, 11, 1, 5, 30, tzinfo=UTC)
    across = appointment(starts_at=start, ends_at=start + timedelta(minutes=60), date="2026-11-01", time="01:30")
    opens, closes = window(across)
    assert closes - opens == timedelta(minutes=15 + 60 + 30)


@pytest.mark.parametrize(
    ("case", "error"),
    [
        ("missing", errors.Unauthenticated),
        ("forged", errors.Unauthenticated),
        ("other-key", errors.Unauthenticated),
        ("other-room", errors.Forbidden),
        ("cancelled", errors.Forbidden),
        ("rescheduled", errors.Unauthenticated),
    ],
)
def test_every_rejection(case, error):
    token: str | None
    token, _ = token_for(ROOM, appointment(), "patient", "p1", KEY)
    now, room, appt, key = START, ROOM, appointment(), KEY
    if case == "missing":
        token = None
    elif case == "forged":
        token = token.split(".")[0] + ".c2lnbmF0dXJl"
    elif case == "other-key":
        key = b"another"
    elif case == "other-room":
        room = replace(ROOM, id="room-2")
    elif case == "cancelled":
        appt = appointment(status=Status.CANCELLED)
    elif case == "rescheduled":
        appt = appointment(starts_at=START + timedelta(hours=1), ends_at=START + timedelta(hours=1, minutes=30))
        now = START + timedelta(minutes=50)
    with pytest.raises(error):
        verify_room_token(token, key, now, room, appt)


def test_requirements_pass_or_say_what_fails_in_plain_words():
    ready = ClientReport("zoom", "Chrome", 120, True, True, 5.0)
    assert check_requirements(ready) == []
    failures = check_requirements(ClientReport("teams", "Firefox", 120, False, True, 0.5))
    assert failures[0].startswith("Firefox is not supported for this visit; please use Chrome, Edge, Safari")
    assert "No camera" in failures[1] and "0.5 Mbps" in failures[2]
    assert check_requirements(ClientReport("custom", "safari", 13, True, True, 2.0)) == [
        "Please update Safari to version 14 or newer (you have 13)."
    ]
