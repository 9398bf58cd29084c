"""Telehealth under faults: a booking answers within seconds whatever the platform does, a room's meeting is
created once (claimed by a conditional update), and a cancel during creation deletes the fresh meeting."""

from __future__ import annotations

import threading
import time

import pytest

from tests.helpers import patient


class SlowPlatform:
    """A platform that accepts the call and answers only when released (or never)."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.created: list[str] = []
        self.deleted: list[dict] = []
        self.finished = threading.Event()

    def create(self, appointment, consent=False):
        self.created.append(appointment.id)
        self.release.wait(30)
        self.finished.set()
        return {"meetingId": f"m-{appointment.id}"}

    def update(self, meeting, appointment, consent=False):
        return meeting

    def delete(self, meeting):
        self.deleted.append(meeting)

    def join(self, meeting, role, subject):
        return {}


@pytest.fixture
def slow(wired):
    platform = SlowPlatform()
    wired.telehealth.platforms["custom"] = platform
    wired.telehealth.request_wait = 0.3
    yield platform
    platform.release.set()


def room_of(wired, appointment_id):
    return wired.telehealth._rooms.get(wired.store.get(appointment_id).room_id)


def wait_for(event: threading.Event) -> None:
    assert event.wait(10)
    time.sleep(0.2)  # the claimer's own write after the platform answered


def test_a_platform_that_never_answers_does_not_hold_the_booking(api, wired, slow, lambdas_tick):
    # GIVEN a platform that accepts the connection and does not answer
    doc = api.doctor_with_hours()
    # WHEN a telehealth visit is booked
    started = time.monotonic()
    made = api.try_book(doc, type="telehealth")
    took = time.monotonic() - started
    # THEN it answers 201 at once with the room pending
    assert made.status_code == 201 and took < 5, (made.data, took)
    assert made.data.get("telehealthRoomStatus", "pending") == "pending"
    # WHEN the sweep runs while the booking's own attempt still waits on the platform
    lambdas_tick()
    # THEN it does not create a second meeting; once the platform answers, the room is ready with one meeting
    slow.release.set()
    wait_for(slow.finished)
    assert slow.created == [made.data["id"]]
    assert room_of(wired, made.data["id"]).status.value == "waiting"


def test_a_cancel_during_meeting_creation_deletes_the_meeting(api, wired, slow):
    # GIVEN a booking whose meeting is still being created
    doc = api.doctor_with_hours()
    made = api.try_book(doc, type="telehealth")
    assert made.status_code == 201
    # WHEN the patient cancels, then the platform answers
    assert api.call("DELETE", f"/api/appointments/{made.data['id']}", patient()).status_code == 200
    slow.release.set()
    wait_for(slow.finished)
    # THEN the fresh meeting is deleted and the room stays ended
    assert slow.deleted == [{"meetingId": f"m-{made.data['id']}"}]
    assert room_of(wired, made.data["id"]).status.value == "ended"


@pytest.fixture
def lambdas_tick(wired):
    from chalice.test import Client

    from app import app

    with Client(app) as test_client:

        def tick():
            event = test_client.events.generate_cw_event("aws.events", "Scheduled Event", {}, [], "us-east-1")
            return test_client.lambda_.invoke("reminder_sweep", event).payload

        yield tick


class CancellingPlatform(SlowPlatform):
    """Creates the meeting while, meanwhile, the visit is cancelled (the cancel runs inside the call)."""

    def __init__(self, cancel) -> None:
        super().__init__()
        self.cancel = cancel

    def create(self, appointment, consent=False):
        self.created.append(appointment.id)
        self.cancel(appointment.id)
        return {"meetingId": f"m-{appointment.id}"}


def test_a_cancel_that_lands_while_the_platform_creates_the_meeting_deletes_it(api, wired):
    # GIVEN a platform during whose create call the patient cancels the visit
    platform = CancellingPlatform(lambda a_id: api.call("DELETE", f"/api/appointments/{a_id}", patient()))
    wired.telehealth.platforms["custom"] = platform
    doc = api.doctor_with_hours()
    # WHEN the visit is booked
    made = api.try_book(doc, type="telehealth")
    assert made.status_code == 201
    # THEN the room is ended and the meeting created meanwhile is deleted, not left live
    assert room_of(wired, made.data["id"]).status.value == "ended"
    assert platform.deleted == [{"meetingId": f"m-{made.data['id']}"}]
