"""Connection tickets, client messages and which doctor-days a stream record announces (pure)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from chalicelib.domain import errors
from chalicelib.domain.realtime import (
    MalformedRecord,
    SlotChange,
    Ticket,
    UnreadableChange,
    doctor_days_of,
    parse_client_message,
    sign_ticket,
    verify_ticket,
)

KEY = b"k" * 32
NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def test_a_signed_ticket_verifies_until_it_expires():
    token = sign_ticket(Ticket("p1", "patient", NOW + timedelta(seconds=60)), KEY)
    assert verify_ticket(token, KEY, NOW).subject == "p1"
    with pytest.raises(errors.Unauthenticated, match="expired"):
        verify_ticket(token, KEY, NOW + timedelta(seconds=60))


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: None,
        lambda t: "",
        lambda t: t + "x",
        lambda t: t.split(".")[0] + ".AAAA",
        lambda t: "eyJzdWIiOiJhZG1pbiIsInJvbGUiOiJhZG1pbiIsImV4cCI6OTk5OTk5OTk5OX0." + t.split(".")[1],
        lambda t: t.replace(".", ""),
    ],
)
def test_missing_or_forged_tickets_are_refused(mangle):
    token = sign_ticket(Ticket("p1", "patient", NOW + timedelta(seconds=60)), KEY)
    with pytest.raises(errors.Unauthenticated):
        verify_ticket(mangle(token), KEY, NOW)


def test_a_ticket_signed_with_another_key_is_refused():
    token = sign_ticket(Ticket("p1", "patient", NOW + timedelta(seconds=60)), b"other-key")
    with pytest.raises(errors.Unauthenticated):
        verify_ticket(token, KEY, NOW)


def test_client_messages():
    wanted = parse_client_message('{"action": "subscribe", "doctorId": "d1", "date": "2026-12-02"}')
    assert (wanted.action, wanted.doctor_id, wanted.day) == ("subscribe", "d1", date(2026, 12, 2))
    for bad, field in [
        ("nope", "body"),
        ("[]", "body"),
        ('{"action": "watch", "doctorId": "d1", "date": "2026-12-02"}', "action"),
        ('{"action": "subscribe", "doctorId": "../x", "date": "2026-12-02"}', "doctorId"),
        ('{"action": "subscribe", "doctorId": "d1", "date": "soon"}', "date"),
        ('{"action": "subscribe", "doctorId": "d1", "date": "2026-12-02", "all": true}', "all"),
    ]:
        with pytest.raises(errors.InvalidInput) as refused:
            parse_client_message(bad)
        assert field in (refused.value.details or {})["fields"]


def image(doctor="d1", day="2026-12-02", at="10:00", status="scheduled"):
    return {"doctor_id": doctor, "date": day, "time": at, "duration": 30, "status": status}


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (None, image(), {("d1", "2026-12-02")}),  # booked
        (image(), image(status="cancelled"), {("d1", "2026-12-02")}),  # cancelled
        (image(), image(day="2026-12-03", status="rescheduled"), {("d1", "2026-12-02"), ("d1", "2026-12-03")}),
        (image(), image(at="11:00", status="rescheduled"), {("d1", "2026-12-02")}),
        (image(), image(status="confirmed"), set()),  # no slot changes
        (image(status="confirmed"), image(status="completed"), set()),
    ],
)
def test_which_doctor_days_a_change_announces(old, new, expected):
    assert doctor_days_of(SlotChange("1", old, new)) == expected


def test_a_change_naming_a_bad_date_is_malformed():
    with pytest.raises(MalformedRecord):
        doctor_days_of(SlotChange("1", None, image(day="2026-13-45")))


@pytest.mark.parametrize("day", ["20261202", "2026-W49-3", "0010-12-29", "9999-12-31", "2026-12-02T00:00", 20261202])
def test_websocket_dates_are_as_strict_as_rest(day):
    # GIVEN a subscribe message whose date REST would refuse WHEN parsed THEN it is refused naming the date
    with pytest.raises(errors.InvalidInput) as refused:
        parse_client_message(json.dumps({"action": "subscribe", "doctorId": "d1", "date": day}))
    assert set((refused.value.details or {})["fields"]) == {"date"}


def test_tickets_carry_their_id():
    token = sign_ticket(Ticket("p1", "patient", NOW + timedelta(seconds=60), "t-1"), KEY)
    assert verify_ticket(token, KEY, NOW).id == "t-1"


def test_the_edge_decodes_typed_stream_images_into_plain_values():
    from chalicelib.api.realtime import slot_changes

    typed = {"doctor_id": {"S": "d1"}, "date": {"S": "2026-12-02"}, "duration": {"N": "30"}}
    # GIVEN a stream batch: a booking, a record without a change, and one with untyped images
    records: list[dict[str, Any]] = [
        {"eventID": "1", "dynamodb": {"SequenceNumber": "10", "NewImage": typed}},
        {"eventID": "2", "dynamodb": None},
        {"eventID": "3", "dynamodb": {"SequenceNumber": "30", "NewImage": {"doctor_id": "d1"}}},
    ]
    # WHEN the edge reads it THEN the domain gets plain values, and the two others are marked unreadable
    booked, empty, untyped = slot_changes(records)
    assert booked == SlotChange("10", None, {"doctor_id": "d1", "date": "2026-12-02", "duration": 30})
    assert doctor_days_of(booked) == {("d1", "2026-12-02")}
    assert isinstance(empty, UnreadableChange) and isinstance(untyped, UnreadableChange)
    assert untyped.sequence == "30"
