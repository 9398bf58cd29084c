"""The OpenAPI document types instants and dates, so generated clients get date-time and date values instead of
plain strings."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture
def spec(api):
    got = api.call("GET", "/openapi.json", {})
    assert got.status_code == 200
    return got.data


def response_schema(spec: dict[str, Any], path: str, method: str, status: str) -> dict[str, Any]:
    schema = spec["paths"][path][method]["responses"][status]["content"]["application/json"]["schema"]
    return resolved(spec, schema)


def resolved(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def formats(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, str | None]:
    properties = resolved(spec, schema)["properties"]
    return {name: resolved(spec, prop).get("format") for name, prop in properties.items()}


def test_an_appointments_instants_are_date_times_and_its_date_a_date(spec):
    # GIVEN the appointment a booking answers WHEN its schema is read THEN its instants and date are typed
    appointment = formats(spec, response_schema(spec, "/api/appointments", "post", "201"))
    assert appointment["startsAt"] == appointment["endsAt"] == appointment["createdAt"] == "date-time"
    assert appointment["updatedAt"] == "date-time"
    assert appointment["date"] == "date"


def test_a_days_slots_carry_typed_instants_and_the_day_a_date(spec):
    day = response_schema(spec, "/api/appointments/availability/{doctorId}/{date}", "get", "200")
    assert formats(spec, day)["date"] == "date"
    slot = resolved(spec, day["properties"]["slots"]["items"])
    assert formats(spec, slot)["startsAt"] == "date-time"


def test_a_reminders_scheduled_time_is_a_date_time(spec):
    reminder = response_schema(spec, "/api/reminders/{id}", "put", "200")
    assert formats(spec, reminder)["scheduledTime"] == "date-time"
