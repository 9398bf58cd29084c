"""One contract suite for the appointment, reminder, room and patient stores, run against the in-memory fakes, moto and
DynamoDB Local (as Chalice's todo sample runs one test class against both of its databases): the fakes that unit
tests rely on keep exactly the adapters' conditional semantics.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from moto import mock_aws

from chalicelib.adapters.dynamodb import models
from chalicelib.adapters.dynamodb.appointments import DynamoAppointmentStore
from chalicelib.adapters.dynamodb.doctors import DynamoDoctorRepository
from chalicelib.adapters.dynamodb.patients import DynamoPatientRepository
from chalicelib.adapters.dynamodb.reminders import DynamoReminderStore
from chalicelib.adapters.dynamodb.rooms import DynamoRoomRepository
from chalicelib.config import Settings
from chalicelib.domain.appointments import Appointment, AppointmentType, Status
from chalicelib.domain.audit import AccessEntry, AuditEntry, audit_of, side_audit
from chalicelib.domain.booking import Booking
from chalicelib.domain.doctors import Doctor
from chalicelib.domain.errors import (
    BookingLimitReached,
    ChangeTooLarge,
    Conflict,
    DailyLimitReached,
    InvalidState,
    NotFound,
    SlotUnavailable,
)
from chalicelib.domain.holds import Hold, end_of_hold
from chalicelib.domain.identity import Caller, Role
from chalicelib.domain.patients import PatientProfile
from chalicelib.domain.reminders import Channel, Claim, MessageSlot, Reminder, ReminderStatus, reminder_id
from chalicelib.domain.schedule import Availability, granules
from chalicelib.domain.telehealth import Room, RoomStatus
from chalicelib.domain.timefmt import instant
from chalicelib.services.ports.reminders import DispatchReads
from chalicelib.services.reminders.dispatch import SeparateReads
from tests.fakes.memory import (
    InMemoryAppointmentStore,
    InMemoryDoctorRepository,
    InMemoryPatientRepository,
    InMemoryReminderStore,
    InMemoryRoomRepository,
)
from tests.helpers import make_appointment
from tests.moto_cloud import fresh_tables

NOW = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)


@dataclass
class Stores:
    reminders: Any
    rooms: Any
    patients: Any
    appointments: Any
    doctors: Any


def dynamo_stores(settings: Settings) -> Stores:
    tables = models.bind(settings)
    return Stores(
        DynamoReminderStore(tables),
        DynamoRoomRepository(tables),
        DynamoPatientRepository(tables),
        DynamoAppointmentStore(settings, tables),
        DynamoDoctorRepository(tables),
    )


def memory_stores() -> Stores:
    patients = InMemoryPatientRepository()
    reminders, rooms, doctors = InMemoryReminderStore(), InMemoryRoomRepository(), InMemoryDoctorRepository()
    return Stores(reminders, rooms, patients, InMemoryAppointmentStore(doctors, reminders, rooms, patients), doctors)


def dispatch_reads(stores: Stores) -> DispatchReads:
    """A lone dispatch's read: DynamoDB reads the reminder, its visit and the patient in one call; the fakes compose
    three reads."""
    if isinstance(stores.reminders, DynamoReminderStore):
        return stores.reminders
    return SeparateReads(stores.reminders, stores.appointments, stores.patients)


def stores_of(kind: str, request) -> Iterator[Stores]:
    if kind == "memory":
        yield memory_stores()
    elif kind == "moto":
        with mock_aws():
            settings = Settings.from_env({"TABLE_PREFIX": "contract", "AWS_REGION": "us-east-1"})
            fresh_tables(settings)  # empty tables, copied from the ones this worker's moto made first
            yield dynamo_stores(settings)
    else:
        yield dynamo_stores(request.getfixturevalue("settings"))  # the worker's DynamoDB Local tables, emptied


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


def test_a_claim_reserves_one_of_the_patients_messages_of_the_day_up_to_the_cap(stores):
    # GIVEN three due reminders of one patient and a cap of two messages a day
    made = [reminder(f"appt-{n}") for n in range(3)]
    stores.reminders.add(made)
    slot = MessageSlot("p1", "2027-03-01", 2)
    # WHEN each is claimed with one of the patient's messages
    claims = [stores.reminders.claim_with_message(r.id, slot, NOW) for r in made]
    # THEN two are claimed (sending, one attempt each) and the third is refused at the cap, left pending, untouched
    assert claims == [Claim.CLAIMED, Claim.CLAIMED, Claim.CAPPED]
    assert [stores.reminders.get(r.id).status for r in made] == [ReminderStatus.SENDING] * 2 + [ReminderStatus.PENDING]
    assert [stores.reminders.get(r.id).attempts for r in made] == [1, 1, 0]
    # AND the count is the patient's and the day's: another patient, or the next day, starts at nought
    other = reminder("appt-9", patient_id="p2")
    stores.reminders.add([other])
    assert stores.reminders.claim_with_message(other.id, MessageSlot("p2", "2027-03-01", 2), NOW) is Claim.CLAIMED
    assert stores.reminders.claim_with_message(made[2].id, MessageSlot("p1", "2027-03-02", 2), NOW) is Claim.CLAIMED


def test_a_claim_refused_as_not_pending_not_due_or_another_patients_reserves_nothing(stores):
    # GIVEN a cap of one, a reminder not yet due and one already sent, and a due one claimed under another patient
    early, sent, due = (
        reminder("appt-1", minutes=30),
        reminder("appt-2", status=ReminderStatus.SENT),
        reminder("appt-3"),
    )
    stores.reminders.add([early, sent, due])
    slot = MessageSlot("p1", "2027-03-01", 1)
    # WHEN they are claimed THEN the first two are not claimed, and the patient's one message is still free
    assert stores.reminders.claim_with_message(early.id, slot, NOW) is Claim.NOT_CLAIMED
    assert stores.reminders.claim_with_message(sent.id, slot, NOW) is Claim.NOT_CLAIMED
    assert stores.reminders.claim_with_message("appt-0_email-24h", slot, NOW) is Claim.NOT_CLAIMED  # none such
    assert stores.reminders.claim_with_message(due.id, MessageSlot("p2", "2027-03-01", 1), NOW) is Claim.NOT_CLAIMED
    assert stores.reminders.claim_with_message(due.id, slot, NOW) is Claim.CLAIMED
    # AND a cap of nought lets none through
    again = reminder("appt-4")
    stores.reminders.add([again])
    assert stores.reminders.claim_with_message(again.id, MessageSlot("p1", "2027-03-05", 0), NOW) is Claim.CAPPED


def test_a_claim_conditioned_on_what_the_sweep_read_is_refused_once_the_reminder_changed(stores):
    # GIVEN a due reminder as the sweep's query read it, since claimed, throttled and back to pending (same status)
    seen = reminder()
    stores.reminders.add([seen])
    slot = MessageSlot("p1", "2027-03-01", 5)
    claimed = stores.reminders.claim(seen.id, NOW)
    later = replace(claimed, status=ReminderStatus.PENDING, updated_at=NOW + timedelta(minutes=1), served=("arn:x",))
    assert stores.reminders.replace(later, ReminderStatus.SENDING)
    # WHEN the sweep claims it conditioned on its old image THEN it is not claimed (its send would go by stale data)
    at = NOW + timedelta(minutes=2)
    assert stores.reminders.claim_with_message(seen.id, slot, at, seen=seen) is Claim.NOT_CLAIMED
    # AND conditioned on the current image it is, one attempt more
    current = stores.reminders.get(seen.id)
    assert stores.reminders.claim_with_message(seen.id, slot, at, seen=current) is Claim.CLAIMED
    assert stores.reminders.get(seen.id).attempts == current.attempts + 1


def test_an_outcome_or_a_release_gives_the_reserved_message_back_in_its_write(stores):
    # GIVEN a cap of one message and the patient's one message reserved by a claim
    first, second, third = reminder("appt-1"), reminder("appt-2"), reminder("appt-3")
    stores.reminders.add([first, second, third])
    slot = MessageSlot("p1", "2027-03-01", 1)
    assert stores.reminders.claim_with_message(first.id, slot, NOW) is Claim.CLAIMED
    assert stores.reminders.claim_with_message(second.id, slot, NOW) is Claim.CAPPED
    # WHEN its outcome is recorded giving the message back (nothing was sent: the visit was cancelled)
    cancelled = replace(stores.reminders.get(first.id), status=ReminderStatus.CANCELLED)
    assert stores.reminders.finish(cancelled, False, give_back=slot) == "recorded"
    # THEN the next reminder gets it; WHEN that one's claim is released giving it back THEN the third gets it
    assert stores.reminders.claim_with_message(second.id, slot, NOW) is Claim.CLAIMED
    released = replace(stores.reminders.get(second.id), status=ReminderStatus.PENDING)
    assert stores.reminders.replace(released, ReminderStatus.SENDING, give_back=slot) is True
    assert stores.reminders.claim_with_message(third.id, slot, NOW) is Claim.CLAIMED
    # AND an outcome recorded without giving back keeps it taken
    sent = replace(stores.reminders.get(third.id), status=ReminderStatus.SENT, sent_at=NOW)
    assert stores.reminders.finish(sent, False) == "recorded"
    assert stores.reminders.claim_with_message(second.id, slot, NOW) is Claim.CAPPED
    # AND a release that finds the reminder moved on writes nothing, nor gives anything back
    assert stores.reminders.replace(released, ReminderStatus.SENDING, give_back=slot) is False
    assert stores.reminders.claim_with_message(second.id, slot, NOW) is Claim.CAPPED


def test_racing_claims_of_one_patients_reminders_never_pass_the_cap(racing_stores):
    # GIVEN eight due reminders of one patient and a cap of six
    made = [reminder(f"appt-{n}") for n in range(8)]
    racing_stores.reminders.add(made)
    slot = MessageSlot("p1", "2027-03-01", 6)
    # WHEN all are claimed at once
    with ThreadPoolExecutor(max_workers=8) as pool:
        claims = list(pool.map(lambda r: racing_stores.reminders.claim_with_message(r.id, slot, NOW), made))
    # THEN exactly six are claimed, two refused at the cap
    assert sorted(claims) == sorted([Claim.CLAIMED] * 6 + [Claim.CAPPED] * 2)


def test_a_lone_dispatch_reads_the_reminder_its_visit_and_its_patient_together(stores):
    # GIVEN a booked visit, its reminder and its patient in the directory
    made = visit("a1")
    book(stores, made)
    stores.patients.save_contact(PatientProfile(id=made.patient_id, email="p@example.org", email_verified=True), NOW)
    planned = reminder("a1", patient_id=made.patient_id)
    stores.reminders.add([planned])
    # WHEN the three are read for a dispatch THEN they read back as each store's own read has them
    reads = dispatch_reads(stores)
    assert reads.claimed_visit_and_patient(planned.id, made.patient_id) == (
        stores.reminders.get(planned.id),
        stores.appointments.get("a1"),
        stores.patients.get(made.patient_id),
    )
    # WHEN none exists THEN none is found
    assert reads.claimed_visit_and_patient("missing_email-24h", "nobody") == (None, None, None)


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


def test_a_room_marked_for_its_meeting_is_listed_until_the_mark_is_removed(stores):
    # GIVEN two waiting rooms, one of them marked: its meeting has yet to follow a reschedule
    stores.rooms.save(room(status=RoomStatus.WAITING, meeting={"meetingId": "m-1"}))
    stores.rooms.save(room(id="room-2", status=RoomStatus.WAITING, meeting={"meetingId": "m-2"}))
    stores.rooms.mark_meeting_due("room-1")
    stores.rooms.mark_meeting_due("missing")  # a room that is gone: nothing to mark, nothing created
    # WHEN the sweep lists the marked rooms THEN it finds that one only
    assert [r.id for r in stores.rooms.meeting_due(10)] == ["room-1"]
    assert stores.rooms.get("missing") is None
    # WHEN the meeting followed THEN the mark is gone and the meeting is stored as the platform has it
    stores.rooms.meeting_synced("room-1", {"meetingId": "m-1", "moved": True})
    assert stores.rooms.meeting_due(10) == []
    synced = stores.rooms.get("room-1")
    assert (synced.meeting, synced.meeting_sync, synced.status) == (
        {"meetingId": "m-1", "moved": True},
        None,
        RoomStatus.WAITING,
    )


# --- patients ----------------------------------------------------------------------------------------------------
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


def test_a_language_is_kept_only_for_a_patient_of_the_directory_and_survives_a_new_sign_in(stores):
    # GIVEN no such patient WHEN a language is set THEN nothing is written
    assert stores.patients.save_language("nobody", "es", NOW) is False
    assert stores.patients.get("nobody") is None
    # GIVEN a patient WHEN it chooses Spanish THEN it reads back, and a later sign-in (its claims) keeps it
    stores.patients.save_contact(PatientProfile(id="p1", email="p1@example.org", email_verified=True), NOW)
    assert stores.patients.get("p1").language is None
    assert stores.patients.save_language("p1", "es", NOW) is True
    stores.patients.save_contact(PatientProfile(id="p1", email="new@example.org", email_verified=True), NOW)
    kept = stores.patients.get("p1")
    assert (kept.email, kept.language) == ("new@example.org", "es")
    assert stores.patients.get_many(["p1"])["p1"].language == "es"


# --- appointments ------------------------------------------------------------------------------------------------
ZONE = ZoneInfo("America/New_York")
DAY = date(2027, 3, 2)  # a Tuesday, EST
BOOKED_AT = datetime(2027, 2, 1, 12, 0, tzinfo=UTC)
STAFF = Caller("admin-1", Role.ADMIN)
PATIENT = Caller("p1", Role.PATIENT)


def visit(appointment_id: str, at: str = "10:00", minutes: int = 30, patient: str = "p1", **changes) -> Appointment:
    """A visit of doctor d1 on DAY at the local time `at`, booked a month ahead."""
    day = changes.pop("day", DAY)
    start = datetime.combine(day, datetime.strptime(at, "%H:%M").time(), tzinfo=ZONE).astimezone(UTC)
    return make_appointment(
        id=appointment_id,
        patient_id=patient,
        date=day.isoformat(),
        time=at,
        duration=minutes,
        starts_at=start,
        ends_at=start + timedelta(minutes=minutes),
        **{"created_at": BOOKED_AT, "updated_at": BOOKED_AT, **changes},
    )


def audit_id() -> str:
    """Unique across runs: the audit id names the transaction's client request token, which DynamoDB (Local too)
    remembers for ten minutes whatever the table."""
    return f"audit-{uuid.uuid4().hex}"


def book(stores: Stores, a: Appointment, by: Caller = STAFF, max_per_day: int = 20, **extra) -> None:
    audit = audit_of(audit_id(), by, "booked", None, a, a.created_at)
    stores.appointments.book(Booking(a, audit, max_per_day, **extra))


def reschedule(stores: Stores, before: Appointment, at: str, day: date = DAY, by: Caller = STAFF, limit: int = 20):
    """Move `before` (as it was read) to another time; the stored appointment comes back."""
    moved = visit(before.id, at, before.duration, before.patient_id, day=day)
    after = replace(before, date=moved.date, time=at, starts_at=moved.starts_at, ends_at=moved.ends_at)
    after = replace(after, status=Status.RESCHEDULED, updated_at=BOOKED_AT + timedelta(days=1))
    audit = audit_of(audit_id(), by, "rescheduled", before, after, after.updated_at)
    stores.appointments.reschedule(before, after, audit, limit)
    return stores.appointments.get(before.id)


def set_status(stores: Stores, before: Appointment, status: Status) -> Appointment:
    after = before.with_status(status, BOOKED_AT + timedelta(days=2))
    audit = audit_of(audit_id(), STAFF, status.value, before, after, after.updated_at)
    if status is Status.CANCELLED:
        stores.appointments.cancel(before, after, audit)
    else:
        stores.appointments.update_status(before, after, audit)
    return stores.appointments.get(before.id)


def taken(stores: Stores, day: date = DAY) -> set[datetime]:
    return set(stores.appointments.day_state("d1", day).taken)


def span(a: Appointment) -> set[datetime]:
    return set(granules(a.starts_at, a.ends_at))


def test_a_booking_reads_back_whole_at_version_one_with_its_audit_entry(stores):
    made = visit("a1", notes="Bring the referral.", reminder_preferences={"email": True})
    book(stores, made)
    assert stores.appointments.get("a1") == replace(made, version=1)
    assert stores.appointments.get_many(["a1", "missing"]) == {"a1": replace(made, version=1)}
    assert [(e.action, e.seq) for e in stores.appointments.audit_trail("a1")] == [("booked", 1)]


def test_a_granule_is_booked_once(stores):
    # GIVEN p1 booked at 10:00
    first = visit("a1")
    book(stores, first)
    # WHEN p2 books the same time THEN it is refused and nothing of it is written
    with pytest.raises(SlotUnavailable):
        book(stores, visit("a2", patient="p2"))
    assert stores.appointments.get("a2") is None
    assert stores.appointments.audit_trail("a2") == []
    state = stores.appointments.day_state("d1", DAY)
    assert (set(state.taken), state.booked) == (span(first), 1)


def test_overlapping_durations_are_refused_and_adjacent_ones_are_not(stores):
    # GIVEN an hour from 10:00
    book(stores, visit("long", "10:00", 60))
    # WHEN a visit starts inside it THEN refused; one starting at its end THEN booked
    with pytest.raises(SlotUnavailable):
        book(stores, visit("inside", "10:45", 30, patient="p2"))
    book(stores, visit("after", "11:00", 30, patient="p2"))
    # AND the same patient cannot be in two places: an overlap with another doctor is refused as a conflict
    with pytest.raises(Conflict):
        book(stores, visit("elsewhere", "10:15", 30, doctor_id="d2"))
    assert stores.appointments.get("inside") is None and stores.appointments.get("elsewhere") is None
    assert stores.appointments.day_state("d2", DAY).taken == frozenset()


def test_racing_bookings_of_one_slot_give_exactly_one(racing_stores):
    # GIVEN eight patients WHEN they book 10:00 at once THEN exactly one gets it, the others are told it is taken
    def attempt(i: int) -> str:
        try:
            book(racing_stores, visit(f"race-{i}", patient=f"p{i}"))
            return "booked"
        except SlotUnavailable:
            return "taken"

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(attempt, range(8)))
    assert sorted(outcomes) == ["booked"] + ["taken"] * 7
    assert racing_stores.appointments.day_state("d1", DAY).booked == 1


def test_the_day_counter_stops_at_the_daily_limit(stores):
    # GIVEN a limit of two a day and two bookings
    first = visit("a1", "09:00")
    book(stores, first, max_per_day=2)
    book(stores, visit("a2", "10:00", patient="p2"), max_per_day=2)
    # WHEN a third is booked on a free time THEN the limit refuses it and writes nothing
    third = visit("a3", "11:00", patient="p3")
    with pytest.raises(DailyLimitReached):
        book(stores, third, max_per_day=2)
    assert stores.appointments.get("a3") is None
    assert stores.appointments.day_state("d1", DAY).booked == 2
    assert span(third) & taken(stores) == set()
    # AND a full day still lets its visits move within it
    reschedule(stores, stores.appointments.get("a1"), "15:00", limit=2)
    # WHEN one is cancelled THEN the third fits
    set_status(stores, stores.appointments.get("a1"), Status.CANCELLED)
    book(stores, third, max_per_day=2)
    assert stores.appointments.day_state("d1", DAY).booked == 2


def test_a_reschedule_onto_a_taken_slot_changes_nothing(stores):
    # GIVEN visits at 10:00 and 11:00
    book(stores, visit("a1", "10:00"))
    book(stores, visit("a2", "11:00", patient="p2"))
    second = stores.appointments.get("a2")
    before = (taken(stores), stores.appointments.day_state("d1", DAY).version)
    # WHEN the second is moved onto the first THEN it is refused and nothing changes
    with pytest.raises(SlotUnavailable):
        reschedule(stores, second, "10:00")
    assert stores.appointments.get("a2") == second
    assert (taken(stores), stores.appointments.day_state("d1", DAY).version) == before
    assert len(stores.appointments.audit_trail("a2")) == 1
    # WHEN it is moved to a free time THEN its old granules are free and its version grows
    moved = reschedule(stores, second, "14:00")
    assert (moved.version, moved.status, moved.time) == (2, Status.RESCHEDULED, "14:00")
    assert taken(stores) == span(visit("a1", "10:00")) | span(moved)
    book(stores, visit("a3", "11:00", patient="p3"))


def test_a_reschedule_may_overlap_its_own_old_time(stores):
    book(stores, visit("a1", "10:00", 60))
    moved = reschedule(stores, stores.appointments.get("a1"), "10:30")
    assert taken(stores) == span(moved)


def test_a_reschedule_to_another_day_moves_the_count_within_the_limit(stores):
    # GIVEN the next day is full (limit one)
    next_day = DAY + timedelta(days=1)
    book(stores, visit("a1"), max_per_day=1)
    book(stores, visit("full", "09:00", patient="p2", day=next_day), max_per_day=1)
    # WHEN a1 is moved there THEN the limit refuses it; to a day with room THEN both days count it right
    with pytest.raises(DailyLimitReached):
        reschedule(stores, stores.appointments.get("a1"), "11:00", next_day, limit=1)
    assert stores.appointments.day_state("d1", DAY).booked == 1
    reschedule(stores, stores.appointments.get("a1"), "11:00", DAY + timedelta(days=2), limit=1)
    assert [stores.appointments.day_state("d1", d).booked for d in (DAY, next_day, DAY + timedelta(days=2))] == [
        0,
        1,
        1,
    ]
    assert taken(stores) == set()


def test_cancel_frees_the_slot(stores):
    # GIVEN a booked visit WHEN it is cancelled THEN its granules and its count are freed
    book(stores, visit("a1"))
    cancelled = set_status(stores, stores.appointments.get("a1"), Status.CANCELLED)
    assert (cancelled.status, cancelled.version) == (Status.CANCELLED, 2)
    state = stores.appointments.day_state("d1", DAY)
    assert (state.taken, state.booked) == (frozenset(), 0)
    # AND another patient can book that time
    book(stores, visit("a2", patient="p2"))
    assert [a.id for a in stores.appointments.list_for_doctor("d1", BOOKED_AT, BOOKED_AT + timedelta(days=60))] in (
        ["a1", "a2"],
        ["a2", "a1"],
    )


def test_a_write_from_a_stale_read_is_refused(stores):
    # GIVEN two reads of version 1, and the first one's reschedule committed (version 2)
    book(stores, visit("a1"))
    stale = stores.appointments.get("a1")
    moved = reschedule(stores, stale, "14:00")
    # WHEN the stale read is cancelled, moved or completed THEN each is refused and version 2 stays
    with pytest.raises(InvalidState):
        set_status(stores, stale, Status.CANCELLED)
    with pytest.raises(InvalidState):
        reschedule(stores, stale, "15:00")
    with pytest.raises(InvalidState):
        set_status(stores, stale, Status.CONFIRMED)
    assert stores.appointments.get("a1") == moved
    assert taken(stores) == span(moved)
    # AND a write of a status it does not have is refused too, whatever its version
    with pytest.raises(InvalidState):
        set_status(stores, replace(moved, status=Status.CONFIRMED), Status.COMPLETED)
    assert stores.appointments.get("a1") == moved


def test_lists_are_in_start_order_within_the_window(stores):
    # GIVEN p1's visits booked out of order, another day's, and p2's
    for appointment_id, at in (("late", "14:00"), ("early", "09:00"), ("mid", "11:00")):
        book(stores, visit(appointment_id, at))
    book(stores, visit("next-day", "09:00", day=DAY + timedelta(days=1)))
    book(stores, visit("other", "10:00", patient="p2"))
    day_start = datetime.combine(DAY, datetime.min.time(), tzinfo=ZONE).astimezone(UTC)
    day_end = day_start + timedelta(days=1) - timedelta(seconds=1)
    # WHEN listed THEN in start order, only the window's, only the patient's or the doctor's
    assert [a.id for a in stores.appointments.list_for_patient("p1", day_start, day_end)] == ["early", "mid", "late"]
    assert [a.id for a in stores.appointments.list_for_doctor("d1", day_start, day_end)] == [
        "early",
        "other",
        "mid",
        "late",
    ]
    # AND both ends of the window are included
    early, mid = stores.appointments.get("early"), stores.appointments.get("mid")
    assert [a.id for a in stores.appointments.list_for_patient("p1", early.starts_at, mid.starts_at)] == [
        "early",
        "mid",
    ]
    # AND a page goes on after the last one shown
    after = (instant(early.starts_at), early.id)
    pages = stores.appointments.iter_for_patient("p1", day_start, day_end + timedelta(days=1), after, 2)
    assert [a.id for a in pages] == ["mid", "late", "next-day"]
    assert [a.id for a in stores.appointments.iter_for_doctor("d1", day_start, day_end, after, 2)] == [
        "other",
        "mid",
        "late",
    ]


def test_day_state_holds_the_granules_the_count_and_a_version_of_slot_changes(stores):
    stores.doctors.add(Doctor("d1", "Dr. Ada Smith", "GP", "Room 1", "America/New_York", False, BOOKED_AT))
    assert stores.appointments.day_state("d1", DAY) == stores.appointments.day_state("d1", DAY + timedelta(days=9))
    # WHEN a 45-minute visit is booked THEN its nine granules are taken, one booked, version 1
    book(stores, visit("a1", "10:00", 45))
    state = stores.appointments.day_state("d1", DAY)
    assert (len(state.taken), state.taken, state.booked, state.version) == (9, span(visit("a1", "10:00", 45)), 1, 1)
    # WHEN it moves within the day THEN the version grows; a confirmation THEN does not change the slots' version
    moved = reschedule(stores, stores.appointments.get("a1"), "15:00")
    confirmed = set_status(stores, moved, Status.CONFIRMED)
    state = stores.appointments.day_state("d1", DAY)
    assert (state.taken, state.booked, state.version) == (frozenset(span(moved)), 1, 2)
    doctor, version = stores.appointments.doctor_and_day_version("d1", DAY)
    assert (doctor.name, version) == ("Dr. Ada Smith", 2)
    # WHEN cancelled THEN nothing is taken and the version grows again
    set_status(stores, confirmed, Status.CANCELLED)
    state = stores.appointments.day_state("d1", DAY)
    assert (state.taken, state.booked, state.version) == (frozenset(), 0, 3)
    assert stores.appointments.doctor_and_day_version("nobody", DAY) == (None, 0)


def test_a_completed_visit_keeps_its_time_but_frees_the_patients_limits(stores):
    # GIVEN a patient allowed one active booking, booked at 10:00
    book(stores, visit("a1"), max_active=1)
    with pytest.raises(BookingLimitReached):
        book(stores, visit("a2", "14:00"), max_active=1)
    # WHEN the visit is marked completed THEN its time stays taken, and the patient may book again
    set_status(stores, stores.appointments.get("a1"), Status.COMPLETED)
    assert taken(stores) == span(visit("a1"))
    book(stores, visit("a2", "14:00"), max_active=1)


def test_a_patient_holds_at_most_its_active_bookings(stores):
    # GIVEN a limit of two active bookings, both held
    book(stores, visit("a1", "09:00"), max_active=2)
    book(stores, visit("a2", "10:00"), max_active=2)
    # WHEN a third is booked THEN refused, nothing written
    with pytest.raises(BookingLimitReached):
        book(stores, visit("a3", "11:00"), max_active=2)
    assert stores.appointments.get("a3") is None
    # WHEN one is cancelled THEN the third fits
    set_status(stores, stores.appointments.get("a1"), Status.CANCELLED)
    book(stores, visit("a3", "11:00"), max_active=2)
    # AND a booking made after a held visit has ended does not count that visit
    later = visit("a4", "09:00", day=DAY + timedelta(days=1), created_at=DAY_AFTER_VISITS, updated_at=DAY_AFTER_VISITS)
    book(stores, later, max_active=2)
    assert stores.appointments.get("a4") is not None


DAY_AFTER_VISITS = datetime(2027, 3, 2, 23, 0, tzinfo=UTC)
"""After every visit of DAY has ended (18:00 in New York)."""


def test_a_patient_booking_for_itself_gets_one_visit_a_day_with_a_doctor(stores):
    # GIVEN p1 booked itself with d1 at 09:00
    book(stores, visit("a1", "09:00"), by=PATIENT)
    # WHEN it books d1 again that day THEN refused; staff booking it THEN allowed
    with pytest.raises(BookingLimitReached):
        book(stores, visit("a2", "11:00"), by=PATIENT)
    assert stores.appointments.get("a2") is None
    book(stores, visit("a2", "11:00"), by=STAFF)
    # AND once both are cancelled, it may book itself again
    for appointment_id in ("a1", "a2"):
        set_status(stores, stores.appointments.get(appointment_id), Status.CANCELLED)
    book(stores, visit("a3", "14:00"), by=PATIENT)


def test_a_booking_writes_its_reminders_room_and_contact_or_none_of_them(stores):
    book(stores, visit("a1"))
    p2 = Caller("p2", Role.PATIENT)
    planned = reminder("a2")
    video = room(id="room-2", appointment_id="a2", patient_id="p2")
    contact = PatientProfile(id="p2", email="p2@example.org", email_verified=True)
    made = visit("a2", patient="p2", type=AppointmentType.TELEHEALTH, room_id="room-2")
    # WHEN the booking is refused (its time is taken) THEN none of its items is written
    with pytest.raises(SlotUnavailable):
        book(stores, made, p2, reminders=[planned], room=video, contact=contact)
    assert stores.reminders.for_appointment("a2") == []
    assert (stores.rooms.get("room-2"), stores.patients.get("p2")) == (None, None)
    # WHEN it is booked at a free time THEN all of them are
    book(stores, visit("a2", "15:00", patient="p2"), p2, reminders=[planned], room=video, contact=contact)
    assert stores.reminders.for_appointment("a2") == [planned]
    assert stores.rooms.get("room-2").appointment_id == "a2"
    assert stores.patients.get("p2").email == "p2@example.org"


def test_the_same_appointment_is_booked_once(stores):
    book(stores, visit("a1"))
    with pytest.raises(InvalidState):
        book(stores, visit("a1", "14:00"))
    assert stores.appointments.get("a1").time == "10:00"


def test_a_booking_whose_reminder_exists_already_writes_nothing(stores):
    # GIVEN a reminder with the id a booking would write
    stores.reminders.add([reminder("a1")])
    # WHEN the booking is made THEN it is refused whole: no appointment, no granule, no count
    with pytest.raises(InvalidState):
        book(stores, visit("a1"), reminders=[reminder("a1", custom_message="new")])
    assert stores.appointments.get("a1") is None
    assert stores.appointments.day_state("d1", DAY) == stores.appointments.day_state("d1", DAY + timedelta(days=9))
    assert stores.reminders.get(reminder("a1").id) == reminder("a1")


def test_a_write_releases_only_the_granules_its_appointment_holds(stores):
    # GIVEN a1 at 10:00 and a2 at 11:00
    book(stores, visit("a1", "10:00"))
    book(stores, visit("a2", "11:00", patient="p2"))
    second = stores.appointments.get("a2")
    claims_a1s_time = replace(second, time="10:00", starts_at=visit("a1").starts_at, ends_at=visit("a1").ends_at)
    # WHEN a2 is cancelled or moved as if it held a1's time THEN it is refused and a1 keeps its granules
    with pytest.raises(InvalidState):
        set_status(stores, claims_a1s_time, Status.CANCELLED)
    with pytest.raises(InvalidState):
        reschedule(stores, claims_a1s_time, "14:00")
    assert taken(stores) == span(visit("a1")) | span(second)
    assert stores.appointments.get("a2") == second


def test_visits_sharing_a_lock_block_meet_only_where_they_overlap(stores):
    # GIVEN 10:05-10:10 and 10:20-10:30 (both inside the 10:00 half hour), and 11:00-11:30 (that half hour whole)
    book(stores, visit("a", "10:05", 5))
    book(stores, visit("b", "10:20", 10, patient="p2"))
    book(stores, visit("whole", "11:00", 30, patient="p3"))
    # WHEN visits touch them end to end THEN they are booked
    book(stores, visit("c", "10:10", 10, patient="p4"))
    book(stores, visit("d", "10:30", 30, patient="p5"))
    # WHEN a visit would take the shared half hour whole, or share the whole one, or overlap a sharer THEN refused
    for refused in (visit("x1", "10:00", 30, patient="p6"), visit("x2", "10:55", 10, patient="p6")):
        with pytest.raises(SlotUnavailable):
            book(stores, refused)
    with pytest.raises(SlotUnavailable):
        book(stores, visit("x3", "10:15", 10, patient="p6"))
    # THEN the day shows exactly the booked granules
    assert taken(stores) == set().union(*(span(stores.appointments.get(i)) for i in ("a", "b", "whole", "c", "d")))


def test_a_visit_moves_between_holding_a_block_whole_and_sharing_it(stores):
    # GIVEN 10:05-10:35, sharing the 10:00 and 10:30 half hours
    book(stores, visit("a1", "10:05", 30))
    # WHEN it moves to 10:00-10:30 THEN it holds that half hour whole, and 10:30 is free for another
    moved = reschedule(stores, stores.appointments.get("a1"), "10:00")
    assert taken(stores) == span(moved)
    with pytest.raises(SlotUnavailable):
        book(stores, visit("x", "10:25", 5, patient="p2"))
    book(stores, visit("b", "10:30", 30, patient="p2"))
    # WHEN it moves back to sharing (10:10-10:40 would overlap b; 09:45-10:15 does not)
    back = reschedule(stores, stores.appointments.get("a1"), "09:45")
    assert taken(stores) == span(back) | span(stores.appointments.get("b"))
    # THEN the rest of the 10:00 half hour is free for a sharer, and not for a whole holder
    book(stores, visit("c", "10:15", 15, patient="p3"))
    with pytest.raises(SlotUnavailable):
        reschedule(stores, stores.appointments.get("b"), "10:00")
    # AND a cancel gives every item back: the day is empty and the whole half hour can be taken again
    for appointment_id in ("a1", "b", "c"):
        set_status(stores, stores.appointments.get(appointment_id), Status.CANCELLED)
    assert taken(stores) == set()
    book(stores, visit("d", "10:00", 30, patient="p4"))


def test_the_longest_visit_moved_by_its_patient_keeps_one_visit_a_day_with_a_doctor(stores):
    # GIVEN staff booked p1 two 120-minute visits with d1, on two days, at starts that take the most lock items
    next_day = DAY + timedelta(days=1)
    book(stores, visit("long-1", "09:05", 120), max_active=10)
    book(stores, visit("long-2", "09:05", 120, day=next_day), max_active=10)
    second = stores.appointments.get("long-2")
    before = (taken(stores), taken(stores, next_day), stores.appointments.day_state("d1", next_day).version)
    # WHEN p1 moves the second onto the first one's day THEN it is refused: nothing is committed without that guard
    with pytest.raises(BookingLimitReached):
        reschedule(stores, second, "13:05", DAY, by=PATIENT)
    assert stores.appointments.get("long-2") == second
    assert (taken(stores), taken(stores, next_day), stores.appointments.day_state("d1", next_day).version) == before
    assert [e.action for e in stores.appointments.audit_trail("long-2")] == ["booked"]
    # WHEN p1 moves it to a third day THEN it moves whole: locks, both day counts and its day with the doctor
    third_day = DAY + timedelta(days=2)
    moved = reschedule(stores, second, "13:05", third_day, by=PATIENT)
    assert (moved.date, moved.time, moved.version) == (third_day.isoformat(), "13:05", 2)
    assert (taken(stores, next_day), taken(stores, third_day)) == (set(), span(moved))
    assert [stores.appointments.day_state("d1", d).booked for d in (DAY, next_day, third_day)] == [1, 0, 1]
    with pytest.raises(BookingLimitReached):  # its day with d1 moved along
        book(stores, visit("again", "09:05", 30, day=third_day), by=PATIENT)
    book(stores, visit("free-again", "09:05", 30, day=next_day), by=PATIENT)
    # AND staff may still put both visits on one day
    staff_moved = reschedule(stores, moved, "13:05", DAY)
    assert taken(stores) == span(stores.appointments.get("long-1")) | span(staff_moved)


@pytest.fixture(params=["moto", "dynamodb-local"])
def dynamo_stores_only(request) -> Iterator[Stores]:
    """The adapters alone: what DynamoDB's limit of 100 items in one transaction does to a change."""
    yield from stores_of(request.param, request)


