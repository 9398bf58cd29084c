"""The appointments stream decoded by the adapter: images read through the item mapper, by field name."""

from __future__ import annotations

from typing import Any

from chalicelib.adapters.dynamodb.items import appointment_fields
from chalicelib.adapters.dynamodb.streams import slot_change
from chalicelib.domain.realtime import SlotChange, doctor_days_of


def record(old: dict[str, Any] | None, new: dict[str, Any] | None) -> dict[str, Any]:
    change: dict[str, Any] = {"SequenceNumber": "7"}
    if old is not None:
        change["OldImage"] = old
    if new is not None:
        change["NewImage"] = new
    return {"eventID": "1", "eventName": "MODIFY", "dynamodb": change}


def test_an_image_is_read_as_the_appointments_fields_and_nothing_else():
    # GIVEN a cancellation whose images also carry an attribute no appointment field pairs with
    before = {"doctor_id": {"S": "d1"}, "date": {"S": "2031-03-04"}, "status": {"S": "scheduled"}, "ttl": {"N": "9"}}
    after = {**before, "status": {"S": "cancelled"}}
    # WHEN the adapter decodes the record
    change = slot_change(record(before, after))
    # THEN the domain gets the fields by name, as stored, and the stray attribute is left out
    assert change == SlotChange(
        "7",
        {"doctor_id": "d1", "date": "2031-03-04", "status": "scheduled"},
        {"doctor_id": "d1", "date": "2031-03-04", "status": "cancelled"},
    )
    assert isinstance(change, SlotChange) and doctor_days_of(change) == {("d1", "2031-03-04")}


def test_the_mapper_reads_only_attributes_that_pair_with_a_field():
    assert appointment_fields({"id": "a1", "version": 3, "pk": "DOCTOR#d1"}) == {"id": "a1", "version": 3}
