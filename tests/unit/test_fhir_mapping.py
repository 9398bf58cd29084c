"""The FHIR shapes as pure rules: ids that read back, the status table, FHIR's date search values on DST days,
string and token matching, and references."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from chalicelib.domain import fhir
from chalicelib.domain.appointments import AppointmentType, Status
from chalicelib.domain.errors import InvalidInput
from tests.helpers import make_appointment

NEW_YORK = ZoneInfo("America/New_York")


def test_every_status_of_ours_has_a_fhir_status_and_the_table_reads_both_ways():
    # GIVEN the status table WHEN each status of ours is mapped THEN it is one of FHIR's, and reads back
    assert set(fhir.APPOINTMENT_STATUS) == set(Status)
    assert set(fhir.APPOINTMENT_STATUS.values()) <= set(fhir.FHIR_APPOINTMENT_STATUSES)
    assert fhir.ours_for(["booked"]) == {Status.SCHEDULED, Status.CONFIRMED, Status.RESCHEDULED}
    assert fhir.ours_for(["fulfilled", "noshow"]) == {Status.COMPLETED, Status.NO_SHOW}
    assert fhir.ours_for(["arrived", "proposed"]) == frozenset()


def test_a_slot_id_reads_back_to_its_schedule_start_and_length():
    start = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)
    ident = fhir.slot_id("7f0c2b1e-aaaa-bbbb-cccc-123456789012", "telehealth", start, 120)
    # THEN it is a FHIR id (at most 64 characters for a UUID doctor id and the longest visit) and reads back
    assert fhir.is_id(ident) and len(ident) <= 64
    assert fhir.parse_slot_id(ident) == fhir.SlotKey("7f0c2b1e-aaaa-bbbb-cccc-123456789012", "telehealth", start, 120)


@pytest.mark.parametrize(
    "ident",
    [
        "d.in-person.202612021500",  # no length
        "d.in-person.202612021500.7",  # off the 5-minute grid
        "d.in-person.202612021500.125",  # longer than a visit may be
        "d.in-person.202612021500.0",
        "d.dental.202612021500.30",
        "d.in-person.202613021500.30",  # month 13
        "d.in-person.199912021500.30",  # before 2000
        "a.b.in-person.202612021500.30",  # a dot in the doctor id
        ".in-person.202612021500.30",
        "d.in-person.2026120215000.30",
    ],
)
def test_malformed_slot_ids_read_as_nothing(ident):
    assert fhir.parse_slot_id(ident) is None


def test_schedule_ids():
    assert fhir.parse_schedule_id(fhir.schedule_id("d1", "in-person")) == ("d1", "in-person")
    assert fhir.parse_schedule_id("d1") is None and fhir.parse_schedule_id("d1.video") is None


def test_a_location_id_is_the_place_whatever_its_case_and_spacing():
    assert fhir.location_id("Main St  Clinic") == fhir.location_id("main st clinic") != fhir.location_id("Main")
    assert fhir.is_id(fhir.location_id("Main St Clinic"))


@pytest.mark.parametrize(
    ("raw", "low", "high"),
    [
        # a date is the doctor's local day: on 2026-11-01 New York falls back, so that day lasts 25 hours
        ("eq2026-11-01", datetime(2026, 11, 1, 4, tzinfo=UTC), datetime(2026, 11, 2, 5, tzinfo=UTC)),
        ("2026-11-01", datetime(2026, 11, 1, 4, tzinfo=UTC), datetime(2026, 11, 2, 5, tzinfo=UTC)),
        ("ge2026-11-01", datetime(2026, 11, 1, 4, tzinfo=UTC), None),
        ("gt2026-11-01", datetime(2026, 11, 2, 5, tzinfo=UTC), None),
        ("le2026-11-01", None, datetime(2026, 11, 2, 5, tzinfo=UTC)),
        ("lt2026-11-01", None, datetime(2026, 11, 1, 4, tzinfo=UTC)),
        # an instant is its second, wherever its offset
        ("ge2026-12-02T10:00:00-05:00", datetime(2026, 12, 2, 15, tzinfo=UTC), None),
        ("gt2026-12-02T15:00:00Z", datetime(2026, 12, 2, 15, 0, 1, tzinfo=UTC), None),
        ("lt2026-12-02T15:00Z", None, datetime(2026, 12, 2, 15, tzinfo=UTC)),
        ("le2026-12-02T15:00:00.5Z", None, datetime(2026, 12, 2, 15, 0, 1, 500000, tzinfo=UTC)),
    ],
)
def test_date_search_values_are_half_open_utc_ranges(raw, low, high):
    assert fhir.parse_date_bound("start", raw).interval(NEW_YORK) == (low, high)


@pytest.mark.parametrize(
    "raw",
    ["", "ge", "sa2026-12-02", "2026-12", "2026-02-30", "2026-12-02T10:00", "1999-12-31", "2101-01-01", "x" * 300],
)
def test_date_search_values_fhir_does_not_define_are_refused(raw):
    with pytest.raises(InvalidInput):
        fhir.parse_date_bound("start", raw)


def test_a_window_is_what_every_bound_allows_and_its_local_days():
    bounds = [fhir.parse_date_bound("start", "ge2026-12-02"), fhir.parse_date_bound("start", "lt2026-12-09")]
    low, high = fhir.window(bounds, NEW_YORK)
    assert (low, high) == (datetime(2026, 12, 2, 5, tzinfo=UTC), datetime(2026, 12, 9, 5, tzinfo=UTC))
    assert low is not None and high is not None
    assert fhir.local_days(low, high, NEW_YORK) == [date(2026, 12, d) for d in range(2, 9)]


@pytest.mark.parametrize(
    ("value", "text", "found"),
    [
        ("ada", "Dr. Ada Smith", True),
        ("ADA SM", "Dr. Ada Smith", True),
        ("dr. ada", "Dr. Ada Smith", True),
        ("mith", "Dr. Ada Smith", False),
        ("boston", "Harbor Health, Boston", True),
        ("", "anything", True),
    ],
)
def test_string_search_matches_the_start_of_any_word(value, text, found):
    assert fhir.matches_text(value, text) is found


@pytest.mark.parametrize(
    ("token", "service"),
    [
        ("VR", "telehealth"),
        ("AMB", "in-person"),
        (f"{fhir.ACT_CODE}|VR", "telehealth"),
        ("|AMB", "in-person"),
        ("telehealth", "telehealth"),
        ("other-system|VR", None),
        ("EMER", None),
    ],
)
def test_service_tokens(token, service):
    assert fhir.service_for_token(token) == service


def test_references_name_their_type():
    assert fhir.reference_id("Practitioner/d1", "Practitioner") == "d1"
    assert fhir.reference_id("https://example.org/fhir/R4/Practitioner/d1", "Practitioner") == "d1"
    assert fhir.reference_id("d1", "Practitioner") == "d1"
    assert fhir.reference_id("Location/d1", "Practitioner") is None


def test_an_appointment_names_its_slot_patient_practitioner_and_place():
    # GIVEN a telehealth and an in-person appointment of ours
    visit = make_appointment(version=3)
    video = make_appointment(type=AppointmentType.TELEHEALTH, location="Telehealth")
    # WHEN they are mapped
    mapped, remote = fhir.appointment(visit), fhir.appointment(video)
    # THEN the in-person one has a Location participant and the telehealth one none; both name their Slot
    assert [p["actor"]["reference"].split("/")[0] for p in mapped["participant"]] == [
        "Patient",
        "Practitioner",
        "Location",
    ]
    assert [p["actor"]["reference"].split("/")[0] for p in remote["participant"]] == ["Patient", "Practitioner"]
    assert mapped["slot"] == [{"reference": "Slot/d1.in-person.202612021500.30"}]
    assert remote["slot"] == [{"reference": "Slot/d1.telehealth.202612021500.30"}]
    assert mapped["meta"]["versionId"] == "3" and mapped["status"] == "booked"


def test_an_operation_outcome_keeps_only_fhir_strings_given():
    outcome = fhir.operation_outcome("invalid", "Bad.", ["start"])
    assert outcome == {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": "invalid", "diagnostics": "Bad.", "expression": ["start"]}],
    }