def test_a_change_too_large_for_one_transaction_is_refused_whole(dynamo_stores_only):
    stores = dynamo_stores_only
    # GIVEN a ten-hour visit (longer than any doctor may offer: its move would need more than 100 items)
    book(stores, visit("marathon", "07:05", 600), max_active=10)
    before = stores.appointments.get("marathon")
    # WHEN it is moved to another day THEN it is refused before anything is sent, with the rule that refused it
    with pytest.raises(ChangeTooLarge) as refused:
        reschedule(stores, before, "07:05", DAY + timedelta(days=1))
    details = refused.value.details or {}
    assert details["limit"] == 100 and details["items"] > 100
    # AND nothing of it was committed: the visit, both days and its trail are as they were
    assert stores.appointments.get("marathon") == before
    assert (taken(stores), taken(stores, DAY + timedelta(days=1))) == (span(before), set())
    assert [e.action for e in stores.appointments.audit_trail("marathon")] == ["booked"]


def test_an_access_log_entry_is_written_once_and_never_overwritten(stores):
    # GIVEN a read of p1's appointment in its access log
    store = stores.appointments
    read = AccessEntry(audit_id(), "p1", NOW, "admin-1", "admin", "read", "GET /api/appointments/{id}", ("a1",))
    store.record_access([read])
    # WHEN another entry is put under its key THEN it is refused, and the log is as it was
    with pytest.raises(Conflict):
        store.record_access([replace(read, actor_id="mallory", appointment_ids=())])
    assert store.access_history("p1") == [read]
    # AND the same entry again (a resend whose first answer was lost) adds nothing
    store.record_access([read])
    assert store.access_history("p1") == [read]


