"""Reminder rules (pure): which timings a visit gets, the retry backoff and its attempts limit, an admin's
resend."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from chalicelib.domain.appointments import AppointmentType
from chalicelib.domain.errors import Conflict, InvalidInput, InvalidState
from chalicelib.domain.reminders import (
    DEFAULT_TIMING,
    LINK_TIMING,
    MAX_ATTEMPTS,
    OUTCOME_UNKNOWN,
    RESEND_AFTER,
    Channel,
    MessageSlot,
    Recipient,
    ReminderKind,
    ReminderPreferences,
    ReminderRequest,
    ReminderStatus,
    claimed_from,
    custom_timing,
    edited,
    message_slot,
    plan,
    resent,
    retry_at,
    timings_for,
)
from tests.helpers import make_appointment

NOW = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)


# --- timings ------------------------------------------------------------------------------------------------------
def test_the_requested_timings_are_kept_in_order():
    # GIVEN a request for two timings WHEN its timings are decided THEN they are those two
    assert timings_for(["2h", "24h"]) == ["2h", "24h"]


def test_a_single_timing_is_used_when_no_list_is_given():
    assert timings_for(None, "30m") == ["30m"]


@pytest.mark.parametrize("requested", [None, []])
def test_nothing_requested_gets_the_default_timing(requested):
    # GIVEN no timing at all (absent or an empty list) WHEN decided THEN the default, once
    assert timings_for(requested, None) == [DEFAULT_TIMING]


def test_a_list_wins_over_the_single_timing():
    assert timings_for(["2h"], "30m") == ["2h"]


def test_a_video_visit_with_a_link_also_gets_the_link_reminder():
    # GIVEN a video visit whose room gives a link WHEN its timings are decided THEN the link reminder is added
    assert timings_for(["24h"], video_link=True) == ["24h", LINK_TIMING]
    assert timings_for(None, None, video_link=True) == [DEFAULT_TIMING, LINK_TIMING]


def test_the_link_reminder_is_never_added_twice():
    # GIVEN the patient asked for the link timing already WHEN decided THEN it appears once
    assert timings_for([LINK_TIMING, "24h"], video_link=True) == [LINK_TIMING, "24h"]


def test_a_visit_without_a_link_gets_no_link_reminder():
    assert LINK_TIMING not in timings_for(["24h", "2h"], video_link=False)


def test_the_link_reminder_carries_the_link_and_the_others_do_not():
    # GIVEN a telehealth visit with a link, planned with the timings a booking gets
    visit = make_appointment(
        type=AppointmentType.TELEHEALTH, location="Telehealth", telehealth_url="https://clinic.example/rooms/r1"
    )
    timings = timings_for(["24h"], video_link=True)
    # WHEN planned a week ahead
    planned, _ = plan(
        visit, [Channel.EMAIL], timings, Recipient(email="p@example.org"), None, visit.starts_at - timedelta(days=7)
    )
    # THEN only the link reminder's message holds the link
    messages = {r.timing: r.message for r in planned}
    assert "https://clinic.example/rooms/r1" in messages[LINK_TIMING]
    assert "https://clinic.example/rooms/r1" not in messages["24h"]


# --- retries ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("attempts", "minutes"), [(0, 1), (1, 2), (2, 4), (3, 8), (4, 16)])
def test_a_throttled_send_is_tried_again_with_exponential_backoff(attempts, minutes):
    # GIVEN a reminder claimed `attempts` times WHEN its send is throttled THEN it is due again after the backoff
    assert retry_at(attempts, NOW) == NOW + timedelta(minutes=minutes)


@pytest.mark.parametrize("attempts", [MAX_ATTEMPTS, MAX_ATTEMPTS + 1])
def test_after_the_last_attempt_there_is_no_retry(attempts):
    # GIVEN a reminder that had every attempt WHEN its send is throttled again THEN it is not retried (it fails)
    assert retry_at(attempts, NOW) is None


def test_the_attempt_before_the_limit_is_still_retried():
    assert retry_at(MAX_ATTEMPTS - 1, NOW) is not None


# --- a booking's reminder preferences ------------------------------------------------------------------------------
STORED = {"email": True, "sms": False, "push": True, "timings": ["24h", "2h"], "customMessage": "Bring the letter."}


def test_stored_preferences_read_as_typed_values_and_write_back_the_same():
    # GIVEN a booking's preferences as the appointment keeps them WHEN read THEN typed, and written back unchanged
    prefs = ReminderPreferences.of_stored(STORED)
    assert prefs == ReminderPreferences((Channel.EMAIL, Channel.PUSH), ("24h", "2h"), None, "Bring the letter.")
    assert prefs.stored() == STORED
    assert ReminderPreferences.of_stored(prefs.stored()) == prefs


def test_preferences_ask_for_their_channels_and_timings_and_a_video_visit_also_gets_its_link():
    # GIVEN e-mail at one timing WHEN asked for a video visit in Spanish THEN the link's timing is added
    prefs = ReminderPreferences.of_stored({"email": True, "timing": "2h"})
    assert prefs.request(video_link=True, request_language="es") == ReminderRequest(
        (Channel.EMAIL,), ["2h", LINK_TIMING], None, "es"
    )
    # AND with no timing at all THEN the default one
    assert ReminderPreferences.of_stored({"sms": True}).request().timings == [DEFAULT_TIMING]


# --- the patient's daily message cap -------------------------------------------------------------------------------
def test_a_message_slot_is_of_the_utc_day_of_the_send():
    # GIVEN a send at 20:00 in New York (01:00 UTC the next day) THEN the message counts on the UTC day
    late = datetime(2027, 3, 1, 20, 0, tzinfo=ZoneInfo("America/New_York"))
    assert message_slot("p1", late, 12) == MessageSlot("p1", "2027-03-02", 12)


def test_a_cap_of_nought_lets_no_message_through():
    # GIVEN a cap of nought THEN no slot is open (the count's condition, below the cap or none yet, assumes one)
    assert not message_slot("p1", datetime(2027, 3, 1, tzinfo=UTC), 0).open
    assert message_slot("p1", datetime(2027, 3, 1, tzinfo=UTC), 1).open


def test_a_reminder_claimed_from_the_sweeps_image_is_sending_with_one_more_attempt():
    # GIVEN a pending reminder as the sweep read it WHEN its claim commits THEN it is what the claim wrote
    seen = failed_push("x")
    pending = replace(seen, status=ReminderStatus.PENDING, attempts=2)
    claimed = claimed_from(pending, NOW)
    assert (claimed.status, claimed.attempts, claimed.updated_at) == (ReminderStatus.SENDING, 3, NOW)


# --- an admin's resend ----------------------------------------------------------------------------------------------
def failed_push(last_error: str):
    visit = make_appointment(starts_at=NOW + timedelta(days=2), ends_at=NOW + timedelta(days=2, minutes=30))
    planned, _ = plan(visit, [Channel.PUSH], ["24h"], Recipient(push_endpoints=("arn:a", "arn:b")), None, NOW)
    return replace(
        planned[0], status=ReminderStatus.FAILED, attempts=MAX_ATTEMPTS, served=("arn:a",), last_error=last_error
    )


def test_a_resent_reminder_is_pending_with_fresh_attempts_and_due_shortly():
    # GIVEN a reminder that failed after its attempts WHEN an admin retries it
    again = resent(failed_push("gave up after 5 attempts: throttled"), NOW)
    # THEN it is pending, with fresh attempts, due a minute later, and skips the device served before
    assert (again.status, again.attempts, again.scheduled_time) == (ReminderStatus.PENDING, 0, NOW + RESEND_AFTER)
    assert again.updated_at == NOW and again.served == ("arn:a",)


def test_a_resend_after_an_unknown_outcome_recorded_without_its_devices_goes_to_every_device():
    # GIVEN a reminder whose outcome is unknown, recorded before unknown devices were kept apart (the admin
    # confirmed the resend) THEN no device is skipped
    again = resent(failed_push(f"{OUTCOME_UNKNOWN} (push to 1 device(s))"), NOW)
    assert again.served == ()


def test_a_confirmed_resend_goes_to_the_devices_whose_outcome_is_unknown_not_to_those_served():
    # GIVEN a push served to one device and of unknown outcome on another
    failed = replace(failed_push(f"{OUTCOME_UNKNOWN} (push to 1 device(s))"), served=("arn:a", "arn:b"))
    # WHEN an admin confirms its resend
    again = resent(replace(failed, unknown_devices=("arn:b",)), NOW)
    # THEN the served device is still skipped, the unknown one is not, and nothing is unknown any more
    assert (again.served, again.unknown_devices) == (("arn:a",), ())


# --- a pending reminder edited ------------------------------------------------------------------------------------
def pending_email(custom_message: str | None = None):
    visit = make_appointment(starts_at=NOW + timedelta(days=2), ends_at=NOW + timedelta(days=2, minutes=30))
    planned, _ = plan(visit, [Channel.EMAIL], ["24h"], Recipient(email="p@example.org"), custom_message, NOW)
    return planned[0], visit


def test_a_reminder_moved_to_another_timing_is_sent_that_long_before_the_visit():
    # GIVEN a pending 24h reminder WHEN moved to 2h THEN it is due two hours before the visit, rewritten now
    reminder, visit = pending_email()
    moved = edited(reminder, visit, NOW, timing="2h")
    assert (moved.timing, moved.scheduled_time, moved.updated_at) == ("2h", visit.starts_at - timedelta(hours=2), NOW)


def test_a_reminder_moved_to_an_instant_gets_a_custom_timing():
    reminder, visit = pending_email()
    at = NOW + timedelta(hours=5)
    moved = edited(reminder, visit, NOW, scheduled_time=at)
    assert (moved.timing, moved.scheduled_time) == (custom_timing(at), at)


def test_a_timing_wins_over_an_instant():
    reminder, visit = pending_email()
    moved = edited(reminder, visit, NOW, timing="2h", scheduled_time=NOW + timedelta(hours=5))
    assert moved.timing == "2h"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"scheduled_time": NOW}, "scheduledTime"),  # not in the future
        ({"scheduled_time": NOW - timedelta(minutes=1)}, "scheduledTime"),
        ({"scheduled_time": NOW + timedelta(days=2)}, "scheduledTime"),  # the visit's start itself
        ({"scheduled_time": NOW + timedelta(days=3)}, "scheduledTime"),  # after the visit
    ],
)
def test_a_reminder_cannot_be_moved_out_of_the_window_between_now_and_the_visit(change, field):
    # GIVEN a pending reminder WHEN moved to now, the past, or the visit's start or later THEN it is refused
    reminder, visit = pending_email()
    with pytest.raises(InvalidInput) as refused:
        edited(reminder, visit, NOW, **change)
    assert field in (refused.value.details or {})["fields"]


def test_a_timing_already_past_is_refused_and_names_the_timing():
    # GIVEN a visit 90 minutes ahead WHEN its reminder is moved to 2h before THEN the timing is refused
    reminder, _ = pending_email()
    soon = make_appointment(starts_at=NOW + timedelta(minutes=90), ends_at=NOW + timedelta(minutes=120))
    with pytest.raises(InvalidInput) as refused:
        edited(reminder, soon, NOW, timing="2h")
    assert (refused.value.details or {})["fields"] == {"timing": "not between now and the appointment"}


@pytest.mark.parametrize("status", [ReminderStatus.SENT, ReminderStatus.SENDING, ReminderStatus.CANCELLED])
def test_only_a_pending_reminder_can_be_edited(status):
    reminder, visit = pending_email()
    with pytest.raises(InvalidState):
        edited(replace(reminder, status=status), visit, NOW, timing="2h")


def test_a_new_message_is_added_to_the_text_and_an_empty_one_removes_it():
    # GIVEN a pending reminder WHEN staff add a message THEN the text carries it, at the same time
    reminder, visit = pending_email()
    with_note = edited(reminder, visit, NOW, custom_message="Bring your insurance card.")
    assert with_note.message.endswith("Bring your insurance card.")
    assert with_note.scheduled_time == reminder.scheduled_time
    # WHEN the message is emptied THEN it is gone from the reminder and its text
    without = edited(with_note, visit, NOW, custom_message="")
    assert without.custom_message is None and "insurance" not in without.message


# --- no second reminder of a kind on a channel at one moment ---------------------------------------------------------
def visit_with_email_at(*timings: str):
    visit = make_appointment(starts_at=NOW + timedelta(days=2), ends_at=NOW + timedelta(days=2, minutes=30))
    planned, _ = plan(
        visit, [Channel.EMAIL, Channel.SMS], list(timings), Recipient("p@example.org", "+15550100"), None, NOW
    )
    return planned, visit


def test_moving_onto_a_timing_the_channel_has_is_a_conflict():
    # GIVEN e-mails at 24 h and 2 h WHEN the 2-hour one is moved to 24 h THEN it is refused, naming the other
    planned, visit = visit_with_email_at("24h", "2h")
    two_hours = next(r for r in planned if r.id.endswith("email-2h"))
    with pytest.raises(Conflict) as refused:
        edited(two_hours, visit, NOW, timing="24h", others=planned)
    assert (refused.value.details or {})["reminderId"].endswith("email-24h")


def test_a_cancelled_reminder_or_another_channel_leaves_the_timing_free():
    # GIVEN an e-mail at 2 h, a cancelled e-mail at 24 h and an SMS at 24 h
    planned, visit = visit_with_email_at("24h", "2h")
    others = [replace(r, status=ReminderStatus.CANCELLED) if r.id.endswith("email-24h") else r for r in planned]
    two_hours = next(r for r in planned if r.id.endswith("email-2h"))
    # WHEN the 2-hour e-mail is moved to 24 h THEN it is
    assert edited(two_hours, visit, NOW, timing="24h", others=others).timing == "24h"


def test_the_video_link_reminder_keeps_its_moment_and_its_link():
    # GIVEN a video visit's link reminder
    visit = make_appointment(
        starts_at=NOW + timedelta(days=2),
        ends_at=NOW + timedelta(days=2, minutes=30),
        type=AppointmentType.TELEHEALTH,
        telehealth_url="https://clinic.example/rooms/r1",
    )
    planned, _ = plan(visit, [Channel.EMAIL], ["24h", LINK_TIMING], Recipient("p@example.org"), None, NOW)
    link = next(r for r in planned if r.timing == LINK_TIMING)
    assert (link.kind, planned[0].kind) == (ReminderKind.VIDEO_LINK, ReminderKind.REMINDER)
    # WHEN it is moved THEN that is refused
    with pytest.raises(InvalidState):
        edited(link, visit, NOW, timing="2h", others=planned)
    # WHEN only its message changes THEN it still carries the link
    worded = edited(link, visit, NOW, custom_message="Test your camera")
    assert "https://clinic.example/rooms/r1" in worded.message and worded.kind is ReminderKind.VIDEO_LINK
