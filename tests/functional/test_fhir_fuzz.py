"""No query string, id or body makes a FHIR route answer 500: whatever arrives, the answer is FHIR JSON that the
outside models accept, a resource or Bundle or an OperationOutcome with a 4xx."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.api.fhir import FIND_PARAMS, SEARCHES
from tests.functional.fhir_support import BASE, validated
from tests.functional.test_fhir_system_clients import system
from tests.helpers import SequentialIds, admin, doctor, patient, token

SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
NAMES = [
    *sorted({n for params in SEARCHES.values() for n in params} | set(FIND_PARAMS)),
    *("_count", "_page_token", "_format", "name:exact", "_sort", ""),
]
VALUES = st.one_of(
    st.sampled_from(
        [
            "ge2026-12-02",
            "lt2026-12-09",
            "2026-12-02",
            "gt2026-12-02T10:00:00Z",
            "le2026-12-02T10:00:00+14:00",
            "eq2101-01-01",
            "ge0001-01-01",
            "ap2026-12-02",
            "Schedule/d.in-person",
            "Practitioner/d",
            "Location/x",
            "Patient/patient-1",
            "free",
            "busy,free",
            "booked",
            "VR",
            "AMB",
            "|VR",
            "x|AMB",
            "true",
            "50",
            "0",
            "-1",
            "99999999999999999999",
            "",
            "2026-02-30",
            "2026-12-02T25:00:00Z",
        ]
    ),
    st.text(max_size=40),
    st.text(alphabet="0123456789-:TZ+.geltqp/|,", max_size=30),
)
PATHS = [
    *("Practitioner", "Location", "Schedule", "Slot", "Appointment", "Appointment/$find", "Patient", "metadata"),
    "Observation",
]
IDS = st.one_of(
    st.sampled_from(
        ["d.in-person", "d.telehealth", "d.in-person.202612021400.30", "patient-1", "id-000001", "$find", "x" * 64]
    ),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-._~%$", min_size=1, max_size=80),
)
NOBODY = {"Authorization": token({"cognito:username": "nobody"})}
"""A token that names no one: the app's 401 (a request without a token never reaches the app: the FHIR routes'
Lambda authorizer refuses it, deployed as locally)."""
WHO = st.sampled_from([patient(), patient("patient-2"), admin(), doctor("d"), NOBODY])
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)
PARAMETER = st.fixed_dictionaries(
    {"name": st.sampled_from([*FIND_PARAMS, "x", ""])},
    optional={
        "valueDate": VALUES | JSON,
        "valueDateTime": VALUES,
        "valueInteger": st.integers() | JSON,
        "valueReference": st.fixed_dictionaries({"reference": VALUES}) | JSON,
        "valueCoding": st.fixed_dictionaries({"code": VALUES}, optional={"system": VALUES}) | JSON,
        "valueString": VALUES,
        "part": JSON,
    },
)
BODIES = st.one_of(
    st.fixed_dictionaries(
        {"resourceType": st.just("Parameters")}, optional={"parameter": st.lists(PARAMETER, max_size=6) | JSON}
    ),
    JSON.map(json.dumps),
    st.binary(max_size=64),
    st.text(max_size=64),
)


class DoctorD:
    """Ids as the container makes them, the first being `d`: the doctor the strategies name."""

    def __init__(self) -> None:
        self._rest = SequentialIds()
        self._first = True

    def new_id(self) -> str:
        if self._first:
            self._first = False
            return "d"
        return self._rest.new_id()


@pytest.fixture
def ids() -> DoctorD:
    return DoctorD()


@pytest.fixture
def wired_doctor(api):
    """The doctor `d` with working hours, and patient-1's visit with it (`id-000001`)."""
    doc = api.doctor_with_hours()
    assert doc["id"] == "d"
    assert api.book(doc)["id"] == "id-000001"
    return doc


def check(response: Any) -> None:
    assert response.status_code < 500, response.body
    assert response.headers["Content-Type"] == "application/fhir+json", response.headers
    body = json.loads(response.body)
    validated(body)
    if response.status_code >= 400:
        assert body["resourceType"] == "OperationOutcome", body


