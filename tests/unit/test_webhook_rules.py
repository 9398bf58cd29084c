"""Webhook rules: which change fires which event, payload shaping, the retry schedule, delivery and subscription
states, secret rotation, and the address rules (SSRF)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.domain.errors import InvalidInput
from chalicelib.domain.timefmt import instant
from chalicelib.domain.webhooks import (
    MAX_ATTEMPTS,
    PAUSE_AFTER,
    RETRY_DELAYS,
    SECRET_GRACE,
    Change,
    Delivery,
    DeliveryStatus,
    Event,
    Outcome,
    SigningSecret,
    Subscription,
    SubscriptionState,
    after_attempt,
    check_events,
    check_url,
    event_id,
    event_types_of,
    message_body,
    refused_address,
    retry_delay,
    shaped,
    subscription_after,
)

T0 = datetime(2030, 1, 7, 9, 0, tzinfo=UTC)
VISIT = {"id": "a1", "status": "scheduled", "startsAt": "2030-01-08T15:00:00Z", "duration": 30, "doctorId": "d1"}


def change(old, new, kind="appointment", version=1) -> Change:
    return Change(kind=kind, resource_id="a1", old=old, new=new, version=version)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (None, VISIT, ["appointment.booked"]),
        (VISIT, {**VISIT, "status": "cancelled"}, ["appointment.cancelled"]),
        (VISIT, {**VISIT, "status": "rescheduled", "startsAt": "2030-01-09T15:00:00Z"}, ["appointment.rescheduled"]),
        (VISIT, {**VISIT, "duration": 60}, ["appointment.rescheduled"]),
        (VISIT, {**VISIT, "status": "confirmed"}, ["appointment.status_changed"]),
        (VISIT, {**VISIT, "status": "completed"}, ["appointment.status_changed"]),
        (VISIT, {**VISIT, "status": "no-show"}, ["appointment.status_changed"]),
        (VISIT, {**VISIT, "reminderSent": True}, []),  # bookkeeping: nothing a receiver follows
        (VISIT, None, []),  # a deleted item (TTL)
        ({**VISIT, "status": "cancelled"}, {**VISIT, "status": "cancelled", "notes": "x"}, []),
        (None, {**VISIT, "telehealthUrl": "https://app/rooms/r1"}, ["appointment.booked", "telehealth.room_ready"]),
        (None, {**VISIT, "status": "cancelled"}, []),
        (None, {**VISIT, "status": "held"}, []),  # a slot hold is not a visit
        ({**VISIT, "status": "held"}, VISIT, ["appointment.booked"]),  # booking the hold is the booking
        ({**VISIT, "status": "held"}, {**VISIT, "status": "cancelled"}, []),  # released or lapsed: nothing
        ({**VISIT, "status": "held"}, {**VISIT, "telehealthUrl": "u"}, ["appointment.booked", "telehealth.room_ready"]),
    ],
)
def test_each_appointment_change_fires_its_one_event(old, new, expected):
    assert event_types_of(change(old, new)) == expected


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        ("pending", "sent", ["reminder.sent"]),
        ("sending", "failed", ["reminder.failed"]),
        ("pending", "sending", []),
        ("sent", "sent", []),
        ("pending", "cancelled", []),
    ],
)
def test_a_reminder_fires_when_it_turns_sent_or_failed(before, after, expected):
    got = event_types_of(change({"status": before}, {"status": after, "appointmentId": "a1"}, kind="reminder"))
    assert got == expected


def test_an_event_id_is_stable_for_one_change_and_differs_between_changes():
    first = change(VISIT, {**VISIT, "status": "confirmed", "updatedAt": "x"}, version=2)
    again = change(VISIT, {**VISIT, "status": "confirmed", "updatedAt": "x"}, version=2)
    later = change(VISIT, {**VISIT, "status": "confirmed", "updatedAt": "y"}, version=3)
    kind = "appointment.status_changed"
    assert event_id(first, kind) == event_id(again, kind) != event_id(later, kind)


def test_payloads_carry_no_contact_details_at_any_depth_and_no_reason_unless_opted_in():
    data = {"id": "r1", "recipientEmail": "a@b.c", "recipientPhone": "+1", "reason": "pain", "notes": "n",
            "nested": [{"email": "x@y.z", "phone": "+2", "keep": 1}]}  # fmt: skip
    assert shaped(data, include_reason=False) == {"id": "r1", "nested": [{"keep": 1}]}
    assert shaped(data, include_reason=True) == {"id": "r1", "reason": "pain", "notes": "n", "nested": [{"keep": 1}]}


def test_the_body_is_standard_webhooks_type_timestamp_data_with_the_event_id_and_sequence():
    event = Event("evt_1", "appointment.booked", T0, "a1", 4, "d1", "L", {**VISIT, "reason": "pain"})
    body = json.loads(message_body(event, False, instant))
    assert set(body) == {"type", "timestamp", "data"}
    assert body["timestamp"] == "2030-01-07T09:00:00Z"
    assert body["data"]["eventId"] == "evt_1" and body["data"]["sequence"] == 4 and "reason" not in body["data"]


def test_the_retry_schedule_spans_more_than_three_days_even_with_the_shortest_jitter():
    shortest = sum(((retry_delay(n, -1.0) or timedelta()) for n in range(1, MAX_ATTEMPTS)), timedelta())
    longest = sum(((retry_delay(n, 1.0) or timedelta()) for n in range(1, MAX_ATTEMPTS)), timedelta())
    assert shortest >= timedelta(days=3) and longest <= timedelta(days=5)
    # seconds first, then minutes, then hours
    assert RETRY_DELAYS[0] < timedelta(minutes=1) <= RETRY_DELAYS[1] < timedelta(hours=1) <= RETRY_DELAYS[3]
    assert retry_delay(MAX_ATTEMPTS, 0.0) is None
    assert retry_delay(1, 0.5) == timedelta(seconds=5) * 1.05


def delivery(**fields) -> Delivery:
    base = Delivery("s1", "d1", "evt_1", "appointment.booked", "a1", "{}", T0, T0 + timedelta(days=30))
    return Delivery(**{**base.__dict__, **fields})


def test_attempts_move_a_delivery_through_pending_failing_delivered_and_given_up():
    failed = after_attempt(delivery(), Outcome(status_code=500), T0, 0.0)
    assert failed.status is DeliveryStatus.FAILING and failed.attempts == 1 and failed.last_status_code == 500
    assert failed.next_attempt_at == T0 + RETRY_DELAYS[0]
    timed_out = after_attempt(failed, Outcome(error="timeout"), T0, 0.0)
    assert timed_out.last_error == "timeout" and timed_out.last_status_code is None
    done = after_attempt(timed_out, Outcome(status_code=204), T0, 0.0)
    assert done.status is DeliveryStatus.DELIVERED and done.next_attempt_at is None and done.delivered_at == T0
    assert [h.get("statusCode") for h in done.history] == [500, None, 204]
    last = after_attempt(delivery(attempts=MAX_ATTEMPTS - 1), Outcome(status_code=502), T0, 0.0)
    assert last.status is DeliveryStatus.GIVEN_UP and last.next_attempt_at is None
    gone = after_attempt(delivery(), Outcome(status_code=410), T0, 0.0)
    assert gone.status is DeliveryStatus.GIVEN_UP


def subscription(**fields) -> Subscription:
    base = Subscription("s1", "https://ehr.example/h", ("appointment.booked",), SubscriptionState.ACTIVE,
                        (SigningSecret("whsec_a"),), T0, T0)  # fmt: skip
    return Subscription(**{**base.__dict__, **fields})


def test_a_subscription_is_paused_only_after_failing_for_days_and_a_success_clears_it():
    tried = after_attempt(delivery(), Outcome(status_code=500), T0, 0.0)
    first = subscription_after(subscription(), Outcome(status_code=500), tried, T0)
    assert first.state is SubscriptionState.ACTIVE and first.failing_since == T0 and first.backoff_until
    almost = subscription_after(first, Outcome(status_code=500), tried, T0 + PAUSE_AFTER - timedelta(minutes=1))
    assert almost.state is SubscriptionState.ACTIVE
    paused = subscription_after(first, Outcome(status_code=500), tried, T0 + PAUSE_AFTER)
    assert paused.state is SubscriptionState.PAUSED and paused.paused_reason == "failing"
    healed = subscription_after(first, Outcome(status_code=200), tried, T0 + timedelta(hours=1))
    assert healed.failing_since is None and healed.backoff_until is None
    gone = subscription_after(subscription(), Outcome(status_code=410), tried, T0)
    assert gone.state is SubscriptionState.PAUSED and gone.paused_reason == "gone"


def test_a_rotation_keeps_the_old_secret_signing_for_the_grace_period_only():
    rotated = subscription().rotated("whsec_b", T0)
    assert rotated.signing_secrets(T0) == ["whsec_b", "whsec_a"]
    assert rotated.signing_secrets(T0 + SECRET_GRACE) == ["whsec_b"]
    twice = rotated.rotated("whsec_c", T0 + timedelta(hours=1))
    assert twice.signing_secrets(T0 + timedelta(hours=1)) == ["whsec_c", "whsec_b"]


def test_filters_pick_the_doctor_and_location():
    event = Event("e", "appointment.booked", T0, "a1", 1, "d1", "Main St", {})
    assert subscription().wants(event)
    assert not subscription(doctor_id="d2").wants(event)
    assert not subscription(location="Elm St").wants(event)
    assert not subscription(events=("appointment.cancelled",)).wants(event)


@pytest.mark.parametrize(
    "address",
    [
        "169.254.169.254",
        "10.1.2.3",
        "172.31.0.1",
        "192.168.0.1",
        "127.0.0.1",
        "::1",
        "fe80::1",
        "fd00::1",
        "::ffff:10.0.0.1",
        "0.0.0.0",  # noqa: S104 - an address refused, not one bound
        "100.64.0.1",
        "224.0.0.1",
    ],
)
def test_private_loopback_link_local_and_reserved_addresses_are_refused(address):
    assert refused_address(address, allow_loopback=False)


def test_loopback_is_allowed_only_when_configured_and_public_addresses_always():
    assert refused_address("127.0.0.1", allow_loopback=True) is None
    assert refused_address("169.254.169.254", allow_loopback=True)
    assert refused_address("93.184.216.34", allow_loopback=False) is None


@pytest.mark.parametrize(
    "url",
    [
        "http://ehr.example/h",
        "ftp://ehr.example/h",
        "https:///h",
        "https://u:p@ehr.example/h",
        "https://ehr.example:99999/h",
        "https://10.0.0.1/h",
        "https://localhost/h",
        "https://[::1]/h",
    ],
)
def test_urls_are_refused_at_creation(url):
    with pytest.raises(InvalidInput):
        check_url(url, allow_loopback=False)


def test_http_is_allowed_only_to_loopback_in_local_runs():
    assert check_url("http://127.0.0.1:9000/h", allow_loopback=True)
    assert check_url("http://localhost:9000/h", allow_loopback=True)
    with pytest.raises(InvalidInput):
        check_url("http://ehr.example/h", allow_loopback=True)
    assert check_url("https://ehr.example/h", allow_loopback=False)


def test_unknown_event_types_are_refused_and_duplicates_dropped():
    assert check_events(["appointment.booked", "appointment.booked"]) == ("appointment.booked",)
    with pytest.raises(InvalidInput):
        check_events(["appointment.exploded"])


# --- waitlist events ------------------------------------------------------------------------------------------------
def _entry(offer=None, past=()) -> dict:
    return {
        "id": "e1",
        "doctorId": "d1",
        "status": "offered" if offer else "waiting",
        "offer": offer,
        "pastOffers": list(past),
    }


def _offer(hold: str, outcome: str) -> dict:
    return {"holdId": hold, "outcome": outcome, "time": "10:00"}


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (_entry(), _entry(_offer("h1", "pending")), ["waitlist.offered"]),
        (_entry(_offer("h1", "pending")), _entry(None, [_offer("h1", "declined")]), ["waitlist.declined"]),
        (_entry(_offer("h1", "pending")), _entry(None, [_offer("h1", "expired")]), ["waitlist.expired"]),
        (_entry(_offer("h1", "pending")), _entry(None, [_offer("h1", "accepted")]), ["waitlist.accepted"]),
        (_entry(_offer("h1", "pending")), _entry(None, [_offer("h1", "taken")]), []),
        (_entry(_offer("h1", "pending")), _entry(None, [_offer("h1", "withdrawn")]), []),
        (_entry(_offer("h1", "pending")), _entry(_offer("h1", "pending")), []),
        (None, _entry(), []),
    ],
)
def test_a_waitlist_entry_fires_an_event_only_when_an_offer_is_made_or_answered_or_lapses(old, new, expected):
    # GIVEN an entry's change WHEN its events are read THEN only an offer made, answered or lapsed fires one
    from chalicelib.domain.webhooks import Change, events_of

    change = Change(kind="waitlist", resource_id="e1", old=old, new=new, version=2)
    events = events_of(change, datetime(2026, 1, 1, tzinfo=UTC))
    assert [e.type for e in events] == expected
    # AND the event names its offer's hold, and is the same event on a stream retry
    for event in events:
        assert event.data["holdId"] == "h1" and event.appointment_id == "e1"
        assert event.id == events_of(change, datetime(2026, 1, 2, tzinfo=UTC))[0].id
