"""Slot holds through the API (moto): hold, book with holdId, release, lapse, limits, who sees what."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from tests.helpers import BOOKING_DAY, NOW, admin, doctor, patient

HOLD_PATH = "/api/holds"


def hold_body(doc: dict[str, Any], **fields: Any) -> dict[str, Any]:
    body = {"doctorId": doc["id"], "date": BOOKING_DAY.isoformat(), "time": "10:00", "type": "in-person", **fields}
    return {name: value for name, value in body.items() if value is not ...}


def try_hold(api, doc, who=None, **fields) -> Any:
    return api.call("POST", HOLD_PATH, who or patient(), hold_body(doc, **fields))


def hold(api, doc, who=None, **fields) -> dict[str, Any]:
    made = try_hold(api, doc, who, **fields)
    assert made.status_code == 201, made.data
    return made.data


def slot(api, doc, at: str = "10:00") -> dict[str, Any]:
    day = api.call("GET", f"/api/appointments/availability/{doc['id']}/{BOOKING_DAY.isoformat()}", patient())
    assert day.status_code == 200, day.data
    return next(s for s in day.data["slots"] if s["time"] == at)


def book_hold(api, hold_id: str, who=None, **fields) -> Any:
    return api.call("POST", "/api/appointments", who or patient(), {"holdId": hold_id, **fields})


def test_a_held_time_is_unavailable_to_everyone_else_and_its_holder_books_it(api, wired):
    doc = api.doctor_with_hours()
    # WHEN patient-1 holds 10:00
    held = hold(api, doc)
    # THEN the hold answers the contract's shape, lapsing five minutes from now
    assert {k: held[k] for k in ("doctorId", "patientId", "date", "time", "status")} == {
        "doctorId": doc["id"],
        "patientId": "patient-1",
        "date": BOOKING_DAY.isoformat(),
        "time": "10:00",
        "status": "held",
    }
    assert (held["startsAt"], held["endsAt"]) == ("2026-12-02T15:00:00Z", "2026-12-02T15:30:00Z")
    assert held["expiresAt"] == "2026-12-01T08:05:00Z"
    # AND the time shows as taken, and no one else can book or hold any of it
    assert slot(api, doc)["available"] is False
    other = patient("patient-2")
    taken = api.try_book(doc, other, time="10:00")
    assert (taken.status_code, taken.data["error"]["code"]) == (409, "SLOT_UNAVAILABLE")
    assert try_hold(api, doc, other).status_code == 409
    # WHEN its holder books it, naming only the hold and a reason
    booked = book_hold(api, held["id"], reason="Check-up")
    # THEN the visit is the hold's time, under the hold's id, and the hold is gone
    assert booked.status_code == 201, booked.data
    visit = booked.data
    assert (visit["id"], visit["status"], visit["time"], visit["reason"]) == (
        held["id"],
        "scheduled",
        "10:00",
        "Check-up",
    )
    assert api.call("GET", f"{HOLD_PATH}/{held['id']}", patient()).status_code == 404
    assert slot(api, doc)["available"] is False
    assert [a["id"] for a in api.appointments_of(doc)] == [held["id"]]
    trail = wired.store.audit_trail(held["id"])
    assert [(e.action, e.actor_id) for e in trail] == [("held", "patient-1"), ("booked", "patient-1")]


def test_a_booking_of_a_hold_may_repeat_the_holds_fields_but_not_change_them(api):
    doc = api.doctor_with_hours()
    held = hold(api, doc)
    # WHEN the booking sends another time or doctor than the hold's THEN 400, naming the fields
    wrong = book_hold(api, held["id"], time="11:00", doctorId=doc["id"], reason="x")
    assert (wrong.status_code, wrong.data["error"]["details"]["fields"]) == (400, {"time": "does not match the hold"})
    # WHEN it repeats them as they are THEN booked
    same = book_hold(api, held["id"], time="10:00", date=BOOKING_DAY.isoformat(), type="in-person", reason="x")
    assert same.status_code == 201, same.data
    # AND without holdId the usual fields are still required
    bare = api.call("POST", "/api/appointments", patient(), {"doctorId": doc["id"], "time": "10:00"})
    assert bare.status_code == 400
    assert set(bare.data["error"]["details"]["fields"]) == {"date", "type", "reason"}


def test_releasing_a_hold_frees_its_time_at_once(api):
    doc = api.doctor_with_hours()
    held = hold(api, doc)
    # WHEN its holder releases it THEN 204, and the time is free for anyone
    released = api.call("DELETE", f"{HOLD_PATH}/{held['id']}", patient())
    assert (released.status_code, released.body) == (204, b"")
    assert slot(api, doc)["available"] is True
    api.book(doc, patient("patient-2"))
    # AND the hold is gone: read, release or book it again THEN 404
    assert api.call("GET", f"{HOLD_PATH}/{held['id']}", patient()).status_code == 404
    assert api.call("DELETE", f"{HOLD_PATH}/{held['id']}", patient()).status_code == 404
    assert book_hold(api, held["id"], reason="x").status_code == 404


def test_a_hold_lapses_by_itself_at_its_expiry(api, wired, clock):
    doc = api.doctor_with_hours()
    held = hold(api, doc)
    # GIVEN the clock at one second before the expiry THEN it is still held
    clock.current = NOW + timedelta(minutes=5) - timedelta(seconds=1)
    assert api.call("GET", f"{HOLD_PATH}/{held['id']}", patient()).status_code == 200
    # WHEN the clock reaches the expiry THEN booking it is refused as expired
    clock.current = NOW + timedelta(minutes=5)
    late = book_hold(api, held["id"], reason="x")
    assert (late.status_code, late.data["error"]["details"]["reason"]) == (409, "hold_expired")
    # AND the day's availability releases it and shows the time free; another patient books it
    assert slot(api, doc)["available"] is True
    api.book(doc, patient("patient-2"))
    assert api.call("GET", f"{HOLD_PATH}/{held['id']}", patient()).status_code == 404
    assert [e.action for e in wired.store.audit_trail(held["id"])] == ["held", "lapsed"]


def test_the_sweep_releases_lapsed_holds_and_frees_their_limits(api, wired, clock, lambdas):
    doc = api.doctor_with_hours()
    wired.booking_queries.policy = replace(wired.booking_queries.policy, max_active_bookings=1)
    held = hold(api, doc)
    # WHEN the sweep runs before the expiry THEN it leaves the hold
    run = lambdas.lambda_.invoke("reminder_sweep", tick(lambdas)).payload
    assert run["holdsLapsed"] == 0
    # WHEN it runs at the expiry THEN the hold is released: no lock, no count, no limit left behind
    clock.current = NOW + timedelta(minutes=5)
    run = lambdas.lambda_.invoke("reminder_sweep", tick(lambdas)).payload
    assert run["holdsLapsed"] == 1
    state = wired.store.day_state(doc["id"], BOOKING_DAY)
    assert (state.taken, state.booked, state.holds) == (frozenset(), 0, ())
    assert wired.store.get(held["id"]) is None
    api.book(doc, time="14:00")  # the patient's one active booking is free again, and its one visit that day


def test_holds_count_against_the_patients_limits(api, wired):
    # GIVEN a clinic allowing one active booking a patient, and patient-1 holding 10:00
    wired.booking_queries.policy = replace(wired.booking_queries.policy, max_active_bookings=1)
    doc = api.doctor_with_hours()
    hold(api, doc)
    # WHEN patient-1 books another time with the doctor that day THEN its one visit a day counts the hold
    again = api.try_book(doc, time="14:00")
    assert (again.status_code, again.data["error"]["code"]) == (422, "BOOKING_LIMIT_REACHED")
    # WHEN it books another doctor THEN the hold counts against its active bookings too
    other_doc = api.doctor_with_hours(name="Dr. Bo Lee")
    capped = api.try_book(other_doc, time="14:00")
    assert (capped.status_code, capped.data["error"]["code"]) == (422, "BOOKING_LIMIT_REACHED")
    # AND the doctor's daily limit counts holds
    full = api.doctor_with_hours(name="Dr. Full", availability=None)
    api.call("PUT", f"/api/admin/doctors/{full['id']}/availability", admin(), {**_hours(), "maxPatientsPerDay": 1})
    hold(api, full, patient("patient-3"))
    day_full = try_hold(api, full, patient("patient-4"), time="11:00")
    assert (day_full.status_code, day_full.data["error"]["code"]) == (422, "DAILY_LIMIT_REACHED")


def _hours() -> dict[str, Any]:
    from tests.helpers import STANDARD_AVAILABILITY

    return dict(STANDARD_AVAILABILITY)


def test_staff_see_a_doctor_days_holds_and_patients_do_not(api):
    doc = api.doctor_with_hours()
    held = hold(api, doc)
    query = f"{HOLD_PATH}?doctorId={doc['id']}&date={BOOKING_DAY.isoformat()}"
    # WHEN the doctor or an admin lists the day's holds THEN the hold is there, with its expiry
    for who in (doctor(doc["id"]), admin()):
        listed = api.call("GET", query, who)
        assert listed.status_code == 200, listed.data
        assert [(h["id"], h["expiresAt"]) for h in listed.data["holds"]] == [(held["id"], held["expiresAt"])]
    # AND the doctor may read the hold itself; another doctor and a patient may not list them
    assert api.call("GET", f"{HOLD_PATH}/{held['id']}", doctor(doc["id"])).status_code == 200
    assert api.call("GET", query, doctor("someone-else")).status_code == 403
    assert api.call("GET", query, patient()).status_code == 403
    # AND a hold is not an appointment: not in the doctor's list, not readable as one
    assert api.appointments_of(doc) == []
    assert api.call("GET", f"/api/appointments/{held['id']}", admin()).status_code == 404


def test_staff_hold_a_time_for_a_patient_and_book_it(api):
    doc = api.doctor_with_hours()
    assert api.call("PUT", "/api/patients/me", patient()).status_code == 200  # patient-1 is in the directory
    # WHEN an admin holds 10:00 for patient-1 and books it with a reason
    held = hold(api, doc, admin(), patientId="patient-1")
    assert held["patientId"] == "patient-1"
    booked = book_hold(api, held["id"], admin(), reason="Follow-up", patientId="patient-1")
    # THEN the visit is patient-1's
    assert booked.status_code == 201, booked.data
    assert (booked.data["patientId"], booked.data["status"]) == ("patient-1", "scheduled")
    # AND staff must name the patient
    nameless = try_hold(api, doc, admin(), time="11:00")
    assert nameless.status_code == 400


def test_a_patient_cannot_read_book_or_release_another_patients_hold(api):
    doc = api.doctor_with_hours()
    held = hold(api, doc)
    other = patient("patient-2")
    # WHEN another patient reads, books or releases the hold THEN 404 each time, and the hold stands
    assert api.call("GET", f"{HOLD_PATH}/{held['id']}", other).status_code == 404
    assert book_hold(api, held["id"], other, reason="mine").status_code == 404
    assert api.call("DELETE", f"{HOLD_PATH}/{held['id']}", other).status_code == 404
    assert api.call("GET", f"{HOLD_PATH}/{held['id']}", patient()).status_code == 200
    # AND another doctor neither
    assert api.call("DELETE", f"{HOLD_PATH}/{held['id']}", doctor("someone-else")).status_code == 404
    # AND a patient cannot hold a time for someone else
    assert try_hold(api, doc, other, patientId="patient-1", time="11:00").status_code == 403


def tick(lambdas):
    return lambdas.events.generate_cw_event("aws.events", "Scheduled Event", {}, [], "us-east-1")


def test_a_hold_and_its_release_go_out_live_to_the_days_followers(api, wired, lambdas):
    from tests.functional.test_realtime import connect, received, send, stream_record_of, ticket

    doc = api.doctor_with_hours()
    connect("w1", ticket(api, patient("patient-2")))
    send("w1", {"action": "subscribe", "doctorId": doc["id"], "date": BOOKING_DAY.isoformat()})
    # WHEN a hold's item reaches the publisher from the appointments table's stream, as a booking's does
    held = hold(api, doc)
    record = stream_record_of(wired, held["id"])
    report = lambdas.lambda_.invoke("slot_publisher", {"Records": [record]}).payload
    # THEN the day's follower is told 10:00 is taken
    assert (report["doctorDays"], report["sent"]) == (1, 1)
    assert {s["time"]: s["available"] for s in received("w1")[-1]["slots"]}["10:00"] is False
    # WHEN it is released (the stream's REMOVE of the held item) THEN the follower is told it is free again
    assert api.call("DELETE", f"{HOLD_PATH}/{held['id']}", patient()).status_code == 204
    removed = {**record, "eventName": "REMOVE"}
    removed["dynamodb"] = {**record["dynamodb"], "OldImage": record["dynamodb"]["NewImage"]}
    del removed["dynamodb"]["NewImage"]
    lambdas.lambda_.invoke("slot_publisher", {"Records": [removed]})
    assert {s["time"]: s["available"] for s in received("w1")[-1]["slots"]}["10:00"] is True
