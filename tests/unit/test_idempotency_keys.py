"""Idempotency keys are scoped to their caller without ambiguity; keyed bookings get a derived id."""

from __future__ import annotations

from chalicelib.domain.idempotency import appointment_id_for, scoped_key


def test_subject_and_key_cannot_be_split_differently_into_the_same_scope():
    # GIVEN two callers whose subject:key concatenations are equal WHEN scoped THEN they differ
    assert scoped_key("a:b", "c") != scoped_key("a", "b:c")
    assert scoped_key("p1", "k") != scoped_key("p2", "k")


def test_the_same_caller_and_key_derive_the_same_appointment_id():
    # GIVEN one caller and key WHEN derived twice THEN the same id, shaped like a UUID
    first = appointment_id_for(scoped_key("p1", "k"))
    assert first == appointment_id_for(scoped_key("p1", "k"))
    assert len(first) == 36 and first.count("-") == 4
