"""One contract suite for the reminder, room and patient stores, run against the in-memory fakes, moto and
DynamoDB Local (as Chalice's todo sample runs one test class against both of its databases): the fakes that unit
tests rely on keep exactly the adapters' conditional semantics.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from moto import mock_aws

from chalicelib.adapters.dynamodb import models
from chalicelib.adapters.dynamodb.patients import DynamoPatientRepository
from chalicelib.adapters.dynamodb.reminders import DynamoReminderStore
from chalicelib.adapters.dynamodb.rooms import DynamoRoomRepository
from chalicelib.config import Settings
from chalicelib.domain.errors import InvalidState
from chalicelib.domain.reminders import Channel, Reminder, ReminderStatus, reminder_id
from chalicelib.domain.telehealth import Room, RoomStatus
from chalicelib.services.ports import PatientProfile
from tests.fakes.memory import InMemoryPatientRepository, InMemoryReminderStore, InMemoryRoomRepository

NOW = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)
_prefixes = itertools.count(1)


@dataclass
class Stores:
    reminders: Any
    rooms: Any
    patients: Any


def dynamo_stores(settings: Settings) -> Stores:
    tables = models.create_tables(settings)
    return Stores(DynamoReminderStore(tables), DynamoRoomRepository(tables), DynamoPatientRepository(tables))


def stores_of(kind: str, request) -> Iterator[Stores]:
    prefix = f"contract{next(_prefixes)}"
    if kind == "memory":
        yield Stores(InMemoryReminderStore(), InMemoryRoomRepository(), InMemoryPatientRepository())
    elif kind == "moto":
        with mock_aws():
            yield dynamo_stores(Settings.from_env({"TABLE_PREFIX": prefix, "AWS_REGION": "us-east-1"}))
    else:
        local = request.getfixturevalue("dynamodb_local")
        env = {"TABLE_PREFIX": prefix, "AWS_REGION": "us-east-1", "DYNAMODB_ENDPOINT": local.endpoint}
        yield dynamo_stores(Settings.from_env(env))


@pytest.fixture(params=["memory", "moto", "dynamodb-local"])
def stores(request) -> Iterator[Stores]:
    yield from stores_of(request.param, request)


@pytest.fixture(params=["memory", "dynamodb-local"])
def racing_stores(request) -> Iterator[Stores]:
    """Stores that serialize concurrent conditional writes as DynamoDB does. moto does not: under racing threads
    two conditional updates can both pass (seen once in a fresh clone), so races are checked on DynamoDB Local."""
    yield from stores_of(request.param, request)


def reminder(appointment: str = "appt-1", channel: Channel = Channel.EMAIL, minutes: int = 0, **changes) -> Reminder:
    return replace(
        Reminder(
            id=reminder_id(appointment, channel, "24h"),
            appointment_id=appointment,
            patient_id="p1",
            channel=channel,
            timing="24h",
            scheduled_time=NOW + timedelta(minutes=minutes),
            status=ReminderStatus.PENDING,
            message="See you tomorrow at 10:00.",
            created_at=NOW - timedelta(days=2),
            updated_at=NOW - timedelta(days=2),
            for_start=NOW + timedelta(hours=24),
            recipient_email="p1@example.org",
        ),
        **changes,
    )


# --- reminders ---------------------------------------------------------------------------------------------------
def test_a_reminder_is_added_once_and_read_back_whole(stores):
    # GIVEN a new reminder WHEN it is added THEN it reads back equal, by id and by appointment
    made = reminder()
    stores.reminders.add([made])
    assert stores.reminders.get(made.id) == made
    assert stores.reminders.for_appointment("appt-1") == [made]
    # WHEN the same channel and timing is added again THEN it is refused and the first one stays
    with pytest.raises(InvalidState):
        stores.reminders.add([replace(made, message="another")])
    assert stores.reminders.get(made.id) == made
    assert stores.reminders.get("appt-2_email-24h") is None


def test_replace_writes_only_over_the_expected_status(stores):
    made = reminder()
    stores.reminders.add([made])
    edited = replace(made, custom_message="Bring your glasses.")
    # WHEN replaced expecting another status THEN nothing changes; expecting its own THEN it is written
    assert stores.reminders.replace(edited, ReminderStatus.SENT) is False
    assert stores.reminders.get(made.id) == made
    assert stores.reminders.replace(edited, ReminderStatus.PENDING) is True
    assert stores.reminders.get(made.id) == edited


def test_a_reminder_is_claimed_once_and_only_when_due(stores):
    due, later = reminder(), reminder(channel=Channel.SMS, minutes=5)
    stores.reminders.add([due, later])
    # WHEN the one not due yet is claimed THEN nothing happens (a minute's slack, not five)
    assert stores.reminders.claim(later.id, NOW, due_slack_seconds=60) is None
    # WHEN the due one is claimed twice THEN the first claim gets it as sending, one attempt more; the second none
    claimed = stores.reminders.claim(due.id, NOW)
    assert claimed is not None and (claimed.status, claimed.attempts) == (ReminderStatus.SENDING, 1)
    assert stores.reminders.claim(due.id, NOW) is None
    assert stores.reminders.get(due.id).status is ReminderStatus.SENDING


def test_racing_claims_deliver_at_most_once(racing_stores):
    # GIVEN one due reminder WHEN eight workers claim it at once THEN exactly one gets it
    made = reminder()
    racing_stores.reminders.add([made])
    with ThreadPoolExecutor(max_workers=8) as pool:
        claims = list(pool.map(lambda _: racing_stores.reminders.claim(made.id, NOW), range(8)))
    assert sum(c is not None for c in claims) == 1


def test_a_follow_up_of_an_older_version_never_overwrites_a_newer_one(stores):
    made = reminder(for_version=1)
    stores.reminders.add([made])
    # WHEN version 3's plan is written, then version 2's arrives late THEN version 3's stays
    newest = replace(made, for_version=3, scheduled_time=NOW + timedelta(hours=3))
    assert stores.reminders.follow(newest, 3) is True
    assert stores.reminders.follow(replace(made, for_version=2, scheduled_time=NOW + timedelta(hours=2)), 2) is False
    assert stores.reminders.get(made.id).scheduled_time == NOW + timedelta(hours=3)
    # AND a reminder no longer pending (sent) does not follow moves at all
    sent = replace(made, id=reminder_id("appt-1", Channel.SMS, "24h"), channel=Channel.SMS, status=ReminderStatus.SENT)
    stores.reminders.add([sent])
    assert stores.reminders.follow(replace(sent, for_version=9), 9) is False


def test_by_status_lists_a_window_oldest_first(stores):
    first, second, outside = reminder("a1", minutes=10), reminder("a2", minutes=5), reminder("a3", minutes=120)
    stores.reminders.add([first, second, outside, reminder("a4", status=ReminderStatus.SENT)])
    found = stores.reminders.by_status(ReminderStatus.PENDING, NOW, NOW + timedelta(hours=1))
    assert [r.id for r in found] == [second.id, first.id]
    assert [r.id for r in stores.reminders.by_status(ReminderStatus.PENDING, NOW, NOW + timedelta(hours=3), 1)] == [
        second.id
    ]


def test_an_outcome_is_recorded_only_for_a_claimed_reminder(stores):
    made = reminder()
    stores.reminders.add([made])
    sent = replace(made, status=ReminderStatus.SENT, sent_at=NOW, attempts=1)
    # WHEN an outcome arrives for a reminder nobody claimed THEN it is not recorded
    assert stores.reminders.finish(sent, False) == "not-sending"
    assert stores.reminders.get(made.id).status is ReminderStatus.PENDING
    # WHEN it was claimed THEN the outcome is recorded
    assert stores.reminders.claim(made.id, NOW) is not None
    assert stores.reminders.finish(sent, False) == "recorded"
    assert stores.reminders.get(made.id).status is ReminderStatus.SENT


# --- rooms -------------------------------------------------------------------------------------------------------
def room(**changes) -> Room:
    made = Room("room-1", "appt-1", "d1", "p1", "custom", RoomStatus.PENDING, NOW - timedelta(days=1))
    return replace(made, **changes)


def test_a_pending_room_is_claimed_by_one_worker_until_its_lease_ends(stores):
    stores.rooms.save(room())
    until = NOW + timedelta(seconds=30)
    # WHEN two workers claim it THEN the first holds it until its lease ends; after that it can be claimed again
    first = stores.rooms.claim("room-1", NOW, until)
    assert first is not None and first.claimed_until == until
    assert stores.rooms.claim("room-1", NOW + timedelta(seconds=10), NOW + timedelta(seconds=40)) is None
    assert stores.rooms.claim("room-1", NOW + timedelta(seconds=31), NOW + timedelta(seconds=61)) is not None
    assert stores.rooms.claim("missing", NOW, until) is None


def test_only_the_standing_claim_saves_its_result(stores):
    stores.rooms.save(room())
    until = NOW + timedelta(seconds=30)
    assert stores.rooms.claim("room-1", NOW, until) is not None
    made = room(meeting={"meetingId": "m-1"}, claimed_until=until)
    # WHEN a stale claimer saves THEN it is refused; the standing one THEN it is saved
    assert stores.rooms.save_claimed(made, NOW + timedelta(seconds=5)) is False
    assert stores.rooms.save_claimed(made, until) is True
    assert stores.rooms.get("room-1").meeting == {"meetingId": "m-1"}
    # AND an ended room takes no result
    stores.rooms.save(room(status=RoomStatus.ENDED, claimed_until=until))
    assert stores.rooms.save_claimed(made, until) is False
    assert [r.id for r in stores.rooms.pending(10)] == []


# --- patients ----------------------------------------------------------------------------------------------------
def test_the_daily_message_cap_counts_per_patient_and_day(stores):
    # GIVEN a cap of two messages a day WHEN three are asked for THEN the third is refused; the next day THEN one
    taken = [stores.patients.take_message("p1", "2027-03-01", 2) for _ in range(3)]
    assert taken == [True, True, False]
    assert stores.patients.take_message("p2", "2027-03-01", 2) is True  # another patient counts apart
    assert stores.patients.take_message("p1", "2027-03-02", 2) is True


def test_staff_contacts_are_kept_only_for_a_patient_of_the_directory(stores):
    assert stores.patients.save_staff_contact("nobody", "x@example.org", None, NOW) is False
    assert stores.patients.get("nobody") is None
    stores.patients.save_contact(PatientProfile(id="p1", email="p1@example.org", email_verified=True), NOW)
    assert stores.patients.save_staff_contact("p1", "desk@example.org", "+16175550100", NOW) is True
    kept = stores.patients.get("p1")
    assert (kept.email, kept.email_verified, kept.staff_email, kept.staff_phone) == (
        "p1@example.org",
        True,
        "desk@example.org",
        "+16175550100",
    )
