"""Model classes per configuration: two configurations side by side each reach their own tables, and binding one
rewrites nothing of the shared pynamodb models (no `Meta` or `_connection` written at run time)."""

from __future__ import annotations

from datetime import UTC, datetime

from moto import mock_aws

from chalicelib.adapters.dynamodb import models
from chalicelib.adapters.dynamodb.doctors import DynamoDoctorRepository
from chalicelib.config import Settings
from chalicelib.domain.doctors import Doctor


def settings(prefix: str) -> Settings:
    return Settings.from_env({"TABLE_PREFIX": prefix, "AWS_REGION": "us-east-1"})


def test_two_configurations_reach_their_own_tables_and_leave_the_models_as_declared():
    with mock_aws():
        # GIVEN two configurations with their own tables
        first, second = models.create_tables(settings("one")), models.create_tables(settings("two"))
        # WHEN a doctor is added through the first
        doctor = Doctor("d1", "Dr. A", "GP", "Room", "America/New_York", False, datetime(2027, 1, 4, tzinfo=UTC))
        DynamoDoctorRepository(first).add(doctor)
        # THEN only the first configuration's table holds it
        assert DynamoDoctorRepository(first).get("d1") == doctor
        assert DynamoDoctorRepository(second).get("d1") is None
        assert first.doctors.Meta.table_name == "one-doctors" and second.doctors.Meta.table_name == "two-doctors"
    # THEN the declared models are as declared: binding subclasses them, it does not rewrite them
    assert models.DoctorModel.Meta.table_name == "doctors"
    assert (
        issubclass(first.doctors, models.DoctorModel) and first.doctors.DoesNotExist is models.DoctorModel.DoesNotExist
    )