def test_an_audit_entry_is_written_once_and_never_overwritten(stores):
    # GIVEN a booked visit and a room join on its trail
    book(stores, visit("a1"))
    joined = side_audit(audit_id(), PATIENT, "room-joined", stores.appointments.get("a1"), NOW)
    stores.appointments.record_audit(joined)
    trail = stores.appointments.audit_trail("a1")
    # WHEN another entry is written under the same key (same version, instant and id) THEN it is refused
    with pytest.raises(Conflict):
        stores.appointments.record_audit(replace(joined, actor_id="mallory", changes={"forged": True}))
    with pytest.raises(Conflict):
        stores.appointments.record_audit(replace(trail[0], action="completed", actor_id="mallory"))
    # AND the trail is as it was
    assert stores.appointments.audit_trail("a1") == trail
    # AND the same entry written again (a resend whose first answer was lost) adds nothing
    stores.appointments.record_audit(joined)
    assert stores.appointments.audit_trail("a1") == trail


def test_a_change_whose_audit_entry_would_overwrite_one_is_refused_whole(stores):
    # GIVEN a booked visit with room joins on its trail (each written alone)
    book(stores, visit("a1"))
    before = stores.appointments.get("a1")
    joins = [side_audit(audit_id(), PATIENT, "room-joined", before, NOW) for _ in range(4)]
    for joined in joins:
        stores.appointments.record_audit(joined)
    trail, state = stores.appointments.audit_trail("a1"), stores.appointments.day_state("d1", DAY)

    def forged(k: int) -> AuditEntry:
        """An entry under the key of the k-th join (its version, instant and id), saying something else."""
        return replace(joins[k], actor_id="mallory", changes={"forged": True})

    # WHEN a cancel, a status change, a reschedule or a booking carries such an entry THEN each is refused
    with pytest.raises(Conflict):
        stores.appointments.cancel(before, before.with_status(Status.CANCELLED, BOOKED_AT), forged(0))
    with pytest.raises(Conflict):
        stores.appointments.update_status(before, before.with_status(Status.CONFIRMED, BOOKED_AT), forged(1))
    later = visit("a1", "14:00")
    moved = replace(before, time="14:00", starts_at=later.starts_at, ends_at=later.ends_at, status=Status.RESCHEDULED)
    with pytest.raises(Conflict):
        stores.appointments.reschedule(before, moved, forged(2), 20)
    with pytest.raises(Conflict):
        stores.appointments.book(Booking(visit("a2", "15:00", patient="p2"), forged(3), 20))
    # THEN nothing of any of them was written: the visit, its trail and the day are as they were
    assert stores.appointments.get("a1") == before and stores.appointments.get("a2") is None
    assert stores.appointments.audit_trail("a1") == trail
    assert stores.appointments.day_state("d1", DAY) == state


