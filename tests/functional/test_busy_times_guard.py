"""A doctor's busy times (from its own calendars) against availability and bookings, on moto: slots they
overlap are not free, the slot list's ETag changes with them, and a booking, hold or reschedule over one is
refused with 409 SLOT_UNAVAILABLE by the booking's own transaction, even when a sync lands between the check and
the commit (the race a stale cache would lose)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from chalicelib import container
from tests.functional.conftest import Api
from tests.helpers import BOOKING_DAY, admin, patient

CONNECTION = "cal-1"


def at(hour: int, minute: int = 0) -> datetime:
    """BOOKING_DAY's wall time in New York (EST, UTC-5) as a UTC instant."""
    return datetime(BOOKING_DAY.year, BOOKING_DAY.month, BOOKING_DAY.day, hour + 5, minute, tzinfo=UTC)


def slots(api: Api, doctor: dict[str, Any]) -> dict[str, bool]:
    got = api.call("GET", f"/api/appointments/availability/{doctor['id']}/{BOOKING_DAY.isoformat()}", patient())
    assert got.status_code == 200, got.data
    return {s["time"]: s["available"] for s in got.data["slots"]}


def test_busy_time_makes_the_slots_it_overlaps_unavailable_and_changes_the_etag(
    api: Api, wired: container.Container
) -> None:
    # GIVEN a doctor with free slots, and the availability's ETag
    doctor = api.doctor_with_hours()
    path = f"/api/appointments/availability/{doctor['id']}/{BOOKING_DAY.isoformat()}"
    before = api.call("GET", path, patient())
    assert before.data and all(slots(api, doctor)[t] for t in ("10:00", "10:30", "11:00"))
    # WHEN a sync stores a busy time 10:10-10:40 (not on the slot grid)
    wired.store.write_busy(doctor["id"], BOOKING_DAY, CONNECTION, [(at(10, 10), at(10, 40))])
    # THEN both slots it touches are taken, the neighbours stay free, and the ETag is new
    now = slots(api, doctor)
    assert (now["09:30"], now["10:00"], now["10:30"], now["11:00"]) == (True, False, False, True)
    after = api.call("GET", path, patient())
    assert after.headers["ETag"] != before.headers["ETag"]


def test_booking_hold_and_reschedule_over_a_busy_time_are_refused(api: Api, wired: container.Container) -> None:
    doctor = api.doctor_with_hours()
    visit = api.book(doctor, time="14:00")
    wired.store.write_busy(doctor["id"], BOOKING_DAY, CONNECTION, [(at(10), at(11))])
    booked = api.try_book(doctor, time="10:30")
    assert (booked.status_code, booked.data["error"]["code"]) == (409, "SLOT_UNAVAILABLE")
    held = api.call(
        "POST",
        "/api/holds",
        patient("p2"),
        {"doctorId": doctor["id"], "date": BOOKING_DAY.isoformat(), "time": "10:00", "type": "in-person"},
    )
    assert (held.status_code, held.data["error"]["code"]) == (409, "SLOT_UNAVAILABLE")
    moved = api.call(
        "PUT", f"/api/appointments/{visit['id']}/reschedule", admin(), {"date": str(BOOKING_DAY), "time": "10:00"}
    )
    assert (moved.status_code, moved.data["error"]["code"]) == (409, "SLOT_UNAVAILABLE")
    # and a time next to it books
    assert api.try_book(doctor, patient("p3"), time="11:00").status_code == 201


def _sync_lands_after_the_check(wired: container.Container, doctor_id: str) -> None:
    """The race: the booking reads the day's busy times (none), then a sync writes one over its time before the
    booking's transaction commits."""
    store = wired.store
    real = store.busy_of_day
    landed: list[bool] = []

    def racing(doctor: str, day: Any) -> Any:
        seen = real(doctor, day)
        if not landed:
            landed.append(True)
            store.write_busy(doctor_id, BOOKING_DAY, CONNECTION, [(at(10), at(11))])
        return seen

    store.busy_of_day = racing  # type: ignore[method-assign,assignment]


def test_a_sync_landing_between_check_and_commit_cannot_be_lost_booking(api: Api, wired: container.Container) -> None:
    # GIVEN a free 10:00, and a sync that writes a busy time over it right after the booking checked
    doctor = api.doctor_with_hours()
    _sync_lands_after_the_check(wired, doctor["id"])
    # WHEN the booking commits with what it checked
    booked = api.try_book(doctor, time="10:00")
    # THEN its transaction refuses it (the busy version moved), the re-check sees the busy time: 409
    assert (booked.status_code, booked.data["error"]["code"]) == (409, "SLOT_UNAVAILABLE")
    assert api.appointments_of(doctor) == []


def test_a_sync_landing_between_check_and_commit_cannot_be_lost_reschedule(
    api: Api, wired: container.Container
) -> None:
    doctor = api.doctor_with_hours()
    visit = api.book(doctor, time="14:00")
    _sync_lands_after_the_check(wired, doctor["id"])
    moved = api.call(
        "PUT", f"/api/appointments/{visit['id']}/reschedule", admin(), {"date": str(BOOKING_DAY), "time": "10:00"}
    )
    assert (moved.status_code, moved.data["error"]["code"]) == (409, "SLOT_UNAVAILABLE")
    assert [a["time"] for a in api.appointments_of(doctor)] == ["14:00"]


def test_a_sync_that_changes_another_hour_only_costs_a_recheck(api: Api, wired: container.Container) -> None:
    # GIVEN a sync landing between check and commit that writes a busy time elsewhere in the day
    doctor = api.doctor_with_hours()
    store = wired.store
    real = store.busy_of_day
    calls: list[int] = []

    def racing(doctor_id: str, day: Any) -> Any:
        seen = real(doctor_id, day)
        if not calls:
            store.write_busy(doctor["id"], BOOKING_DAY, CONNECTION, [(at(15), at(16))])
        calls.append(1)
        return seen

    store.busy_of_day = racing  # type: ignore[method-assign]
    # WHEN the booking commits THEN it is refused once by its transaction, checked again, and booked
    assert api.try_book(doctor, time="10:00").status_code == 201
    assert len(calls) == 2


def test_a_busy_time_that_arrives_while_a_time_is_held_refuses_booking_the_hold(
    api: Api, wired: container.Container
) -> None:
    # GIVEN a patient's hold of 10:00
    doctor = api.doctor_with_hours()
    body = {"doctorId": doctor["id"], "date": BOOKING_DAY.isoformat(), "time": "10:00", "type": "in-person"}
    held = api.call("POST", "/api/holds", patient(), body)
    assert held.status_code == 201, held.data
    # WHEN the doctor's calendar gains a busy time over it before the patient books it
    wired.store.write_busy(doctor["id"], BOOKING_DAY, CONNECTION, [(at(10), at(11))])
    booked = api.call("POST", "/api/appointments", patient(), {"holdId": held.data["id"], "reason": "r"})
    # THEN booking the hold is refused, and no visit is booked
    assert (booked.status_code, booked.data["error"]["code"]) == (409, "SLOT_UNAVAILABLE")
    assert api.appointments_of(doctor) == []
