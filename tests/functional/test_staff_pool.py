"""Staff accounts come from the staff pool: a patient-pool token claiming `admins` or `doctors` is refused."""

from __future__ import annotations

from dataclasses import replace

import pytest

from chalicelib.config import Settings
from tests.helpers import token

STAFF_ISSUER = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Staff"
PATIENT_ISSUER = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Patients"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """As deployed: the stack names its staff pool's issuer."""
    return replace(settings, staff_pool_issuer=STAFF_ISSUER)


def _bearer(issuer: str, groups: list[str], sub: str = "user-1", **claims: str) -> dict[str, str]:
    body = {"sub": sub, "cognito:username": sub, "iss": issuer, "cognito:groups": groups, **claims}
    return {"Authorization": token(body)}


def test_a_patient_pool_token_claiming_admins_gets_no_admin_route(api):
    # GIVEN a token from the patient pool whose groups say `admins`
    forged = _bearer(PATIENT_ISSUER, ["admins"])
    # WHEN it asks for an admin-only route THEN it is refused, and the same claims from the staff pool pass
    refused = api.call("GET", "/api/admin/patients/patient-1/access", forged)
    assert refused.status_code == 403 and refused.data["error"]["code"] == "FORBIDDEN"
    allowed = api.call("GET", "/api/admin/patients/patient-1/access", _bearer(STAFF_ISSUER, ["admins"]))
    assert allowed.status_code == 200


def test_a_patient_pool_token_claiming_doctors_cannot_read_a_doctors_schedule(api):
    # GIVEN a doctor and a patient-pool token claiming `doctors` with that doctor's id
    staff_admin = _bearer(STAFF_ISSUER, ["admins"], sub="admin-1")
    body = {"name": "Dr. Ada Smith", "specialty": "Cardiology", "location": "Main St", "timezone": "UTC"}
    doctor = api.call("POST", "/api/admin/doctors", staff_admin, {**body, "telehealth": False}).data
    forged = _bearer(PATIENT_ISSUER, ["doctors"], **{"custom:doctor_id": doctor["id"]})
    # WHEN it reads the doctor's appointments THEN it is refused; the staff pool's doctor reads them
    path = f"/api/appointments/doctor/{doctor['id']}?from=2027-03-01&to=2027-03-31"
    assert api.call("GET", path, forged).status_code == 403
    real = _bearer(STAFF_ISSUER, ["doctors"], sub="dr-1", **{"custom:doctor_id": doctor["id"]})
    assert api.call("GET", path, real).status_code == 200


def test_a_patient_pool_token_in_patients_and_admins_is_only_a_patient(api):
    # GIVEN a patient-pool token in both `patients` and `admins` WHEN it asks for an admin route THEN 403
    both = _bearer(PATIENT_ISSUER, ["patients", "admins"], email="p@example.org", email_verified="true")
    assert api.call("GET", "/api/admin/patients/user-1/access", both).status_code == 403
    # AND it still works as a patient (its own directory record)
    assert api.call("PUT", "/api/patients/me", both).status_code == 200