# --- doctors -----------------------------------------------------------------------------------------------------
def test_doctors_list_by_name_and_keep_their_changes(stores):
    # GIVEN two doctors added out of name order
    for doctor_id, name in (("d2", "dr. Zed"), ("d1", "Dr. Ada")):
        stores.doctors.add(Doctor(doctor_id, name, "GP", "Room 1", "America/New_York", False, BOOKED_AT))
    # WHEN listed THEN by name, whatever its case
    assert [d.id for d in stores.doctors.list_all()] == ["d1", "d2"]
    # WHEN its availability and calendar token change THEN they read back; a removed token reads back as none
    hours = Availability(max_patients_per_day=7, appointment_duration=20)
    stores.doctors.set_availability("d1", hours)
    stores.doctors.set_calendar_token_hash("d1", "a" * 64)
    assert (stores.doctors.get("d1").availability, stores.doctors.get("d1").calendar_token_hash) == (hours, "a" * 64)
    stores.doctors.set_calendar_token_hash("d1", None)
    assert stores.doctors.get("d1").calendar_token_hash is None
    assert stores.doctors.get("nobody") is None


# --- holds: a booking with an expiry ---------------------------------------------------------------------------------
HOLD_EXPIRES = BOOKED_AT + timedelta(minutes=5)


