"""The operations an appointment change's transaction is built from (the appointment item, lock items, the
doctor-day counter, the patient's per-doctor-day item, the audit entry, the busy-times guard), the domain error a
refused condition stands for, and the commit every change goes through. The builders are public, so a benchmark
can send the same items bare."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from pynamodb.expressions.condition import Condition, size
from pynamodb.expressions.update import Action

from chalicelib.adapters.dynamodb import active_limit, keys
from chalicelib.adapters.dynamodb.appointment_lists import stored
from chalicelib.adapters.dynamodb.items import GRANULE, SHARED, WHOLE, Lock, appointment_item, audit_item
from chalicelib.adapters.dynamodb.models import AppointmentModel, AuditModel, ScheduleModel, Tables
from chalicelib.adapters.dynamodb.transaction import MAX_ITEMS, ConditionsFailed, Op, Transaction
from chalicelib.adapters.retrying import Backoff
from chalicelib.domain import errors
from chalicelib.domain.appointments import Appointment
from chalicelib.domain.audit import AuditEntry
from chalicelib.domain.busy import BusyTimesChanged
from chalicelib.domain.errors import BookingLimitReached
from chalicelib.domain.holds import hold_lapsed


class ActiveLimitFull(BookingLimitReached):
    """The patient's active-booking item refused the booking: it counts `limit` visits, some of which may have
    ended or been cancelled since (`active_limit.prune` tells which)."""


def put_new(tx: Transaction, tables: Tables, a: Appointment) -> None:
    tx.puts.append(Op("appointment", appointment_item(tables.appointments, a), AppointmentModel.id.does_not_exist()))


def put_changed(tx: Transaction, tables: Tables, before: Appointment, after: Appointment) -> None:
    """A full put conditioned on the version read and the status read: a concurrent change loses."""
    tx.puts.append(
        Op("appointment", appointment_item(tables.appointments, after), AppointmentModel.status == before.status.value)
    )


def acquire(tx: Transaction, locks: Mapping[str, Lock], tag: str) -> None:
    """Take lock items (`tag` names whose: `doctor-lock` or `patient-lock`)."""
    move_locks(tx, {}, locks, tag)


def release(tx: Transaction, locks: Mapping[str, Lock], owner: str) -> None:
    """Give back lock items, each conditioned on `owner` holding it."""
    move_locks(tx, {k: replace(lock, owner=owner) for k, lock in locks.items()}, {}, "release")


def move_locks(tx: Transaction, old: Mapping[str, Lock], new: Mapping[str, Lock], tag: str) -> None:
    """One operation per lock item that changes from `old` to `new` (one transaction may touch an item once):
    items held the same way before and after stay as they are; a block held whole becomes shared, or the
    reverse, in one update of its item. Every taking is conditioned on the item being free for it, every giving
    back on the owner holding it."""
    for key in sorted(old.keys() | new.keys()):
        change = _lock_op(old.get(key), new.get(key), tag)
        if change is not None:
            {"delete": tx.deletes, "put": tx.puts, "update": tx.updates}[change[0]].append(change[1])


def _size(path: Any) -> Any:
    """DynamoDB's `size()` in a condition (pynamodb's function is untyped)."""
    return size(path)  # type: ignore[no-untyped-call]


def _lock_op(before: Lock | None, after: Lock | None, tag: str) -> tuple[str, Op] | None:
    s = ScheduleModel
    if before is not None and after is not None and before.kind == after.kind:
        return None
    lock = after or before
    if lock is None:  # neither side holds it: nothing to write
        return None
    item, owner = lock.item, lock.owner
    unshared = s.sharers.does_not_exist() | (_size(s.sharers) == 0)
    if before is None:  # take
        if lock.kind == GRANULE:
            return "put", Op(tag, item, s.pk.does_not_exist())
        if lock.kind == WHOLE:
            return "update", Op(tag, item, s.appointment_id.does_not_exist() & unshared, [s.appointment_id.set(owner)])
        return "update", Op(tag, item, s.appointment_id.does_not_exist(), [s.sharers.add({owner})])
    if after is None:  # give back
        if lock.kind in (GRANULE, WHOLE):
            return "delete", Op("release", item, s.appointment_id == owner)
        return "update", Op("release", item, s.sharers.contains(owner), [s.sharers.delete({owner})])
    if before.kind == SHARED:  # shared -> whole: the only sharer takes the block whole
        condition = s.sharers.contains(owner) & (_size(s.sharers) == 1) & s.appointment_id.does_not_exist()
        return "update", Op(tag, item, condition, [s.sharers.delete({owner}), s.appointment_id.set(owner)])
    # whole -> shared: give the block up and join its sharers (no one else can hold any of it meanwhile)
    return "update", Op("release", item, s.appointment_id == owner, [s.appointment_id.remove(), s.sharers.add({owner})])


def count_day(
    tx: Transaction,
    tables: Tables,
    doctor_id: str,
    day: str,
    delta: int,
    max_per_day: int,
    stats: Mapping[str, int] | None = None,
    bump_version: bool = True,
) -> None:
    """Book (+1), release (-1) or just touch (0) a doctor-day, adding to its analytics aggregates; a change
    of its slots bumps the day's version, which availability reports as its ETag."""
    counter = tables.schedule(pk=keys.doctor_day_pk(doctor_id, day), sk=keys.COUNTER_SK)
    condition: Condition | None
    if delta > 0:
        condition = ScheduleModel.booked.does_not_exist() | (ScheduleModel.booked < max_per_day)
        tag = "counter"
    elif delta < 0:
        condition = ScheduleModel.booked > 0
        tag = "counter-release"
    else:
        condition, tag = None, "counter-touch"
    actions: list[Action] = [ScheduleModel.booked.add(delta)]
    if bump_version:
        actions.append(ScheduleModel.day_version.add(1))
    actions.extend(getattr(ScheduleModel, name).add(value) for name, value in (stats or {}).items() if value)
    tx.updates.append(Op(tag, counter, condition, actions))