@given(
    path=st.sampled_from(PATHS),
    pairs=st.lists(st.tuples(st.sampled_from(NAMES) | st.text(max_size=10), VALUES), max_size=6),
    who=WHO,
)
@SETTINGS
def test_no_query_string_makes_a_search_answer_500(api, wired_doctor, path, pairs, who):
    query = urlencode([(name, value) for name, value in pairs])
    response = api.http.request("GET", f"{BASE}/{path}?{query}" if query else f"{BASE}/{path}", headers=who)
    check(response)


@given(
    resource=st.sampled_from(["Practitioner", "Location", "Schedule", "Slot", "Appointment", "Patient", "Basic"]),
    ident=IDS,
)
@SETTINGS
def test_no_id_makes_a_read_answer_500(api, wired_doctor, resource, ident):
    check(api.http.request("GET", f"{BASE}/{resource}/{quote(ident, safe='$')}", headers=admin()))


@given(body=BODIES, who=WHO, content_type=st.sampled_from(["application/fhir+json", "application/json"]))
@SETTINGS
def test_no_body_makes_find_answer_500(api, wired_doctor, body, who, content_type):
    payload = body if isinstance(body, str | bytes) else json.dumps(body)
    headers = {**who, "Content-Type": content_type}
    response = api.http.request("POST", f"{BASE}/Appointment/$find", headers=headers, body=payload)
    check(response)


def test_a_large_body_is_too_long(api, wired_doctor):
    # GIVEN a body over 64 KiB WHEN it is POSTed to $find THEN 413 too-long, as an OperationOutcome
    response = api.http.request(
        "POST",
        f"{BASE}/Appointment/$find",
        headers={**patient(), "Content-Type": "application/fhir+json"},
        body=json.dumps({"resourceType": "Parameters", "x": "y" * 70_000}),
    )
    check(response)
    assert response.status_code == 413


@given(pairs=st.lists(st.tuples(st.just("start"), VALUES), min_size=0, max_size=3), who=WHO)
@SETTINGS
def test_no_slot_range_makes_a_slot_search_answer_500(api, wired_doctor, pairs, who):
    query = urlencode([("schedule", "Schedule/d.in-person"), *pairs])
    check(api.http.request("GET", f"{BASE}/Slot?{query}", headers=who))


# --- the writes: $hold, $book, PATCH and PUT ------------------------------------------------------------------------
PROPOSED = {
    "resourceType": "Appointment",
    "status": "proposed",
    "start": "2026-12-02T15:30:00Z",
    "end": "2026-12-02T16:00:00Z",
    "minutesDuration": 30,
    "serviceType": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"}]}],
    "slot": [{"reference": "Slot/d.in-person.202612021530.30"}],
    "participant": [
        {"actor": {"reference": "Practitioner/d"}, "status": "needs-action"},
        {"actor": {"reference": "Patient/patient-1"}, "status": "needs-action"},
    ],
    "reasonCode": [{"text": "Check-up"}],
}
APPOINTMENT_FIELDS = st.sampled_from(
    ["id", "start", "end", "minutesDuration", "serviceType", "slot", "participant", "reasonCode", "status", "x"]
)
APPOINTMENTS = st.one_of(
    st.dictionaries(APPOINTMENT_FIELDS, JSON | VALUES, max_size=4).map(lambda changes: {**PROPOSED, **changes}),
    st.lists(APPOINTMENT_FIELDS, max_size=4).map(lambda gone: {k: v for k, v in PROPOSED.items() if k not in gone}),
    JSON,
)
OPERATION_VALUES = st.one_of(
    VALUES,
    IDS,
    st.sampled_from(["d.in-person.202612021530.30", "Slot/d.in-person.202612021600.30", "id-000001", "Patient/p"]),
)
OPERATION_PARAMETER = st.one_of(
    st.fixed_dictionaries(
        {"name": st.sampled_from(["appt-id", "patient-id", "cancelled-appt-id", "comment", "x", ""])},
        optional={
            "valueString": OPERATION_VALUES | JSON,
            "valueId": OPERATION_VALUES,
            "valueUri": OPERATION_VALUES,
            "valueReference": st.fixed_dictionaries({"reference": OPERATION_VALUES}) | JSON,
            "resource": APPOINTMENTS,
        },
    ),
    st.fixed_dictionaries({"name": st.just("appt-resource"), "resource": APPOINTMENTS}),
    JSON,
)
EXTRA_PARAMETERS: list[dict[str, Any]] = [
    {"name": "patient-id", "valueString": "Patient/patient-1"},
    {"name": "patient-id", "valueReference": {"reference": "Patient/patient-2"}},
    {"name": "comment", "valueString": "From the fuzz"},
    {"name": "comment", "valueString": " "},
    {"name": "cancelled-appt-id", "valueString": "Appointment/id-000001"},
    {"name": "cancelled-appt-id", "valueString": "nothing"},
]
NEARLY_VALID = st.tuples(
    st.one_of(
        OPERATION_VALUES.map(lambda v: {"name": "appt-id", "valueString": v}),
        APPOINTMENTS.map(lambda r: {"name": "appt-resource", "resource": r}),
    ),
    st.lists(st.sampled_from(EXTRA_PARAMETERS), max_size=2, unique_by=lambda p: str(p["name"])),
).map(lambda parts: {"resourceType": "Parameters", "parameter": [parts[0], *parts[1]]})
"""Bodies that pass the shape checks, so the fuzz reaches the use cases (holds, bookings, moves, refusals)."""
OPERATION_BODIES = st.one_of(
    NEARLY_VALID,
    NEARLY_VALID,
    st.fixed_dictionaries(
        {"resourceType": st.just("Parameters")},
        optional={"parameter": st.lists(OPERATION_PARAMETER, max_size=4) | JSON},
    ),
    JSON.map(json.dumps),
    st.binary(max_size=64),
)
SYSTEM_WHO = st.sampled_from(
    [system("system/Appointment.cruds"), system("system/Appointment.c"), system("system/Appointment.u")]
)


