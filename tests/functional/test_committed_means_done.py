"""Committed means done: after the booking's transaction commits nothing turns the answer into an error, and a
retry with the same Idempotency-Key returns the original 201 whatever happened to the first answer. Transient
faults of the store or the idempotency table answer 503 with Retry-After, never 500."""

from __future__ import annotations

import pytest
from botocore.exceptions import EndpointConnectionError

from tests.faults import LOSE, UNREACHABLE, in_progress, throttled
from tests.helpers import BOOKING_DAY, patient


@pytest.fixture
def doc(api):
    return api.doctor_with_hours()


def keyed(key: str, who: dict | None = None) -> dict:
    return {**(who or patient()), "Idempotency-Key": key}


def booked_count(wired, doc) -> int:
    return wired.store.day_state(doc["id"], BOOKING_DAY).booked


def test_a_lost_answer_then_a_conflict_on_the_resend_is_the_booking_itself(api, wired, doc, faults):
    # GIVEN DynamoDB applies the booking but its answer is lost, and the resend is refused (the item exists)
    faults.script("TransactWriteItems", LOSE)
    # WHEN the patient books
    made = api.try_book(doc)
    # THEN the answer is the booking, stored once
    assert made.status_code == 201, made.data
    assert [a["id"] for a in api.appointments_of(doc)] == [made.data["id"]]
    assert booked_count(wired, doc) == 1


def test_transaction_in_progress_on_the_resend_is_not_a_500(api, wired, doc, faults):
    # GIVEN the answer is lost and the same-token resend meets TransactionInProgressException
    faults.script("TransactWriteItems", LOSE, in_progress())
    # WHEN the patient books THEN it is booked once and answered 201
    made = api.try_book(doc, keyed("tip-1"))
    assert made.status_code == 201, made.data
    assert len(api.appointments_of(doc)) == 1 and booked_count(wired, doc) == 1


def test_transaction_in_progress_that_persists_is_503(api, doc, faults):
    # GIVEN DynamoDB keeps answering that a transaction with the token is in progress (nothing applied)
    faults.script("TransactWriteItems", *[in_progress()] * 3)
    # WHEN the patient books THEN a 503 with Retry-After, nothing written
    busy = api.try_book(doc, keyed("tip-2"))
    assert (busy.status_code, busy.data["error"]["code"]) == (503, "SERVICE_UNAVAILABLE")
    assert busy.headers["Retry-After"]
    assert api.appointments_of(doc) == []


def test_committed_then_unreachable_answers_503_and_the_keyed_retry_returns_the_original_201(api, wired, doc, faults):
    # GIVEN the Queries a booking makes before its transaction (counted on another patient's booking)
    before = faults.calls.get("Query", 0)
    api.book(doc, patient("p-count"), date="2026-12-03")
    ahead = faults.calls.get("Query", 0) - before
    # AND the booking commits, then DynamoDB stops answering (the resends, the check of what landed, the search
    # for the visit its key booked)
    faults.script("TransactWriteItems", LOSE, UNREACHABLE, UNREACHABLE)
    faults.script("GetItem", None, UNREACHABLE, UNREACHABLE)  # the doctor is read; the checks of what landed not
    faults.script("Query", *[None] * ahead, UNREACHABLE, UNREACHABLE)
    first = api.try_book(doc, keyed("lost-1"))
    assert (first.status_code, first.data["error"]["code"]) == (503, "SERVICE_UNAVAILABLE")
    faults.clear()
    # WHEN the client retries with the same Idempotency-Key once DynamoDB is back
    again = api.try_book(doc, keyed("lost-1"))
    # THEN it gets 201 with the one appointment that was booked
    assert again.status_code == 201, again.data
    assert [a["id"] for a in api.appointments_of(doc) if a["patientId"] == "patient-1"] == [again.data["id"]]
    assert booked_count(wired, doc) == 1


def test_a_key_whose_record_is_gone_still_finds_its_booking_and_is_free_for_another(api, wired, doc):
    # GIVEN a keyed booking whose idempotency record has expired
    first = api.try_book(doc, keyed("reused"))
    assert first.status_code == 201
    client = wired.idempotency.botocore_clients()[0]
    for item in client.scan(TableName=wired.settings.idempotency_table)["Items"]:
        client.delete_item(TableName=wired.settings.idempotency_table, Key={"id": item["id"]})
    # WHEN the same request comes again THEN it meets its own booking: the original 201, nothing more booked
    same = api.try_book(doc, keyed("reused"))
    assert (same.status_code, same.data["id"]) == (201, first.data["id"])
    assert booked_count(wired, doc) == 1
    # WHEN the key comes with another request once that record is gone too THEN a new booking: a key is
    # remembered as long as its record
    for item in client.scan(TableName=wired.settings.idempotency_table)["Items"]:
        client.delete_item(TableName=wired.settings.idempotency_table, Key={"id": item["id"]})
    other = api.try_book(doc, keyed("reused"), date="2026-12-03")
    assert other.status_code == 201, other.data
    assert other.data["id"] != first.data["id"]


