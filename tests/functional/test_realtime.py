"""Real-time slot updates against moto: tickets, WebSocket connect/subscribe/disconnect, and a stream event that
fans out to exactly the subscribers of the changed doctor-day; gone connections are cleaned up."""

from __future__ import annotations

import json
from datetime import timedelta

import boto3
from chalice.local import LambdaContext
from moto.apigatewaymanagementapi.models import apigatewaymanagementapi_backends
from moto.core.models import DEFAULT_ACCOUNT_ID

from tests.faults import HttpAnswer
from tests.helpers import patient

DAY = "2026-12-02"
CONTEXT = LambdaContext("websocket-handler", 256)


def received(connection_id: str) -> list[dict]:
    """Messages posted to a connection (moto keeps them concatenated)."""
    data = apigatewaymanagementapi_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].connections[connection_id].data.decode()
    decoder, out, at = json.JSONDecoder(), [], 0
    while at < len(data):
        message, at = decoder.raw_decode(data, at)
        out.append(message)
    return out


def ticket(api, who=None) -> str:
    issued = api.call("POST", "/api/realtime/ticket", who or patient())
    assert issued.status_code == 201, issued.data
    return issued.data["ticket"]


def test_a_ticket_names_the_websocket_url_from_the_settings(api, wired, monkeypatch):
    # GIVEN the WebSocket URL configured in the settings, and a different one in the process environment
    object.__setattr__(wired.settings, "websocket_url", "wss://ws.clinic.example/api")
    monkeypatch.setenv("WEBSOCKET_URL", "wss://elsewhere.example/api")
    # WHEN a patient asks for a ticket
    issued = api.call("POST", "/api/realtime/ticket", patient())
    # THEN the URL is the configured one, with the ticket
    assert issued.data["url"] == f"wss://ws.clinic.example/api?ticket={issued.data['ticket']}"


def test_without_a_websocket_url_a_ticket_names_none(api, wired):
    # GIVEN no WebSocket URL in the settings WHEN a ticket is issued THEN it names no URL
    assert wired.settings.websocket_url is None
    assert api.call("POST", "/api/realtime/ticket", patient()).data["url"] is None


def ws_event(connection_id: str, route: str, event_type: str, **extra) -> dict:
    """An API Gateway WebSocket event as the handlers receive it."""
    context = {
        "connectionId": connection_id,
        "domainName": "ws.example",
        "stage": "api",
        "apiId": "ws123",
        "routeKey": route,
        "eventType": event_type,
    }
    return {"requestContext": context, **extra}


def connect(connection_id: str, token: str | None):
    from app import slots_connect

    query = {"ticket": token} if token else None
    return slots_connect(ws_event(connection_id, "$connect", "CONNECT", queryStringParameters=query), CONTEXT)


def send(connection_id: str, body: dict | str):
    from app import slots_message

    text = body if isinstance(body, str) else json.dumps(body)
    return slots_message(ws_event(connection_id, "$default", "MESSAGE", body=text), CONTEXT)


def disconnect(connection_id: str):
    from app import slots_disconnect

    return slots_disconnect(ws_event(connection_id, "$disconnect", "DISCONNECT"), CONTEXT)


def stream_record_of(wired, appointment_id: str, old: dict | None = None) -> dict:
    item = boto3.client("dynamodb", region_name="us-east-1").get_item(
        TableName=wired.settings.appointments_table, Key={"id": {"S": appointment_id}}
    )["Item"]
    change = {
        "NewImage": item,
        "Keys": {"id": {"S": appointment_id}},
        "SequenceNumber": "1",
        "SizeBytes": 1,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
        "ApproximateCreationDateTime": 1.7e9,
    }
    if old:
        change["OldImage"] = old
    return {
        "eventID": "1",
        "eventName": "MODIFY" if old else "INSERT",
        "awsRegion": "us-east-1",
        "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/x/stream/1",
        "dynamodb": change,
    }


def test_connect_needs_a_valid_ticket(api, clock):
    assert connect("c0", None)["statusCode"] == 401
    assert connect("c0", "forged.ticket")["statusCode"] == 401
    good = ticket(api)
    clock.current += timedelta(minutes=2)
    assert connect("c0", good)["statusCode"] == 401  # expired
    assert api.call("POST", "/api/realtime/ticket", {}).status_code == 401
    assert connect("c1", ticket(api)) == {"statusCode": 200}


def test_subscribe_gets_the_day_at_once_and_bad_messages_get_an_error(api):
    doc = api.doctor_with_hours()
    connect("c1", ticket(api))
    send("c1", {"action": "subscribe", "doctorId": doc["id"], "date": DAY})
    (snapshot,) = received("c1")
    assert (snapshot["type"], snapshot["doctorId"], snapshot["date"]) == ("slots", doc["id"], DAY)
    assert snapshot["slots"][0] == {
        "time": "09:00",
        "endTime": "09:30",
        "available": True,
        "startsAt": "2026-12-02T14:00:00Z",
        "utcOffset": "-05:00",
    }
    send("c1", "not json")
    send("c1", {"action": "subscribe", "doctorId": "nobody", "date": DAY})
    errors = [m for m in received("c1") if m["type"] == "error"]
    assert [e["code"] for e in errors] == ["VALIDATION_ERROR", "NOT_FOUND"]


