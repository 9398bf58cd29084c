"""Video platforms behind one port: Zoom (Server-to-Server OAuth), Microsoft Teams (Graph, client credentials)
and our own on Amazon Chime SDK Meetings. Credentials come from Secrets Manager, cached per container.

Each adapter: `create(appointment, consent)`, `update(meeting, appointment)`, `delete(meeting)`, and
`join(meeting, role, subject)` for what a participant needs to join. A 5xx is retried (`adapters.retrying`),
then a TransientPlatformError; a 4xx is a PlatformError with the platform's words; an expired OAuth token is
refreshed once.
"""

from __future__ import annotations

import base64
import http.client
import json
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Any, Protocol

from chalicelib.adapters.retrying import Backoff
from chalicelib.adapters.secrets import SECRET_MAX_AGE_SECONDS, CachedSecret
from chalicelib.config import Settings
from chalicelib.domain.appointments import Appointment
from chalicelib.domain.telehealth import PlatformError, TransientPlatformError
from chalicelib.domain.timefmt import instant


class JsonSecret(Protocol):
    """A platform's credentials, read when needed (so a rotation is picked up)."""

    def get(self) -> dict[str, Any]: ...


class SecretsManagerJson:
    """A JSON secret (a platform's credentials), cached for `max_age` seconds: a rotation is picked up."""

    def __init__(
        self, secret_id: str, region: str, client: Any | None = None, max_age: int = SECRET_MAX_AGE_SECONDS
    ) -> None:
        # tight: a booking waits for its meeting only a few seconds
        self._secret = CachedSecret(secret_id, region, client, max_age, attempts=2, read_timeout=3)

    def get(self) -> dict[str, Any]:
        return self._secret.json()


