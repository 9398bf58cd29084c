"""Reminders: a booking's preferences, the patient's and the admins' requests, and the reminder lists.

No `from __future__ import annotations` (see the package's docstring): a model refers only to models defined above
it or imported."""

from datetime import datetime
from typing import Annotated, Literal, Self

from pydantic import BeforeValidator, Field, WithJsonSchema, field_validator, model_validator

from chalicelib.api.schemas.common import (
    WINDOW_NOTE,
    ApiModel,
    ChannelOut,
    Day,
    Id,
    Instant,
    OutModel,
    QueryModel,
    ReminderKindOut,
    ReminderStatusOut,
    ShortText,
    Timing,
    _strict_instant,
    _window_to,
    absent,
)
from chalicelib.domain.reminders import Channel
from chalicelib.domain.reminders import ReminderPreferences as Preferences


class ReminderPreferences(ApiModel):
    email: bool = False
    sms: bool = False
    push: bool = False
    timing: Timing | None = None
    timings: Annotated[list[Timing], Field(min_length=1, max_length=4)] | None = None
    custom_message: Annotated[ShortText, Field(max_length=160)] | None = None

    @model_validator(mode="after")
    def _one_timing_form(self) -> Self:
        if self.timing is not None and self.timings is not None:
            raise ValueError("give either timing or timings, not both")
        if self.timings is not None and len(set(self.timings)) != len(self.timings):
            raise ValueError("timings must not repeat")
        return self

    def to_domain(self) -> Preferences:
        """The typed preferences the booking use cases take (the appointment keeps them in this model's shape)."""
        return Preferences(
            tuple(c for c in Channel if getattr(self, c.value)),
            tuple(self.timings) if self.timings is not None else None,
            self.timing,
            self.custom_message,
        )


class ReminderScheduleIn(ReminderPreferences):
    """The booking's reminder preferences, for an appointment that exists already."""

    appointment_id: Id


class ReminderUpdateIn(ApiModel):
    timing: Timing | None = None
    scheduled_time: (
        Annotated[datetime, BeforeValidator(_strict_instant), WithJsonSchema({"type": "string", "format": "date-time"})]
        | None
    ) = None
    custom_message: Annotated[ShortText, Field(max_length=160)] | None = None

    @model_validator(mode="after")
    def _one_time_form(self) -> Self:
        if self.timing is not None and self.scheduled_time is not None:
            raise ValueError("give either timing or scheduledTime, not both")
        if self.timing is None and self.scheduled_time is None and self.custom_message is None:
            raise ValueError("nothing to change")
        return self


class ReminderIdsIn(ApiModel):
    reminder_ids: Annotated[list[Id], Field(min_length=1, max_length=100)]


class ReminderRetryIn(ReminderIdsIn):
    confirm_unknown_outcome: bool = False
    """Resend reminders whose delivery outcome is unknown (they may have reached the patient already)."""


class AdminReminderQuery(QueryModel):
    status: Literal["pending", "sending", "sent", "failed", "cancelled"] = "failed"
    date_from: Day | None = Field(None, alias="from")
    date_to: Day | None = Field(None, alias="to", description=WINDOW_NOTE)
    limit: Annotated[int, Field(ge=1, le=100)] = 50
    next_token: Annotated[str, Field(min_length=1, max_length=512)] | None = Field(None, alias="nextToken")

    window_ok = field_validator("date_to")(_window_to)


class SkippedReminderOut(OutModel):
    channel: ChannelOut = Field(alias="type")
    timing: str
    reason: str


class ReminderOut(OutModel):
    id: str
    appointment_id: str
    channel: ChannelOut = Field(alias="type")
    kind: ReminderKindOut = Field(
        description="`video-link`: a telehealth visit's reminder carrying the secure link, 10 minutes before the "
        "start (timing `10m`; it can be cancelled or given a message, not moved); `reminder`: any other"
    )
    timing: str | None
    scheduled_time: Instant
    status: ReminderStatusOut
    recipient_email: str | None = None
    recipient_phone: str | None = None
    message: str
    custom_message: str | None = None
    sent_at: Instant | None = None
    attempts: int
    last_error: str | None = None
    outcome_unknown: bool = False


class ReminderList(OutModel):
    reminders: list[ReminderOut]
    skipped: list[SkippedReminderOut] | None = Field(default=None, exclude_if=absent)
    next_token: str | None = Field(default=None, exclude_if=absent)
