"""The patient's limit of active bookings (`MAX_ACTIVE_BOOKINGS_PER_PATIENT`), kept by one item per patient
(PK `PATIENT#<patientId>#ACTIVE`, SK `BOOKINGS`) whose string set `active` holds the ids of the visits it counts.

A booking (or hold) adds its id in its own transaction, on condition that the set holds fewer than the limit, so
nothing is read before it and a storm of bookings can never pass the limit. Cancelling a visit, releasing a hold
or ending a visit's status removes its id in the same transaction (removing an id the set lacks changes nothing).
A visit that simply ends stays counted until the set is full; then `prune` reads the set and its visits once and
removes those that no longer count, and the booking tries again."""

from __future__ import annotations

import logging
from datetime import datetime

from pynamodb.expressions.condition import size

from chalicelib.adapters.dynamodb import keys
from chalicelib.adapters.dynamodb.appointment_lists import by_ids
from chalicelib.adapters.dynamodb.errors import translated_errors
from chalicelib.adapters.dynamodb.models import ScheduleModel, Tables
from chalicelib.adapters.dynamodb.transaction import Op, Transaction
from chalicelib.domain import errors
from chalicelib.domain.appointments import Appointment, Status

log = logging.getLogger("clinic.store")


def _item(tables: Tables, patient_id: str) -> ScheduleModel:
    return tables.schedule(pk=keys.patient_active_pk(patient_id), sk=keys.ACTIVE_SK)


def take(tx: Transaction, tables: Tables, a: Appointment, limit: int) -> None:
    """Count `a` against its patient's limit, on condition that fewer than `limit` visits are counted."""
    counted = ScheduleModel.active
    condition = counted.does_not_exist() | (size(counted) < limit)  # type: ignore[no-untyped-call]
    tx.updates.append(Op("patient-active", _item(tables, a.patient_id), condition, [counted.add({a.id})]))


def keep(tx: Transaction, tables: Tables, a: Appointment) -> None:
    """A moved visit stays counted (and one booked before this item existed becomes counted)."""
    tx.updates.append(Op("active-keep", _item(tables, a.patient_id), None, [ScheduleModel.active.add({a.id})]))


def give_back(tx: Transaction, tables: Tables, a: Appointment) -> None:
    """`a` no longer counts against its patient's limit."""
    tx.updates.append(Op("release", _item(tables, a.patient_id), None, [ScheduleModel.active.delete({a.id})]))


def counts(a: Appointment, now: datetime) -> bool:
    """An active visit or a hold, that has not ended, counts against the limit."""
    return (a.active or a.status is Status.HELD) and a.ends_at > now


def prune(tables: Tables, patient_id: str, now: datetime, limit: int) -> None:
    """After the set refused a booking: one strongly consistent GetItem of the set and one BatchGetItem of its
    visits; the ids that no longer count (ended, cancelled, gone) are removed by one UpdateItem. Raises
    `too_many_active` when `limit` visits still count."""
    item = _item(tables, patient_id)
    with translated_errors():
        try:
            held = set(tables.schedule.get(item.pk, item.sk, consistent_read=True).active or ())
        except ScheduleModel.DoesNotExist:
            held = set()
    found = by_ids(tables, sorted(held))
    stale = {i for i in held if i not in found or not counts(found[i], now)}
    if len(held) - len(stale) >= limit:
        raise errors.too_many_active(limit)
    if stale:
        with translated_errors():
            item.update(actions=[ScheduleModel.active.delete(stale)])


def fold_legacy_items(tables: Tables, now: datetime) -> int:
    """One-off migration of a table written before the set existed: every per-slot item (`N#<k>`) of a visit that
    has not ended is counted in its patient's set, and every per-slot item is deleted. A Scan, run once by an
    operator after the deployment (never on a request path); running it again finds nothing. A folded id whose visit
    was cancelled meanwhile is harmless: `prune` drops it when it matters. Returns the items folded."""
    folded = 0
    with translated_errors():
        legacy = list(tables.schedule.scan(ScheduleModel.sk.startswith(keys.LEGACY_ACTIVE_PREFIX)))
        for old in legacy:
            if not old.pk.endswith("#ACTIVE"):
                continue
            if old.appointment_id and (old.ends_at or "") > keys.instant(now):
                tables.schedule(pk=old.pk, sk=keys.ACTIVE_SK).update(
                    actions=[ScheduleModel.active.add({old.appointment_id})]
                )
            old.delete()
            folded += 1
    log.info("active-booking limit: %d per-slot items folded into their patients' sets", folded)
    return folded
