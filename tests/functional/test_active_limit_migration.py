"""Tables written before the active-booking set kept the limit in per-slot items (`N#<k>`, one per visit that had
not ended). `active_limit.fold_legacy_items`, run once after the deployment, counts those visits in their
patients' sets, so bookings made before the change keep counting against the limit."""

from __future__ import annotations

from dataclasses import replace

import pytest

from chalicelib.adapters.dynamodb import keys
from chalicelib.adapters.dynamodb.active_limit import fold_legacy_items
from chalicelib.adapters.dynamodb.models import ScheduleModel
from tests.helpers import patient


@pytest.fixture
def settings(settings):
    """A clinic limit of two active bookings per patient."""
    return replace(settings, max_active_bookings=2)


def as_before_the_set(wired, patient_id: str, appointment_ids: list[str], ended: str) -> None:
    """The patient's items as the per-slot layout held them: each visit in an `N#<k>` item with its end, one more
    item of a visit that has ended, and no set."""
    tables = wired.store.tables
    tables.schedule(pk=keys.patient_active_pk(patient_id), sk=keys.ACTIVE_SK).delete()
    ends = {i: keys.instant(wired.store.get(i).ends_at) for i in appointment_ids}
    ends[ended] = "2026-11-30T10:00:00Z"
    for k, (appointment_id, end) in enumerate(ends.items()):
        tables.schedule(
            pk=keys.patient_active_pk(patient_id), sk=f"N#{k:03d}", appointment_id=appointment_id, ends_at=end
        ).save()


def legacy_items(wired, patient_id: str) -> list[ScheduleModel]:
    found = wired.store.tables.schedule.query(keys.patient_active_pk(patient_id), consistent_read=True)
    return [i for i in found if i.sk.startswith(keys.LEGACY_ACTIVE_PREFIX)]


def test_visits_counted_in_per_slot_items_count_once_folded(api, wired, clock):
    # GIVEN a patient at the limit of two visits, kept the old way (and one old item of a visit that ended)
    doc = api.doctor_with_hours()
    held = [api.book(doc, date=day)["id"] for day in ("2026-12-02", "2026-12-03")]
    as_before_the_set(wired, "patient-1", held, ended="visit-of-november")
    # WHEN the migration runs
    assert fold_legacy_items(wired.store.tables, clock.now()) == 3
    # THEN a third booking is refused: the two visits count, the ended one does not
    third = api.try_book(doc, date="2026-12-04")
    assert (third.status_code, third.data["error"]["code"]) == (422, "BOOKING_LIMIT_REACHED")
    # AND no per-slot item is left, so a second run finds nothing
    assert legacy_items(wired, "patient-1") == []
    assert fold_legacy_items(wired.store.tables, clock.now()) == 0
    # AND a cancelled visit gives its place back as any other
    assert api.call("DELETE", f"/api/appointments/{held[0]}", patient()).status_code == 200
    assert api.try_book(doc, date="2026-12-04").status_code == 201
