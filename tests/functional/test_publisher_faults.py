"""The slot publisher and the WebSocket under faults: malformed stream records are skipped with a log line, a
day that cannot be announced fails only its own records (partial batch response), a post that fails affects
only its connection; mistakes on the socket are answered, never by closing it."""

from __future__ import annotations

import logging

import pytest

from tests.faults import FaultInjector, HttpAnswer, throttled
from tests.functional.test_realtime import (
    connect,
    received,
    send,
    stream_record_of,
    ticket,
)
from tests.helpers import patient

DAY = "2026-12-02"


def with_sequence(record: dict, sequence: str) -> dict:
    record["dynamodb"]["SequenceNumber"] = sequence
    return record


def publish(lambdas, records):
    return lambdas.lambda_.invoke("slot_publisher", {"Records": records}).payload


def test_malformed_records_are_skipped_and_the_rest_announced(api, wired, lambdas, caplog):
    # GIVEN a follower of a day, and a batch with a good record among malformed ones
    doc = api.doctor_with_hours()
    connect("a", ticket(api))
    send("a", {"action": "subscribe", "doctorId": doc["id"], "date": DAY})
    good = with_sequence(stream_record_of(wired, api.book(doc)["id"]), "40")
    untyped = with_sequence(stream_record_of(wired, good["dynamodb"]["Keys"]["id"]["S"]), "20")
    untyped["dynamodb"]["NewImage"] = {"doctor_id": doc["id"], "date": DAY}
    bad_date = with_sequence(stream_record_of(wired, good["dynamodb"]["Keys"]["id"]["S"]), "30")
    bad_date["dynamodb"]["NewImage"] = {**bad_date["dynamodb"]["NewImage"], "date": {"S": "2026-13-45"}}
    caplog.set_level(logging.WARNING)
    # WHEN the batch is published
    report = publish(lambdas, [{"eventID": "x", "dynamodb": None}, untyped, bad_date, good])
    # THEN the malformed ones are skipped with a log line, the good one announced, and nothing retried
    assert (report["skipped"], report["sent"], report["batchItemFailures"]) == (3, 1, [])
    assert caplog.text.count("skipped") == 3
    assert received("a")[-1]["type"] == "slots"


def test_a_day_that_cannot_be_announced_fails_only_its_records(api, wired, lambdas):
    # GIVEN followers of two days, and the first day's availability read throttled
    doc = api.doctor_with_hours()
    for connection_id, day in (("a", DAY), ("b", "2026-12-03")):
        connect(connection_id, ticket(api))
        send(connection_id, {"action": "subscribe", "doctorId": doc["id"], "date": day})
    first = with_sequence(stream_record_of(wired, api.book(doc)["id"]), "100")
    second = with_sequence(stream_record_of(wired, api.book(doc, patient("p2"), date="2026-12-03")["id"]), "200")
    faults = FaultInjector(wired.store)
    faults.fail("GetItem", throttled())
    try:
        # WHEN the batch is published
        report = publish(lambdas, [first, second])
    finally:
        faults.close()
    # THEN only the first record is reported failed; the second day was announced
    assert report["batchItemFailures"] == [{"itemIdentifier": "100"}]
    assert report["sent"] == 1 and len(received("b")) == 2


def test_limit_exceeded_on_one_connection_does_not_fail_the_batch(api, wired, lambdas):
    # GIVEN two followers, API Gateway refusing posts to one of them (LimitExceeded)
    doc = api.doctor_with_hours()
    for connection_id in ("a", "b"):
        connect(connection_id, ticket(api))
        send(connection_id, {"action": "subscribe", "doctorId": doc["id"], "date": DAY})

    def limited_for_b(params, **_):
        if params.get("url_path", "").endswith("/b"):
            return HttpAnswer(429), {
                "Error": {"Code": "LimitExceededException", "Message": "limit"},
                "ResponseMetadata": {"HTTPStatusCode": 429},
            }
        return None

    events = wired.realtime.sender.client.meta.events
    events.register("before-call.apigatewaymanagementapi.PostToConnection", limited_for_b)
    record = stream_record_of(wired, api.book(doc)["id"])
    # WHEN the change is published
    report = publish(lambdas, [record])
    events.unregister("before-call.apigatewaymanagementapi.PostToConnection", limited_for_b)
    # THEN the other follower got it, the failed post is counted, and the batch is not retried
    assert (report["sent"], report["failedPosts"], report["batchItemFailures"]) == (1, 1, [])


@pytest.mark.parametrize(
    "message",
    [
        {"action": "unsubscribe", "doctorId": "d-never", "date": DAY},
        "[" * 100_000 + "]" * 100_000,
    ],
    ids=["unsubscribe-not-followed", "deeply-nested"],
)
def test_socket_mistakes_are_answered_with_an_error_not_a_close(api, message):
    # GIVEN a connection
    doc = api.doctor_with_hours()
    connect("c1", ticket(api))
    # WHEN it sends the mistake THEN the handler answers an error message on the socket
    send("c1", message)
    answer = received("c1")[-1]
    assert answer["type"] == "error" and answer["code"] in ("NOT_FOUND", "VALIDATION_ERROR")
    # AND the connection still works
    send("c1", {"action": "subscribe", "doctorId": doc["id"], "date": DAY})
    assert received("c1")[-1]["type"] == "slots"
