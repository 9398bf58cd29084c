"""A doctor's busy times (from its own calendars) against availability and bookings, on moto: slots they
overlap are not free, the slot list's ETag changes with them, and a booking, hold, booked hold, waitlist "move me
earlier" or reschedule over one is refused with 409 SLOT_UNAVAILABLE by the booking's own transaction, even when a
sync lands between the check and the commit (the race a stale cache would lose)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib import container
from chalicelib.adapters.dynamodb.models import DoctorModel
from chalicelib.domain.errors import SlotUnavailable
from tests.functional.conftest import Api
from tests.functional.test_waitlist import entry, joined
from tests.helpers import BOOKING_DAY, VERIFIED_PATIENT, admin, patient

CONNECTION = "cal-1"
OTHER_DAY = BOOKING_DAY + timedelta(days=7)


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


def _sync_lands_before_the_write(
    wired: container.Container, doctor_id: str, write: str, busy: tuple[datetime, datetime] | None = None
) -> list[int]:
    """The race: the change has been checked (the doctor read, and the day's busy times when the doctor has any),
    then a sync writes a busy time (10:00-11:00 unless `busy` says) before the change's transaction: the first
    call of the store's `write` (book, hold, book_hold, book_hold_replacing, reschedule). The list counts the calls
    of `write`."""
    store = wired.store
    real = getattr(store, write)
    sends: list[int] = []

    def racing(*args: Any, **kwargs: Any) -> Any:
        if not sends:
            store.write_busy(doctor_id, BOOKING_DAY, CONNECTION, [busy or (at(10), at(11))])
        sends.append(1)
        return real(*args, **kwargs)

    setattr(store, write, racing)
    return sends


def _busy_reads(wired: container.Container) -> list[int]:
    """Counts the store's reads of a day's busy times."""
    store = wired.store
    real = store.busy_of_day
    reads: list[int] = []

    def counted(doctor_id: str, day: Any) -> Any:
        reads.append(1)
        return real(doctor_id, day)

    store.busy_of_day = counted  # type: ignore[method-assign]
    return reads


def with_busy_times_elsewhere(wired: container.Container, doctor: dict[str, Any]) -> None:
    """A doctor some sync wrote busy times for (another day's): it has the flag, so bookings read them first."""
    wired.store.write_busy(doctor["id"], OTHER_DAY, CONNECTION, [])


def move_earlier_offer(api: Api, doctor: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """A patient's (VERIFIED_PATIENT's) 14:00 visit and its waitlist entry to move it earlier, offered 10:00 by
    staff: (the visit, the entry); the offer holds 10:00 for the patient."""
    later = api.book(doctor, patient(VERIFIED_PATIENT.subject), time="14:00")
    waiting = joined(api, doctor, VERIFIED_PATIENT.subject, moveEarlier=later["id"])
    offered = api.call(
        "POST", f"/api/waitlist/{waiting['id']}/offer", admin(), {"date": str(BOOKING_DAY), "time": "10:00"}
    )
    assert offered.status_code == 201, offered.data
    return later, offered.data


def change(api: Api, wired: container.Container, doctor: dict[str, Any], what: str) -> Any:
    """The request that books, holds, books a hold of, moves a visit earlier to a waitlist offer of, or moves a
    visit to BOOKING_DAY's 10:00, to send later; what it needs (the hold to book, the 14:00 visit to move, the
    offer) is made now, before the caller sets up the race."""
    if what == "book":
        return lambda: api.try_book(doctor, time="10:00")
    if what == "hold":
        body = {"doctorId": doctor["id"], "date": BOOKING_DAY.isoformat(), "time": "10:00", "type": "in-person"}
        return lambda: api.call("POST", "/api/holds", patient(), body)
    if what == "book_hold":
        body = {"doctorId": doctor["id"], "date": BOOKING_DAY.isoformat(), "time": "10:00", "type": "in-person"}
        held = api.call("POST", "/api/holds", patient(), body)
        assert held.status_code == 201, held.data
        return lambda: api.call("POST", "/api/appointments", patient(), {"holdId": held.data["id"], "reason": "r"})
    if what == "book_hold_moving":
        _, waiting = move_earlier_offer(api, doctor)
        path = f"/api/waitlist/{waiting['id']}/accept"
        return lambda: api.call("POST", path, patient(VERIFIED_PATIENT.subject), {})
    visit = api.book(doctor, time="14:00")
    path = f"/api/appointments/{visit['id']}/reschedule"
    return lambda: api.call("PUT", path, admin(), {"date": str(BOOKING_DAY), "time": "10:00"})


STORE_WRITE = {"book_hold_moving": "book_hold_replacing"}
"""The store's write of a change, where it is not the change's own name."""


@pytest.mark.parametrize("what", ["book", "hold", "book_hold", "book_hold_moving", "reschedule"])
@pytest.mark.parametrize("flagged", [False, True], ids=["no-busy-times-before", "busy-times-elsewhere"])
def test_a_sync_landing_between_check_and_commit_cannot_be_lost(
    api: Api, wired: container.Container, what: str, flagged: bool
) -> None:
    # GIVEN a free 10:00 (with a doctor no sync wrote busy times for, whose change reads none before its
    # transaction; or one with busy times on another day, whose change reads the day's), and a sync that writes a
    # busy time over it after the change was checked, before its transaction
    doctor = api.doctor_with_hours()
    if flagged:
        with_busy_times_elsewhere(wired, doctor)
    run = change(api, wired, doctor, what)
    before = [(a["time"], a["status"]) for a in api.appointments_of(doctor)]
    sends = _sync_lands_before_the_write(wired, doctor["id"], STORE_WRITE.get(what, what))
    # WHEN the change commits with what it checked
    made = run()
    # THEN its transaction refuses it (the busy version moved), the re-check reads the busy time: 409, once
    assert (made.status_code, made.data["error"]["code"]) == (409, "SLOT_UNAVAILABLE"), made.data
    assert made.data["error"]["details"]["reason"] == "busy"
    assert len(sends) == 1
    assert [(a["time"], a["status"]) for a in api.appointments_of(doctor)] == before


@pytest.mark.parametrize("flagged", [False, True], ids=["no-busy-times-before", "busy-times-elsewhere"])
def test_a_sync_that_changes_another_hour_only_costs_a_recheck(
    api: Api, wired: container.Container, flagged: bool
) -> None:
    # GIVEN a sync landing between check and commit that writes a busy time elsewhere in the day
    doctor = api.doctor_with_hours()
    if flagged:
        with_busy_times_elsewhere(wired, doctor)
    sends = _sync_lands_before_the_write(wired, doctor["id"], "book", (at(15), at(16)))
    reads = _busy_reads(wired)
    # WHEN the booking commits THEN it is refused once by its transaction, checked again (a read of the busy
    # times, the first for a doctor without any before), and booked
    assert api.try_book(doctor, time="10:00").status_code == 201
    assert (len(sends), len(reads)) == (2, 2 if flagged else 1)


def test_a_doctor_whose_busy_times_were_written_before_the_flag_existed_is_never_booked_over_them(
    api: Api, wired: container.Container
) -> None:
    # GIVEN a doctor whose calendar gave busy 10:00-11:00 before `has_busy_times` existed: the busy items and a
    # busy version of 1 on the day, and no flag on the doctor's item
    doctor = api.doctor_with_hours()
    visit = api.book(doctor, patient("p-moved"), time="14:00")
    wired.store.write_busy(doctor["id"], BOOKING_DAY, CONNECTION, [(at(10), at(11))])
    wired.adapters.store.tables.doctors(id=doctor["id"]).update(actions=[DoctorModel.has_busy_times.remove()])
    assert not wired.adapters.doctors.get(doctor["id"]).has_busy_times
    # WHEN it is booked, held and moved into the busy time
    booked = api.try_book(doctor, time="10:30")
    body = {"doctorId": doctor["id"], "date": BOOKING_DAY.isoformat(), "time": "10:00", "type": "in-person"}
    held = api.call("POST", "/api/holds", patient("p2"), body)
    moved = api.call(
        "PUT", f"/api/appointments/{visit['id']}/reschedule", admin(), {"date": str(BOOKING_DAY), "time": "10:00"}
    )
    # THEN each is refused as busy (its first transaction's guard at version 0 failed, the re-check read them)
    for refused in (booked, held, moved):
        assert (refused.status_code, refused.data["error"]["details"]) == (409, {"reason": "busy"}), refused.data
    assert [a["time"] for a in api.appointments_of(doctor)] == ["14:00"]
    # AND a time next to it books
    assert api.try_book(doctor, patient("p3"), time="11:00").status_code == 201
    # WHEN its calendar syncs again THEN the doctor has the flag, and the next booking reads the busy times first
    wired.store.write_busy(doctor["id"], BOOKING_DAY, CONNECTION, [(at(10), at(11))])
    assert wired.adapters.doctors.get(doctor["id"]).has_busy_times
    reads = _busy_reads(wired)
    assert api.try_book(doctor, patient("p4"), time="15:00").status_code == 201
    assert len(reads) == 1


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


def test_a_move_earlier_onto_a_time_that_became_busy_while_held_is_refused_and_changes_nothing(
    api: Api, wired: container.Container
) -> None:
    # GIVEN a patient's 14:00 visit and a waitlist offer holding 10:00 to move it earlier
    doctor = api.doctor_with_hours()
    later, waiting = move_earlier_offer(api, doctor)
    hold_id = waiting["offer"]["holdId"]
    hold, old = wired.store.get_hold(hold_id), wired.store.get(later["id"])
    assert hold is not None and old is not None
    listed = [(a["id"], a["time"], a["status"]) for a in api.appointments_of(doctor)]
    # WHEN the doctor's calendar gains a busy time over 10:00, then the patient moves its visit to the hold
    wired.store.write_busy(doctor["id"], BOOKING_DAY, CONNECTION, [(at(10), at(11))])
    with pytest.raises(SlotUnavailable) as refused:
        wired.booking.book_hold_moving(VERIFIED_PATIENT, hold_id, later["id"], wired.adapters.store)
    # THEN the move is refused as busy, and the old visit and the hold are as they were
    assert refused.value.details == {"reason": "busy"}
    assert (wired.store.get_hold(hold_id), wired.store.get(later["id"])) == (hold, old)
    # AND accepting the offer answers what booking the hold answers, and the offer stands
    who = patient(VERIFIED_PATIENT.subject)
    accepted = api.call("POST", f"/api/waitlist/{waiting['id']}/accept", who, {})
    booked = api.call("POST", "/api/appointments", who, {"holdId": hold_id, "reason": "r"})
    assert (accepted.status_code, accepted.data) == (booked.status_code, booked.data)
    error = accepted.data["error"]
    assert (accepted.status_code, error["code"], error["details"]) == (409, "SLOT_UNAVAILABLE", {"reason": "busy"})
    assert entry(api, waiting["id"], VERIFIED_PATIENT.subject)["status"] == "offered"
    assert [(a["id"], a["time"], a["status"]) for a in api.appointments_of(doctor)] == listed
