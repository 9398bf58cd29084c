"""The slot-updates WebSocket's frames: typed updates written by the API layer's models, byte for byte as before."""

from __future__ import annotations

from datetime import UTC, date, datetime

from chalicelib.api.schemas.realtime import live_message
from chalicelib.domain.realtime import ErrorUpdate, SlotsUpdate
from chalicelib.domain.schedule import Slot

START = datetime(2031, 3, 4, 15, 0, tzinfo=UTC)
SLOT = Slot(START, datetime(2031, 3, 4, 15, 30, tzinfo=UTC), "10:00", "10:30", True, "-05:00")


def test_a_days_slots_are_one_compact_frame_in_the_rest_answers_slot_shape():
    # GIVEN a doctor-day's typed update WHEN written for the socket THEN the frame is compact camelCase JSON
    frame = live_message(SlotsUpdate("d1", date(2031, 3, 4), 'W/"3-abc-0"', (SLOT,)))
    assert frame == (
        '{"type":"slots","doctorId":"d1","date":"2031-03-04","version":"W/\\"3-abc-0\\"","slots":'
        '[{"time":"10:00","endTime":"10:30","available":true,"startsAt":"2031-03-04T15:00:00Z","utcOffset":"-05:00"}]}'
    )


def test_an_error_frame_carries_details_only_when_there_are_some():
    # GIVEN errors with and without details WHEN written THEN empty details are left out
    assert live_message(ErrorUpdate("NOT_FOUND", "No such doctor.")) == (
        '{"type":"error","code":"NOT_FOUND","message":"No such doctor."}'
    )
    assert live_message(ErrorUpdate("VALIDATION_ERROR", "Bad.", {})) == (
        '{"type":"error","code":"VALIDATION_ERROR","message":"Bad."}'
    )
    assert live_message(ErrorUpdate("VALIDATION_ERROR", "Too many.", {"limit": 20})) == (
        '{"type":"error","code":"VALIDATION_ERROR","message":"Too many.","details":{"limit":20}}'
    )


def test_a_non_ascii_detail_is_escaped_as_before():
    # GIVEN a detail naming a field the client sent in another script WHEN written THEN it is \u-escaped
    frame = live_message(ErrorUpdate("VALIDATION_ERROR", "Bad.", {"fields": {"día": "is not a known field"}}))
    assert '"d\\u00eda"' in frame
