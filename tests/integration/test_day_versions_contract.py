"""The store's batch read of day versions (the FHIR bulk publication's ETag), run against the in-memory fake, moto
and DynamoDB Local: it agrees with each day's own version, and a day never written reads 0."""

from __future__ import annotations

from datetime import timedelta

from chalicelib.domain.doctors import Doctor
from tests.integration.test_store_contracts import BOOKED_AT, DAY, book, stores, visit  # noqa: F401 - fixture


def test_day_versions_match_each_days_version_in_one_batch(stores):  # noqa: F811 - the imported fixture
    # GIVEN two doctors, one with two visits on DAY and one the day after
    stores.doctors.add(Doctor("d1", "Dr. Ada Smith", "GP", "Room 1", "America/New_York", False, BOOKED_AT))
    book(stores, visit("a1", "10:00"))
    book(stores, visit("a2", "11:00"))
    book(stores, visit("a3", "10:00", day=DAY + timedelta(days=1)))
    days = [(doctor, DAY + timedelta(days=n)) for doctor in ("d1", "d2") for n in range(120)]
    # WHEN the versions of 240 doctor-days (more than one BatchGetItem holds) are read at once
    versions = stores.appointments.day_versions(days)
    # THEN each is the day's own version, and days never written are 0
    assert set(versions) == set(days)
    assert versions[("d1", DAY)] == stores.appointments.day_state("d1", DAY).version == 2
    assert versions[("d1", DAY + timedelta(days=1))] == 1
    assert sum(versions.values()) == 3
    assert stores.appointments.day_versions([]) == {}