def hold(
    stores: Stores, a: Appointment, by: Caller = PATIENT, expires: datetime = HOLD_EXPIRES, **extra
) -> Hold | None:
    """Hold `a`'s time (as the service does: the appointment in status `held`); the stored hold comes back."""
    held = replace(a, status=Status.HELD, reason="")
    audit = audit_of(audit_id(), by, "held", None, held, held.created_at)
    stores.appointments.hold(Booking(held, audit, extra.pop("max_per_day", 20), **extra), expires)
    return stores.appointments.get_hold(a.id)


def book_held(stores: Stores, h: Hold, now: datetime, by: Caller = PATIENT) -> None:
    after = replace(h.appointment, status=Status.SCHEDULED, reason="check-up", updated_at=now)
    audit = audit_of(audit_id(), by, "booked", h.appointment, after, now)
    stores.appointments.book_hold(h, Booking(after, audit, 20), now)


def release_held(stores: Stores, h: Hold, at: datetime, lapsed: bool = False) -> None:
    action = "lapsed" if lapsed else "released"
    audit = end_of_hold(audit_id(), h, None if lapsed else PATIENT, action, at)
    stores.appointments.release_hold(h, audit, at if lapsed else None)


def test_a_hold_takes_its_time_like_a_booking_until_it_expires(stores):
    # GIVEN p1 holds 10:00 for five minutes
    held = hold(stores, visit("h1"))
    # THEN it reads back with its expiry, takes the time and counts in the day, and the day lists it
    assert held is not None and held.expires_at == HOLD_EXPIRES
    assert held.appointment == replace(visit("h1"), status=Status.HELD, reason="", version=1)
    state = stores.appointments.day_state("d1", DAY)
    assert (set(state.taken), state.booked, state.holds) == (span(visit("h1")), 1, (("h1", HOLD_EXPIRES),))
    assert [h.id for h in stores.appointments.holds_of_day("d1", DAY)] == ["h1"]
    # AND no one else can book or hold an overlapping time
    with pytest.raises(SlotUnavailable):
        book(stores, visit("a2", "10:15", patient="p2"))
    with pytest.raises(SlotUnavailable):
        hold(stores, visit("h2", patient="p2"))
    # AND the sweep's read finds it only once it has expired
    assert stores.appointments.expired_holds(HOLD_EXPIRES - timedelta(seconds=1), 10) == []
    assert stores.appointments.expired_holds(HOLD_EXPIRES, 10) == ["h1"]
    assert [(e.action, e.seq) for e in stores.appointments.audit_trail("h1")] == [("held", 1)]


