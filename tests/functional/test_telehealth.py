"""Telehealth rooms end to end (moto for DynamoDB, Stubber for Chime, a fake Zoom on loopback): the room is
created with the booking, follows reschedule and cancel, survives a platform outage; patient waits, doctor
admits, patient joins; foreign and stale links are refused."""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import ANY, Stubber

from chalicelib.adapters.video import ChimePlatform, PlatformHttp, ZoomPlatform
from tests.fakes.video_servers import FakeVideoServer
from tests.helpers import admin, doctor, patient

DAY = "2026-12-02"  # 10:00 New York = 15:00Z


class Secret:
    def get(self) -> dict:
        return {"accountId": "acc", "clientId": "cid", "clientSecret": "csecret", "userId": "me"}


@pytest.fixture
def chime(wired):
    client = boto3.client("chime-sdk-meetings", region_name="us-east-1")
    wired.telehealth.platforms["custom"] = ChimePlatform(wired.settings, client)
    with Stubber(client) as stub:
        yield stub


@pytest.fixture
def zoom_server(wired):
    server = FakeVideoServer().start()
    settings = wired.settings
    object.__setattr__(settings, "zoom_api_base", server.base)
    object.__setattr__(settings, "zoom_oauth_base", server.base)
    wired.telehealth.platforms["zoom"] = ZoomPlatform(settings, Secret(), PlatformHttp(sleep=lambda _: None))
    yield server
    server.stop()


def link(api, appointment_id, who):
    made = api.call("POST", f"/api/telehealth/generate-url/{appointment_id}", who)
    assert made.status_code == 201, made.data
    return made.data


def test_patient_waits_doctor_admits_patient_joins(api, wired, clock, chime):
    doc = api.doctor_with_hours()
    a = api.book(doc, type="telehealth")
    assert a["telehealthUrl"] == f"https://app.clinic.example/rooms/{a['roomId']}"
    mine = link(api, a["id"], patient())
    assert (mine["validFrom"], mine["expiresAt"]) == ("2026-12-02T14:45:00Z", "2026-12-02T16:00:00Z")
    assert len(a["roomId"]) == 32  # 128 random bits, hex
    room = f"/api/telehealth/room/{a['roomId']}"
    early = api.call("GET", f"{room}?token={mine['token']}", patient())
    assert (early.status_code, early.data["error"]["code"]) == (401, "UNAUTHENTICATED")
    clock.current = clock.current.replace(day=2, hour=14, minute=50)
    waiting = api.call("GET", f"{room}?token={mine['token']}", patient())
    assert waiting.status_code == 200 and waiting.data["status"] == "waiting" and "join" not in waiting.data
    theirs = link(api, a["id"], doctor(doc["id"]))
    chime.add_response(
        "create_meeting",
        {"Meeting": {"MeetingId": "m-1", "MediaPlacement": {}}},
        {"ClientRequestToken": ANY, "MediaRegion": "us-east-1", "ExternalMeetingId": a["id"]},
    )
    chime.add_response(
        "create_attendee",
        {"Attendee": {"AttendeeId": "at-d", "JoinToken": "jt-d"}},
        {"MeetingId": "m-1", "ExternalUserId": f"doctor-user-{doc['id']}"},
    )
    host = api.call("GET", f"{room}?token={theirs['token']}", doctor(doc["id"]))
    assert host.data["join"]["joinToken"] == "jt-d"
    assert [w["patientId"] for w in host.data["waiting"]] == ["patient-1"]
    # only the appointment's doctor admits: to another doctor the room is as unknown as one that does not exist
    assert api.call("POST", f"{room}/admit", doctor("someone-else")).status_code == 404
    assert api.call("POST", f"{room}/admit", patient()).status_code == 403
    admitted = api.call("POST", f"{room}/admit", doctor(doc["id"]))
    assert admitted.status_code == 200 and admitted.data["status"] == "admitted"
    chime.add_response(
        "create_attendee",
        {"Attendee": {"AttendeeId": "at-p", "JoinToken": "jt-p"}},
        {"MeetingId": "m-1", "ExternalUserId": "patient-patient-1"},
    )
    joined = api.call("GET", f"{room}?token={mine['token']}", patient())
    assert joined.data["status"] == "in-progress" and joined.data["join"]["joinToken"] == "jt-p"
    chime.add_response("delete_meeting", {}, {"MeetingId": "m-1"})
    ended = api.call("POST", f"{room}/end", doctor(doc["id"]))
    assert ended.data["status"] == "ended"
    chime.assert_no_pending_responses()
    actions = [
        e["action"] for e in api.call("GET", f"/api/admin/appointments/{a['id']}/audit", admin()).data["entries"]
    ]
    for action in ("patient-waiting", "doctor-joined", "patient-admitted", "patient-joined", "room-ended"):
        assert action in actions


