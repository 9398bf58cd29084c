"""Waitlist use cases: join, list, leave; offers of freed times (from the appointments stream) with a hold for the
first matching entry in fair order, one message per offer, accept (book or move earlier) and decline; the sweep
that ends lapsed offers and expired entries; staff's day view, offers by hand and the refill analytics."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Protocol

from chalicelib.domain.appointments import Appointment, AppointmentType
from chalicelib.domain.delivery import UnknownDeliveryOutcome
from chalicelib.domain.doctors import Doctor
from chalicelib.domain.errors import (
    BookingLimitReached,
    BusinessRuleViolation,
    Conflict,
    DailyLimitReached,
    Forbidden,
    InvalidInput,
    InvalidState,
    NotFound,
    SlotUnavailable,
    TelehealthNotOffered,
)
from chalicelib.domain.holds import Hold
from chalicelib.domain.identity import Caller, Role
from chalicelib.domain.limits import check_duration
from chalicelib.domain.realtime import SlotChange, UnreadableChange
from chalicelib.domain.reminders import Channel, Reminder, ReminderStatus
from chalicelib.domain.schedule import Availability, local_instant, working_intervals
from chalicelib.domain.waitlist import (
    QUIET_CATCH_UP,
    Entry,
    EntryStatus,
    FreedRecord,
    FreedTime,
    Offer,
    OfferOutcome,
    Refill,
    Settings,
    check_limits,
    check_window,
    end_offer,
    expired,
    fair_order,
    freed_busy_intervals,
    freed_id,
    freed_intervals,
    matches,
    offer_log,
    offer_message,
    opened_intervals,
    origin_of,
    parse_times,
    recipients,
    refill_report,
    with_offer,
)
from chalicelib.services.booking import AppointmentView, HoldBooking, HoldMover, HoldRequest
from chalicelib.services.booking.commands import BookingCommands
from chalicelib.services.booking.queries import BookingQueries
from chalicelib.services.ports.delivery import MessageSender
from chalicelib.services.ports.patients import PatientRepository
from chalicelib.services.ports.system import Clock, IdGenerator
from chalicelib.services.sign_in import SignIn

log = logging.getLogger("clinic.waitlist")
WAITLIST = Caller(subject="system:waitlist", role=Role.ADMIN, username="waitlist", name="Waitlist")
"""Who holds an offered time: the clinic itself, for the entry's patient (the audit trail names it)."""
SAVE_ATTEMPTS = 5


class WaitlistStore(Protocol):
    def add(self, entry: Entry) -> None: ...
    def get(self, entry_id: str) -> Entry | None: ...
    def save(self, entry: Entry) -> Entry: ...
    def of_patient(self, patient_id: str) -> list[Entry]: ...
    def of_doctor(self, doctor_id: str) -> list[Entry]: ...
    def queue(self, doctor_id: str) -> list[Entry]: ...
    def add_freed(self, record: FreedRecord) -> bool: ...
    def get_freed(self, record_id: str) -> tuple[FreedRecord, int] | None: ...
    def save_freed(self, record: FreedRecord, version: int) -> None: ...
    def freed_of(self, doctor_id: str, first: date, last: date) -> list[FreedRecord]: ...


@dataclass(frozen=True)
class JoinRequest:
    doctor_id: str
    date_from: date
    date_to: date
    type: AppointmentType
    notify: Mapping[str, bool]
    days: tuple[str, ...] = ()
    times: tuple[Mapping[str, str], ...] = ()
    duration: int | None = None
    move_earlier: str | None = None


@dataclass(frozen=True)
class ChangeRequest:
    """What a patient may change of a waiting entry (None: unchanged)."""

    date_from: date | None = None
    date_to: date | None = None
    days: tuple[str, ...] | None = None
    times: tuple[Mapping[str, str], ...] | None = None
    notify: Mapping[str, bool] | None = None


@dataclass
class OfferReport:
    freed: int = 0
    offered: int = 0
    explained: int = 0
    skipped: int = 0


@dataclass(frozen=True)
class DayView:
    entries: list[Entry]
    freed: list[FreedRecord]


