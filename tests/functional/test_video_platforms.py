"""Each video platform adapter against its fake: Zoom and Graph servers on loopback, Chime through botocore's
Stubber. Create, update on reschedule, delete on cancel, an expired OAuth token refreshed, 5xx retried,
4xx surfaced."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.stub import Stubber

from chalicelib.adapters.video import ChimePlatform, PlatformHttp, TeamsPlatform, ZoomPlatform
from chalicelib.config import Settings
from chalicelib.domain.appointments import AppointmentType
from chalicelib.domain.telehealth import PlatformError, TransientPlatformError
from tests.fakes.video_servers import FakeVideoServer
from tests.helpers import make_appointment

START = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)
APPOINTMENT = make_appointment(type=AppointmentType.TELEHEALTH, location="Telehealth", reason="private")


class Secret:
    def __init__(self, value: dict) -> None:
        self.value = value
        self.reads = 0

    def get(self) -> dict:
        self.reads += 1
        return self.value


@pytest.fixture
def server():
    fake = FakeVideoServer().start()
    yield fake
    fake.stop()


def settings_for(server: FakeVideoServer) -> Settings:
    return Settings.from_env(
        {
            "ZOOM_API_BASE": server.base,
            "ZOOM_OAUTH_BASE": server.base,
            "GRAPH_BASE": server.base,
            "MS_LOGIN_BASE": server.base,
        }
    )


def no_sleep(_: float) -> None:
    return None


@pytest.fixture
def zoom(server):
    secret = Secret({"accountId": "acc", "clientId": "cid", "clientSecret": "csecret", "userId": "dr@clinic"})
    return ZoomPlatform(settings_for(server), secret, PlatformHttp(sleep=no_sleep))


@pytest.fixture
def teams(server):
    secret = Secret(
        {"tenantId": "tenant", "clientId": "cid", "clientSecret": "csecret", "organizerUserId": "organizer-1"}
    )
    return TeamsPlatform(settings_for(server), secret, PlatformHttp(sleep=no_sleep))


def test_zoom_create_update_delete_with_waiting_room_and_passcode(zoom, server):
    meeting = zoom.create(APPOINTMENT)
    created = server.meetings[meeting["meetingId"]]
    assert created["settings"] == {"waiting_room": True, "join_before_host": False, "auto_recording": "none"}
    assert created["start_time"] == "2026-12-02T15:00:00Z" and "private" not in json.dumps(created)
    assert server.calls("POST", "/v2/users/dr@clinic/meetings")
    moved = replace(APPOINTMENT, starts_at=START + timedelta(days=1), ends_at=START + timedelta(days=1, minutes=30))
    zoom.update(meeting, moved)
    assert server.meetings[meeting["meetingId"]]["start_time"] == "2026-12-03T15:00:00Z"
    zoom.delete(meeting)
    assert meeting["meetingId"] not in server.meetings
    zoom.delete(meeting)  # already gone: fine
    assert len(server.calls("POST", "/oauth/token")) == 1  # the token is cached
    assert zoom.join(meeting, "patient", "p1")["url"].startswith("https://zoom.example/j/")


def test_zoom_recording_only_with_consent(zoom, server):
    meeting = zoom.create(APPOINTMENT, consent=True)
    assert server.meetings[meeting["meetingId"]]["settings"]["auto_recording"] == "cloud"


def test_an_expired_token_is_refreshed_once(zoom, teams, server):
    for platform in (zoom, teams):
        platform.create(APPOINTMENT)
        server.revoke_tokens()
        platform.create(APPOINTMENT)
    assert len(server.calls("POST", "/oauth/token")) == 2
    assert len(server.calls("POST", "/tenant/oauth2/v2.0/token")) == 2


def test_a_token_near_expiry_is_renewed_before_use(server):
    now = [1_000_000.0]
    secret = Secret({"accountId": "acc", "clientId": "cid", "clientSecret": "csecret"})
    zoom = ZoomPlatform(settings_for(server), secret, PlatformHttp(sleep=no_sleep), clock=lambda: now[0])
    zoom.create(APPOINTMENT)
    now[0] += 3600 - 30
    zoom.create(APPOINTMENT)
    assert len(server.calls("POST", "/oauth/token")) == 2


def test_5xx_is_retried_and_then_transient(zoom, teams, server):
    for platform in (zoom, teams):
        platform.create(APPOINTMENT)  # token in hand
        server.fail_next(503, times=2)
        assert platform.create(APPOINTMENT)["meetingId"]
        server.fail_next(500, times=3)
        with pytest.raises(TransientPlatformError):
            platform.create(APPOINTMENT)


def test_4xx_is_surfaced_at_once(zoom, teams, server):
    for platform in (zoom, teams):
        platform.create(APPOINTMENT)
        before = len(server.requests)
        server.fail_next(400, message="Invalid field")
        with pytest.raises(PlatformError, match="400") as refused:
            platform.create(APPOINTMENT)
        assert not isinstance(refused.value, TransientPlatformError)
        assert len(server.requests) == before + 1


def test_teams_lobby_holds_everyone_outside_the_organisation(teams, server):
    meeting = teams.create(APPOINTMENT)
    created = server.meetings[meeting["meetingId"]]
    assert created["lobbyBypassSettings"] == {"scope": "organization", "isDialInBypassEnabled": False}
    assert (created["startDateTime"], created["endDateTime"]) == ("2026-12-02T15:00:00Z", "2026-12-02T15:30:00Z")
    teams.update(
        meeting,
        replace(APPOINTMENT, starts_at=START + timedelta(hours=2), ends_at=START + timedelta(hours=2, minutes=30)),
    )
    assert server.meetings[meeting["meetingId"]]["startDateTime"] == "2026-12-02T17:00:00Z"
    teams.delete(meeting)
    assert meeting["meetingId"] not in server.meetings
    assert server.calls("POST", "/v1.0/users/organizer-1/onlineMeetings")


def test_chime_creates_the_meeting_on_first_join_and_hands_out_attendee_tokens():
    client = boto3.client("chime-sdk-meetings", region_name="us-east-1")
    chime = ChimePlatform(Settings.from_env({}), client)
    meeting = chime.create(APPOINTMENT)
    with Stubber(client) as stub:
        stub.add_response(
            "create_meeting",
            {"Meeting": {"MeetingId": "m-1", "MediaPlacement": {"AudioHostUrl": "x"}}},
            {"ClientRequestToken": "a1-meeting", "MediaRegion": "us-east-1", "ExternalMeetingId": "a1"},
        )
        stub.add_response(
            "create_attendee",
            {"Attendee": {"AttendeeId": "at-1", "JoinToken": "jt-1"}},
            {"MeetingId": "m-1", "ExternalUserId": "doctor-u1"},
        )
        stub.add_response(
            "create_attendee",
            {"Attendee": {"AttendeeId": "at-2", "JoinToken": "jt-2"}},
            {"MeetingId": "m-1", "ExternalUserId": "patient-p1"},
        )
        stub.add_response("delete_meeting", {}, {"MeetingId": "m-1"})
        assert chime.join(meeting, "doctor", "u1")["joinToken"] == "jt-1"
        assert chime.join(meeting, "patient", "p1")["joinToken"] == "jt-2"
        chime.delete(meeting)
        stub.assert_no_pending_responses()


def test_chime_errors_are_transient_or_surfaced():
    client = boto3.client("chime-sdk-meetings", region_name="us-east-1")
    chime = ChimePlatform(Settings.from_env({}), client)
    with Stubber(client) as stub:
        stub.add_client_error("create_meeting", "ServiceUnavailableException", http_status_code=503)
        stub.add_client_error("create_meeting", "BadRequestException", http_status_code=400)
        with pytest.raises(TransientPlatformError):
            chime.join(chime.create(APPOINTMENT), "doctor", "u1")
        with pytest.raises(PlatformError) as refused:
            chime.join(chime.create(APPOINTMENT), "doctor", "u1")
        assert not isinstance(refused.value, TransientPlatformError)


def test_credentials_are_read_from_secrets_manager_once_within_their_max_age():
    from chalicelib.adapters.video import SecretsManagerJson

    client = boto3.client("secretsmanager", region_name="us-east-1")
    secret = SecretsManagerJson("clinic-dev/zoom", "us-east-1", client)
    with Stubber(client) as stub:
        stub.add_response(
            "get_secret_value", {"SecretString": json.dumps({"clientId": "cid"})}, {"SecretId": "clinic-dev/zoom"}
        )
        assert secret.get()["clientId"] == "cid"
        assert secret.get()["clientId"] == "cid"  # a second read would find no stubbed answer
        stub.assert_no_pending_responses()
