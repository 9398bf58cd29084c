"""Idempotency keys are scoped to their caller without ambiguity."""

from __future__ import annotations

from chalicelib.domain.idempotency import scoped_key


def test_subject_and_key_cannot_be_split_differently_into_the_same_scope():
    # GIVEN two callers whose subject:key concatenations are equal WHEN scoped THEN they differ
    assert scoped_key("a:b", "c") != scoped_key("a", "b:c")
    assert scoped_key("p1", "k") != scoped_key("p2", "k")