def test_booking_a_hold_keeps_its_locks_and_ends_the_hold(stores):
    # GIVEN a hold of 10:00
    held = hold(stores, visit("h1"))
    assert held is not None
    before = stores.appointments.day_state("d1", DAY)
    # WHEN its patient books it before it expires
    book_held(stores, held, HOLD_EXPIRES - timedelta(seconds=1))
    # THEN the visit has the hold's id at version 2, the same locks and count, and the hold is gone
    booked = stores.appointments.get("h1")
    assert (booked.status, booked.reason, booked.version) == (Status.SCHEDULED, "check-up", 2)
    after = stores.appointments.day_state("d1", DAY)
    assert (after.taken, after.booked, after.holds) == (before.taken, 1, ())
    assert stores.appointments.get_hold("h1") is None
    assert stores.appointments.expired_holds(HOLD_EXPIRES + timedelta(hours=1), 10) == []
    assert [(e.action, e.seq) for e in stores.appointments.audit_trail("h1")] == [("held", 1), ("booked", 2)]
    # AND the booked hold can be neither booked again nor released
    with pytest.raises(InvalidState):
        book_held(stores, held, HOLD_EXPIRES - timedelta(seconds=1))
    with pytest.raises(InvalidState):
        release_held(stores, held, HOLD_EXPIRES)
    assert stores.appointments.get("h1") == booked


def test_a_hold_is_booked_only_before_its_expiry_and_lapses_only_from_it(stores):
    # GIVEN a hold of 10:00 by p1, which counts against its limits
    held = hold(stores, visit("h1"), max_active=1)
    assert held is not None
    # WHEN it is booked at its expiry THEN refused; WHEN the sweep lapses it a second early THEN refused
    with pytest.raises(InvalidState):
        book_held(stores, held, HOLD_EXPIRES)
    with pytest.raises(InvalidState):
        release_held(stores, held, HOLD_EXPIRES - timedelta(seconds=1), lapsed=True)
    assert stores.appointments.get_hold("h1") == held
    # WHEN the sweep lapses it at its expiry THEN the time, the day count and the patient's limits are free
    release_held(stores, held, HOLD_EXPIRES, lapsed=True)
    assert stores.appointments.get("h1") is None and stores.appointments.get_hold("h1") is None
    state = stores.appointments.day_state("d1", DAY)
    assert (state.taken, state.booked, state.holds) == (frozenset(), 0, ())
    assert stores.appointments.expired_holds(HOLD_EXPIRES + timedelta(hours=1), 10) == []
    assert [e.action for e in stores.appointments.audit_trail("h1")] == ["held", "lapsed"]
    book(stores, visit("a1", "10:00"), by=PATIENT, max_active=1)
    # AND the lapsed hold cannot be booked any more
    with pytest.raises(InvalidState):
        book_held(stores, held, HOLD_EXPIRES - timedelta(seconds=1))