def test_subscriptions_per_connection_are_bounded(api):
    doc = api.doctor_with_hours()
    connect("c1", ticket(api))
    for n in range(20):
        send("c1", {"action": "subscribe", "doctorId": doc["id"], "date": f"2026-12-{n + 1:02d}"})
    send("c1", {"action": "subscribe", "doctorId": doc["id"], "date": "2026-12-25"})
    assert received("c1")[-1]["type"] == "error" and received("c1")[-1]["details"] == {"limit": 20}
    send("c1", {"action": "unsubscribe", "doctorId": doc["id"], "date": "2026-12-01"})
    send("c1", {"action": "subscribe", "doctorId": doc["id"], "date": "2026-12-25"})
    assert received("c1")[-1]["type"] == "slots"


def test_a_booking_fans_out_to_exactly_the_subscribers_of_that_doctor_day(api, wired, lambdas):
    doc = api.doctor_with_hours()
    for connection_id, day in (("a", DAY), ("b", DAY), ("c", "2026-12-03")):
        connect(connection_id, ticket(api))
        send(connection_id, {"action": "subscribe", "doctorId": doc["id"], "date": day})
    booked = api.book(doc)
    report = lambdas.lambda_.invoke("slot_publisher", {"Records": [stream_record_of(wired, booked["id"])]}).payload
    assert report == {
        "batchItemFailures": [],
        "doctorDays": 1,
        "sent": 2,
        "gone": 0,
        "failedPosts": 0,
        "skipped": 0,
    }
    for connection_id in ("a", "b"):
        update = received(connection_id)[-1]
        assert update["type"] == "slots" and update["version"] != received(connection_id)[0]["version"]
        assert {s["time"]: s["available"] for s in update["slots"]}["10:00"] is False
    assert len(received("c")) == 1  # only its snapshot


def test_gone_connections_are_cleaned_up_and_disconnect_forgets_subscriptions(api, wired, lambdas):
    doc = api.doctor_with_hours()
    for connection_id in ("a", "b"):
        connect(connection_id, ticket(api))
        send(connection_id, {"action": "subscribe", "doctorId": doc["id"], "date": DAY})
    from datetime import date

    client = wired.realtime.sender.client

    def gone_for_b(params, **_):
        if params.get("url_path", "").endswith("/b"):
            return HttpAnswer(410), {
                "Error": {"Code": "GoneException", "Message": "gone"},
                "ResponseMetadata": {"HTTPStatusCode": 410},
            }
        return None

    client.meta.events.register("before-call.apigatewaymanagementapi.PostToConnection", gone_for_b)
    booked = api.book(doc)
    report = lambdas.lambda_.invoke("slot_publisher", {"Records": [stream_record_of(wired, booked["id"])]}).payload
    assert (report["batchItemFailures"], report["sent"], report["gone"]) == ([], 1, 1)
    from chalicelib.adapters.dynamodb.subscriptions import DynamoSubscriptionStore

    store = DynamoSubscriptionStore(wired.store.tables)
    assert store.subscribers(doc["id"], date(2026, 12, 2)) == ["a"]
    disconnect("a")
    assert store.subscribers(doc["id"], date(2026, 12, 2)) == []


def test_a_ticket_opens_one_connection_only(api):
    # GIVEN a fresh ticket WHEN it connects once THEN it is accepted; a second connection with it is refused
    good = ticket(api)
    assert connect("c-once", good) == {"statusCode": 200}
    assert connect("c-again", good)["statusCode"] == 401
    assert connect("c-new", ticket(api)) == {"statusCode": 200}


def test_poison_stream_records_are_skipped_one_by_one_and_the_good_one_is_announced(api, wired, lambdas):
    # GIVEN a subscriber of a doctor-day, and a stream batch where a booking of that day sits among records
    # that cannot be read: a number that is not one, a string, a null, a record without a change
    doc = api.doctor_with_hours()
    connect("a", ticket(api))
    send("a", {"action": "subscribe", "doctorId": doc["id"], "date": DAY})
    booked = stream_record_of(wired, api.book(doc)["id"])
    bad_number = json.loads(json.dumps(booked))
    bad_number["dynamodb"]["NewImage"]["duration"] = {"N": "abc"}
    bad_number["dynamodb"]["SequenceNumber"] = "2"
    records = [bad_number, "abc", None, 7, {"eventID": "5"}, booked]
    # WHEN the publisher gets the batch
    report = lambdas.lambda_.invoke("slot_publisher", {"Records": records}).payload
    # THEN each bad record is skipped alone (nothing for the stream to retry), and the booking is announced
    assert (report["batchItemFailures"], report["skipped"], report["doctorDays"], report["sent"]) == ([], 5, 1, 1)
    assert received("a")[-1]["type"] == "slots" and len(received("a")) == 2