def test_foreign_forged_stale_and_cancelled_links_are_refused(api, wired, clock):
    doc = api.doctor_with_hours()
    a = api.book(doc, type="telehealth")
    mine = link(api, a["id"], patient())
    room = f"/api/telehealth/room/{a['roomId']}"
    clock.current = clock.current.replace(day=2, hour=14, minute=50)
    assert api.call("POST", f"/api/telehealth/generate-url/{a['id']}", patient("intruder")).status_code == 404
    stolen = api.call("GET", f"{room}?token={mine['token']}", patient("intruder"))
    assert stolen.status_code == 403
    assert api.call("GET", room, patient()).status_code == 401
    assert api.call("GET", f"{room}?token={mine['token'][:-3]}abc", patient()).status_code == 401
    # staff: a second visit that day
    other = api.book(doc, admin(), type="telehealth", time="11:00", patientId="patient-1")
    assert (
        api.call("GET", f"/api/telehealth/room/{other['roomId']}?token={mine['token']}", patient()).status_code == 403
    )
    # a reschedule gives a new valid link; the old one stops working
    clock.current = clock.current.replace(day=1, hour=8)
    api.call("PUT", f"/api/appointments/{a['id']}/reschedule", patient(), {"date": "2026-12-03", "time": "10:00"})
    fresh = link(api, a["id"], patient())
    clock.current = clock.current.replace(day=3, hour=14, minute=50)
    assert api.call("GET", f"{room}?token={mine['token']}", patient()).status_code == 401
    assert api.call("GET", f"{room}?token={fresh['token']}", patient()).status_code == 200
    api.call("DELETE", f"/api/appointments/{a['id']}", admin())
    assert api.call("GET", f"{room}?token={fresh['token']}", patient()).status_code == 403
    assert api.call("POST", f"/api/telehealth/generate-url/{a['id']}", patient()).status_code == 409


def test_zoom_room_follows_booking_reschedule_cancel_and_survives_an_outage(api, wired, clock, zoom_server, lambdas):
    doc = api.doctor_with_hours(telehealthPlatform="zoom")
    a = api.book(doc, type="telehealth")
    assert len(zoom_server.meetings) == 1
    (meeting_id,) = zoom_server.meetings
    api.call("PUT", f"/api/appointments/{a['id']}/reschedule", patient(), {"date": DAY, "time": "11:00"})
    assert zoom_server.meetings[meeting_id]["start_time"] == "2026-12-02T16:00:00Z"
    api.call("DELETE", f"/api/appointments/{a['id']}", patient())
    assert zoom_server.meetings == {}
    # the platform is down at booking: the booking stands, the room is pending, the sweep creates it later
    zoom_server.fail_next(503, times=3)
    b = api.book(doc, patient("p2"), type="telehealth", time="14:00")
    assert b["telehealthRoomStatus"] == "pending"
    clock.current = clock.current.replace(day=2, hour=18, minute=50)
    pending = api.call(
        "GET", f"/api/telehealth/room/{b['roomId']}?token={link(api, b['id'], patient('p2'))['token']}", patient("p2")
    )
    assert pending.data.get("platformReady") is False, pending.data
    report = lambdas.lambda_.invoke(
        "reminder_sweep", lambdas.events.generate_cw_event("aws.events", "Scheduled Event", {}, [], "us-east-1")
    ).payload
    assert report["roomsReady"] == 1 and len(zoom_server.meetings) == 1
    assert api.call("GET", f"/api/appointments/{b['id']}", patient("p2")).data["telehealthRoomStatus"] == "ready"


def test_consent_to_recording_is_the_patients_and_audited(api, wired):
    doc = api.doctor_with_hours()
    a = api.book(doc, type="telehealth")
    assert (
        api.call("PUT", f"/api/telehealth/consent/{a['id']}", doctor(doc["id"]), {"recording": True}).status_code == 403
    )
    given = api.call("PUT", f"/api/telehealth/consent/{a['id']}", patient(), {"recording": True})
    assert given.status_code == 200 and given.data == {"appointmentId": a["id"], "recordingConsent": True}
    actions = [
        e["action"] for e in api.call("GET", f"/api/admin/appointments/{a['id']}/audit", admin()).data["entries"]
    ]
    assert "recording-consent-given" in actions


