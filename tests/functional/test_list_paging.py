"""The patient and doctor lists page in DynamoDB: each page is one Query with Limit and ExclusiveStartKey, and its
`nextToken` is signed and good only for the list (route, id and filters) that gave it out."""

from __future__ import annotations

import base64
import json

import pytest

from tests.helpers import admin, patient

TIMES = ("09:00", "09:30", "10:00", "10:30", "11:00", "11:30", "13:00")


@pytest.fixture
def queries(wired):
    """The parameters of every DynamoDB Query the app sends (botocore's own hook, nothing patched)."""
    seen: list[dict] = []

    def record(params, **_):
        seen.append(dict(params))

    for client in wired.store.botocore_clients():
        client.meta.events.register("provide-client-params.dynamodb.Query", record)
    return seen


@pytest.fixture
def booked(api):
    """Seven visits of patient-1 with one doctor on 2026-12-02 (booked by staff)."""
    doc = api.doctor_with_hours()
    api.call("PUT", "/api/patients/me", patient())
    for at in TIMES:
        api.book(doc, admin(), patientId="patient-1", time=at)
    return doc


def walk(api, path, who, limit):
    pages, token = [], None
    while True:
        sep = "&" if "?" in path else "?"
        answer = api.call("GET", f"{path}{sep}limit={limit}" + (f"&nextToken={token}" if token else ""), who)
        assert answer.status_code == 200, answer.data
        pages.append([a["time"] for a in answer.data["appointments"]])
        token = answer.data.get("nextToken")
        if not token:
            return pages


@pytest.mark.parametrize("whose", ["patient", "doctor"])
def test_each_page_is_one_limited_query_that_starts_after_the_last_shown(api, booked, queries, whose):
    path = "/api/appointments/patient/patient-1" if whose == "patient" else f"/api/appointments/doctor/{booked['id']}"
    who = patient() if whose == "patient" else admin()
    queries.clear()
    # WHEN the list is read 3 at a time
    pages = walk(api, path, who, 3)
    # THEN the pages follow start order, and each was one Query of the list's index with Limit 4 (a page and
    # one more, to know whether more remain), the later ones starting after the last item shown
    assert pages == [list(TIMES[:3]), list(TIMES[3:6]), list(TIMES[6:])]
    listed = [q for q in queries if q.get("IndexName") == f"{whose}-index"]
    assert [q["Limit"] for q in listed] == [4, 4, 4]
    assert "ExclusiveStartKey" not in listed[0]
    assert [q["ExclusiveStartKey"]["starts_at"]["S"] for q in listed[1:]] == [
        "2026-12-02T15:00:00Z",  # 10:00 in New York
        "2026-12-02T16:30:00Z",
    ]


def test_a_token_is_refused_when_edited_or_used_on_another_list(api, booked):
    first = api.call("GET", "/api/appointments/patient/patient-1?limit=2", patient()).data
    token = first["nextToken"]
    payload, mac = token.split(".")
    # GIVEN a token whose position was edited (an earlier start), its signature kept
    raw = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    raw["after"][0] = "2000-01-01T00:00:00Z"
    edited = base64.urlsafe_b64encode(json.dumps(raw).encode()).rstrip(b"=").decode()
    cases = {
        "edited": ("/api/appointments/patient/patient-1?limit=2", f"{edited}.{mac}"),
        "unsigned": ("/api/appointments/patient/patient-1?limit=2", payload),
        "other list": (f"/api/appointments/doctor/{booked['id']}?limit=2", token),
        "other filter": ("/api/appointments/patient/patient-1?limit=2&status=scheduled", token),
    }
    for name, (path, bad) in cases.items():
        who = admin() if "doctor" in path else patient()
        # WHEN it is sent THEN 400 VALIDATION_ERROR naming nextToken
        refused = api.call("GET", f"{path}&nextToken={bad}", who)
        assert (refused.status_code, refused.data["error"]["code"]) == (400, "VALIDATION_ERROR"), name
        assert "nextToken" in refused.data["error"]["details"]["fields"], name
    # AND the genuine token still reads the next page
    second = api.call("GET", f"/api/appointments/patient/patient-1?limit=2&nextToken={token}", patient()).data
    assert [a["time"] for a in second["appointments"]] == ["10:00", "10:30"]


def test_filters_apply_across_pages_and_the_last_page_has_no_token(api, booked):
    # GIVEN two of the seven visits cancelled
    listed = api.call("GET", "/api/appointments/patient/patient-1", patient()).data["appointments"]
    for a in listed[1:3]:
        assert api.call("DELETE", f"/api/appointments/{a['id']}", patient()).status_code == 200
    # WHEN the scheduled ones are read 2 at a time THEN the pages hold only those, and the last page ends it
    pages = walk(api, "/api/appointments/patient/patient-1?status=scheduled", patient(), 2)
    assert pages == [["09:00", "10:30"], ["11:00", "11:30"], ["13:00"]]
    # AND exactly a full last page carries no token
    assert walk(api, "/api/appointments/patient/patient-1?status=cancelled", patient(), 2) == [["09:30", "10:00"]]