def test_a_released_hold_frees_its_time_at_once(stores):
    held = hold(stores, visit("h1", "10:00", 45))
    assert held is not None
    # WHEN its patient releases it before it expires THEN everything it took is free, and another may book
    release_held(stores, held, BOOKED_AT + timedelta(minutes=1))
    state = stores.appointments.day_state("d1", DAY)
    assert (state.taken, state.booked, state.holds) == (frozenset(), 0, ())
    last = stores.appointments.audit_trail("h1")[-1]
    assert (last.action, last.status_before, last.status_after) == ("released", "held", "cancelled")
    book(stores, visit("a2", "10:15", patient="p2"))
    with pytest.raises(InvalidState):
        release_held(stores, held, BOOKED_AT + timedelta(minutes=2))


def test_holds_count_against_the_patients_limits(stores):
    # GIVEN p1 holds a time with d1, for itself, allowed one active booking
    hold(stores, visit("h1", "09:00"), max_active=1)
    # WHEN it books or holds another time with d1 that day THEN the one-visit-a-day rule refuses it
    with pytest.raises(BookingLimitReached):
        book(stores, visit("a2", "11:00"), by=PATIENT)
    with pytest.raises(BookingLimitReached):
        hold(stores, visit("h2", "11:00"))
    # WHEN it books another doctor THEN its active-bookings limit refuses it
    with pytest.raises(BookingLimitReached):
        book(stores, visit("a3", "11:00", doctor_id="d2"), max_active=1)
    # AND the day's limit counts holds
    hold(stores, visit("h4", "13:00", patient="p4"), by=STAFF)
    with pytest.raises(DailyLimitReached):
        hold(stores, visit("h5", "14:00", patient="p5"), by=STAFF, max_per_day=2)


def test_a_hold_booked_as_it_lapses_is_booked_or_released_never_both(racing_stores):
    stores = racing_stores
    outcomes = []
    for i in range(6):
        # GIVEN a hold WHEN its patient books it just before its expiry while the sweep lapses it at the expiry
        held = hold(stores, visit(f"h{i}", f"{9 + i:02d}:00", patient=f"p{i}"), by=STAFF)
        assert held is not None

        def booking(h: Hold = held) -> str:
            try:
                book_held(stores, h, HOLD_EXPIRES - timedelta(seconds=1), by=STAFF)
                return "booked"
            except InvalidState:
                return "refused"

        def lapsing(h: Hold = held) -> str:
            try:
                release_held(stores, h, HOLD_EXPIRES, lapsed=True)
                return "lapsed"
            except InvalidState:
                return "refused"

        with ThreadPoolExecutor(max_workers=2) as pool:
            results = sorted(f.result() for f in [pool.submit(booking), pool.submit(lapsing)])
        # THEN exactly one of them committed, and what the day holds is exactly what that one left
        assert results in (["booked", "refused"], ["lapsed", "refused"])
        outcomes.append(results[0])
        kept = stores.appointments.get(held.id)
        assert (kept is not None) == (results[0] == "booked")
        assert stores.appointments.get_hold(held.id) is None
    state = stores.appointments.day_state("d1", DAY)
    assert state.holds == ()
    booked = [visit(f"h{i}", f"{9 + i:02d}:00") for i, o in enumerate(outcomes) if o == "booked"]
    assert set(state.taken) == set().union(*(span(b) for b in booked)) and state.booked == len(booked)


# --- a waitlist "move me earlier": a hold booked and a later visit cancelled in one change -------------------------
MOVED_AT = HOLD_EXPIRES - timedelta(seconds=1)


def move_held(
    stores: Stores, h: Hold, before: Appointment, now: datetime, by: Caller = PATIENT, busy_version: int | None = None
) -> None:
    """The hold `h` becomes its patient's visit and that patient's visit `before` (as read) is cancelled, together."""
    after = replace(h.appointment, status=Status.SCHEDULED, reason=before.reason, updated_at=now)
    audit = audit_of(audit_id(), by, "booked", h.appointment, after, now)
    cancelled = before.with_status(Status.CANCELLED, now)
    cancel_audit = audit_of(audit_id(), by, "cancelled", before, cancelled, now)
    moved = Booking(after, audit, 20, busy_version=busy_version)
    stores.appointments.book_hold_replacing(h, moved, now, before, cancelled, cancel_audit)


def trails(stores: Stores, *appointment_ids: str) -> list[list[str]]:
    return [[e.action for e in stores.appointments.audit_trail(i)] for i in appointment_ids]


@pytest.mark.parametrize("later", [DAY, DAY + timedelta(days=7)], ids=["same-day", "another-day"])
def test_a_move_books_the_hold_and_cancels_the_later_visit_together(stores, later):
    # GIVEN p1's visit at 15:00 (booked for itself, counted as its one active booking) and a hold of 10:00 on DAY
    book(stores, visit("a1", "15:00", day=later), by=PATIENT, max_active=1)
    held = hold(stores, visit("h1", "10:00"), by=STAFF)
    assert held is not None
    old = stores.appointments.get("a1")
    version_before = stores.appointments.day_state("d1", later).version
    new_day_before = stores.appointments.day_state("d1", DAY).version
    # WHEN p1 moves to the held time before the hold expires
    move_held(stores, held, old, MOVED_AT)
    # THEN the hold is the visit at version 2, the old visit is cancelled at version 2, and the hold is gone
    new, gone = stores.appointments.get("h1"), stores.appointments.get("a1")
    assert (new.status, new.reason, new.version) == (Status.SCHEDULED, old.reason, 2)
    assert (gone.status, gone.version) == (Status.CANCELLED, 2)
    assert stores.appointments.get_hold("h1") is None
    assert stores.appointments.expired_holds(HOLD_EXPIRES + timedelta(hours=1), 10) == []
    assert trails(stores, "h1", "a1") == [["held", "booked"], ["booked", "cancelled"]]
    # AND only the new visit's time is taken and counted; the old visit's day changed once, the new one's only
    # when it is the same day
    assert taken(stores, DAY) | taken(stores, later) == span(new)
    state = stores.appointments.day_state("d1", DAY)
    assert (state.booked, state.holds) == (1, ())
    assert stores.appointments.day_state("d1", later).booked == (1 if later == DAY else 0)
    assert stores.appointments.day_state("d1", later).version == version_before + 1
    if later != DAY:
        assert stores.appointments.day_state("d1", DAY).version == new_day_before
    # AND the old time is free for another patient while the held one stays taken
    book(stores, visit("a2", "15:00", patient="p2", day=later))
    with pytest.raises(SlotUnavailable):
        book(stores, visit("a3", "10:15", patient="p2"))
    # AND p1's active-booking place and its visit of that day with d1 are given back
    book(stores, visit("a4", "11:00", day=DAY + timedelta(days=14)), by=PATIENT, max_active=1)
    if later != DAY:
        book(stores, visit("a5", "12:00", day=later), by=PATIENT)