def per_doctor_day(tx: Transaction, tables: Tables, a: Appointment, delta: int, strict: bool = False) -> None:
    """The patient's active bookings with this doctor that day; a patient booking for itself needs none."""
    item = tables.schedule(pk=keys.doctor_day_pk(a.doctor_id, a.date), sk=keys.patient_on_day_sk(a.patient_id))
    condition = (ScheduleModel.booked.does_not_exist() | (ScheduleModel.booked < 1)) if strict else None
    tx.updates.append(
        Op("patient-day" if strict else "patient-day-touch", item, condition, [ScheduleModel.booked.add(delta)])
    )


def release_limits(tx: Transaction, tables: Tables, before: Appointment) -> None:
    """A visit that stops being active gives back its patient's per-doctor-day count and active-booking place."""
    per_doctor_day(tx, tables, before, -1)
    active_limit.give_back(tx, tables, before)


def add_audit(tx: Transaction, tables: Tables, entry: AuditEntry) -> None:
    """The change's audit entry, written once: never over an existing entry (the API may put into the audit
    table, so nothing it writes may replace what is there)."""
    tx.puts.append(Op("audit", audit_item(tables.audit, entry), AuditModel.sk.does_not_exist()))


def busy_guard(tx: Transaction, tables: Tables, doctor_id: str, day: str, version: int) -> None:
    """The doctor-day's busy times are still the ones the change was checked against (a sync that landed since
    bumped `busy_version`): a condition in the change's own transaction, so a stale read cannot book over a
    busy time. Adds 0 to the version (creating the item at 0 when no busy time was ever written)."""
    item = tables.schedule(pk=keys.doctor_day_pk(doctor_id, day), sk=keys.BUSY_SK)
    same = ScheduleModel.busy_version == version
    condition = (ScheduleModel.busy_version.does_not_exist() | same) if version == 0 else same
    tx.updates.append(Op("busy", item, condition, [ScheduleModel.busy_version.add(0)]))


def booked_stats(a: Appointment) -> dict[str, int]:
    """What a booking adds to its doctor-day's analytics aggregates."""
    lead = int((a.starts_at - a.created_at).total_seconds() // 60)
    return {"n_booked": 1, "booked_minutes": a.duration, "lead_minutes": lead, "lead_count": 1}


def domain_error_for(failed_tags: list[str]) -> Exception:
    """The rule a refused condition protects, as its domain error. A failed busy guard comes first: the change
    was checked against busy times that are not the day's (a sync landed since, or a first attempt did not read
    them, `BookingCommands._guarded`), so it is checked again and tried anew, and answers what a check made after
    reading them would. Then the patient's active-booking limit: it was read before the transaction once, so a
    patient at its limit heard of the limit, never of a taken time."""
    if "busy" in failed_tags:
        return BusyTimesChanged("The doctor's busy times changed; please retry.")
    if "doctor" in failed_tags:  # a busy-times write for a doctor that does not exist
        return errors.NotFound("No such doctor.")
    if "patient-active" in failed_tags:
        return ActiveLimitFull("The patient's active-booking item is full.")
    if "hold-live" in failed_tags:  # the hold lapsed, or was released or booked, before this change
        return hold_lapsed()
    if "appointment" in failed_tags:
        return errors.appointment_changed()
    if "doctor-lock" in failed_tags:
        return errors.slot_taken()
    if "patient-lock" in failed_tags:
        return errors.patient_busy()
    if "counter" in failed_tags:
        return errors.day_full()
    if "patient-day" in failed_tags:
        return errors.patient_day_taken()
    if "audit" in failed_tags:
        return errors.audit_entry_exists()
    if "hold" in failed_tags:  # a hold's own items exist already: the same hold id twice
        return errors.appointment_changed()
    return errors.schedule_raced(failed_tags)


def landed(tables: Tables, after: Appointment) -> Callable[[], bool]:
    """True when the stored appointment is this change's result (its own update instant and state)."""

    def check() -> bool:
        found = stored(tables, after.id)
        return (
            found is not None
            and found.updated_at == after.updated_at
            and found.status is after.status
            and found.starts_at == after.starts_at
        )

    return check


def commit(
    tables: Tables,
    tx: Transaction,
    operation_id: str,
    landed: Callable[[], bool] | None = None,
    backoff: Backoff | None = None,
) -> None:
    """The transaction's commit; a refused condition becomes the domain error of the rule it protects. A change
    whose items do not fit one TransactWriteItems is refused before anything is sent: every guard it needs
    rides in the transaction that makes it, or the change is not made."""
    if len(tx.ordered()) > MAX_ITEMS:
        raise errors.change_too_large(len(tx.ordered()), MAX_ITEMS)
    try:
        tx.commit(tables.connection, operation_id, landed, backoff)
    except ConditionsFailed as exc:
        raise domain_error_for(exc.tags) from exc.__cause__
