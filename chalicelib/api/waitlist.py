"""Waitlist routes: join, list, leave, accept and decline an offer; staff's day view, offers by hand and refill
analytics; and the appointments stream's offer consumer and the sweep. Its request and response
models are in `api/schemas/waitlist.py`."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from chalice import Blueprint

from chalicelib import container
from chalicelib.api import schemas as s
from chalicelib.api.http import Call, endpoint
from chalicelib.api.realtime import slot_change
from chalicelib.api.stream_batch import each_record
from chalicelib.domain.identity import Role
from chalicelib.observability import count

if TYPE_CHECKING:
    from chalicelib.api.schemas.waitlist import (
        AcceptIn,
        AnalyticsQuery,
        DayQuery,
        DayViewOut,
        EntryList,
        EntryOut,
        OfferByHandIn,
        RefillReport,
        WaitlistChangeIn,
        WaitlistIn,
        WaitlistQuery,
    )

waitlist_api = Blueprint(__name__)
log = logging.getLogger("clinic.api")
STAFF = (Role.DOCTOR, Role.ADMIN)
TAGS = ("waitlist",)


@endpoint(
    waitlist_api,
    "/api/waitlist",
    "POST",
    "Join a doctor's waitlist (patients)",
    body="waitlist.WaitlistIn",
    response="waitlist.EntryOut",
    status=201,
    roles=(Role.PATIENT,),
    errors=(404, 422),
    tags=TAGS,
)
def join_waitlist(call: Call) -> EntryOut:
    from chalicelib.api.schemas.waitlist import EntryOut
    from chalicelib.domain.appointments import AppointmentType
    from chalicelib.domain.waitlist import WEEKDAYS
    from chalicelib.services.waitlist import JoinRequest

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
    query="waitlist.WaitlistQuery",
    response="waitlist.EntryList",
    errors=(404,),
    tags=TAGS,
)
def list_waitlist(call: Call) -> EntryList:
    from chalicelib.api.schemas.waitlist import EntryList, EntryOut

    q: WaitlistQuery = call.query
    found = call.services.waitlist.entries(call.caller, q.doctor_id)
    return EntryList(entries=[EntryOut.of(e) for e in found])


@endpoint(
    waitlist_api,
    "/api/waitlist/day",
    "GET",
    "A doctor's waitlist and the day's freed times with their offers and outcomes (staff)",
    query="waitlist.DayQuery",
    response="waitlist.DayViewOut",
    roles=STAFF,
    errors=(404,),
    tags=TAGS,
)
def waitlist_day(call: Call) -> DayViewOut:
    from chalicelib.api.schemas.waitlist import DayViewOut, EntryOut, FreedOut

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
    query="waitlist.AnalyticsQuery",
    response="waitlist.RefillReport",
    roles=STAFF,
    errors=(404,),
    tags=TAGS,
)
def waitlist_analytics(call: Call) -> RefillReport:
    from chalicelib.api.schemas.waitlist import RefillOut, RefillReport

    q: AnalyticsQuery = call.query
    weeks = call.services.waitlist.analytics(call.caller, q.doctor_id, q.from_, q.to)
    return RefillReport(doctor_id=q.doctor_id, weeks=[RefillOut.of(w) for w in weeks])


@endpoint(
    waitlist_api,
    "/api/waitlist/{id}",
    "GET",
    "One waitlist entry",
    response="waitlist.EntryOut",
    errors=(404,),
    tags=TAGS,
)
def get_waitlist_entry(call: Call) -> EntryOut:
    from chalicelib.api.schemas.waitlist import EntryOut

    return EntryOut.of(call.services.waitlist.get(call.caller, call.params["id"]))


@endpoint(
    waitlist_api,
    "/api/waitlist/{id}",
    "DELETE",
    "Leave the waitlist (an open offer's time goes to the next entry)",
    response="waitlist.EntryOut",
    errors=(404, 409),
    tags=TAGS,
)
def leave_waitlist(call: Call) -> EntryOut:
    from chalicelib.api.schemas.waitlist import EntryOut

    return EntryOut.of(call.services.waitlist.leave(call.caller, call.params["id"]))


@endpoint(
    waitlist_api,
    "/api/waitlist/{id}",
    "PATCH",
    "Change a waiting entry: window, days, times of day, channels (its place in the order is kept)",
    body="waitlist.WaitlistChangeIn",
    response="waitlist.EntryOut",
    roles=(Role.PATIENT,),
    errors=(404, 409, 422),
    tags=TAGS,
)
def change_waitlist_entry(call: Call) -> EntryOut:
    from chalicelib.api.schemas.waitlist import EntryOut
    from chalicelib.domain.waitlist import WEEKDAYS
    from chalicelib.services.waitlist import ChangeRequest

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
    body="waitlist.AcceptIn",
    response="AppointmentOut",
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
    response="waitlist.EntryOut",
    roles=(Role.PATIENT,),
    errors=(404, 409),
    tags=TAGS,
)
def decline_offer(call: Call) -> EntryOut:
    from chalicelib.api.schemas.waitlist import EntryOut

    return EntryOut.of(call.services.waitlist.decline(call.caller, call.params["id"]))


@endpoint(
    waitlist_api,
    "/api/waitlist/{id}/offer",
    "POST",
    "Offer a chosen time to this waiting entry (staff): held for it and told as any offer",
    body="waitlist.OfferByHandIn",
    response="waitlist.EntryOut",
    status=201,
    roles=STAFF,
    errors=(404, 409, 422),
    tags=TAGS,
)
def offer_by_hand(call: Call) -> EntryOut:
    from chalicelib.api.schemas.waitlist import EntryOut

    b: OfferByHandIn = call.body
    return EntryOut.of(call.services.waitlist.offer_by_hand(call.caller, call.params["id"], b.date, b.time))


# --- the stream and the sweep ----------------------------------------------------------------------------------
def offer_records(records: list[Any]) -> dict[str, Any]:
    """The appointments stream's records, each on its own: its freed times offered; the records that failed are
    the partial batch response's (Powertools' BatchProcessor), retried by the stream."""
    from chalicelib.services.waitlist import OfferReport

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