@given(operation=st.sampled_from(["$hold", "$book", "%24book"]), body=OPERATION_BODIES, who=WHO | SYSTEM_WHO)
@SETTINGS
def test_no_body_makes_hold_or_book_answer_500(api, wired_doctor, operation, body, who):
    payload = body if isinstance(body, str | bytes) else json.dumps(body)
    headers = {**who, "Content-Type": "application/fhir+json"}
    check(api.http.request("POST", f"{BASE}/Appointment/{operation}", headers=headers, body=payload))


PATCH_OPERATION = st.fixed_dictionaries(
    {},
    optional={
        "op": st.sampled_from(["replace", "add", "remove", "test"]) | JSON,
        "path": st.sampled_from(["/status", "/start", "status", ""]) | JSON,
        "value": st.sampled_from(["cancelled", "fulfilled", "noshow", "booked", "arrived", "pending"]) | JSON,
        "from": JSON,
    },
)


@given(
    ident=st.sampled_from(["id-000001", "nothing", "$hold"]) | IDS,
    body=st.lists(PATCH_OPERATION, max_size=3).map(json.dumps) | JSON.map(json.dumps) | st.binary(max_size=32),
    who=WHO | SYSTEM_WHO,
    content_type=st.sampled_from(["application/json-patch+json", "application/fhir+json", "application/json"]),
)
@SETTINGS
def test_no_patch_makes_an_appointment_answer_500(api, wired_doctor, ident, body, who, content_type):
    headers = {**who, "Content-Type": content_type}
    path = f"{BASE}/Appointment/{quote(ident, safe='$')}"
    check(api.http.request("PATCH", path, headers=headers, body=body))


@given(
    ident=st.sampled_from(["id-000001", "nothing"]),
    body=st.dictionaries(APPOINTMENT_FIELDS, JSON | VALUES, max_size=4).map(
        lambda changes: {"resourceType": "Appointment", "id": "id-000001", "status": "cancelled", **changes}
    )
    | JSON,
    who=WHO | SYSTEM_WHO,
)
@SETTINGS
def test_no_put_makes_an_appointment_answer_500(api, wired_doctor, ident, body, who):
    headers = {**who, "Content-Type": "application/fhir+json"}
    check(api.http.request("PUT", f"{BASE}/Appointment/{ident}", headers=headers, body=json.dumps(body)))