class WaitlistService:
    def __init__(
        self,
        store: WaitlistStore,
        booking: BookingCommands,
        queries: BookingQueries,
        sign_in: SignIn,
        mover: HoldMover,
        sender: MessageSender,
        patients: PatientRepository,
        clock: Clock,
        ids: IdGenerator,
        settings: Settings,
        link_base: str = "",
    ) -> None:
        self._store = store
        self._booking = booking
        self._queries = queries
        self._sign_in = sign_in
        self._mover = mover
        self._sender = sender
        self._patients = patients
        self._clock = clock
        self._ids = ids
        self.settings = settings
        self._link_base = link_base.rstrip("/")

    # --- patients --------------------------------------------------------------------------------------------
    def join(self, caller: Caller, request: JoinRequest) -> Entry:
        if caller.role is not Role.PATIENT:
            raise Forbidden("Patients join a waitlist themselves.")
        doctor = self._queries.doctor(request.doctor_id)
        if request.type is AppointmentType.TELEHEALTH and not doctor.telehealth:
            raise TelehealthNotOffered("This doctor does not offer telehealth visits.")
        duration = request.duration or doctor.schedule.appointment_duration
        check_duration(doctor.schedule, duration, by_staff=False)
        now = self._clock.now()
        today = now.astimezone(doctor.zone).date()
        horizon = doctor.schedule.booking_horizon_days or self._queries.policy.booking_horizon_days
        check_window(request.date_from, request.date_to, today, horizon)
        times = parse_times(request.times)
        channels, email, phone = recipients(
            request.notify, caller.email, caller.email_verified, caller.phone, caller.phone_verified
        )
        moving_from = None
        if request.move_earlier:
            visit = self._queries.get(caller, request.move_earlier)
            if not visit.active or visit.doctor_id != doctor.id or visit.starts_at <= now:
                raise InvalidInput(
                    "Only an upcoming visit with this doctor can be moved earlier.",
                    {"fields": {"moveEarlier": "not an upcoming visit with this doctor"}},
                )
            moving_from = visit.starts_at
        check_limits(self._store.of_patient(caller.subject), doctor.id)
        entry = Entry(
            id=self._ids.new_id(),
            doctor_id=doctor.id,
            patient_id=caller.subject,
            date_from=request.date_from,
            date_to=request.date_to,
            type=request.type,
            duration=duration,
            notify=channels,
            joined_at=now,
            days=request.days,
            times=times,
            move_earlier=request.move_earlier,
            move_earlier_starts_at=moving_from,
            recipient_email=email,
            recipient_phone=phone,
            updated_at=now,
        )
        try:
            self._sign_in.record(caller)  # the directory record that offers (held by the clinic) name
        except Exception:
            log.exception("waitlist: the patient's directory record was not written")
        self._store.add(entry)
        return replace(entry, version=1)

    def entries(self, caller: Caller, doctor_id: str | None) -> list[Entry]:
        if doctor_id is None:
            if caller.role is not Role.PATIENT:
                raise InvalidInput("Staff name the doctor: ?doctorId=", {"fields": {"doctorId": "required"}})
            found = self._store.of_patient(caller.subject)
        else:
            self._check_staff(caller, doctor_id)
            self._queries.doctor(doctor_id)
            found = self._store.of_doctor(doctor_id)
        return found

    def get(self, caller: Caller, entry_id: str) -> Entry:
        entry = self._store.get(entry_id)
        if entry is None or not self._may_see(caller, entry):
            raise NotFound("No such waitlist entry.", {"id": entry_id})
        return entry

    def change(self, caller: Caller, entry_id: str, request: ChangeRequest) -> Entry:
        """A patient changes its waiting entry (window, days, times of day, channels), checked as when joining;
        its place in the order (its join time) is kept. An entry with an open offer is answered first."""
        entry = self.get(caller, entry_id)
        if caller.role is not Role.PATIENT or caller.subject != entry.patient_id:
            raise Forbidden("Only the patient changes its entry.")
        if entry.status is not EntryStatus.WAITING:
            raise InvalidState(
                "Only a waiting entry can be changed; answer its offer first.", {"status": entry.status.value}
            )
        doctor = self._queries.doctor(entry.doctor_id)
        now = self._clock.now()
        date_from = request.date_from or entry.date_from
        date_to = request.date_to or entry.date_to
        horizon = doctor.schedule.booking_horizon_days or self._queries.policy.booking_horizon_days
        check_window(date_from, date_to, now.astimezone(doctor.zone).date(), horizon)
        after = replace(
            entry,
            date_from=date_from,
            date_to=date_to,
            days=entry.days if request.days is None else request.days,
            times=entry.times if request.times is None else parse_times(request.times),
            updated_at=now,
        )
        if request.notify is not None:
            channels, email, phone = recipients(
                request.notify, caller.email, caller.email_verified, caller.phone, caller.phone_verified
            )
            after = replace(after, notify=channels, recipient_email=email, recipient_phone=phone)
        try:
            return self._store.save(after)
        except Conflict as exc:
            raise Conflict("The entry changed meanwhile (an offer may have arrived); read it again.") from exc

    def leave(self, caller: Caller, entry_id: str) -> Entry:
        entry = self.get(caller, entry_id)
        if not entry.active:
            raise InvalidState("This entry has ended already.", {"status": entry.status.value})
        now = self._clock.now()
        left = self._end(entry, OfferOutcome.WITHDRAWN, EntryStatus.LEFT, now)
        return left

    def accept(self, caller: Caller, entry_id: str, reason: str = "") -> AppointmentView:
        entry = self.get(caller, entry_id)
        if caller.role is not Role.PATIENT or caller.subject != entry.patient_id:
            raise Forbidden("Only the patient accepts its offer.")
        offer = entry.offer
        if entry.status is not EntryStatus.OFFERED or offer is None:
            raise InvalidState("There is no open offer on this entry.", {"status": entry.status.value})
        now = self._clock.now()
        moving = entry.move_earlier if entry.move_earlier and self._still_booked(caller, entry.move_earlier) else None
        try:
            if moving:
                booked, _ = self._booking.book_hold_moving(caller, offer.hold_id, moving, self._mover)
            else:
                booked = self._booking.book_hold(caller, HoldBooking(hold_id=offer.hold_id, reason=reason))
        except (NotFound, InvalidState) as exc:
            reason_code = (exc.details or {}).get("reason")
            if isinstance(exc, InvalidState) and reason_code != "hold_expired" and moving:
                raise  # the visit to move changed meanwhile: nothing was booked, the offer stands
            lapsed = reason_code == "hold_expired" or now >= offer.expires_at
            outcome = OfferOutcome.EXPIRED if lapsed else OfferOutcome.TAKEN
            self._end(entry, outcome, None, now, release=lapsed)
            message = (
                "This offer has expired; you are still on the waitlist."
                if lapsed
                else "This time was taken before you accepted; you are still on the waitlist."
            )
            raise InvalidState(message, {"reason": f"offer_{outcome.value}", "id": entry.id}) from exc
        appointment = booked.appointment
        self._settle(
            entry.id, lambda e: end_offer(e, OfferOutcome.ACCEPTED, now, EntryStatus.BOOKED), booked=appointment
        )
        self._log_outcome(offer, entry.id, OfferOutcome.ACCEPTED, now, refilled=appointment)
        return booked

    def _still_booked(self, caller: Caller, appointment_id: str) -> bool:
        """Is the visit a "move me earlier" entry would replace still booked? If the patient cancelled it
        meanwhile, accepting books the offered time on its own."""
        try:
            return self._queries.get(caller, appointment_id).active
        except NotFound:
            return False

    def decline(self, caller: Caller, entry_id: str) -> Entry:
        entry = self.get(caller, entry_id)
        if caller.role is not Role.PATIENT or caller.subject != entry.patient_id:
            raise Forbidden("Only the patient declines its offer.")
        if entry.status is not EntryStatus.OFFERED or entry.offer is None:
            raise InvalidState("There is no open offer on this entry.", {"status": entry.status.value})
        return self._end(entry, OfferOutcome.DECLINED, None, self._clock.now())

    # --- staff -----------------------------------------------------------------------------------------------
    def day_view(self, caller: Caller, doctor_id: str, day: date) -> DayView:
        """The doctor's waiting and offered entries in the order offers go, and the day's freed times with each
        offer made and how it ended."""
        self._check_staff(caller, doctor_id)
        self._queries.doctor(doctor_id)
        queue = fair_order(self._store.queue(doctor_id), self.settings)
        return DayView(queue, self._store.freed_of(doctor_id, day, day))

    def offer_by_hand(self, caller: Caller, entry_id: str, day: date, at: time) -> Entry:
        """Staff offer a chosen time to a chosen waiting entry (the same hold, message and answers)."""
        entry = self._store.get(entry_id)
        if entry is None or not caller.is_staff or not self._may_see(caller, entry):
            raise NotFound("No such waitlist entry.", {"id": entry_id})
        if entry.status is not EntryStatus.WAITING:
            raise InvalidState("Only a waiting entry can be offered a time.", {"status": entry.status.value})
        doctor = self._queries.doctor(entry.doctor_id)
        starts = local_instant(day, at, doctor.zone).astimezone(UTC)
        now = self._clock.now()
        record = FreedRecord(
            id=f"H-{self._ids.new_id()}",
            doctor_id=doctor.id,
            date=day.isoformat(),
            starts_at=starts,
            ends_at=starts + timedelta(minutes=entry.duration),
            freed_at=now,
            origin="by-hand",
            source_id=caller.subject,
        )
        self._store.add_freed(record)
        outcome, why = self._try_offer(entry, record, doctor, by_hand=True)
        if outcome != "offered":
            self._explain(record.id, why or "not offered")
            raise SlotUnavailable(why or "This time could not be offered.", {"id": entry_id})
        found = self._store.get(entry_id)
        return found or entry

    def analytics(self, caller: Caller, doctor_id: str, first: date, last: date) -> list[Refill]:
        self._check_staff(caller, doctor_id)
        doctor = self._queries.doctor(doctor_id)
        return refill_report(self._store.freed_of(doctor_id, first, last), doctor.zone)

    # --- the stream ------------------------------------------------------------------------------------------
    def on_change(self, change: SlotChange | UnreadableChange, report: OfferReport) -> None:
        """Each freed time of one change offered on its own, counted into `report`. A change that cannot be
        handled (store busy) raises: its stream record alone is retried (the freed time's log is written once, so
        a retry is harmless). A change that cannot be read is skipped."""
        if isinstance(change, UnreadableChange):
            report.skipped += 1
            return
        try:
            self._on_change(change, report)
        except Exception:
            log.exception("waitlist: change %s not handled; it will be retried", change.sequence or "?")
            raise

    def _on_change(self, change: SlotChange, report: OfferReport) -> None:
        old, new = change.old, change.new
        pieces = freed_intervals(old, new)
        if not pieces or old is None:
            return
        doctor_id = str(old.get("doctor_id") or "")
        source = str(old.get("id") or "")
        if not doctor_id or not source:
            return
        origin = origin_of(old, new)
        previous = None
        if origin == "hold-released":
            previous = self._offer_of_hold(str(old.get("patient_id") or ""), source)
        version = (new or {}).get("version") or old.get("version") or 0
        for start, end in pieces:
            report.freed += 1
            if previous is not None:
                record_id = previous
            else:
                record_id = freed_id(doctor_id, start, source, str(version))
                self._log_freed(FreedTime(doctor_id, start, end, origin, source), record_id)
            result = self.offer_freed(record_id)
            if result == "offered":
                report.offered += 1
            else:
                report.explained += 1

    def on_availability_changed(self, doctor: Doctor, new: Availability) -> int:
        """After an admin's availability change committed: the working time it opened (new hours, a removed
        holiday) within the booking horizon and the waiting entries' windows, each interval logged and offered
        as a freed time through the same path as the stream's, each on its own (a failure is logged and never
        fails the change). The number of intervals offered."""
        queue = self._store.queue(doctor.id)
        if not queue:
            return 0
        now = self._clock.now()
        zone = doctor.zone
        horizon = new.booking_horizon_days or self._queries.policy.booking_horizon_days
        first = now.astimezone(zone).date()
        last = min(first + timedelta(days=horizon), max(e.date_to for e in queue))
        opened = opened_intervals(doctor.availability, new, zone, first, last, now)
        stamp = now.strftime("%Y%m%dT%H%M%S%fZ")
        offered = 0
        for start, end in opened:
            try:
                record_id = freed_id(doctor.id, start, "hours", stamp)
                self._log_freed(FreedTime(doctor.id, start, end, "hours-opened", "availability"), record_id)
                offered += self.offer_freed(record_id) == "offered"
            except Exception:
                log.exception("waitlist: a time opened by an availability change of %s was not offered", doctor.id)
        return offered

    def on_busy_freed(
        self,
        doctor_id: str,
        day: date,
        old: Sequence[tuple[datetime, datetime]],
        new: Sequence[tuple[datetime, datetime]],
        taken: Sequence[tuple[datetime, datetime]] = (),
    ) -> int:
        """After a calendar sync's write of one doctor-day committed: the time its busy intervals no longer block
        (an event removed or shortened in the doctor's own calendar), within working hours and not booked, each
        interval logged (as busy-removed) and offered through the stream's path on its own (a failure is logged
        and never fails the sync). The number of intervals offered."""
        if not self._store.queue(doctor_id):
            return 0
        doctor = self._queries.doctor(doctor_id)
        availability = doctor.availability
        if availability is None or day in availability.holidays:
            return 0
        now = self._clock.now()
        working = working_intervals(availability, day, doctor.zone)
        freed = freed_busy_intervals(old, new, working, taken, now)
        stamp = now.strftime("%Y%m%dT%H%M%S%fZ")
        offered = 0
        for start, end in freed:
            try:
                record_id = freed_id(doctor.id, start, "busy", stamp)
                self._log_freed(FreedTime(doctor.id, start, end, "busy-removed", "calendar"), record_id)
                offered += self.offer_freed(record_id) == "offered"
            except Exception:
                log.exception("waitlist: a time freed in %s's own calendar was not offered", doctor.id)
        return offered

    def _log_freed(self, freed: FreedTime, record_id: str) -> None:
        doctor = self._queries.doctor(freed.doctor_id)
        self._store.add_freed(
            FreedRecord(
                id=record_id,
                doctor_id=freed.doctor_id,
                date=freed.starts_at.astimezone(doctor.zone).date().isoformat(),
                starts_at=freed.starts_at,
                ends_at=freed.ends_at,
                freed_at=self._clock.now(),
                origin=freed.origin,
                source_id=freed.source_id,
            )
        )

    def _offer_of_hold(self, patient_id: str, hold_id: str) -> str | None:
        """A released hold that was a waitlist offer: its entry's offer ends (lapsed, unless it ended already) and
        the freed time's own log goes on to the next entry. None for any other hold."""
        if not patient_id:
            return None
        for entry in self._store.of_patient(patient_id):
            if entry.offer is not None and entry.offer.hold_id == hold_id:
                self._settle(
                    entry.id,
                    lambda e: (
                        end_offer(e, OfferOutcome.EXPIRED, self._clock.now())
                        if e.offer is not None and e.offer.hold_id == hold_id
                        else e
                    ),
                )
                self._log_outcome(entry.offer, entry.id, OfferOutcome.EXPIRED, self._clock.now())
                return entry.offer.freed_id
            for past in entry.past_offers:
                if past.hold_id == hold_id:
                    return past.freed_id
        return None

    def offer_freed(self, record_id: str) -> str:
        """Offers a logged freed time to the first matching entry in fair order; what is left of it after that
        entry's length is logged and offered on its own. `offered`, or the reason it was not."""
        found = self._store.get_freed(record_id)
        if found is None:
            return "missing"
        record, _ = found
        if record.status == "refilled":
            return "refilled"
        if any(o.get("outcome") == "pending" for o in record.offers):
            return "offered"  # a repeat delivery while its offer is open
        doctor = self._queries.doctor(record.doctor_id)
        now = self._clock.now()
        if record.starts_at - now < self.settings.min_notice:
            self._explain(record.id, "less than the minimum notice away", "unfilled")
            return "too-soon"
        quiet = self.settings.quiet_hours
        if quiet is not None and quiet.contains(now, doctor.zone):
            until = quiet.end.strftime("%H:%M")
            self._explain(record.id, f"freed during quiet hours: offered when they end ({until})", "deferred")
            return "deferred"
        free = record.minutes
        candidates = [
            e
            for e in fair_order(self._store.queue(record.doctor_id), self.settings)
            if e.duration <= free
            and matches(e, record.starts_at, e.duration, doctor.zone, now, self.settings.min_notice)
            and not expired(e, doctor.zone, now)
        ]
        for entry in candidates:
            outcome, why = self._try_offer(entry, record, doctor)
            if outcome == "offered":
                if entry.duration < free:
                    self._offer_rest(record, entry.duration)
                return "offered"
            if outcome == "stop":
                self._explain(record.id, why or "not offered")
                return "explained"
        self._explain(record.id, "no waiting entry matches it", "unfilled")
        return "unmatched"

    def _offer_rest(self, record: FreedRecord, used: int) -> None:
        """The part of a freed time after the length just offered: its own log, offered on its own. The first
        log keeps only the part offered, so a later release of that offer's hold offers just that part again."""
        start = record.starts_at + timedelta(minutes=used)
        rest = replace(record, id=f"{record.id}+{used}", starts_at=start, offers=(), status="open", reason=None)
        self._change_freed(record.id, lambda r: replace(r, ends_at=start) if r.ends_at > start else r)
        if self._store.add_freed(rest):
            self.offer_freed(rest.id)

    def _try_offer(
        self, entry: Entry, record: FreedRecord, doctor: Doctor, by_hand: bool = False
    ) -> tuple[str, str | None]:
        """Holds the time for the entry's patient, then turns the entry `offered` (conditioned on its version:
        an entry is never offered two times at once); `offered`, `next` (this entry cannot take it) or `stop`
        (nobody can: it was booked meanwhile, the day is full, it is no longer a bookable time)."""
        local = record.starts_at.astimezone(doctor.zone)
        request = HoldRequest(
            doctor_id=doctor.id,
            date=local.date(),
            time=local.time().replace(second=0, microsecond=0),
            type=entry.type,
            patient_id=entry.patient_id,
            duration=entry.duration,
            starts_at=record.starts_at,
        )
        try:
            hold = self._booking.hold(WAITLIST, request, lasting=timedelta(minutes=self.settings.offer_minutes))
        except SlotUnavailable:
            return "stop", "booked by someone else before it could be offered"
        except DailyLimitReached:
            return "stop", "the doctor's day is full"
        except (Conflict, BookingLimitReached, InvalidInput, NotFound):
            return "next", None  # this patient is busy then, at its limit, or no longer in the directory
        except BusinessRuleViolation as exc:
            return "stop", f"no longer a bookable time ({getattr(exc, 'code', 'rule')})"
        now = self._clock.now()
        offer = Offer(
            hold_id=hold.id,
            date=hold.appointment.date,
            time=hold.appointment.time,
            starts_at=hold.appointment.starts_at,
            ends_at=hold.appointment.ends_at,
            expires_at=hold.expires_at,
            offered_at=now,
            freed_id=record.id,
            by_hand=by_hand,
        )
        try:
            current = self._store.get(entry.id)
            if current is None or current.status is not EntryStatus.WAITING:
                raise InvalidState("not waiting any more")
            offered = self._store.save(with_offer(current, offer, now))
        except (InvalidState, Conflict):
            self._release(hold.id)
            return "next", None
        self._append_offer(record.id, offer_log(entry.id, offer))
        self._notify(offered, offer, doctor, hold)
        return "offered", None

    # --- the sweep -------------------------------------------------------------------------------------------
    def sweep(self, doctor_ids: Sequence[str]) -> dict[str, int]:
        """Lapsed holds released (their offers then go on from the stream), offers whose hold is gone without a
        stream record ended and their times offered on, entries past their window expired. Each on its own."""
        released = self._booking.release_expired_holds()
        ended = expired_entries = 0
        now = self._clock.now()
        for doctor_id in doctor_ids:
            try:
                doctor = self._queries.doctor(doctor_id)
                for entry in self._store.queue(doctor_id):
                    if expired(entry, doctor.zone, now):
                        self._end(entry, OfferOutcome.WITHDRAWN, EntryStatus.EXPIRED, now)
                        expired_entries += 1
                    elif entry.offer is not None and now >= entry.offer.expires_at + timedelta(minutes=1):
                        offer = entry.offer
                        self._end(entry, OfferOutcome.EXPIRED, None, now, release=True)
                        self.offer_freed(offer.freed_id)
                        ended += 1
            except Exception:
                log.exception("waitlist sweep: doctor %s not swept this time", doctor_id)
        deferred = sum(self._offer_deferred(doctor_id, now) for doctor_id in doctor_ids)
        return {
            "holdsReleased": released,
            "offersEnded": ended,
            "entriesExpired": expired_entries,
            "deferredOffered": deferred,
        }

    def _offer_deferred(self, doctor_id: str, now: datetime) -> int:
        """In the hour after quiet hours end: the doctor's times deferred by them, offered now (earliest first),
        each on its own. A time already booked or too close is explained by the offer path as any other."""
        quiet = self.settings.quiet_hours
        if quiet is None:
            return 0
        offered = 0
        try:
            doctor = self._queries.doctor(doctor_id)
            if not quiet.ended_within(now, doctor.zone, QUIET_CATCH_UP):
                return 0
            first = now.astimezone(doctor.zone).date()
            horizon = doctor.schedule.booking_horizon_days or self._queries.policy.booking_horizon_days
            waiting = self._store.freed_of(doctor_id, first, first + timedelta(days=horizon))
        except Exception:
            log.exception("waitlist sweep: deferred times of %s not read this time", doctor_id)
            return 0
        for record in sorted((r for r in waiting if r.status == "deferred"), key=lambda r: r.starts_at):
            try:
                offered += self.offer_freed(record.id) == "offered"
            except Exception:
                log.exception("waitlist sweep: deferred time %s not offered this time", record.id)
        return offered

    # --- helpers ---------------------------------------------------------------------------------------------
    def _end(
        self, entry: Entry, outcome: OfferOutcome, status: EntryStatus | None, now: datetime, release: bool = True
    ) -> Entry:
        """Ends the entry's open offer (its hold released, so the time goes on to the next entry from the stream)
        and, with `status`, the entry itself."""
        offer = entry.offer
        saved = self._settle(entry.id, lambda e: end_offer(e, outcome, now, status) if e.active else e)
        if offer is not None:
            self._log_outcome(offer, entry.id, outcome, now)
            if release:
                self._release(offer.hold_id)
        return saved

    def _settle(self, entry_id: str, change: Any, booked: Appointment | None = None) -> Entry:
        for _ in range(SAVE_ATTEMPTS):
            current = self._store.get(entry_id)
            if current is None:
                raise NotFound("No such waitlist entry.", {"id": entry_id})
            after = change(current)
            if booked is not None:
                after = replace(after, appointment_id=booked.id)
            if after == current:
                return current
            try:
                return self._store.save(after)
            except Conflict:
                continue
        raise Conflict("The entry keeps changing; please retry.", {"id": entry_id})

    def _release(self, hold_id: str) -> None:
        try:
            self._booking.release_hold(WAITLIST, hold_id)
        except NotFound:
            pass  # booked, released or lapsed already
        except Exception:
            log.exception("waitlist: hold %s not released now (it lapses by itself)", hold_id)

    def _log_outcome(
        self, offer: Offer, entry_id: str, outcome: OfferOutcome, now: datetime, refilled: Appointment | None = None
    ) -> None:
        def change(record: FreedRecord) -> FreedRecord:
            offers = tuple(
                {**o, "outcome": outcome.value, "endedAt": now.strftime("%Y-%m-%dT%H:%M:%SZ")}
                if o.get("holdId") == offer.hold_id and o.get("outcome") == "pending"
                else o
                for o in record.offers
            )
            if refilled is not None:
                return replace(
                    record, offers=offers, status="refilled", refilled_at=now, refilled_minutes=refilled.duration
                )
            return replace(record, offers=offers)

        self._change_freed(offer.freed_id, change)

    def _append_offer(self, record_id: str, logged: dict[str, Any]) -> None:
        self._change_freed(record_id, lambda r: replace(r, offers=(*r.offers, logged), status="open", reason=None))

    def _explain(self, record_id: str, reason: str, status: str = "explained") -> None:
        self._change_freed(
            record_id,
            lambda r: (
                r if any(o.get("outcome") == "pending" for o in r.offers) else replace(r, status=status, reason=reason)
            ),
        )

    def _change_freed(self, record_id: str, change: Any) -> None:
        for _ in range(SAVE_ATTEMPTS):
            found = self._store.get_freed(record_id)
            if found is None:
                return
            record, version = found
            after = change(record)
            if after == record:
                return
            try:
                self._store.save_freed(after, version)
                return
            except Conflict:
                continue
        log.warning("waitlist: freed time %s not updated (kept changing)", record_id)

    def _notify(self, entry: Entry, offer: Offer, doctor: Doctor, hold: Hold) -> None:
        """One message per offer and channel: each channel is claimed on the entry (a conditional write) before
        it is sent, so a retry never sends it again; a send whose outcome is unknown is not repeated."""
        local = offer.starts_at.astimezone(doctor.zone)
        expires = offer.expires_at.astimezone(doctor.zone)
        text = offer_message(doctor.name, local, expires, f"{self._link_base}/?waitlist={entry.id}")
        current = entry
        for channel in entry.notify:
            if current.offer is None or channel in current.offer.messages:
                continue
            try:
                current = self._store.save(
                    replace(current, offer=replace(current.offer, messages=(*current.offer.messages, channel)))
                )
            except Conflict:
                return  # the entry changed (answered, ended): no message for an offer that is no longer open
            try:
                self._send(current, offer, channel, text, hold.appointment)
            except UnknownDeliveryOutcome:
                log.warning("waitlist offer %s: %s outcome unknown, not resent", offer.hold_id, channel)
            except Exception as exc:
                log.warning("waitlist offer %s: %s not sent (%s)", offer.hold_id, channel, type(exc).__name__)

    def _send(self, entry: Entry, offer: Offer, channel: str, text: str, held: Appointment) -> None:
        now = self._clock.now()
        endpoints: list[str] = []
        if channel == "push":
            profile = self._patients.get(entry.patient_id)
            endpoints = [d.endpoint for d in (profile.devices if profile else [])]
        message = Reminder(
            id=f"waitlist-{entry.id}-{offer.hold_id}-{channel}",
            appointment_id=held.id,
            patient_id=entry.patient_id,
            channel=Channel(channel),
            timing=None,
            scheduled_time=now,
            status=ReminderStatus.PENDING,
            message=text,
            created_at=now,
            updated_at=now,
            for_start=offer.starts_at,
            recipient_email=entry.recipient_email,
            recipient_phone=entry.recipient_phone,
        )
        self._sender.send(message, replace(held, reason="", notes=None), endpoints)

    def _may_see(self, caller: Caller, entry: Entry) -> bool:
        if caller.role is Role.ADMIN:
            return True
        if caller.role is Role.DOCTOR:
            return caller.doctor_id == entry.doctor_id
        return caller.role is Role.PATIENT and caller.subject == entry.patient_id

    def _check_staff(self, caller: Caller, doctor_id: str) -> None:
        if caller.role is Role.ADMIN or (caller.role is Role.DOCTOR and caller.doctor_id == doctor_id):
            return
        raise Forbidden("Only the doctor and clinic admins see a doctor's waitlist.")