def test_telehealth_only_with_a_telehealth_doctor_and_the_link_reminder(api, wired):
    plain = api.doctor_with_hours(telehealth=False, telehealthPlatform=None)
    refused = api.try_book(plain, type="telehealth")
    assert (refused.status_code, refused.data["error"]["code"]) == (422, "TELEHEALTH_NOT_OFFERED")
    a = api.book(api.doctor_with_hours(), type="telehealth", reminderPreferences={"email": True, "timing": "24h"})
    reminders = api.call("GET", f"/api/reminders/appointment/{a['id']}", patient()).data["reminders"]
    link_reminder = next(r for r in reminders if r["timing"] == "10m")
    assert link_reminder["scheduledTime"] == "2026-12-02T14:50:00Z"
    assert a["telehealthUrl"] in link_reminder["message"]


def test_requirements_check(api):
    ok = api.call(
        "POST",
        "/api/telehealth/requirements-check",
        patient(),
        {
            "platform": "custom",
            "browser": "Chrome",
            "browserVersion": 120,
            "camera": True,
            "microphone": True,
            "bandwidthMbps": 10,
        },
    )
    assert ok.data == {"pass": True, "failures": []}
    bad = api.call(
        "POST",
        "/api/telehealth/requirements-check",
        patient(),
        {
            "platform": "zoom",
            "browser": "Chrome",
            "browserVersion": 80,
            "camera": True,
            "microphone": False,
            "bandwidthMbps": 0.4,
        },
    )
    assert bad.data["pass"] is False and len(bad.data["failures"]) == 3


def test_missing_platform_credentials_never_fail_a_booking(api, wired):
    class Unconfigured:
        def create(self, appointment, consent=False):
            raise RuntimeError("ResourceNotFoundException: secret clinic-dev/zoom not found")

    wired.telehealth.platforms["zoom"] = Unconfigured()
    doc = api.doctor_with_hours(telehealthPlatform="zoom")
    made = api.book(doc, type="telehealth")
    assert made["telehealthRoomStatus"] == "pending"
    assert api.call("GET", f"/api/appointments/{made['id']}", patient()).status_code == 200


def test_admins_observe_without_host_details(api, wired, clock, zoom_server):
    # GIVEN a Zoom visit, its time come
    doc = api.doctor_with_hours(telehealthPlatform="zoom")
    a = api.book(doc, type="telehealth")
    clock.current = clock.current.replace(day=2, hour=14, minute=50)
    room = f"/api/telehealth/room/{a['roomId']}"
    host = api.call("GET", f"{room}?token={link(api, a['id'], doctor(doc['id']))['token']}", doctor(doc["id"])).data
    # WHEN an admin opens the room with its own link
    seen = api.call("GET", f"{room}?token={link(api, a['id'], admin())['token']}", admin())
    # THEN it gets an attendee's way in, not the host's, and no waiting room to run
    assert seen.status_code == 200
    assert host["join"]["url"].startswith("https://zoom.example/s/")  # the host's start link
    assert seen.data["join"]["url"].startswith("https://zoom.example/j/")  # an attendee's
    assert "waiting" not in seen.data
    # and it cannot admit
    assert api.call("POST", f"{room}/admit", admin()).status_code == 403


def test_an_admission_is_cleared_when_the_visit_moves(api, wired, clock, chime):
    doc = api.doctor_with_hours()
    a = api.book(doc, type="telehealth")
    clock.current = clock.current.replace(day=2, hour=14, minute=50)
    room = f"/api/telehealth/room/{a['roomId']}"
    api.call("GET", f"{room}?token={link(api, a['id'], patient())['token']}", patient())
    assert api.call("POST", f"{room}/admit", doctor(doc["id"])).data["status"] == "admitted"
    # WHEN the visit moves to later that day
    moved = api.call("PUT", f"/api/appointments/{a['id']}/reschedule", admin(), {"date": DAY, "time": "15:00"})
    assert moved.status_code == 200
    # THEN the patient is back in the waiting room at the new time, with no way in until admitted again
    clock.current = clock.current.replace(hour=19, minute=50)
    again = api.call("GET", f"{room}?token={link(api, a['id'], patient())['token']}", patient())
    assert again.data["status"] == "waiting" and "join" not in again.data
