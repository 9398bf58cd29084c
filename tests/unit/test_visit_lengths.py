"""Which visit lengths a patient may choose (pure rules)."""

from __future__ import annotations

import pytest

from chalicelib.domain.errors import DurationNotOffered
from chalicelib.domain.limits import check_duration
from chalicelib.domain.schedule import Availability, availability_from_dict, availability_to_dict


def test_a_patient_may_choose_the_default_length_and_the_offered_ones_only():
    # GIVEN 30-minute visits, with 15 and 60 minutes offered too
    hours = Availability(appointment_duration=30, durations=(60, 15))
    assert hours.patient_durations == (15, 30, 60)
    for minutes in (15, 30, 60):
        check_duration(hours, minutes, by_staff=False)
    # WHEN a patient picks 45 or 120 minutes THEN refused, naming the lengths it may pick
    for minutes in (45, 120):
        with pytest.raises(DurationNotOffered) as refused:
            check_duration(hours, minutes, by_staff=False)
        assert refused.value.details == {"duration": minutes, "durations": [15, 30, 60]}
    # AND staff may book them
    check_duration(hours, 120, by_staff=True)


def test_offered_lengths_are_stored_sorted_once_and_left_out_when_there_are_none():
    stored = availability_to_dict(Availability(durations=(60, 15, 60)))
    assert stored["durations"] == [15, 60]
    assert availability_from_dict(stored).durations == (15, 60)
    assert "durations" not in availability_to_dict(Availability())
    assert availability_from_dict({}).patient_durations == (30,)