@pytest.fixture
def idempotency_faults(wired):
    """Faults on the idempotency table's own client, by operation name."""
    client = wired.idempotency.botocore_clients()[0]
    plan: dict[str, list] = {}

    def before(model, **_):
        steps = plan.get(model.name)
        if steps:
            step = steps.pop(0)
            if isinstance(step, Exception):
                raise step
            return step
        return None

    client.meta.events.register("before-call.dynamodb.*", before)
    yield plan
    client.meta.events.unregister("before-call.dynamodb.*", before)


def test_idempotency_table_throttled_is_503_and_nothing_booked(api, doc, idempotency_faults):
    # GIVEN the idempotency table throttles
    idempotency_faults["PutItem"] = [throttled()] * 5
    # WHEN a keyed booking comes THEN 503 with Retry-After, and nothing is booked
    busy = api.try_book(doc, keyed("thr-1"))
    assert (busy.status_code, busy.data["error"]["code"]) == (503, "SERVICE_UNAVAILABLE")
    assert busy.headers["Retry-After"]
    assert api.appointments_of(doc) == []


def test_dynamodb_unreachable_with_an_idempotency_key_is_503(api, doc, idempotency_faults):
    # GIVEN the idempotency table cannot be reached
    idempotency_faults["PutItem"] = [EndpointConnectionError(endpoint_url="http://dynamodb")] * 5
    # WHEN a keyed booking comes THEN 503, as without a key
    busy = api.try_book(doc, keyed("unr-1"))
    assert (busy.status_code, busy.data["error"]["code"]) == (503, "SERVICE_UNAVAILABLE")


def test_saving_the_idempotency_result_failing_still_answers_201_and_the_retry_gets_the_same(
    api, wired, doc, idempotency_faults
):
    # GIVEN the idempotency record cannot be marked complete after the booking commits
    idempotency_faults["UpdateItem"] = [throttled()] * 5
    # WHEN the patient books, then retries with the same key (the record still says in progress)
    first = api.try_book(doc, keyed("save-1"))
    again = api.try_book(doc, keyed("save-1"))
    # THEN both answers are 201 with the one appointment
    assert first.status_code == again.status_code == 201, (first.data, again.data)
    assert again.data["id"] == first.data["id"]
    assert len(api.appointments_of(doc)) == 1


def test_a_telehealth_room_write_throttled_after_the_commit_is_still_201(api, wired, doc, faults):
    # GIVEN the room write after the commit is throttled
    faults.fail("PutItem", *[throttled()] * 5)
    # WHEN a telehealth visit is booked with a key, and retried
    first = api.try_book(doc, keyed("room-1"), type="telehealth")
    faults.clear()
    again = api.try_book(doc, keyed("room-1"), type="telehealth")
    # THEN both are 201 with the same appointment; the room waits for the sweep
    assert first.status_code == again.status_code == 201, (first.data, again.data)
    assert again.data["id"] == first.data["id"]
    assert len(api.appointments_of(doc)) == 1


def test_a_reschedule_whose_follow_up_fails_is_answered_as_done(api, wired, doc, faults):
    # GIVEN a booking with reminders, and the reminders' read after the reschedule's commit throttled
    made = api.try_book(doc, reminderPreferences={"email": True})
    # the first two Queries (the patient's limit items, the day's busy times) are before it
    faults.script("Query", None, None, *[throttled()] * 5)
    # WHEN the patient reschedules
    moved = api.call(
        "PUT", f"/api/appointments/{made.data['id']}/reschedule", patient(), {"date": "2026-12-03", "time": "11:00"}
    )
    faults.clear()
    # THEN it is 200 and applied
    assert moved.status_code == 200, moved.data
    assert api.call("GET", f"/api/appointments/{made.data['id']}", patient()).data["date"] == "2026-12-03"


def test_a_keyed_retry_finds_its_booking_while_the_doctor_index_still_lags_the_commit(api, wired, doc, monkeypatch):
    # GIVEN a keyed booking whose answer was lost and whose idempotency record is gone (a retry after it expired)
    first = api.try_book(doc, keyed("lagging"))
    assert first.status_code == 201
    client = wired.idempotency.botocore_clients()[0]
    for item in client.scan(TableName=wired.settings.idempotency_table)["Items"]:
        client.delete_item(TableName=wired.settings.idempotency_table, Key={"id": item["id"]})
    # AND the doctor's index has not caught up with the commit yet (a global secondary index is eventually
    # consistent: it shows nothing of that day's visits)
    monkeypatch.setattr(wired.adapters.store, "list_for_doctor", lambda *args, **kwargs: [])
    monkeypatch.setattr(wired.adapters.store, "iter_for_doctor", lambda *args, **kwargs: iter(()))
    # WHEN the client retries with the same key and body
    again = api.try_book(doc, keyed("lagging"))
    # THEN it gets its booking (the owners of the time are read from the lock items, strongly consistent), not a
    # 409 for its own visit
    assert (again.status_code, again.data.get("id")) == (201, first.data["id"]), again.data
    assert booked_count(wired, doc) == 1
