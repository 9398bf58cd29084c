"""Webhooks: subscriptions, their deliveries and resends.

No `from __future__ import annotations` (see the package's docstring): a model refers only to models defined above
it or imported."""

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BeforeValidator, Field, WithJsonSchema

from chalicelib.api.schemas.common import (
    ApiModel,
    Id,
    Instant,
    OutModel,
    QueryModel,
    ShortText,
    _single_line,
    _strict_instant,
    absent,
)

WebhookEvent = Literal[
    "appointment.booked",
    "appointment.rescheduled",
    "appointment.cancelled",
    "appointment.status_changed",
    "reminder.sent",
    "reminder.failed",
    "telehealth.room_ready",
    "waitlist.offered",
    "waitlist.accepted",
    "waitlist.declined",
    "waitlist.expired",
    "calendar.conflict",
]

WebhookUrl = Annotated[str, Field(min_length=8, max_length=2048), AfterValidator(_single_line)]

SinceInstant = Annotated[
    datetime, BeforeValidator(_strict_instant), WithJsonSchema({"type": "string", "format": "date-time"})
]


class WebhookCreate(ApiModel):
    url: WebhookUrl = Field(description="https; http only to loopback under `make run`")
    events: Annotated[list[WebhookEvent], Field(min_length=1, max_length=20)]
    description: Annotated[ShortText, Field(max_length=200)] | None = None
    doctor_id: Id | None = Field(None, description="Only this doctor's events")
    location: Annotated[ShortText, Field(max_length=200)] | None = Field(None, description="Only this location's")
    include_reason: bool = Field(False, description="Send the visit's reason and notes (left out by default)")


class WebhookPatch(ApiModel):
    url: WebhookUrl | None = None
    events: Annotated[list[WebhookEvent], Field(min_length=1, max_length=20)] | None = None
    description: Annotated[ShortText, Field(max_length=200)] | None = None
    doctor_id: Id | None = None
    location: Annotated[ShortText, Field(max_length=200)] | None = None
    include_reason: bool | None = None
    state: Literal["active", "paused"] | None = Field(None, description="`active` resumes and sends what waited")


class WebhookResendIn(ApiModel):
    since: SinceInstant = Field(description="Every delivery whose event happened at or after this instant")


class WebhookDeliveryQuery(QueryModel):
    since: SinceInstant | None = None
    limit: Annotated[int, Field(ge=1, le=100)] = 50


class WebhookOut(OutModel):
    id: str
    url: str
    events: list[str]
    state: Literal["active", "paused"]
    description: str | None = None
    doctor_id: str | None = None
    location: str | None = None
    include_reason: bool
    created_at: Instant
    updated_at: Instant
    paused_reason: Literal["failing", "gone", "admin"] | None = Field(default=None, exclude_if=absent)
    failing_since: Instant | None = Field(default=None, exclude_if=absent)
    secret: str | None = Field(
        default=None, exclude_if=absent, description="`whsec_...`: only at creation and rotation"
    )


class WebhookList(OutModel):
    webhooks: list[WebhookOut]


class WebhookAttemptOut(OutModel):
    at: Instant
    status_code: int | None = Field(default=None, exclude_if=absent)
    error: str | None = Field(default=None, exclude_if=absent)
    ms: int


class WebhookDeliveryOut(OutModel):
    id: str
    event_id: str
    type: str
    status: Literal["pending", "delivered", "failing", "given_up"]
    attempts: int
    last_status_code: int | None = Field(default=None, exclude_if=absent)
    last_error: str | None = Field(default=None, exclude_if=absent)
    last_attempt_at: Instant | None = Field(default=None, exclude_if=absent)
    next_attempt_at: Instant | None = Field(default=None, exclude_if=absent)
    delivered_at: Instant | None = Field(default=None, exclude_if=absent)
    created_at: Instant
    appointment_id: str
    sequence: int | None = Field(default=None, exclude_if=absent)
    body: str = Field(description="The body sent (no contact details)")
    history: list[WebhookAttemptOut]


class WebhookDeliveryList(OutModel):
    deliveries: list[WebhookDeliveryOut]