def test_a_move_of_a_hold_that_lapsed_or_was_released_is_refused_and_changes_nothing(stores):
    # GIVEN p1's visit at 15:00 and a hold of 10:00 for p1
    book(stores, visit("a1", "15:00"))
    held = hold(stores, visit("h1", "10:00"), by=STAFF)
    assert held is not None
    old = stores.appointments.get("a1")
    state = stores.appointments.day_state("d1", DAY)
    # WHEN the move commits at the hold's expiry THEN it is refused, and neither the visit nor the hold changed
    with pytest.raises(InvalidState):
        move_held(stores, held, old, HOLD_EXPIRES)
    assert (stores.appointments.get("a1"), stores.appointments.get_hold("h1")) == (old, held)
    assert stores.appointments.day_state("d1", DAY) == state
    assert trails(stores, "h1", "a1") == [["held"], ["booked"]]
    # WHEN the visit changed since it was read (confirmed: it keeps its time) THEN the move is refused too
    confirmed = set_status(stores, old, Status.CONFIRMED)
    with pytest.raises(InvalidState):
        move_held(stores, held, old, MOVED_AT)
    assert (stores.appointments.get("a1"), stores.appointments.get_hold("h1")) == (confirmed, held)
    assert stores.appointments.day_state("d1", DAY) == state
    assert trails(stores, "h1", "a1") == [["held"], ["booked", "confirmed"]]
    # WHEN the hold was released before the move commits THEN it is refused and the visit stays as it is
    release_held(stores, held, BOOKED_AT + timedelta(minutes=1))
    with pytest.raises(InvalidState):
        move_held(stores, held, confirmed, MOVED_AT)
    assert (stores.appointments.get("a1"), stores.appointments.get("h1")) == (confirmed, None)
    state = stores.appointments.day_state("d1", DAY)
    assert (set(state.taken), state.booked, state.holds) == (span(old), 1, ())
    assert trails(stores, "h1", "a1") == [["held", "released"], ["booked", "confirmed"]]


# --- busy times from a doctor's own calendars ----------------------------------------------------------------------
def add_doctor(stores: Stores, doctor_id: str = "d1") -> None:
    stores.doctors.add(Doctor(doctor_id, "Dr. Ada Smith", "GP", "Room 1", "America/New_York", False, BOOKED_AT))


def test_busy_times_per_connection_are_merged_read_with_the_day_and_bump_both_versions(stores):
    # GIVEN two calendars' busy times on DAY, and the day's versions before
    add_doctor(stores)
    store = stores.appointments
    before_state = store.day_state("d1", DAY)
    ten, eleven = visit("x", "10:00").starts_at, visit("x", "11:00").starts_at
    store.write_busy("d1", DAY, "cal-a", [(ten, ten + timedelta(minutes=40))])
    store.write_busy("d1", DAY, "cal-b", [(ten + timedelta(minutes=30), eleven)])
    # THEN the day reads them merged, with a busy version of 2 and a new availability version
    version, busy = store.busy_of_day("d1", DAY)
    assert (version, busy) == (2, ((ten, eleven),))
    state = store.day_state("d1", DAY)
    assert (state.busy, state.busy_version) == (((ten, eleven),), 2)
    assert state.version == before_state.version + 2
    # WHEN one calendar's busy times are removed THEN the other's stay
    store.write_busy("d1", DAY, "cal-a", [])
    assert store.busy_of_day("d1", DAY) == (3, ((ten + timedelta(minutes=30), eleven),))


def test_a_booking_checked_against_an_old_busy_version_is_refused_by_its_transaction(stores):
    from chalicelib.domain.busy import BusyTimesChanged

    # GIVEN a booking checked against busy version 0, and a sync that lands before it commits
    add_doctor(stores)
    a = visit("busy-race", "14:00")
    ten = visit("x", "10:00").starts_at
    stores.appointments.write_busy("d1", DAY, "cal-a", [(ten, ten + timedelta(hours=1))])
    # WHEN it commits with the version it read THEN it is refused, and nothing of it is stored
    with pytest.raises(BusyTimesChanged):
        book(stores, a, busy_version=0)
    assert stores.appointments.get(a.id) is None
    # AND with the current version it books
    book(stores, a, busy_version=1)
    assert stores.appointments.get(a.id) is not None


def test_a_write_of_busy_times_marks_its_doctor_for_good_and_needs_the_doctor(stores):
    # GIVEN two doctors no sync wrote busy times for
    add_doctor(stores)
    add_doctor(stores, "d2")
    assert (stores.doctors.get("d1").has_busy_times, stores.doctors.get("d2").has_busy_times) == (False, False)
    ten = visit("x", "10:00").starts_at
    # WHEN a sync writes d1's busy times THEN d1 has the flag (in the same write), d2 not
    stores.appointments.write_busy("d1", DAY, "cal-a", [(ten, ten + timedelta(hours=1))])
    assert (stores.doctors.get("d1").has_busy_times, stores.doctors.get("d2").has_busy_times) == (True, False)
    # WHEN they are removed again, and the doctor's other fields change THEN the flag stays (never cleared)
    stores.appointments.write_busy("d1", DAY, "cal-a", [])
    stores.doctors.set_availability("d1", Availability(appointment_duration=20))
    stores.doctors.set_calendar_token_hash("d1", "a" * 64)
    assert stores.doctors.get("d1").has_busy_times
    assert "d1" in [d.id for d in stores.doctors.list_all() if d.has_busy_times]
    # WHEN busy times are written for a doctor that does not exist THEN refused, and nothing of it is written
    with pytest.raises(NotFound):
        stores.appointments.write_busy("nobody", DAY, "cal-a", [(ten, ten + timedelta(hours=1))])
    assert stores.appointments.busy_of_day("nobody", DAY) == (0, ())
    assert stores.doctors.get("nobody") is None


def test_a_stale_busy_guard_is_answered_before_the_other_refusals(stores):
    from chalicelib.domain.busy import BusyTimesChanged

    # GIVEN a patient at its active-booking limit, a visit at 15:00, and busy times written on the day (version 1)
    add_doctor(stores)
    book(stores, visit("held", "09:00"), max_active=1)
    book(stores, visit("other", "15:00", patient="p2"))
    ten = visit("x", "10:00").starts_at
    stores.appointments.write_busy("d1", DAY, "cal-a", [(ten, ten + timedelta(hours=1))])
    # WHEN a change checked against no busy times (version 0) is also over the limit, or over the taken 15:00
    # THEN its transaction answers the stale check first: it is checked again against the busy times, and only a
    # check made after reading them answers the limit or the taken time
    with pytest.raises(BusyTimesChanged):
        book(stores, visit("a1", "11:00"), max_active=1, busy_version=0)
    with pytest.raises(BusyTimesChanged):
        book(stores, visit("a2", "15:00", patient="p3"), busy_version=0)
    assert (stores.appointments.get("a1"), stores.appointments.get("a2")) == (None, None)
    with pytest.raises(BookingLimitReached):
        book(stores, visit("a1", "11:00"), max_active=1, busy_version=1)


def test_a_move_checked_against_an_old_busy_version_is_refused_first_and_changes_nothing(stores):
    from chalicelib.domain.busy import BusyTimesChanged

    # GIVEN p1's visit at 15:00, a hold of 10:00 for p1, and busy times written on the day since (version 1)
    add_doctor(stores)
    book(stores, visit("a1", "15:00"))
    held = hold(stores, visit("h1", "10:00"), by=STAFF)
    assert held is not None
    old = stores.appointments.get("a1")
    eleven = visit("x", "11:00").starts_at
    stores.appointments.write_busy("d1", DAY, "cal-a", [(eleven, eleven + timedelta(hours=1))])
    state = stores.appointments.day_state("d1", DAY)
    # WHEN the move commits with busy version 0 THEN it is refused as busy, before the hold's own refusal (at its
    # expiry), and nothing of it is written
    with pytest.raises(BusyTimesChanged):
        move_held(stores, held, old, MOVED_AT, busy_version=0)
    with pytest.raises(BusyTimesChanged):
        move_held(stores, held, old, HOLD_EXPIRES, busy_version=0)
    assert (stores.appointments.get("a1"), stores.appointments.get_hold("h1")) == (old, held)
    assert stores.appointments.day_state("d1", DAY) == state
    assert trails(stores, "h1", "a1") == [["held"], ["booked"]]
    # AND with the current busy version it moves
    move_held(stores, held, old, MOVED_AT, busy_version=1)
    assert (stores.appointments.get("h1").status, stores.appointments.get("a1").status) == (
        Status.SCHEDULED,
        Status.CANCELLED,
    )
