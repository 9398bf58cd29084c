"""Telehealth rooms: signed, time-limited room tokens, the waiting-room states, and the technical requirements
per platform. A room link is valid from 15 minutes before the start to 30 minutes after the end of the
appointment's current time: a reschedule makes links for the old time stop working."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from chalicelib.domain import signed
from chalicelib.domain.appointments import Appointment
from chalicelib.domain.errors import Forbidden, InvalidState, Unauthenticated

MEETING_DUE = "due"
"""`Room.meeting_sync` while the platform meeting is behind the visit (the rooms' `meeting-sync-index` key)."""
OPENS_BEFORE = timedelta(minutes=15)
CLOSES_AFTER = timedelta(minutes=30)


class RoomStatus(StrEnum):
    PENDING = "pending"
    """The booking exists; the meeting on the video platform is not created yet (it will be retried)."""
    WAITING = "waiting"
    ADMITTED = "admitted"
    IN_PROGRESS = "in-progress"
    ENDED = "ended"


@dataclass(frozen=True)
class Room:
    id: str
    appointment_id: str
    doctor_id: str
    patient_id: str
    platform: str
    status: RoomStatus
    created_at: datetime
    meeting: dict[str, Any] = field(default_factory=dict)
    """What the platform returned: meeting id, join URL, passcode (Zoom, Teams), or the Chime meeting."""
    patient_waiting_since: datetime | None = None
    recording_consent: bool = False
    last_error: str | None = None
    claimed_until: datetime | None = None
    """A worker is creating the platform meeting until then: nobody else creates one (claimed once)."""
    meeting_sync: str | None = None
    """MEETING_DUE while the platform meeting has yet to follow the visit's last change (moved: updated; room
    ended: deleted). Set before the platform is called, cleared after: whatever the request does not finish
    within its wait, the sweep does."""


@dataclass(frozen=True)
class RoomLink:
    """A signed room link for one caller, valid from `valid_from` to `expires_at` (the appointment's window)."""

    room_id: str
    url: str
    token: str
    platform: str
    valid_from: datetime
    expires_at: datetime


@dataclass(frozen=True)
class WaitingPatient:
    patient_id: str
    since: datetime


@dataclass(frozen=True)
class RoomView:
    """A room as one caller sees it: its state, the caller's join details once it may join, and, for its
    doctor, the patient waiting to be admitted."""

    room: Room
    join: dict[str, Any] | None = None
    """What the platform gives this caller to join with; None until it may join."""
    waiting: tuple[WaitingPatient, ...] | None = None
    """The doctor's view only (empty when nobody waits); None for everyone else."""

    @property
    def room_id(self) -> str:
        return self.room.id

    @property
    def appointment_id(self) -> str:
        return self.room.appointment_id

    @property
    def platform(self) -> str:
        return self.room.platform

    @property
    def status(self) -> str:
        """A pending room shows as waiting: its visitors wait either way, the meeting is being created."""
        return RoomStatus.WAITING.value if self.room.status is RoomStatus.PENDING else self.room.status.value

    @property
    def platform_ready(self) -> bool:
        return self.room.status is not RoomStatus.PENDING


@dataclass(frozen=True)
class RoomClaims:
    room_id: str
    appointment_id: str
    role: str
    subject: str
    starts_at: int
    valid_from: datetime
    expires_at: datetime


def window(appointment: Appointment) -> tuple[datetime, datetime]:
    return appointment.starts_at - OPENS_BEFORE, appointment.ends_at + CLOSES_AFTER


def sign_room_token(claims: RoomClaims, key: bytes) -> str:
    body = {
        "room": claims.room_id,
        "appt": claims.appointment_id,
        "role": claims.role,
        "sub": claims.subject,
        "start": claims.starts_at,
        "nbf": int(claims.valid_from.timestamp()),
        "exp": int(claims.expires_at.timestamp()),
    }
    return signed.sign(body, key, "room")


def token_for(room: Room, appointment: Appointment, role: str, subject: str, key: bytes) -> tuple[str, RoomClaims]:
    valid_from, expires_at = window(appointment)
    claims = RoomClaims(
        room.id, appointment.id, role, subject, int(appointment.starts_at.timestamp()), valid_from, expires_at
    )
    return sign_room_token(claims, key), claims


def room_token_body(token: str | None, key: bytes) -> dict[str, Any]:
    """The signed claims of a room token, whatever room it names: 401 for a missing or forged one."""
    if not token or token.count(".") != 1:
        raise Unauthenticated("A room token is required.")
    body = signed.verified(token, key, "room")
    if body is None:
        raise Unauthenticated("The room token is not valid.")
    return body


def not_this_room() -> Forbidden:
    """A genuine token that names another room; an unknown room gets the same answer (nothing tells whether a
    room id exists to someone who holds no link to it)."""
    return Forbidden("This token is for another room.")


def verify_room_token(token: str | None, key: bytes, now: datetime, room: Room, appointment: Appointment) -> RoomClaims:
    """401 for a missing, forged, expired or not-yet-valid token, or one for an earlier time of the appointment;
    403 for another room, or when the appointment is no longer active."""
    body = room_token_body(token, key)
    if body.get("room") != room.id or body.get("appt") != appointment.id:
        raise not_this_room()
    if not appointment.active:
        raise Forbidden("This appointment is no longer active.")
    if body.get("start") != int(appointment.starts_at.timestamp()):
        raise Unauthenticated("This link is for an earlier time of the appointment; ask for a new one.")
    valid_from = datetime.fromtimestamp(int(body["nbf"]), tz=now.tzinfo)
    expires_at = datetime.fromtimestamp(int(body["exp"]), tz=now.tzinfo)
    if now < valid_from:
        raise Unauthenticated("The room opens 15 minutes before the appointment.", {"validFrom": body["nbf"]})
    if now >= expires_at:
        raise Unauthenticated("The room link has expired.")
    return RoomClaims(
        str(body["room"]),
        str(body["appt"]),
        str(body["role"]),
        str(body["sub"]),
        int(body["start"]),
        valid_from,
        expires_at,
    )


def admit(room: Room) -> RoomStatus:
    if room.status is RoomStatus.ENDED:
        raise InvalidState("The room has ended.")
    if room.status is RoomStatus.PENDING:
        raise InvalidState("The video meeting is not ready yet; it is being created.")
    return RoomStatus.ADMITTED


# --- requirements -----------------------------------------------------------------------------------------------
MINIMUMS: dict[str, dict[str, Any]] = {
    "zoom": {"browsers": {"chrome": 94, "edge": 94, "firefox": 91, "safari": 15}, "bandwidth_mbps": 1.5},
    "teams": {"browsers": {"chrome": 100, "edge": 100, "safari": 16}, "bandwidth_mbps": 1.2},
    "custom": {"browsers": {"chrome": 90, "edge": 90, "firefox": 88, "safari": 14}, "bandwidth_mbps": 1.0},
}
"""Per-platform minimums, in one table: supported browsers with their lowest major version, and bandwidth."""


@dataclass(frozen=True)
class ClientReport:
    platform: str
    browser: str
    browser_version: int
    camera: bool
    microphone: bool
    bandwidth_mbps: float


@dataclass(frozen=True)
class DeviceCheck:
    """The outcome of a requirements check: the failures in plain words, none when the device is ready."""

    failures: tuple[str, ...]

    @property
    def passed(self) -> bool:
        return not self.failures


def check_requirements(report: ClientReport) -> list[str]:
    """The failures in plain words; an empty list means the device is ready."""
    minimum = MINIMUMS[report.platform]
    failures = []
    supported = minimum["browsers"]
    browser = report.browser.lower()
    if browser not in supported:
        names = ", ".join(b.capitalize() for b in sorted(supported))
        failures.append(f"{report.browser} is not supported for this visit; please use {names}.")
    elif report.browser_version < supported[browser]:
        failures.append(
            f"Please update {browser.capitalize()} to version {supported[browser]} or newer "
            f"(you have {report.browser_version})."
        )
    if not report.camera:
        failures.append("No camera was found, or the browser may not use it.")
    if not report.microphone:
        failures.append("No microphone was found, or the browser may not use it.")
    if report.bandwidth_mbps < minimum["bandwidth_mbps"]:
        failures.append(
            f"Your connection measured {report.bandwidth_mbps:g} Mbps; video needs at least "
            f"{minimum['bandwidth_mbps']:g} Mbps. Move closer to your router or close other downloads."
        )
    return failures


class PlatformError(Exception):
    """The video platform refused the request (4xx): retrying will not help."""


class TransientPlatformError(PlatformError):
    """The video platform failed (5xx, timeout) after retries: the room stays pending and is retried later."""
