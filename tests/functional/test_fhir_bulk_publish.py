"""SMART Scheduling Links: the public `$bulk-publish` manifest and its NDJSON files (Location, Schedule, and the
free, bookable Slots of the next 4 weeks with booking deep links, one file per doctor and week), every line strictly
valid FHIR R4; an ETag from what changes the slots, `If-None-Match` answered 304, and an unchanged publication served
without rebuilding it."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.domain.fhir import BOOKING_DEEP_LINK
from tests.faults import throttled
from tests.functional.fhir_support import BASE, issue, validated
from tests.helpers import NOW, admin

MANIFEST = f"{BASE}/$bulk-publish"


def get(api, path: str, headers: dict[str, str] | None = None) -> Any:
    return api.http.request("GET", path, headers=headers or {})


def published(api, headers: dict[str, str] | None = None) -> dict[str, list[dict[str, Any]]]:
    """Every file the manifest lists, each line parsed and validated by fhirclient and fhir.resources."""
    manifest = json.loads(get(api, MANIFEST, headers).body)
    files: dict[str, list[dict[str, Any]]] = {}
    for output in manifest["output"]:
        assert output["url"].endswith(".ndjson")
        path = output["url"][output["url"].index(BASE) :]
        answer = get(api, path, headers)
        assert answer.status_code == 200 and answer.headers["Content-Type"] == "application/fhir+ndjson"
        text = answer.body.decode()
        assert text == "" or text.endswith("\n")
        lines = [json.loads(line) for line in text.splitlines()]
        assert all(line == json.loads(json.dumps(line, separators=(",", ":"))) for line in lines)
        files.setdefault(output["type"], []).extend(validated(r) for r in lines)
        assert all(r["resourceType"] == output["type"] for r in lines)
    return files


def test_the_manifest_lists_location_schedule_and_slot_files_publicly(api):
    # GIVEN a doctor with hours WHEN anyone (no token) reads the manifest
    doc = api.doctor_with_hours()
    answer = get(api, MANIFEST)
    # THEN it is the spec's manifest: when it was made, its own URL, its files, no errors, and an ETag
    assert answer.status_code == 200 and answer.headers["Content-Type"] == "application/json"
    manifest = json.loads(answer.body)
    assert set(manifest) == {"transactionTime", "request", "requiresAccessToken", "output", "error"}
    assert manifest["transactionTime"] == "2026-12-01T08:00:00Z" and manifest["error"] == []
    assert manifest["request"].endswith("/fhir/R4/$bulk-publish") and manifest["requiresAccessToken"] is False
    # AND the files: places, schedules, and one Slot file per doctor and 7 days from today (its local date)
    weeks = ("2026-12-01", "2026-12-08", "2026-12-15", "2026-12-22")
    assert [(o["type"], o["url"].rpartition("/")[2]) for o in manifest["output"]] == [
        ("Location", "Location.ndjson"),
        ("Schedule", "Schedule.ndjson"),
        *(("Slot", f"Slot-{doc['id']}-{week}.ndjson") for week in weeks),
    ]
    assert all(o["url"].startswith(manifest["request"] + "/") for o in manifest["output"])
    assert answer.headers["ETag"].startswith('W/"') and answer.headers["Cache-Control"] == "no-cache"


def test_the_files_hold_every_place_and_schedule_and_four_weeks_of_free_slots(api):
    # GIVEN a telehealth doctor with hours and a booked visit, and a doctor without hours elsewhere
    doc = api.doctor_with_hours()
    api.create_doctor(name="Dr. Lone", telehealth=False, location="Harbor Health, Boston")
    made = api.book(doc)
    # WHEN the files are read (each line validated strictly)
    files = published(api)
    # THEN both places, all three schedules, and the free slots of both of Ada's schedules
    assert {loc["name"] for loc in files["Location"]} == {"Main St Clinic, Room 4", "Harbor Health, Boston"}
    assert len(files["Schedule"]) == 3
    slots = files["Slot"]
    assert {s["schedule"]["reference"] for s in slots} == {
        f"Schedule/{doc['id']}.in-person",
        f"Schedule/{doc['id']}.telehealth",
    }
    assert {s["status"] for s in slots} == {"free"}
    # AND the booked start is not offered; the window is 4 weeks from today
    assert made["startsAt"] not in {s["start"] for s in slots}
    starts = sorted(s["start"] for s in slots)
    assert starts[0] >= "2026-12-01T09:00:00Z" and starts[-1] < (NOW + timedelta(days=29)).strftime("%Y-%m-%d")
    assert "2026-12-28" in {s[:10] for s in starts}
    # AND each Slot is the one the FHIR read gives, plus a deep link into the web app on that doctor and start
    one = next(s for s in slots if s["schedule"]["reference"].endswith(".in-person"))
    [link] = one["extension"]
    assert link["url"] == BOOKING_DEEP_LINK
    query = parse_qs(urlsplit(link["valueUrl"]).query)
    assert query == {"doctor": [doc["id"]], "visit": ["in-person"], "start": [one["start"]]}
    read = json.loads(get(api, f"{BASE}/Slot/{one['id']}", admin()).body)
    assert {k: v for k, v in one.items() if k != "extension"} == read


def test_if_none_match_answers_304_until_a_booking_changes_the_slots(api):
    # GIVEN the manifest's ETag
    doc = api.doctor_with_hours()
    etag = get(api, MANIFEST).headers["ETag"]
    # WHEN asked again with it THEN 304, for the manifest and the files, with no body
    slot_file = f"{MANIFEST}/Slot-{doc['id']}-2026-12-01.ndjson"
    assert get(api, slot_file).status_code == 200
    for path in (MANIFEST, slot_file):
        again = get(api, path, {"If-None-Match": etag})
        assert again.status_code == 304 and again.body == b"" and again.headers["ETag"] == etag
    assert get(api, MANIFEST, {"If-None-Match": f'"other", {etag.removeprefix("W/")}'}).status_code == 304
    assert get(api, MANIFEST, {"If-None-Match": '"other"'}).status_code == 200
    # WHEN a patient books a slot THEN the ETag changes and the booked slot is gone
    made = api.book(doc)
    changed = get(api, MANIFEST, {"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert made["startsAt"] not in {s["start"] for s in published(api)["Slot"]}


def test_the_etag_moves_with_the_doctors_hours_and_with_time(api, wired, clock):
    doc = api.doctor_with_hours()
    first = get(api, MANIFEST).headers["ETag"]
    # WHEN the doctor's hours change THEN the ETag changes
    hours = {"workingHours": {"monday": [{"start": "10:00", "end": "12:00"}]}, "appointmentDuration": 30}
    assert api.call("PUT", f"/api/admin/doctors/{doc['id']}/availability", admin(), hours).status_code == 200
    second = get(api, MANIFEST).headers["ETag"]
    assert second != first
    # WHEN time moves past a 5-minute step (a slot may close) THEN it changes too; within the step it does not
    clock.current = NOW + timedelta(minutes=2)
    assert get(api, MANIFEST).headers["ETag"] == second
    clock.current = NOW + timedelta(minutes=5)
    assert get(api, MANIFEST).headers["ETag"] != second


def test_an_unchanged_publication_costs_only_its_etags_reads(api, faults):
    # GIVEN two doctors with hours and the files read once
    api.doctor_with_hours()
    api.doctor_with_hours(name="Dr. Two")
    faults.calls.clear()
    published(api)
    built = dict(faults.calls)
    # WHEN they are read again, unchanged, and then revalidated with If-None-Match
    faults.calls.clear()
    published(api)
    cached = dict(faults.calls)
    faults.calls.clear()
    etag = get(api, MANIFEST).headers["ETag"]
    faults.calls.clear()
    assert get(api, MANIFEST, {"If-None-Match": etag}).status_code == 304
    revalidated = dict(faults.calls)
    # THEN building read each doctor-day's availability (2 doctors x 28 days); a cached or unchanged read costs the
    # directory read and one BatchGetItem of the 56 day versions per request, nothing else
    assert built.get("Query", 0) >= 56, built
    assert revalidated == {"Query": 1, "BatchGetItem": 1}, revalidated
    assert cached == {"Query": 11, "BatchGetItem": 11}, cached  # manifest + 2 files + 2 doctors x 4 weeks


def test_parameters_are_strict_but_since_is_accepted_and_other_files_are_unknown(api):
    api.doctor_with_hours()
    assert get(api, f"{MANIFEST}?_since=2026-12-01T00:00:00Z").status_code == 200
    refused = get(api, f"{MANIFEST}?state=MA")
    refused.data = json.loads(refused.body)
    assert issue(refused) == (400, "not-supported")
    for name in ("Patient.ndjson", "Slot.ndjson", "Slot-nobody-2026-12-01.ndjson", "Location.json"):
        missing = get(api, f"{MANIFEST}/{name}")
        missing.data = json.loads(missing.body)
        assert issue(missing) == (404, "not-found"), name


def test_a_throttled_store_is_503_transient(api, faults):
    api.doctor_with_hours()
    faults.fail("BatchGetItem", throttled())
    busy = get(api, MANIFEST)
    busy.data = json.loads(busy.body)
    assert issue(busy) == (503, "transient") and busy.headers["Retry-After"] == "1"


FUZZ = settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)


@FUZZ
@given(
    name=st.one_of(
        st.sampled_from(["Location.ndjson", "Schedule.ndjson", "Slot-x-2026-12-01.ndjson", "Slot-.ndjson", ".ndjson"]),
        st.text(alphabet="abcdefghijklmnopqrstuvwxyzSLT0123456789-._~%$", min_size=1, max_size=80),
    ),
    query=st.dictionaries(st.sampled_from(["_since", "_format", "x", "", "_count"]), st.text(max_size=30), max_size=3),
    match=st.one_of(st.none(), st.text(max_size=60), st.sampled_from(["*", 'W/"x"', '"", ,', "W/"])),
)
def test_no_file_name_query_or_if_none_match_makes_a_500(api, name, query, match):
    headers = {} if match is None else {"If-None-Match": match.encode("latin-1", "replace").decode("latin-1")}
    suffix = f"?{urlencode(query)}" if query else ""
    for path in (MANIFEST + suffix, f"{MANIFEST}/{quote(name, safe='$-._~')}{suffix}"):
        answer = get(api, path, headers)
        assert answer.status_code in (200, 304, 400, 404), (path, answer.status_code, answer.body[:300])
        if answer.status_code >= 400:
            answer.data = json.loads(answer.body)
            validated(answer.data)
