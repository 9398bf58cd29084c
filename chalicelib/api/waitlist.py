"""Waitlist routes: join, list, leave, accept and decline an offer; staff's day view, offers by hand and refill
analytics; and the appointments stream's offer consumer and the sweep. The request and response models live here
(as in api/schemas/, no `from __future__ import annotations`: pydantic reads the annotations themselves)."""

import logging
from typing import Annotated, Any, Literal, Self

from chalice import Blueprint
from pydantic import Field, model_validator

from chalicelib import container
from chalicelib.api import schemas as s
from chalicelib.api.http import Call, endpoint
from chalicelib.api.realtime import slot_change
from chalicelib.api.stream_batch import each_record
from chalicelib.domain.appointments import AppointmentType
from chalicelib.domain.identity import Role
from chalicelib.domain.timefmt import MAX_WINDOW_DAYS
from chalicelib.domain.waitlist import WEEKDAYS, Entry, FreedRecord, Offer, Refill
from chalicelib.observability import count
from chalicelib.services.waitlist import ChangeRequest, JoinRequest, OfferReport

waitlist_api = Blueprint(__name__)
log = logging.getLogger("clinic.api")
STAFF = (Role.DOCTOR, Role.ADMIN)
TAGS = ("waitlist",)
Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
WallTime = Annotated[str, Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]


# --- models ----------------------------------------------------------------------------------------------------
class TimeOfDayIn(s.ApiModel):
    start: WallTime
    end: WallTime


class NotifyIn(s.ApiModel):
    email: bool = False
    sms: bool = False
    push: bool = False


class WaitlistIn(s.ApiModel):
    """A place on a doctor's waitlist: the window, days and times of day that suit, visit type and length, how
    to be told (verified addresses only) and optionally a visit to move earlier."""

    doctor_id: s.Id
    from_: s.Day = Field(alias="from")
    to: s.Day
    days: Annotated[list[Weekday], Field(max_length=7)] | None = None
    times: Annotated[list[TimeOfDayIn], Field(max_length=6)] | None = None
    type: s.AppointmentTypeName
    duration: s.Minutes | None = None
    notify: NotifyIn
    move_earlier: s.Id | None = None

    @model_validator(mode="after")
    def _window(self) -> Self:
        if self.to < self.from_:
            raise ValueError("`to` must not be before `from`")
        return self


class WaitlistChangeIn(s.ApiModel):
    """What may change of a waiting entry; fields left out stay as they are."""

    from_: s.Day | None = Field(default=None, alias="from")
    to: s.Day | None = None
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


class AcceptIn(s.ApiModel):
    reason: Annotated[str, Field(max_length=500)] = ""


class OfferByHandIn(s.ApiModel):
    date: s.Day
    time: s.Hhmm


class WaitlistQuery(s.QueryModel):
    doctor_id: s.Id | None = Field(default=None, alias="doctorId")


class DayQuery(s.QueryModel):
    doctor_id: s.Id = Field(alias="doctorId")
    date: s.Day


class AnalyticsQuery(s.QueryModel):
    doctor_id: s.Id = Field(alias="doctorId")
    from_: s.Day = Field(alias="from")
    to: s.Day

    @model_validator(mode="after")
    def _window(self) -> Self:
        if self.to < self.from_ or (self.to - self.from_).days >= MAX_WINDOW_DAYS:
            raise ValueError(f"`from` ≤ `to`, at most {MAX_WINDOW_DAYS} days")
        return self


class OfferOut(s.OutModel):
    hold_id: str
    date: str
    time: str
    starts_at: s.Instant
    expires_at: s.Instant
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


class TimeOfDayOut(s.OutModel):
    start: str
    end: str


class EntryOut(s.OutModel):
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
    joined_at: s.Instant
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


class EntryList(s.OutModel):
    entries: list[EntryOut]


class FreedOut(s.OutModel):
    id: str
    date: str
    starts_at: s.Instant
    ends_at: s.Instant
    freed_at: s.Instant
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


class DayViewOut(s.OutModel):
    doctor_id: str
    date: str
    entries: list[EntryOut] = Field(description="Waiting and offered entries, in the order offers go.")
    freed: list[FreedOut] = Field(description="The day's freed times, each offer made and how it ended.")


class RefillOut(s.OutModel):
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


class RefillReport(s.OutModel):
    doctor_id: str
    weeks: list[RefillOut]


# --- routes ----------------------------------------------------------------------------------------------------
@endpoint(
    waitlist_api,
    "/api/waitlist",
    "POST",
    "Join a doctor's waitlist (patients)",
    body=WaitlistIn,
    response=EntryOut,
    status=201,
    roles=(Role.PATIENT,),
    errors=(404, 422),
    tags=TAGS,
)
def join_waitlist(call: Call) -> EntryOut:
    b: WaitlistIn = call.body
    entry = call.services.waitlist.join(
        call.caller,
        JoinRequest(
            doctor_id=b.doctor_id,
            date_from=b.from_,
            date_to=b.to,
            type=AppointmentType(b.type),
            notify=b.notify.model_dump(),
            days=tuple(d for d in WEEKDAYS if d in (b.days or [])),
            times=tuple({"start": t.start, "end": t.end} for t in b.times or []),
            duration=b.duration,
            move_earlier=b.move_earlier,
        ),
    )
    _count("WaitlistJoined")
    return EntryOut.of(entry)


@endpoint(
    waitlist_api,
    "/api/waitlist",
    "GET",
    "Own waitlist entries (patients); a doctor's (staff, `?doctorId=`)",
    query=WaitlistQuery,
    response=EntryList,
    errors=(404,),
    tags=TAGS,
)
def list_waitlist(call: Call) -> EntryList:
    q: WaitlistQuery = call.query
    found = call.services.waitlist.entries(call.caller, q.doctor_id)
    return EntryList(entries=[EntryOut.of(e) for e in found])


