"""Reminder plans and messages (pure): timings, skipped past ones, DST, templates per channel and type."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.domain.appointments import Appointment, AppointmentType
from chalicelib.domain.reminders import (
    SMS_SEGMENT,
    Channel,
    Recipient,
    ReminderStatus,
    appointment_of,
    follow,
    matches_appointment,
    plan,
    render,
)
from tests.helpers import make_appointment

START = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)  # 10:00 EST
RECIPIENT = Recipient(email="pat@example.org", phone="+16175550123", push_endpoints=("arn:endpoint",))


def appointment(**overrides) -> Appointment:
    return make_appointment(**{"id": "appt-1", **overrides})


def test_one_reminder_per_channel_and_timing_at_the_right_instants():
    now = START - timedelta(days=3)
    planned, skipped = plan(appointment(), [Channel.EMAIL, Channel.SMS], ["24h", "2h"], RECIPIENT, None, now)
    assert skipped == []
    assert {(r.channel, r.timing, r.scheduled_time) for r in planned} == {
        (Channel.EMAIL, "24h", START - timedelta(hours=24)),
        (Channel.EMAIL, "2h", START - timedelta(hours=2)),
        (Channel.SMS, "24h", START - timedelta(hours=24)),
        (Channel.SMS, "2h", START - timedelta(hours=2)),
    }
    assert all(r.status is ReminderStatus.PENDING for r in planned)
    email = next(r for r in planned if r.channel is Channel.EMAIL)
    assert email.recipient_email == "pat@example.org" and email.recipient_phone is None
    assert appointment_of(email.id) == "appt-1"


def test_timings_already_past_are_skipped_and_said_so():
    now = START - timedelta(hours=3)
    planned, skipped = plan(appointment(), [Channel.EMAIL], ["24h", "2h", "15m"], RECIPIENT, None, now)
    assert [r.timing for r in planned] == ["2h", "15m"]
    assert [(s.channel, s.timing) for s in skipped] == [(Channel.EMAIL, "24h")]


def test_dst_day_reminder_is_twenty_four_real_hours_before_and_names_the_new_zone():
    # 2026-03-08 10:00 EDT in New York (clocks sprang forward that night) = 14:00Z
    start = datetime(2026, 3, 8, 14, 0, tzinfo=UTC)
    moved = appointment(starts_at=start, ends_at=start + timedelta(minutes=30), date="2026-03-08")
    planned, _ = plan(moved, [Channel.EMAIL], ["24h"], RECIPIENT, None, start - timedelta(days=2))
    assert planned[0].scheduled_time == datetime(2026, 3, 7, 14, 0, tzinfo=UTC)  # 09:00 EST the day before
    assert "10:00 AM EDT" in planned[0].message


def test_in_person_message_uses_the_seed_wording():
    text = render(Channel.EMAIL, appointment()).text
    assert text.startswith(
        "Reminder: Your appointment with Dr. Ada Smith is scheduled for Wednesday, December 2, 2026 at 10:00 AM EST."
    )
    assert "Please arrive 10 minutes early. Location: Boston Heart Center, 12 Main St" in text


def test_telehealth_message_has_the_secure_link_notice_and_no_address():
    text = render(Channel.EMAIL, appointment(type=AppointmentType.TELEHEALTH, location="Telehealth")).text
    assert "secure link" in text and "arrive" not in text


@pytest.mark.parametrize("channel", list(Channel))
@pytest.mark.parametrize("kind", list(AppointmentType))
def test_no_message_carries_the_reason_and_sms_fits_one_segment(channel, kind):
    long_place = appointment(
        type=kind, location="Massachusetts General Hospital, Yawkey Building, Suite 5B, 55 Fruit St"
    )
    message = render(channel, long_place, "Bring your insurance card.")
    for part in (message.text, message.html, message.subject):
        assert "chest pain" not in part and "dizziness" not in part
    assert "Bring your insurance card." in message.text
    if channel is Channel.SMS:
        assert len(message.text) <= SMS_SEGMENT
        assert "10:00 AM EST" in message.text


def test_html_escapes_what_it_shows():
    message = render(Channel.EMAIL, appointment(location="<b>Room 4</b>"))
    assert "<b>Room 4</b>" not in message.html and "&lt;b&gt;Room 4&lt;/b&gt;" in message.html


def test_a_moved_appointment_carries_its_pending_reminders_or_cancels_the_late_ones():
    now = START - timedelta(days=3)
    planned, _ = plan(appointment(), [Channel.EMAIL], ["24h", "2h"], RECIPIENT, None, now)
    later = appointment(starts_at=START + timedelta(days=1), ends_at=START + timedelta(days=1, minutes=30))
    moved = [follow(r, later, now) for r in planned]
    assert [r.scheduled_time for r in moved] == [
        later.starts_at - timedelta(hours=24),
        later.starts_at - timedelta(hours=2),
    ]
    assert all(matches_appointment(r, later) for r in moved)
    assert not any(matches_appointment(r, appointment()) for r in moved)
    sooner = appointment(starts_at=now + timedelta(hours=5), ends_at=now + timedelta(hours=5, minutes=30))
    followed = [follow(r, sooner, now) for r in planned]
    assert [r.status for r in followed] == [ReminderStatus.CANCELLED, ReminderStatus.PENDING]
