"""Response models build every response from the domain objects: the contract's keys, instants with a `Z`, the
domain enums' values, null where a value is missing and absent where the contract leaves a field out."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time
from typing import Any

import pytest
from pydantic import ValidationError

from chalicelib.api import schemas as s
from chalicelib.domain.appointments import Status
from chalicelib.domain.audit import AuditEntry
from chalicelib.domain.doctors import Doctor
from chalicelib.domain.reminders import Channel, Reminder, ReminderStatus, Skipped
from chalicelib.domain.schedule import Availability, Break, WallInterval
from tests.helpers import make_appointment

AT = datetime(2027, 3, 1, 14, 30, tzinfo=UTC)
APPOINTMENT_KEYS = {
    "id",
    "doctorId",
    "patientId",
    "doctorName",
    "patientName",
    "specialty",
    "date",
    "time",
    "timezone",
    "duration",
    "startsAt",
    "endsAt",
    "type",
    "status",
    "location",
    "telehealthUrl",
    "roomId",
    "reason",
    "notes",
    "reminderSent",
    "reminderPreferences",
    "canReschedule",
    "createdAt",
    "updatedAt",
}


def reminder(**overrides: Any) -> Reminder:
    base = Reminder(
        id="r1",
        appointment_id="a1",
        patient_id="p1",
        channel=Channel.SMS,
        timing="2h",
        scheduled_time=AT,
        status=ReminderStatus.PENDING,
        message="Your visit with Dr. Ada Smith",
        created_at=AT,
        updated_at=AT,
        for_start=AT,
    )
    return replace(base, **overrides)


def test_an_appointment_has_the_contracts_fields_with_nulls_kept_and_extras_left_out():
    # GIVEN an in-person appointment without notes, link or room
    # WHEN it is shaped for a response
    shaped = s.AppointmentOut.from_domain(make_appointment(), can_reschedule=True).to_json()
    # THEN every contract field is there (null ones included), in camelCase, and nothing the route did not add
    assert set(shaped) == APPOINTMENT_KEYS
    assert (shaped["notes"], shaped["telehealthUrl"], shaped["roomId"]) == (None, None, None)
    assert shaped["startsAt"] == "2026-12-02T15:00:00Z" and shaped["endsAt"] == "2026-12-02T15:30:00Z"
    assert (shaped["type"], shaped["status"], shaped["canReschedule"]) == ("in-person", "scheduled", True)


def test_skipped_reminders_and_room_status_appear_only_when_the_route_gives_them():
    # GIVEN a booking that skipped one reminder and has a room being set up
    skipped = [Skipped(Channel.SMS, "15m", "too late")]
    # WHEN it is shaped with them, and again with no skipped reminder
    shaped = s.AppointmentOut.from_domain(
        make_appointment(), can_reschedule=False, skipped_reminders=skipped, telehealth_room_status="pending"
    ).to_json()
    none_skipped = s.AppointmentOut.from_domain(make_appointment(), can_reschedule=False, skipped_reminders=[])
    # THEN the skipped reminder names its channel as `type`; an empty list is left out as before
    assert shaped["skippedReminders"] == [{"type": "sms", "timing": "15m", "reason": "too late"}]
    assert shaped["telehealthRoomStatus"] == "pending"
    assert "skippedReminders" not in none_skipped.to_json()


def test_a_reminder_names_its_channel_type_and_keeps_null_fields():
    shaped = s.ReminderOut.from_domain(reminder(status=ReminderStatus.SENT, sent_at=AT, attempts=1)).to_json()
    assert shaped["type"] == "sms" and "channel" not in shaped
    assert (shaped["status"], shaped["sentAt"], shaped["scheduledTime"]) == (
        "sent",
        "2027-03-01T14:30:00Z",
        "2027-03-01T14:30:00Z",
    )
    assert shaped["recipientEmail"] is None and shaped["lastError"] is None and shaped["outcomeUnknown"] is False
    assert "patientId" not in shaped and "forStart" not in shaped


def test_an_audit_entry_shows_its_version_as_sequence():
    entry = AuditEntry("e1", "a1", AT, "admin-1", "admin", "cancelled", "scheduled", "cancelled", {"x": 1}, seq=3)
    shaped = s.AuditEntryOut.from_domain(entry).to_json()
    assert (shaped["sequence"], shaped["statusBefore"], shaped["at"]) == (3, "scheduled", "2027-03-01T14:30:00Z")


def test_a_doctors_availability_leaves_out_an_unset_break_day_and_horizon_and_sorts_holidays():
    # GIVEN a doctor whose break applies daily and whose holidays are a set
    hours = Availability(
        working_hours={"monday": (WallInterval(time(9), time(17)),)},
        breaks=(Break(time(12), time(13)), Break(time(15), time(15, 30), "monday")),
        holidays=frozenset({date(2027, 12, 25), date(2027, 1, 1)}),
    )
    doctor = Doctor("d1", "Dr. Ada Smith", "Cardiology", "Boston", "America/New_York", False, AT, None, hours)
    # WHEN it is shaped
    shaped = s.DoctorOut.from_domain(doctor).to_json()
    # THEN the contract's availability shape comes out, and the doctor's feed token hash does not
    assert shaped["availability"] == {
        "workingHours": {"monday": [{"start": "09:00", "end": "17:00"}]},
        "breaks": [{"start": "12:00", "end": "13:00"}, {"start": "15:00", "end": "15:30", "day": "monday"}],
        "holidays": ["2027-01-01", "2027-12-25"],
        "maxPatientsPerDay": 20,
        "appointmentDuration": 30,
    }
    assert shaped["telehealthPlatform"] is None and shaped["createdAt"] == "2027-03-01T14:30:00Z"
    assert "calendarTokenHash" not in shaped


def test_a_replayed_answer_reads_back_to_the_same_json():
    # GIVEN the JSON an idempotent booking stored
    first = s.AppointmentOut.from_domain(make_appointment(notes="x"), can_reschedule=True).to_json()
    # WHEN a retry replays it through the model
    # THEN it is the same answer
    assert s.AppointmentOut.model_validate(first).to_json() == first


@pytest.mark.parametrize(
    "broken",
    [
        {"starts_at": datetime(2026, 12, 2, 15, 0)},  # naive: which hour would it print?
        {"status": "lost"},
        {"duration": "thirty"},
    ],
)
def test_a_domain_object_that_does_not_fit_the_schema_is_refused(broken):
    # GIVEN an appointment with a value its documented schema does not allow
    # WHEN it is shaped THEN the model refuses it instead of sending it
    with pytest.raises(ValidationError):
        s.AppointmentOut.from_domain(make_appointment(**broken), can_reschedule=True)


def test_a_status_outside_the_domain_enum_is_refused_on_the_audit_trail_too():
    entry = AuditEntry("e1", "a1", AT, "admin-1", "admin", "x", None, "archived")
    with pytest.raises(ValidationError):
        s.AuditEntryOut.from_domain(entry)
    assert s.AuditEntryOut.from_domain(replace(entry, status_after=Status.CANCELLED.value)).to_json()[
        "statusAfter"
    ] == ("cancelled")


@pytest.mark.parametrize(
    "env",
    [
        {},
        {"DEV_SIGN_IN": '[{"label": "Pat Example", "token": "a.b."}]'},
        {"COGNITO_DOMAIN": "clinic.auth.us-east-1.amazoncognito.com", "COGNITO_CLIENT_ID": "abc123"},
    ],
)
def test_the_web_apps_config_has_a_model_that_gives_back_the_same_json(env):
    from chalicelib.api.webapp import web_config

    # GIVEN the page's config in each sign-in mode WHEN it goes through its model THEN nothing is added or lost
    config = web_config(env)
    assert s.WebConfigOut.model_validate(config).to_json() == config
    # AND the deployed config.json, which also names the WebSocket, fits the same model
    deployed = {**config, "websocketUrl": "wss://ws.example/api"}
    assert s.WebConfigOut.model_validate(deployed).to_json() == deployed


def test_a_config_in_a_sign_in_mode_the_page_does_not_know_is_refused():
    with pytest.raises(ValidationError):
        s.WebConfigOut.model_validate({"apiBase": "", "changeWindowMinutes": 120, "signIn": {"mode": "magic"}})
