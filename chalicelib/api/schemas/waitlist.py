"""The waitlist's requests and answers: joining, changing an entry, offers, staff's day view and refill
analytics.

No `from __future__ import annotations` (see the package's docstring): a model refers only to models defined above
it or imported."""

from typing import Annotated, Any, Literal, Self

from pydantic import Field, model_validator

from chalicelib.api.schemas.common import (
    ApiModel,
    AppointmentTypeName,
    Day,
    Hhmm,
    Id,
    Instant,
    Minutes,
    OutModel,
    QueryModel,
)
from chalicelib.domain.timefmt import MAX_WINDOW_DAYS
from chalicelib.domain.waitlist import Entry, FreedRecord, Offer, Refill

Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
WallTime = Annotated[str, Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]


class TimeOfDayIn(ApiModel):
    start: WallTime
    end: WallTime


class NotifyIn(ApiModel):
    email: bool = False
    sms: bool = False
    push: bool = False


class WaitlistIn(ApiModel):
    """A place on a doctor's waitlist: the window, days and times of day that suit, visit type and length, how
    to be told (verified addresses only) and optionally a visit to move earlier."""

    doctor_id: Id
    from_: Day = Field(alias="from")
    to: Day
    days: Annotated[list[Weekday], Field(max_length=7)] | None = None
    times: Annotated[list[TimeOfDayIn], Field(max_length=6)] | None = None
    type: AppointmentTypeName
    duration: Minutes | None = None
    notify: NotifyIn
    move_earlier: Id | None = None

    @model_validator(mode="after")
    def _window(self) -> Self:
        if self.to < self.from_:
            raise ValueError("`to` must not be before `from`")
        return self


class WaitlistChangeIn(ApiModel):
    """What may change of a waiting entry; fields left out stay as they are."""

    from_: Day | None = Field(default=None, alias="from")
    to: Day | None = None
    days: Annotated[list[Weekday], Field(max_length=7)] | None = None
    times: Annotated[list[TimeOfDayIn], Field(max_length=6)] | None = None
    notify: NotifyIn | None = None

    @model_validator(mode="after")
    def _something(self) -> Self:
        if not self.model_fields_set:
            raise ValueError("name at least one field to change")
        if self.from_ and self.to and self.to < self.from_:
            raise ValueError("`to` must not be before `from`")
        return self


class AcceptIn(ApiModel):
    reason: Annotated[str, Field(max_length=500)] = ""


class OfferByHandIn(ApiModel):
    date: Day
    time: Hhmm


class WaitlistQuery(QueryModel):
    doctor_id: Id | None = Field(default=None, alias="doctorId")


class DayQuery(QueryModel):
    doctor_id: Id = Field(alias="doctorId")
    date: Day


class AnalyticsQuery(QueryModel):
    doctor_id: Id = Field(alias="doctorId")
    from_: Day = Field(alias="from")
    to: Day

    @model_validator(mode="after")
    def _window(self) -> Self:
        if self.to < self.from_ or (self.to - self.from_).days >= MAX_WINDOW_DAYS:
            raise ValueError(f"`from` ≤ `to`, at most {MAX_WINDOW_DAYS} days")
        return self


class OfferOut(OutModel):
    hold_id: str
    date: str
    time: str
    starts_at: Instant
    expires_at: Instant
    outcome: Literal["pending", "accepted", "declined", "expired", "taken", "withdrawn"]

    @classmethod
    def of(cls, offer: Offer) -> Self:
        return cls.model_validate(
            {
                "hold_id": offer.hold_id,
                "date": offer.date,
                "time": offer.time,
                "starts_at": offer.starts_at,
                "expires_at": offer.expires_at,
                "outcome": offer.outcome.value,
            }
        )


class TimeOfDayOut(OutModel):
    start: str
    end: str


class EntryOut(OutModel):
    id: str
    doctor_id: str
    patient_id: str
    from_: str = Field(alias="from")
    to: str
    days: list[str]
    times: list[TimeOfDayOut]
    type: Literal["in-person", "telehealth"]
    duration: int
    notify: list[str]
    move_earlier: str | None = Field(default=None, exclude_if=lambda v: v is None)
    status: Literal["waiting", "offered", "booked", "expired", "left"]
    joined_at: Instant
    offer: OfferOut | None = Field(default=None, exclude_if=lambda v: v is None)
    past_offers: list[OfferOut]
    appointment_id: str | None = Field(default=None, exclude_if=lambda v: v is None)

    @classmethod
    def of(cls, e: Entry) -> Self:
        return cls.model_validate(
            {
                "id": e.id,
                "doctor_id": e.doctor_id,
                "patient_id": e.patient_id,
                "from": e.date_from.isoformat(),
                "to": e.date_to.isoformat(),
                "days": list(e.days),
                "times": [{"start": r.start.strftime("%H:%M"), "end": r.end.strftime("%H:%M")} for r in e.times],
                "type": e.type.value,
                "duration": e.duration,
                "notify": list(e.notify),
                "move_earlier": e.move_earlier,
                "status": e.status.value,
                "joined_at": e.joined_at,
                "offer": OfferOut.of(e.offer) if e.offer else None,
                "past_offers": [OfferOut.of(o) for o in e.past_offers],
                "appointment_id": e.appointment_id,
            }
        )


class EntryList(OutModel):
    entries: list[EntryOut]


class FreedOut(OutModel):
    id: str
    date: str
    starts_at: Instant
    ends_at: Instant
    freed_at: Instant
    origin: str
    status: Literal["open", "refilled", "unfilled", "explained", "deferred"]
    reason: str | None = Field(default=None, exclude_if=lambda v: v is None)
    offers: list[dict[str, Any]]

    @classmethod
    def of(cls, r: FreedRecord) -> Self:
        return cls.model_validate(
            {
                "id": r.id,
                "date": r.date,
                "starts_at": r.starts_at,
                "ends_at": r.ends_at,
                "freed_at": r.freed_at,
                "origin": r.origin,
                "status": r.status,
                "reason": r.reason,
                "offers": list(r.offers),
            }
        )


class DayViewOut(OutModel):
    doctor_id: str
    date: str
    entries: list[EntryOut] = Field(description="Waiting and offered entries, in the order offers go.")
    freed: list[FreedOut] = Field(description="The day's freed times, each offer made and how it ended.")


class RefillOut(OutModel):
    week: str
    freed_minutes: int
    refilled_minutes: int
    refill_rate: float | None
    median_seconds_to_rebook: float | None
    offers_sent: int
    accepted: int
    declined: int
    expired: int

    @classmethod
    def of(cls, r: Refill) -> Self:
        return cls.model_validate({name: getattr(r, name) for name in cls.model_fields})


class RefillReport(OutModel):
    doctor_id: str
    weeks: list[RefillOut]


# --- routes ----------------------------------------------------------------------------------------------------