class PlatformHttp:
    """Small JSON-over-HTTPS client: retries 5xx and network errors, surfaces 4xx. Tight by default: a call
    spends at most `budget` seconds in all, attempts, waits and every byte of every answer included (a booking
    waits for its meeting only a few seconds; the sweep retries). `timeout` alone would not do: urllib applies
    it to each socket read, so a platform that trickles its answer a byte at a time holds a call for minutes;
    past the deadline a watchdog shuts the connection down, whatever the call is waiting for."""

    def __init__(
        self,
        sleep: Callable[[float], None] = time.sleep,
        attempts: int = 3,
        timeout: float = 3,
        budget: float = 4,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sleep = sleep
        self._attempts = attempts
        self._timeout = timeout
        self._budget = budget
        self._timer = timer

    def call(self, method: str, url: str, headers: dict[str, str], body: Any = None, form: bool = False) -> Any:
        require_web_url(url)  # https (or http to this machine) only; the opener below has no other handler
        data = None
        if body is not None:
            data = (urllib.parse.urlencode(body) if form else json.dumps(body)).encode()
            headers = {**headers, "Content-Type": "application/x-www-form-urlencoded" if form else "application/json"}
        last = ""
        # Our own loop: these calls go through urllib, not botocore, so no SDK retries them for us.
        backoff = Backoff(
            attempts=self._attempts, base=0.2, budget=self._budget, floor=0.05, sleep=self._sleep, clock=self._timer
        )
        for attempt in backoff.tries():
            left = attempt.left()
            request = urllib.request.Request(url, data=data, method=method, headers=headers)  # noqa: S310
            with _Watchdog(left) as watchdog:  # over the whole attempt, an error's body included
                try:
                    return self._attempt(request, min(self._timeout, left), watchdog)
                except _Answered as answered:
                    if answered.status == 401:
                        raise _Unauthorized(answered.text) from answered
                    if answered.status < 500:
                        raise PlatformError(f"{answered.status}: {answered.text}") from answered
                    last = f"{answered.status}: {answered.text}"
                except (urllib.error.URLError, OSError, http.client.HTTPException, ValueError) as exc:
                    last = str(exc) or type(exc).__name__
            if watchdog.fired:
                last = f"no whole answer within {self._budget:g} s"
                break
        raise TransientPlatformError(last)

    @staticmethod
    def _attempt(request: urllib.request.Request, timeout: float, watchdog: _Watchdog) -> Any:
        """One exchange: the parsed JSON answer, or _Answered for an HTTP error status (its body read too)."""
        try:
            with _opener(watchdog).open(request, timeout=timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as exc:
            raise _Answered(exc.code, exc.read().decode(errors="replace")[:300]) from exc
        if watchdog.fired:  # a close-delimited answer cut short reads as complete: it is not
            raise TimeoutError("no whole answer before the deadline")
        return json.loads(raw) if raw else {}


class _Answered(Exception):
    """The platform answered with an HTTP error status."""

    def __init__(self, status: int, text: str) -> None:
        super().__init__(f"{status}: {text}")
        self.status = status
        self.text = text


class _Watchdog:
    """Shuts down the socket of one attempt at its deadline (a blocked read then ends at once). Used as a
    context manager around the attempt; the connection handlers below hand it the socket once connected. An
    error's body is read within it too."""

    def __init__(self, seconds: float) -> None:
        self.fired = False
        self._lock = threading.Lock()
        self._socks: list[socket.socket] = []
        self._timer = threading.Timer(max(0.0, seconds), self._fire)
        self._timer.daemon = True

    def __enter__(self) -> _Watchdog:
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()

    def watch(self, sock: socket.socket) -> None:
        with self._lock:
            self._socks.append(sock)
            if self.fired:
                _shut(sock)

    def _fire(self) -> None:
        with self._lock:
            self.fired = True
            for sock in self._socks:
                _shut(sock)


def _shut(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:  # already closed
        return


def _opener(watchdog: _Watchdog) -> urllib.request.OpenerDirector:
    """An opener of http(s) URLs only, whose connections report their socket to the watchdog once connected."""

    class Http(http.client.HTTPConnection):
        def connect(self) -> None:
            super().connect()
            watchdog.watch(self.sock)

    class Https(http.client.HTTPSConnection):
        def connect(self) -> None:
            super().connect()
            watchdog.watch(self.sock)

    class HttpHandler(urllib.request.HTTPHandler):
        def http_open(self, req: urllib.request.Request) -> Any:
            return self.do_open(Http, req)

    class HttpsHandler(urllib.request.HTTPSHandler):
        def https_open(self, req: urllib.request.Request) -> Any:
            return self.do_open(Https, req, context=self._context)  # type: ignore[attr-defined]

    opener = urllib.request.OpenerDirector()  # http and https only: no file:, ftp: or data: handler at all
    for handler in (
        HttpHandler(),
        HttpsHandler(),
        urllib.request.HTTPRedirectHandler(),
        urllib.request.HTTPDefaultErrorHandler(),
        urllib.request.HTTPErrorProcessor(),
    ):
        opener.add_handler(handler)
    return opener


LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def require_web_url(url: str) -> None:
    """Platform URLs come from configuration: refuse `file:` and other schemes urllib would also open."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS:  # local fakes of the platforms
        return
    raise PlatformError(f"refusing to call a platform at a non-https URL ({parts.scheme or 'no'} scheme)")


class _Unauthorized(PlatformError):
    pass


class _OAuthPlatform:
    """Caches the access token until shortly before it expires; refreshes once on a 401."""

    def __init__(
        self,
        settings: Settings,
        secret: JsonSecret,
        http: PlatformHttp | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._settings = settings
        self._secret = secret
        self._http = http or PlatformHttp()
        self._clock = clock
        self._token: str | None = None
        self._expires = 0.0

    def _delete(self, url: str) -> None:
        """Deleting a meeting that is already gone is not an error."""
        try:
            self._api("DELETE", url)
        except PlatformError as exc:
            if not str(exc).startswith("404"):
                raise

    def _fetch_token(self) -> tuple[str, float]:
        raise NotImplementedError

    def _bearer(self) -> dict[str, str]:
        if self._token is None or self._clock() >= self._expires - 60:
            self._token, lifetime = self._fetch_token()
            self._expires = self._clock() + lifetime
        return {"Authorization": f"Bearer {self._token}"}

    def _api(self, method: str, url: str, body: Any = None) -> Any:
        try:
            return self._http.call(method, url, self._bearer(), body)
        except _Unauthorized:
            self._token = None  # revoked or expired early: one fresh token, one more try
            return self._http.call(method, url, self._bearer(), body)


class ZoomPlatform(_OAuthPlatform):
    name = "zoom"

    def _fetch_token(self) -> tuple[str, float]:
        secret = self._secret.get()
        basic = base64.b64encode(f"{secret['clientId']}:{secret['clientSecret']}".encode()).decode()
        query = urllib.parse.urlencode({"grant_type": "account_credentials", "account_id": secret["accountId"]})
        answer = self._http.call(
            "POST", f"{self._settings.zoom_oauth_base}/oauth/token?{query}", {"Authorization": f"Basic {basic}"}
        )
        return str(answer["access_token"]), float(answer.get("expires_in", 3600))

    def _body(self, appointment: Appointment, consent: bool) -> dict[str, Any]:
        return {
            "topic": f"Appointment with {appointment.doctor_name}",
            "type": 2,
            "start_time": instant(appointment.starts_at),
            "duration": appointment.duration,
            "timezone": "UTC",
            "settings": {
                "waiting_room": True,
                "join_before_host": False,
                "auto_recording": "cloud" if consent else "none",
            },
        }

    def create(self, appointment: Appointment, consent: bool = False) -> dict[str, Any]:
        user = self._secret.get().get("userId", "me")
        body = {**self._body(appointment, consent), "password": _passcode()}
        made = self._api("POST", f"{self._settings.zoom_api_base}/v2/users/{user}/meetings", body)
        return {
            "meetingId": str(made["id"]),
            "joinUrl": made.get("join_url"),
            "startUrl": made.get("start_url"),
            "passcode": made.get("password", body["password"]),
        }

    def update(self, meeting: dict[str, Any], appointment: Appointment, consent: bool = False) -> dict[str, Any]:
        self._api(
            "PATCH",
            f"{self._settings.zoom_api_base}/v2/meetings/{meeting['meetingId']}",
            self._body(appointment, consent),
        )
        return meeting

    def delete(self, meeting: dict[str, Any]) -> None:
        self._delete(f"{self._settings.zoom_api_base}/v2/meetings/{meeting['meetingId']}")

    def join(self, meeting: dict[str, Any], role: str, subject: str) -> dict[str, Any]:
        if role == "doctor":
            return {"platform": "zoom", "url": meeting.get("startUrl"), "passcode": meeting.get("passcode")}
        return {"platform": "zoom", "url": meeting.get("joinUrl"), "passcode": meeting.get("passcode")}


class TeamsPlatform(_OAuthPlatform):
    name = "teams"

    def _fetch_token(self) -> tuple[str, float]:
        secret = self._secret.get()
        answer = self._http.call(
            "POST",
            f"{self._settings.ms_login_base}/{secret['tenantId']}/oauth2/v2.0/token",
            {},
            {
                "client_id": secret["clientId"],
                "client_secret": secret["clientSecret"],
                "scope": "https://graph.microsoft.com/.default",
                "grant_type": "client_credentials",
            },
            form=True,
        )
        return str(answer["access_token"]), float(answer.get("expires_in", 3600))

    def _url(self, meeting_id: str = "") -> str:
        organizer = self._secret.get()["organizerUserId"]
        tail = f"/{meeting_id}" if meeting_id else ""
        return f"{self._settings.graph_base}/v1.0/users/{organizer}/onlineMeetings{tail}"

    def _body(self, appointment: Appointment, consent: bool) -> dict[str, Any]:
        return {
            "subject": f"Appointment with {appointment.doctor_name}",
            "startDateTime": instant(appointment.starts_at),
            "endDateTime": instant(appointment.ends_at),
            "lobbyBypassSettings": {"scope": "organization", "isDialInBypassEnabled": False},
            "allowedPresenters": "organizer",
            "recordAutomatically": consent,
        }

    def create(self, appointment: Appointment, consent: bool = False) -> dict[str, Any]:
        made = self._api("POST", self._url(), self._body(appointment, consent))
        return {"meetingId": str(made["id"]), "joinUrl": made.get("joinWebUrl")}

    def update(self, meeting: dict[str, Any], appointment: Appointment, consent: bool = False) -> dict[str, Any]:
        self._api("PATCH", self._url(meeting["meetingId"]), self._body(appointment, consent))
        return meeting

    def delete(self, meeting: dict[str, Any]) -> None:
        self._delete(self._url(meeting["meetingId"]))

    def join(self, meeting: dict[str, Any], role: str, subject: str) -> dict[str, Any]:
        return {"platform": "teams", "url": meeting.get("joinUrl")}


class ChimePlatform:
    """Our own platform on Amazon Chime SDK Meetings. A Chime meeting ends when it stays empty, so it is created
    when the room is first joined; attendee join tokens are handed out only through our room endpoint."""

    name = "custom"

    def __init__(self, settings: Settings, client: Any | None = None) -> None:
        if client is None:
            from chalicelib.adapters import aws

            client = aws.client("chime-sdk-meetings", settings.region)
        self._client = client
        self._region = settings.region

    def create(self, appointment: Appointment, consent: bool = False) -> dict[str, Any]:
        return {"externalMeetingId": appointment.id}

    def update(self, meeting: dict[str, Any], appointment: Appointment, consent: bool = False) -> dict[str, Any]:
        return meeting

    def delete(self, meeting: dict[str, Any]) -> None:
        if meeting.get("meetingId"):
            try:
                self._client.delete_meeting(MeetingId=meeting["meetingId"])
            except self._client.exceptions.NotFoundException:
                return

    def join(self, meeting: dict[str, Any], role: str, subject: str) -> dict[str, Any]:
        from botocore.exceptions import ClientError

        try:
            if not meeting.get("meetingId"):
                made = self._client.create_meeting(
                    ClientRequestToken=f"{meeting['externalMeetingId']}-meeting"[:64],
                    MediaRegion=self._region,
                    ExternalMeetingId=meeting["externalMeetingId"],
                )["Meeting"]
                meeting["meetingId"] = made["MeetingId"]
                meeting["mediaPlacement"] = made.get("MediaPlacement", {})
            attendee = self._client.create_attendee(
                MeetingId=meeting["meetingId"], ExternalUserId=f"{role}-{subject}"[:64]
            )["Attendee"]
        except ClientError as exc:
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 500)
            error = TransientPlatformError if status >= 500 else PlatformError
            raise error(str(exc)) from exc
        return {
            "platform": "custom",
            "meetingId": meeting["meetingId"],
            "mediaPlacement": meeting.get("mediaPlacement", {}),
            "attendeeId": attendee["AttendeeId"],
            "joinToken": attendee["JoinToken"],
        }


def _passcode() -> str:
    import secrets

    return secrets.token_hex(5)
