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
    return wired.adapters.rooms.get(wired.store.get(appointment_id).room_id)


def wait_for(event: threading.Event) -> None:
    assert event.wait(10)
    time.sleep(0.2)  # the claimer's own write after the platform answered


def test_a_platform_that_never_answers_does_not_hold_the_booking(api, wired, slow, lambdas_tick):
    # GIVEN a platform that accepts the connection and does not answer
    doc = api.doctor_with_hours()
    # WHEN a telehealth visit is booked
    made = api.try_book(doc, type="telehealth")
    # THEN it answers 201 while the platform still has not answered, with the room pending
    assert made.status_code == 201, made.data
    assert not slow.release.is_set() and not slow.finished.is_set()
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


# --- a platform that trickles its answers ------------------------------------------------------------------------
DAY = "2026-12-02"  # 10:00 New York = 15:00Z


class ZoomSecret:
    def get(self) -> dict:
        return {"accountId": "acc", "clientId": "cid", "clientSecret": "csecret", "userId": "me"}


@pytest.fixture
def zoom(wired):
    """The fake Zoom on loopback, with a client whose calls have a whole-call budget of half a second."""
    from chalicelib.adapters.video import PlatformHttp, ZoomPlatform
    from tests.fakes.video_servers import FakeVideoServer

    server = FakeVideoServer().start()
    object.__setattr__(wired.settings, "zoom_api_base", server.base)
    object.__setattr__(wired.settings, "zoom_oauth_base", server.base)
    http = PlatformHttp(sleep=lambda _: None, timeout=0.3, budget=0.5)
    wired.telehealth.platforms["zoom"] = ZoomPlatform(wired.settings, ZoomSecret(), http)
    yield server
    server.trickles.clear()
    server.stop()


def test_a_trickled_answer_ends_the_call_at_its_budget_not_at_the_last_byte(wired, zoom):
    from chalicelib.adapters.video import PlatformHttp, ZoomPlatform
    from chalicelib.domain.telehealth import TransientPlatformError
    from tests.helpers import make_appointment

    # GIVEN a platform that answers a byte every 50 ms (each read well within the 0.3 s socket timeout; the
    # whole answer about 10 s), and a client with a budget of half a second for the whole call
    zoom.trickle_next(0.05, times=5)
    platform = ZoomPlatform(wired.settings, ZoomSecret(), PlatformHttp(sleep=lambda _: None, timeout=0.3, budget=0.5))
    # WHEN a meeting is created
    started = time.monotonic()
    with pytest.raises(TransientPlatformError) as failed:
        platform.create(make_appointment())
    # THEN the call gives up at its budget (a retry can be made), not once the last byte has trickled in
    print(f"gave up after {time.monotonic() - started:.2f} s: {failed.value}")
    assert "no whole answer within 0.5 s" in str(failed.value)
    assert len(zoom.requests) == 1  # no second attempt past the budget


def test_a_trickled_error_body_is_read_within_the_budget_too(wired, zoom):
    from chalicelib.adapters.video import PlatformHttp, TeamsPlatform
    from chalicelib.domain.telehealth import TransientPlatformError
    from tests.helpers import make_appointment

    # GIVEN a platform whose token endpoint answers 500 at once, with a body that then comes a byte every 0.2 s
    zoom.fail_next(500, message="a long explanation of the failure")
    zoom.trickle_next(0.2, body_only=True)
    secret = {"tenantId": "t", "clientId": "cid", "clientSecret": "csecret", "organizerUserId": "u"}
    object.__setattr__(wired.settings, "ms_login_base", zoom.base)
    platform = TeamsPlatform(
        wired.settings, type("S", (), {"get": lambda self: secret})(), PlatformHttp(sleep=lambda _: None, budget=0.5)
    )
    # WHEN a meeting is created THEN the call gives up at its budget, the error's body included
    with pytest.raises(TransientPlatformError) as failed:
        platform.create(make_appointment())
    assert "no whole answer within 0.5 s" in str(failed.value) and len(zoom.requests) == 1


def test_a_trickling_platform_does_not_hold_a_reschedule_or_cancel_and_the_sweep_finishes(
    api, wired, zoom, lambdas_tick
):
    # GIVEN a Zoom visit whose meeting exists, and a platform that then trickles every answer
    doc = api.doctor_with_hours(telehealthPlatform="zoom")
    visit = api.book(doc, type="telehealth")
    (meeting_id,) = zoom.meetings
    zoom.trickle_next(0.05, times=10)
    # WHEN the visit is rescheduled
    moved = api.call("PUT", f"/api/appointments/{visit['id']}/reschedule", patient(), {"date": DAY, "time": "11:00"})
    # THEN the answer is the committed change, and the room is marked for the sweep (the platform did not answer)
    assert (moved.status_code, moved.data["time"]) == (200, "11:00")
    assert room_of(wired, visit["id"]).meeting_sync == "due"
    # WHEN the platform answers again and the sweep runs THEN the meeting is at the new time and the mark is gone
    zoom.trickles.clear()
    assert lambdas_tick()["meetingsSynced"] == 1
    assert zoom.meetings[meeting_id]["start_time"] == "2026-12-02T16:00:00Z"
    assert room_of(wired, visit["id"]).meeting_sync is None
    # WHEN the platform trickles again and the visit is cancelled
    zoom.trickle_next(0.05, times=10)
    cancelled = api.call("DELETE", f"/api/appointments/{visit['id']}", patient())
    # THEN the cancel answers, the room is ended and marked; the sweep deletes the meeting once the platform answers
    assert (cancelled.status_code, cancelled.data["status"]) == (200, "cancelled")
    assert (room_of(wired, visit["id"]).status.value, room_of(wired, visit["id"]).meeting_sync) == ("ended", "due")
    zoom.trickles.clear()
    assert lambdas_tick()["meetingsSynced"] == 1
    assert zoom.meetings == {} and room_of(wired, visit["id"]).meeting_sync is None
    assert lambdas_tick()["meetingsSynced"] == 0  # nothing left to do


class StuckUpdatePlatform(SlowPlatform):
    """Moving a meeting waits until released (a platform step slower than the request may wait)."""

    def __init__(self) -> None:
        super().__init__()
        self.moved: list[str] = []

    def create(self, appointment, consent=False):
        return {"meetingId": f"m-{appointment.id}"}

    def update(self, meeting, appointment, consent=False):
        self.release.wait(30)
        self.moved.append(appointment.time)
        self.finished.set()
        return {**meeting, "at": appointment.time}


def test_a_room_step_slower_than_the_request_waits_finishes_on_its_own(api, wired):
    # GIVEN a platform whose meeting moves only when released, and a request that waits 0.3 s for it
    platform = StuckUpdatePlatform()
    wired.telehealth.platforms["custom"] = platform
    wired.telehealth.request_wait = 0.3
    visit = api.book(api.doctor_with_hours(), type="telehealth")
    # WHEN the visit is rescheduled
    moved = api.call("PUT", f"/api/appointments/{visit['id']}/reschedule", patient(), {"date": DAY, "time": "11:00"})
    # THEN it answers with the committed change while the meeting is still being moved, the room marked due
    assert moved.status_code == 200 and platform.moved == []
    assert room_of(wired, visit["id"]).meeting_sync == "due"
    # WHEN the platform answers THEN the attempt finishes by itself: the meeting moved, the mark removed
    platform.release.set()
    wait_for(platform.finished)
    assert platform.moved == ["11:00"]
    room = room_of(wired, visit["id"])
    assert (room.meeting.get("at"), room.meeting_sync) == ("11:00", None)
