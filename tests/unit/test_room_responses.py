"""Telehealth and realtime answers are domain objects (a room link, a room as its visitor sees it, a device check,
an issued ticket); their response models build the contract's JSON from them, as every other response is built."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from chalicelib.api import schemas as s
from chalicelib.domain.realtime import IssuedTicket
from chalicelib.domain.telehealth import DeviceCheck, Room, RoomLink, RoomStatus, RoomView, WaitingPatient

AT = datetime(2027, 3, 1, 14, 30, tzinfo=UTC)
ROOM = Room("r1", "a1", "d1", "p1", "zoom", RoomStatus.WAITING, AT, {"id": "m1"})


def test_a_room_link_is_answered_with_its_window_as_utc_instants():
    # GIVEN a signed link whose window is in another zone's offset
    paris = datetime(2027, 3, 1, 16, 15, tzinfo=ZoneInfo("Europe/Paris"))
    link = RoomLink("r1", "https://clinic.example/rooms/r1?token=t.s", "t.s", "zoom", paris, AT + timedelta(hours=1))
    # WHEN it is answered THEN the JSON carries the contract's keys, instants in UTC with a Z
    assert s.RoomLinkOut.from_domain(link).to_json() == {
        "roomId": "r1",
        "url": "https://clinic.example/rooms/r1?token=t.s",
        "token": "t.s",
        "platform": "zoom",
        "validFrom": "2027-03-01T15:15:00Z",
        "expiresAt": "2027-03-01T15:30:00Z",
    }


@pytest.mark.parametrize(
    ("status", "shown", "ready"),
    [
        (RoomStatus.PENDING, "waiting", False),
        (RoomStatus.WAITING, "waiting", True),
        (RoomStatus.ADMITTED, "admitted", True),
        (RoomStatus.IN_PROGRESS, "in-progress", True),
        (RoomStatus.ENDED, "ended", True),
    ],
)
def test_a_room_shows_its_status_and_a_pending_room_shows_as_waiting_not_ready(status, shown, ready):
    # GIVEN a room in each status WHEN a visitor's view of it is answered
    body = s.RoomOut.from_domain(RoomView(Room("r1", "a1", "d1", "p1", "custom", status, AT))).to_json()
    # THEN the visitor sees the status (a pending room as waiting) and whether the platform is ready;
    # no join details and no waiting list
    assert body == {
        "roomId": "r1",
        "appointmentId": "a1",
        "platform": "custom",
        "status": shown,
        "platformReady": ready,
    }


def test_the_doctors_view_lists_the_waiting_patient_and_carries_the_join_details():
    # GIVEN the doctor's view of a room a patient waits in
    view = RoomView(ROOM, {"url": "https://zoom.example/s/1"}, (WaitingPatient("p1", AT),))
    # WHEN it is answered THEN the join details and the waiting patient (since: a UTC instant) are in it
    assert s.RoomOut.from_domain(view).to_json() == {
        "roomId": "r1",
        "appointmentId": "a1",
        "platform": "zoom",
        "status": "waiting",
        "platformReady": True,
        "join": {"url": "https://zoom.example/s/1"},
        "waiting": [{"patientId": "p1", "since": "2027-03-01T14:30:00Z"}],
    }


def test_the_doctors_view_with_nobody_waiting_has_an_empty_waiting_list():
    body = s.RoomOut.from_domain(RoomView(ROOM, {"url": "u"}, ())).to_json()
    assert body["waiting"] == []


def test_consent_is_answered_from_the_room_that_stores_it():
    # GIVEN a room whose patient consented WHEN the consent is answered THEN only the appointment and the flag
    room = Room("r1", "a1", "d1", "p1", "zoom", RoomStatus.WAITING, AT, recording_consent=True)
    assert s.ConsentOut.from_domain(room).to_json() == {"appointmentId": "a1", "recordingConsent": True}


def test_a_device_check_passes_only_without_failures():
    # GIVEN a check with no failures and one with a failure WHEN each is answered THEN `pass` says which passed
    ready, lacking = DeviceCheck(()), DeviceCheck(("No camera was found.",))
    assert s.RequirementsOut.from_domain(ready, pass_=ready.passed).to_json() == {"pass": True, "failures": []}
    assert s.RequirementsOut.from_domain(lacking, pass_=lacking.passed).to_json() == {
        "pass": False,
        "failures": ["No camera was found."],
    }


def test_an_issued_ticket_is_answered_with_its_expiry_as_a_utc_instant_and_the_socket_url():
    ticket = IssuedTicket("abc.def", AT + timedelta(seconds=60, microseconds=500))
    body = s.TicketOut.from_domain(ticket, url="wss://ws.example/dev?ticket=abc.def").to_json()
    assert body == {
        "ticket": "abc.def",
        "expiresAt": "2027-03-01T14:31:00Z",
        "url": "wss://ws.example/dev?ticket=abc.def",
    }
