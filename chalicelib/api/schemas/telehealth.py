"""Telehealth: rooms, links, the requirements check and recording consent.

No `from __future__ import annotations` (see the package's docstring): a model refers only to models defined above
it or imported."""

from typing import Annotated, Any, Literal

from pydantic import Field

from chalicelib.api.schemas.common import ApiModel, Instant, OutModel, Platform, QueryModel, absent


class RoomQuery(QueryModel):
    token: Annotated[str, Field(min_length=1, max_length=2048)] | None = None


class RequirementsIn(ApiModel):
    platform: Platform
    browser: Annotated[str, Field(min_length=1, max_length=40)]
    browser_version: Annotated[int, Field(ge=0, le=1000)]
    camera: bool
    microphone: bool
    bandwidth_mbps: Annotated[float, Field(ge=0, le=100_000)]


class RequirementsOut(OutModel):
    pass_: bool = Field(alias="pass")
    failures: list[str]


class ConsentIn(ApiModel):
    recording: bool


class ConsentOut(OutModel):
    appointment_id: str
    recording_consent: bool


class RoomLinkOut(OutModel):
    room_id: str
    url: str
    token: str
    platform: Platform
    valid_from: Instant
    expires_at: Instant


class WaitingPatientOut(OutModel):
    patient_id: str
    since: Instant


class RoomOut(OutModel):
    room_id: str
    appointment_id: str
    platform: Platform
    status: Literal["waiting", "admitted", "in-progress", "ended"]
    platform_ready: bool
    join: dict[str, Any] | None = Field(default=None, exclude_if=absent)
    waiting: list[WaitingPatientOut] | None = Field(default=None, exclude_if=absent)