@endpoint(
    waitlist_api,
    "/api/waitlist/day",
    "GET",
    "A doctor's waitlist and the day's freed times with their offers and outcomes (staff)",
    query=DayQuery,
    response=DayViewOut,
    roles=STAFF,
    errors=(404,),
    tags=TAGS,
)
def waitlist_day(call: Call) -> DayViewOut:
    q: DayQuery = call.query
    view = call.services.waitlist.day_view(call.caller, q.doctor_id, q.date)
    return DayViewOut(
        doctor_id=q.doctor_id,
        date=q.date.isoformat(),
        entries=[EntryOut.of(e) for e in view.entries],
        freed=[FreedOut.of(r) for r in view.freed],
    )


@endpoint(
    waitlist_api,
    "/api/waitlist/analytics",
    "GET",
    "Freed and refilled minutes, refill rate, median time to rebook and offer outcomes per week (staff)",
    query=AnalyticsQuery,
    response=RefillReport,
    roles=STAFF,
    errors=(404,),
    tags=TAGS,
)
def waitlist_analytics(call: Call) -> RefillReport:
    q: AnalyticsQuery = call.query
    weeks = call.services.waitlist.analytics(call.caller, q.doctor_id, q.from_, q.to)
    return RefillReport(doctor_id=q.doctor_id, weeks=[RefillOut.of(w) for w in weeks])


@endpoint(waitlist_api, "/api/waitlist/{id}", "GET", "One waitlist entry", response=EntryOut, errors=(404,), tags=TAGS)
def get_waitlist_entry(call: Call) -> EntryOut:
    return EntryOut.of(call.services.waitlist.get(call.caller, call.params["id"]))


@endpoint(
    waitlist_api,
    "/api/waitlist/{id}",
    "DELETE",
    "Leave the waitlist (an open offer's time goes to the next entry)",
    response=EntryOut,
    errors=(404, 409),
    tags=TAGS,
)
def leave_waitlist(call: Call) -> EntryOut:
    return EntryOut.of(call.services.waitlist.leave(call.caller, call.params["id"]))


@endpoint(
    waitlist_api,
    "/api/waitlist/{id}",
    "PATCH",
    "Change a waiting entry: window, days, times of day, channels (its place in the order is kept)",
    body=WaitlistChangeIn,
    response=EntryOut,
    roles=(Role.PATIENT,),
    errors=(404, 409, 422),
    tags=TAGS,
)
def change_waitlist_entry(call: Call) -> EntryOut:
    b: WaitlistChangeIn = call.body
    request = ChangeRequest(
        date_from=b.from_,
        date_to=b.to,
        days=None if b.days is None else tuple(d for d in WEEKDAYS if d in b.days),
        times=None if b.times is None else tuple({"start": t.start, "end": t.end} for t in b.times),
        notify=None if b.notify is None else b.notify.model_dump(),
    )
    return EntryOut.of(call.services.waitlist.change(call.caller, call.params["id"], request))


@endpoint(
    waitlist_api,
    "/api/waitlist/{id}/accept",
    "POST",
    "Accept the entry's offer: books it (or moves the visit earlier) and the entry turns `booked`",
    body=AcceptIn,
    response=s.AppointmentOut,
    status=201,
    roles=(Role.PATIENT,),
    errors=(404, 409, 422),
    tags=TAGS,
)
def accept_offer(call: Call) -> s.AppointmentOut:
    body: AcceptIn | None = call.body
    booked = call.services.waitlist.accept(call.caller, call.params["id"], body.reason if body else "")
    _count("WaitlistAccepted")
    return s.AppointmentOut.of(booked)


@endpoint(
    waitlist_api,
    "/api/waitlist/{id}/decline",
    "POST",
    "Decline the entry's offer: the entry waits again and the time goes to the next entry",
    response=EntryOut,
    roles=(Role.PATIENT,),
    errors=(404, 409),
    tags=TAGS,
)
def decline_offer(call: Call) -> EntryOut:
    return EntryOut.of(call.services.waitlist.decline(call.caller, call.params["id"]))


@endpoint(
    waitlist_api,
    "/api/waitlist/{id}/offer",
    "POST",
    "Offer a chosen time to this waiting entry (staff): held for it and told as any offer",
    body=OfferByHandIn,
    response=EntryOut,
    status=201,
    roles=STAFF,
    errors=(404, 409, 422),
    tags=TAGS,
)
def offer_by_hand(call: Call) -> EntryOut:
    b: OfferByHandIn = call.body
    return EntryOut.of(call.services.waitlist.offer_by_hand(call.caller, call.params["id"], b.date, b.time))


# --- the stream and the sweep ----------------------------------------------------------------------------------
def offer_records(records: list[Any]) -> dict[str, Any]:
    """The appointments stream's records, each on its own: its freed times offered; the records that failed are
    the partial batch response's (Powertools' BatchProcessor), retried by the stream."""
    waitlist, report = container.current().waitlist, OfferReport()
    answer = each_record(records, lambda record: waitlist.on_change(slot_change(record), report))
    return {
        **answer,
        "freed": report.freed,
        "offered": report.offered,
        "explained": report.explained,
        "skipped": report.skipped,
    }


def run_waitlist_sweep() -> dict[str, int]:
    wired = container.current()
    doctors = [d.id for d in wired.doctors.search()]
    return wired.waitlist.sweep(doctors)


def _count(name: str) -> None:
    try:
        count(name)
    except Exception:  # committed means done: a metric never turns it into an error
        log.exception("metric %s not recorded", name)
