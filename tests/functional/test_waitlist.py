"""The waitlist through the routes and the stream consumer (moto): join, offers of freed times with a hold, accept,
decline, lapse, races, "move me earlier", windows, limits and the staff views."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.helpers import BOOKING_DAY, admin, doctor, patient
from tests.waitlist_stream import StreamTap as SharedTap

DAY = BOOKING_DAY.isoformat()


class StreamTap(SharedTap):
    """The appointments table's stream for moto; `flush()` hands its records to the waitlist's stream consumer."""

    def __init__(self, wired: Any) -> None:
        super().__init__(boto3.client("dynamodb", region_name=wired.settings.region), wired.settings.appointments_table)

    def flush(self) -> dict[str, Any]:
        """Runs the consumer until the stream is quiet (an offer's own hold and a released hold are changes too)."""
        from chalicelib.api.waitlist import offer_records

        total: dict[str, Any] = {"freed": 0, "offered": 0, "explained": 0}
        for _ in range(10):
            records = self.records()
            if not records:
                break
            report = offer_records(records)
            assert report["batchItemFailures"] == []
            for name in total:
                total[name] += report[name]
        return total


@pytest.fixture
def tap(wired: Any) -> StreamTap:
    return StreamTap(wired)


def join(api: Any, doc: dict[str, Any], who: str, **fields: Any) -> Any:
    body = {"doctorId": doc["id"], "from": DAY, "to": DAY, "type": "in-person", "notify": {"email": True}, **fields}
    return api.call("POST", "/api/waitlist", patient(who), {k: v for k, v in body.items() if v is not ...})


def joined(api: Any, doc: dict[str, Any], who: str, **fields: Any) -> dict[str, Any]:
    made = join(api, doc, who, **fields)
    assert made.status_code == 201, made.data
    return made.data


def entry(api: Any, entry_id: str, who: str) -> dict[str, Any]:
    got = api.call("GET", f"/api/waitlist/{entry_id}", patient(who))
    assert got.status_code == 200, got.data
    return got.data


def booked_at(api: Any, doc: dict[str, Any], at: str = "10:00", who: str = "booker") -> dict[str, Any]:
    return api.book(doc, patient(who), time=at)


def active_at(api: Any, doc: dict[str, Any], at: str) -> list[dict[str, Any]]:
    return [
        a
        for a in api.appointments_of(doc)
        if a["time"] == at and a["status"] in ("scheduled", "confirmed", "rescheduled")
    ]


def outbox(wired: Any) -> list[Path]:
    folder = Path(wired.settings.outbox_dir)
    return sorted(folder.glob("*")) if folder.exists() else []


class Relay:
    """The container's deliverer in this module: everything goes to `to`, which a test may point elsewhere."""

    def __init__(self, to: Any) -> None:
        self.to = to

    def __getattr__(self, name: str) -> Any:
        return getattr(self.to, name)


class FailingFor:
    """The waitlist store, failing every write of one doctor's freed times (a throttled partition) while
    `doctor_id` names it."""

    def __init__(self, real: Any, doctor_id: str | None = None) -> None:
        self.real = real
        self.doctor_id = doctor_id

    def add_freed(self, record: Any) -> bool:
        if record.doctor_id == self.doctor_id:
            raise RuntimeError("ProvisionedThroughputExceededException")
        return bool(self.real.add_freed(record))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


@pytest.fixture
def adapters(adapters: Any, settings: Any) -> Any:
    """The container built on a deliverer a test can point elsewhere, and a waitlist store it can make fail."""
    from dataclasses import replace

    from chalicelib.adapters.dynamodb import models
    from chalicelib.adapters.dynamodb.waitlist import DynamoWaitlistStore

    store = FailingFor(DynamoWaitlistStore(models.bind(settings)))
    return replace(adapters, deliverer=Relay(adapters.deliverer), waitlist=store)


@pytest.fixture
def outbox_delivery(wired: Any) -> Any:
    """Messages into the outbox (as `make run` delivers), so a test can read what the patient got."""
    from dataclasses import replace

    from chalicelib.adapters.delivery import OutboxDeliverer

    settings = replace(wired.settings, delivery="outbox")
    wired.adapters.deliverer.to = OutboxDeliverer(settings, wired.clock.now)
    return wired


def test_cancel_offer_accept_books_exactly_once(api, wired, tap, outbox_delivery):
    # GIVEN a booked 10:00 and a patient waiting for that day
    doc = api.doctor_with_hours()
    visit = booked_at(api, doc)
    waiting = joined(api, doc, "w1")
    assert waiting["status"] == "waiting"
    # WHEN the visit is cancelled and the stream is read
    tap.flush()  # the bookings' own records: nothing freed
    assert api.call("DELETE", f"/api/appointments/{visit['id']}", patient("booker")).status_code == 200
    report = tap.flush()
    # THEN the entry is offered that time, with a 15-minute hold nobody else can take
    offered = entry(api, waiting["id"], "w1")
    assert offered["status"] == "offered" and report["offered"] == 1
    assert offered["offer"]["time"] == "10:00"
    expires = offered["offer"]["expiresAt"]
    assert expires == (wired.clock.now() + timedelta(minutes=15)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert api.try_book(doc, patient("other"), time="10:00").status_code == 409
    # AND the patient got one message, with the doctor and time and no reason
    sent = outbox(wired)
    assert len(sent) == 1
    text = sent[0].read_text()
    assert "10:00" in text and "Check-up" not in text
    # WHEN the patient accepts
    done = api.call("POST", f"/api/waitlist/{waiting['id']}/accept", patient("w1"), {})
    # THEN it is booked, once; the entry is booked and names the appointment
    assert done.status_code == 201, done.data
    assert done.data["status"] == "scheduled" and done.data["patientId"] == "w1"
    assert [a["id"] for a in active_at(api, doc, "10:00")] == [done.data["id"]]
    after = entry(api, waiting["id"], "w1")
    assert after["status"] == "booked" and after["appointmentId"] == done.data["id"]
    # AND a second accept books nothing more
    again = api.call("POST", f"/api/waitlist/{waiting['id']}/accept", patient("w1"), {})
    assert again.status_code == 409
    assert len(active_at(api, doc, "10:00")) == 1
    # AND the stream's further records (the booking of the hold) offer nothing
    assert tap.flush()["offered"] == 0
    assert len(outbox(wired)) == 1


def test_decline_goes_to_the_next_entry_in_join_order(api, wired, tap, clock):
    doc = api.doctor_with_hours()
    visit = booked_at(api, doc)
    first = joined(api, doc, "w1")
    clock.current += timedelta(seconds=1)
    second = joined(api, doc, "w2")
    tap.flush()  # the bookings' own records: nothing freed
    api.call("DELETE", f"/api/appointments/{visit['id']}", patient("booker"))
    tap.flush()
    assert entry(api, first["id"], "w1")["status"] == "offered"
    assert entry(api, second["id"], "w2")["status"] == "waiting"
    # WHEN the first declines
    declined = api.call("POST", f"/api/waitlist/{first['id']}/decline", patient("w1"), {})
    assert declined.status_code == 200 and declined.data["status"] == "waiting"
    tap.flush()
    # THEN the second is offered it, and the first is never offered it again
    assert entry(api, second["id"], "w2")["status"] == "offered"
    back = entry(api, first["id"], "w1")
    assert back["status"] == "waiting" and back["pastOffers"][0]["outcome"] == "declined"


def test_a_lapsed_offer_goes_to_the_next_entry(api, wired, tap, clock):
    doc = api.doctor_with_hours()
    visit = booked_at(api, doc)
    first = joined(api, doc, "w1")
    clock.current += timedelta(seconds=1)
    second = joined(api, doc, "w2")
    tap.flush()  # the bookings' own records: nothing freed
    api.call("DELETE", f"/api/appointments/{visit['id']}", patient("booker"))
    tap.flush()
    # WHEN 15 minutes pass and the sweep releases the lapsed hold
    clock.current += timedelta(minutes=15)
    from chalicelib.api.waitlist import run_waitlist_sweep

    assert run_waitlist_sweep()["holdsReleased"] == 1
    tap.flush()
    # THEN the first's offer expired and the second is offered the time
    assert entry(api, first["id"], "w1")["pastOffers"][0]["outcome"] == "expired"
    assert entry(api, second["id"], "w2")["status"] == "offered"
    # AND accepting the lapsed offer is refused clearly
    late = api.call("POST", f"/api/waitlist/{first['id']}/accept", patient("w1"), {})
    assert late.status_code == 409


def test_a_rest_booking_before_the_offer_means_no_offer_and_a_reason(api, wired, tap):
    doc = api.doctor_with_hours()
    visit = booked_at(api, doc)
    waiting = joined(api, doc, "w1")
    tap.flush()  # the bookings' own records: nothing freed
    api.call("DELETE", f"/api/appointments/{visit['id']}", patient("booker"))
    # WHEN someone books the time over REST before the stream is read
    booked_at(api, doc, who="quick")
    tap.flush()
    # THEN nobody is offered it, and the freed time says why
    assert entry(api, waiting["id"], "w1")["status"] == "waiting"
    day = api.call("GET", f"/api/waitlist/day?doctorId={doc['id']}&date={DAY}", admin())
    assert day.status_code == 200
    freed = [f for f in day.data["freed"] if f["origin"] == "cancelled"]
    assert freed[0]["status"] == "explained" and "someone else" in freed[0]["reason"]
    assert len(active_at(api, doc, "10:00")) == 1


def test_staff_taking_the_time_during_an_offer_ends_it_with_a_clear_message(api, wired, tap):
    doc = api.doctor_with_hours()
    visit = booked_at(api, doc)
    waiting = joined(api, doc, "w1")
    tap.flush()  # the bookings' own records: nothing freed
    api.call("DELETE", f"/api/appointments/{visit['id']}", patient("booker"))
    tap.flush()
    hold_id = entry(api, waiting["id"], "w1")["offer"]["holdId"]
    # WHEN staff release the hold and book the time for someone else before the patient answers
    assert api.call("DELETE", f"/api/holds/{hold_id}", admin()).status_code == 204
    booked_at(api, doc, who="walk-in")
    answer = api.call("POST", f"/api/waitlist/{waiting['id']}/accept", patient("w1"), {})
    # THEN the accept is refused with a clear message, never a double booking
    assert answer.status_code == 409
    assert "taken" in answer.data["error"]["message"] or "expired" in answer.data["error"]["message"]
    assert len(active_at(api, doc, "10:00")) == 1


def test_two_freed_times_overlapping_two_entries_go_one_each(api, wired, tap, clock):
    doc = api.doctor_with_hours()
    one, two = booked_at(api, doc, "10:00", "b1"), booked_at(api, doc, "10:30", "b2")
    first = joined(api, doc, "w1")
    clock.current += timedelta(seconds=1)
    second = joined(api, doc, "w2")
    tap.flush()  # the bookings' own records: nothing freed
    api.call("DELETE", f"/api/appointments/{one['id']}", patient("b1"))
    api.call("DELETE", f"/api/appointments/{two['id']}", patient("b2"))
    tap.flush()
    offers = {entry(api, e["id"], w)["offer"]["time"] for e, w in ((first, "w1"), (second, "w2"))}
    assert offers == {"10:00", "10:30"}


def test_move_earlier_cancels_the_old_visit_in_the_same_transaction(api, wired, tap):
    doc = api.doctor_with_hours()
    early = booked_at(api, doc, "10:00", "b1")
    later = api.book(doc, patient("w1"), time="15:00")
    waiting = joined(api, doc, "w1", moveEarlier=later["id"])
    tap.flush()  # the bookings' own records: nothing freed
    api.call("DELETE", f"/api/appointments/{early['id']}", patient("b1"))
    tap.flush()
    assert entry(api, waiting["id"], "w1")["status"] == "offered"
    done = api.call("POST", f"/api/waitlist/{waiting['id']}/accept", patient("w1"), {})
    assert done.status_code == 201, done.data
    assert done.data["time"] == "10:00" and done.data["reason"] == later["reason"]
    old = api.call("GET", f"/api/appointments/{later['id']}", patient("w1")).data
    assert old["status"] == "cancelled"
    # AND the two changes are one commit: both audit entries carry the same instant
    trail_new = api.call("GET", f"/api/appointments/{done.data['id']}/audit", admin())
    trail_old = api.call("GET", f"/api/appointments/{later['id']}/audit", admin())
    if trail_new.status_code == 200 and trail_old.status_code == 200:
        assert trail_new.data["entries"][-1]["at"] == trail_old.data["entries"][-1]["at"]
    # AND the 15:00 it left is free again
    assert active_at(api, doc, "15:00") == []


def test_move_earlier_is_all_or_nothing(api, wired, tap):
    """A move whose cancellation of the old visit is refused (it changed meanwhile) books nothing."""
    doc = api.doctor_with_hours()
    early = booked_at(api, doc, "10:00", "b1")
    later = api.book(doc, patient("w1"), time="15:00")
    waiting = joined(api, doc, "w1", moveEarlier=later["id"])
    tap.flush()  # the bookings' own records: nothing freed
    api.call("DELETE", f"/api/appointments/{early['id']}", patient("b1"))
    tap.flush()
    from dataclasses import replace

    from chalicelib.domain.appointments import Status

    real_get = wired.booking_queries.get

    def stale_get(caller, appointment_id):  # the visit as read before another change landed
        found = real_get(caller, appointment_id)
        return replace(found, status=Status.CONFIRMED) if appointment_id == later["id"] else found

    wired.booking_queries.get = stale_get
    answer = api.call("POST", f"/api/waitlist/{waiting['id']}/accept", patient("w1"), {})
    wired.booking_queries.get = real_get
    assert answer.status_code == 409
    assert active_at(api, doc, "15:00") != [] and active_at(api, doc, "10:00") == []


def test_an_entry_whose_window_has_passed_is_never_offered(api, wired, tap, clock):
    doc = api.doctor_with_hours()
    visit = booked_at(api, doc, "10:00")
    late_visit = api.book(doc, patient("b2"), date="2026-12-03", time="10:00")
    waiting = joined(api, doc, "w1")  # window: BOOKING_DAY only
    # WHEN the window has ended and a time on a later day frees
    clock.current += timedelta(days=2)  # 03:00 on the 3rd in New York: the window (the 2nd) has ended
    tap.flush()  # the bookings' own records: nothing freed
    api.call("DELETE", f"/api/appointments/{late_visit['id']}", admin())
    tap.flush()
    # THEN it is not offered; the sweep marks the entry expired
    assert entry(api, waiting["id"], "w1")["status"] == "waiting"
    from chalicelib.api.waitlist import run_waitlist_sweep

    assert run_waitlist_sweep()["entriesExpired"] == 1
    assert entry(api, waiting["id"], "w1")["status"] == "expired"
    del visit


def test_nobody_is_offered_a_time_less_than_the_minimum_notice_away(api, wired, tap, clock):
    doc = api.doctor_with_hours()
    visit = booked_at(api, doc, "10:00")
    waiting = joined(api, doc, "w1")
    clock.current = clock.current.replace(day=2, hour=14, minute=30)  # 09:30 in New York on that day
    tap.flush()  # the bookings' own records: nothing freed
    api.call("DELETE", f"/api/appointments/{visit['id']}", admin())
    tap.flush()
    assert entry(api, waiting["id"], "w1")["status"] == "waiting"


def test_limits_one_per_doctor_and_three_in_all(api):
    docs = [api.doctor_with_hours(name=f"Dr. {n}") for n in "ABCD"]
    joined(api, docs[0], "w1")
    again = join(api, docs[0], "w1")
    assert again.status_code == 422 and again.data["error"]["code"] == "WAITLIST_LIMIT_REACHED"
    joined(api, docs[1], "w1")
    joined(api, docs[2], "w1")
    fourth = join(api, docs[3], "w1")
    assert fourth.status_code == 422 and fourth.data["error"]["code"] == "WAITLIST_LIMIT_REACHED"


def test_only_verified_addresses_and_windows_within_the_horizon(api):
    doc = api.doctor_with_hours()
    unverified = api.call(
        "POST",
        "/api/waitlist",
        patient("w1", email_verified=False),
        {"doctorId": doc["id"], "from": DAY, "to": DAY, "type": "in-person", "notify": {"email": True}},
    )
    assert unverified.status_code == 422 and unverified.data["error"]["code"] == "NO_RECIPIENT"
    far = join(api, doc, "w1", **{"from": "2027-07-01", "to": "2027-07-02"})
    assert far.status_code == 422 and far.data["error"]["code"] == "OUTSIDE_BOOKING_WINDOW"
    backwards = join(api, doc, "w1", **{"from": "2026-12-05", "to": "2026-12-04"})
    assert backwards.status_code == 400
    odd_length = join(api, doc, "w1", duration=45)
    assert odd_length.status_code == 422


def test_leave_releases_an_open_offer_and_the_time_goes_on(api, wired, tap, clock):
    doc = api.doctor_with_hours()
    visit = booked_at(api, doc)
    first = joined(api, doc, "w1")
    clock.current += timedelta(seconds=1)
    second = joined(api, doc, "w2")
    tap.flush()  # the bookings' own records: nothing freed
    api.call("DELETE", f"/api/appointments/{visit['id']}", admin())
    tap.flush()
    left = api.call("DELETE", f"/api/waitlist/{first['id']}", patient("w1"))
    assert left.status_code == 200 and left.data["status"] == "left"
    tap.flush()
    assert entry(api, second["id"], "w2")["status"] == "offered"


def test_staff_see_the_waitlist_and_offer_a_time_by_hand(api, wired, tap):
    doc = api.doctor_with_hours()
    waiting = joined(api, doc, "w1")
    listed = api.call("GET", f"/api/waitlist?doctorId={doc['id']}", doctor(doc["id"]))
    assert listed.status_code == 200 and [e["id"] for e in listed.data["entries"]] == [waiting["id"]]
    assert api.call("GET", f"/api/waitlist?doctorId={doc['id']}", doctor("someone-else")).status_code == 403
    made = api.call("POST", f"/api/waitlist/{waiting['id']}/offer", admin(), {"date": DAY, "time": "11:00"})
    assert made.status_code == 201, made.data
    assert made.data["status"] == "offered" and made.data["offer"]["time"] == "11:00"
    day = api.call("GET", f"/api/waitlist/day?doctorId={doc['id']}&date={DAY}", admin()).data
    assert day["freed"][0]["origin"] == "by-hand" and day["freed"][0]["offers"][0]["outcome"] == "pending"
    # a patient sees only its own entries, and not the staff views
    assert api.call("GET", "/api/waitlist", patient("w2")).data["entries"] == []
    assert api.call("GET", f"/api/waitlist/{waiting['id']}", patient("w2")).status_code == 404


def test_analytics_count_freed_and_refilled_minutes(api, wired, tap, clock):
    doc = api.doctor_with_hours()
    visit = booked_at(api, doc)
    waiting = joined(api, doc, "w1")
    tap.flush()  # the bookings' own records: nothing freed
    api.call("DELETE", f"/api/appointments/{visit['id']}", admin())
    tap.flush()
    clock.current += timedelta(minutes=3)
    api.call("POST", f"/api/waitlist/{waiting['id']}/accept", patient("w1"), {})
    report = api.call("GET", f"/api/waitlist/analytics?doctorId={doc['id']}&from={DAY}&to={DAY}", admin())
    assert report.status_code == 200, report.data
    week = report.data["weeks"][0]
    assert week["freedMinutes"] == 30 and week["refilledMinutes"] == 30 and week["refillRate"] == 1.0
    assert week["offersSent"] == 1 and week["accepted"] == 1
    assert week["medianSecondsToRebook"] == 180.0


def test_a_message_whose_outcome_is_unknown_is_not_resent(api, wired, tap):
    from chalicelib.domain.delivery import UnknownDeliveryOutcome

    sent: list[str] = []

    class LostAnswer:
        def send(self, reminder, appointment, endpoints):
            sent.append(reminder.id)
            raise UnknownDeliveryOutcome("read timeout")

    wired.adapters.deliverer.to = LostAnswer()
    doc = api.doctor_with_hours()
    visit = booked_at(api, doc)
    waiting = joined(api, doc, "w1")
    tap.flush()  # the bookings' own records: nothing freed
    api.call("DELETE", f"/api/appointments/{visit['id']}", admin())
    tap.flush()
    # WHEN the same freed time's record is delivered again (a stream retry)
    offer = entry(api, waiting["id"], "w1")["offer"]
    wired.waitlist.offer_freed(
        next(
            f["id"]
            for f in api.call("GET", f"/api/waitlist/day?doctorId={doc['id']}&date={DAY}", admin()).data["freed"]
        )
    )
    # THEN one message was attempted, never a second
    assert len(sent) == 1
    assert json.dumps(offer)


def test_an_entry_is_never_offered_two_times_at_once(api, wired, tap, clock):
    # GIVEN one waiting patient and two booked times
    doc = api.doctor_with_hours()
    one, two = booked_at(api, doc, "10:00", "b1"), booked_at(api, doc, "10:30", "b2")
    waiting = joined(api, doc, "w1")
    tap.flush()  # the bookings' own records: nothing freed
    # WHEN both are cancelled
    api.call("DELETE", f"/api/appointments/{one['id']}", patient("b1"))
    api.call("DELETE", f"/api/appointments/{two['id']}", patient("b2"))
    tap.flush()
    # THEN the entry holds one offer (the first freed), and the other time's log says nobody matched
    assert entry(api, waiting["id"], "w1")["offer"]["time"] == "10:00"
    freed = api.call("GET", f"/api/waitlist/day?doctorId={doc['id']}&date={DAY}", admin()).data["freed"]
    assert sorted(f["status"] for f in freed) == ["open", "unfilled"]
    assert len(wired.booking_queries.holds_of_day(wired_admin(), doc["id"], BOOKING_DAY)) == 1


def wired_admin() -> Any:
    from chalicelib.domain.identity import Caller, Role

    return Caller("admin-1", Role.ADMIN)


def test_an_offer_whose_release_never_reached_the_stream_is_ended_by_the_sweep(api, wired, tap, clock):
    # GIVEN an open offer and a second patient waiting
    doc = api.doctor_with_hours()
    visit = booked_at(api, doc)
    first = joined(api, doc, "w1")
    clock.current += timedelta(seconds=1)
    second = joined(api, doc, "w2")
    tap.flush()
    api.call("DELETE", f"/api/appointments/{visit['id']}", admin())
    tap.flush()
    # WHEN the offer is long past its expiry and the sweep runs, with no stream record read afterwards
    clock.current += timedelta(minutes=17)
    from chalicelib.api.waitlist import run_waitlist_sweep

    assert run_waitlist_sweep()["offersEnded"] == 1
    # THEN the first's offer expired and the sweep itself offered the time to the second
    assert entry(api, first["id"], "w1")["pastOffers"][0]["outcome"] == "expired"
    assert entry(api, second["id"], "w2")["status"] == "offered"
    # AND the stream's late records change nothing more
    tap.flush()
    assert entry(api, second["id"], "w2")["status"] == "offered"


def test_a_record_that_fails_is_reported_alone_and_the_rest_are_offered(api, wired, tap):
    from chalicelib.api.waitlist import offer_records

    # GIVEN two doctors with a cancelled visit each and a patient waiting for each; one doctor's log cannot be written
    docs = [api.doctor_with_hours(), api.doctor_with_hours(name="Dr. Two")]
    visits = [booked_at(api, d, who=f"b{i}") for i, d in enumerate(docs)]
    waiting = [joined(api, d, f"w{i}") for i, d in enumerate(docs)]
    tap.flush()
    for i, v in enumerate(visits):
        api.call("DELETE", f"/api/appointments/{v['id']}", patient(f"b{i}"))
    wired.adapters.waitlist.doctor_id = docs[0]["id"]
    records = tap.records()
    # WHEN the batch is handled
    report = offer_records(records)
    # THEN only the failing doctor's record is reported for a retry, and the other's time is offered
    failing = [r["dynamodb"]["SequenceNumber"] for r in records if r["dynamodb"]["Keys"]["id"]["S"] == visits[0]["id"]]
    assert [f["itemIdentifier"] for f in report["batchItemFailures"]] == failing
    assert entry(api, waiting[1]["id"], "w1")["status"] == "offered"
    assert entry(api, waiting[0]["id"], "w0")["status"] == "waiting"
    # AND the retry, once the store answers again, offers it
    wired.adapters.waitlist.doctor_id = None
    assert offer_records(records)["batchItemFailures"] == []
    assert entry(api, waiting[0]["id"], "w0")["status"] == "offered"


def test_a_patient_changes_its_waiting_entry_and_keeps_its_place(api, wired, tap, clock):
    doc = api.doctor_with_hours()
    first = joined(api, doc, "w1", times=[{"start": "13:00", "end": "17:00"}])
    clock.current += timedelta(seconds=1)
    second = joined(api, doc, "w2")
    # WHEN the first widens its times of day to the morning too, and changes its channels
    changed = api.call(
        "PATCH",
        f"/api/waitlist/{first['id']}",
        patient("w1"),
        {"times": [{"start": "09:00", "end": "17:00"}], "notify": {"sms": True}},
    )
    assert changed.status_code == 200, changed.data
    assert changed.data["times"] == [{"start": "09:00", "end": "17:00"}] and changed.data["notify"] == ["sms"]
    # THEN a freed morning time goes to it first: it kept its place
    visit = booked_at(api, doc)
    tap.flush()  # the booking's own record: nothing freed
    api.call("DELETE", f"/api/appointments/{visit['id']}", admin())
    tap.flush()
    assert entry(api, first["id"], "w1")["status"] == "offered"
    assert entry(api, second["id"], "w2")["status"] == "waiting"
    # AND an offered entry cannot be changed, another patient's not at all, nor with nothing to change
    refused = api.call("PATCH", f"/api/waitlist/{first['id']}", patient("w1"), {"to": DAY})
    assert refused.status_code == 409
    assert api.call("PATCH", f"/api/waitlist/{second['id']}", patient("w1"), {"to": DAY}).status_code == 404
    assert api.call("PATCH", f"/api/waitlist/{second['id']}", patient("w2"), {}).status_code == 400
    unverified = api.call(
        "PATCH", f"/api/waitlist/{second['id']}", patient("w2", email_verified=False), {"notify": {"email": True}}
    )
    assert unverified.status_code == 422


def test_move_earlier_after_the_old_visit_was_cancelled_books_the_offer_on_its_own(api, wired, tap):
    doc = api.doctor_with_hours()
    early = booked_at(api, doc, "10:00", "b1")
    later = api.book(doc, patient("w1"), time="15:00")
    waiting = joined(api, doc, "w1", moveEarlier=later["id"])
    tap.flush()  # the bookings' own records: nothing freed
    api.call("DELETE", f"/api/appointments/{early['id']}", patient("b1"))
    tap.flush()
    # WHEN the patient cancels the later visit itself, then accepts the offer
    assert api.call("DELETE", f"/api/appointments/{later['id']}", patient("w1")).status_code == 200
    done = api.call("POST", f"/api/waitlist/{waiting['id']}/accept", patient("w1"), {"reason": "Check-up"})
    # THEN the offered time is booked on its own
    assert done.status_code == 201, done.data
    assert done.data["time"] == "10:00" and entry(api, waiting["id"], "w1")["status"] == "booked"


def test_a_long_freed_time_is_offered_in_parts_and_a_declined_part_goes_on_alone(api, wired, tap, clock):
    # GIVEN a 60-minute visit; waiting: two patients for 30 minutes, then one for 60, then one for 30
    doc = api.doctor_with_hours()
    assert (
        api.call("PUT", f"/api/admin/doctors/{doc['id']}/durations", admin(), {"durations": [30, 60]}).status_code
        == 200
    )
    long_visit = api.book(doc, patient("long"), duration=60)
    ids = []
    for who, minutes in (("w1", 30), ("w2", 30), ("w3", 60), ("w4", 30)):
        ids.append(joined(api, doc, who, duration=minutes)["id"])
        clock.current += timedelta(seconds=1)
    tap.flush()  # the booking's own record: nothing freed
    # WHEN it is cancelled
    api.call("DELETE", f"/api/appointments/{long_visit['id']}", patient("long"))
    tap.flush()
    # THEN its two halves go to the first two, one each
    assert entry(api, ids[0], "w1")["offer"]["time"] == "10:00"
    assert entry(api, ids[1], "w2")["offer"]["time"] == "10:30"
    # WHEN the first declines THEN only its half goes on: not to the 60-minute entry (the other half is held),
    # to the next that fits; the second keeps its offer
    api.call("POST", f"/api/waitlist/{ids[0]}/decline", patient("w1"), {})
    tap.flush()
    assert entry(api, ids[2], "w3")["status"] == "waiting"
    assert entry(api, ids[3], "w4")["offer"]["time"] == "10:00"
    assert entry(api, ids[1], "w2")["offer"]["time"] == "10:30"
