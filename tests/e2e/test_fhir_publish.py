"""Against `make run`'s server over HTTP, with outside code only (requests and fhirclient's models and server): a
slot finder reads the SMART Scheduling Links manifest and its NDJSON files without signing in, revalidates them
with If-None-Match (304), and sees a new ETag once a patient books; an EHR integration engine with the development
system-client token reads through fhirclient's server and is refused what its scopes do not grant and the REST API."""

from __future__ import annotations

import json

import requests
from fhirclient.models.bundle import Bundle
from fhirclient.models.fhirelementfactory import FHIRElementFactory
from fhirclient.server import FHIRPermissionDeniedException, FHIRServer

from infra.local.tokens import DEMO_IDENTITIES, demo_tokens, unsigned_token
from tests.e2e.days import free_slots
from tests.e2e.patients import new_patient


def revalidated(server: str, etag: str) -> str:
    """The ETag a revalidation ends on: a 304 with nothing sent, after at most two answers that the publication
    changed, each under a new ETag."""
    for _ in range(3):
        again = requests.get(f"{server}/fhir/R4/$bulk-publish", headers={"If-None-Match": etag}, timeout=30)
        if again.status_code == 304:
            assert again.content == b"" and again.headers["ETag"] == etag
            return etag
        assert again.status_code == 200 and again.headers["ETag"] != etag, (again.status_code, again.headers)
        etag = again.headers["ETag"]
    raise AssertionError("the publication changed on every revalidation")


def test_a_slot_finder_reads_the_publication_and_revalidates_it(server: str):
    # GIVEN the manifest, read without a token
    manifest = requests.get(f"{server}/fhir/R4/$bulk-publish", timeout=30)
    assert manifest.status_code == 200, manifest.text
    etag = manifest.headers["ETag"]
    outputs = [(o["type"], o["url"]) for o in manifest.json()["output"]]
    assert {kind for kind, _ in outputs} == {"Location", "Schedule", "Slot"} and manifest.json()["error"] == []
    # WHEN each file is read THEN every line is a resource fhirclient accepts strictly
    slots = []
    for kind, url in outputs:
        answer = requests.get(url, timeout=60)
        assert answer.status_code == 200 and answer.headers["Content-Type"] == "application/fhir+ndjson"
        for line in answer.text.splitlines():
            resource = FHIRElementFactory.instantiate(kind, json.loads(line))
            assert type(resource).__name__ == kind
            if kind == "Slot":
                slots.append(resource)
    assert slots and {s.status for s in slots} == {"free"}
    # AND asking again with the ETag is 304, nothing sent. The publication may have moved on while the files were
    # read (the earliest bookable time steps every 5 minutes; another test's hold may lapse): then the answer is the
    # new manifest under a new ETag, and asking with that one is 304.
    etag = revalidated(server, etag)
    # WHEN a patient books a free time (within the 28 published days) THEN the publication has a new ETag
    patient = new_patient("Slot Finder")
    day, times = free_slots(server, patient.token, "dr-ada-smith")
    booked = requests.post(
        f"{server}/api/appointments",
        headers=patient.headers,
        json={"doctorId": "dr-ada-smith", "date": day, "time": times[0], "type": "in-person", "reason": "Check-up"},
        timeout=10,
    )
    assert booked.status_code == 201, booked.text
    changed = requests.get(f"{server}/fhir/R4/$bulk-publish", headers={"If-None-Match": etag}, timeout=30)
    assert changed.status_code == 200 and changed.headers["ETag"] != etag


def test_an_integration_engine_reads_with_its_scopes_only(server: str):
    engine = FHIRServer(None, base_uri=f"{server}/fhir/R4/")
    engine.session.headers["Authorization"] = demo_tokens()["ehr"]  # system/*.rs
    # WHEN it searches Schedules and a patient's appointments THEN both are Bundles
    schedules = Bundle(engine.request_json("Schedule"))
    assert schedules.entry
    Bundle(engine.request_json("Appointment?patient=Patient/demo-patient-1"))
    # AND the REST API refuses it
    rest = requests.get(
        f"{server}/api/appointments/patient/demo-patient-1",
        headers={"Authorization": demo_tokens()["ehr"]},
        timeout=10,
    )
    assert rest.status_code == 403
    # AND a client without the search scope is refused, as fhirclient reports a 403
    narrow = FHIRServer(None, base_uri=f"{server}/fhir/R4/")
    narrow.session.headers["Authorization"] = unsigned_token({**DEMO_IDENTITIES["ehr"], "scope": "system/Slot.r"})
    try:
        narrow.request_json("Schedule")
    except FHIRPermissionDeniedException as refused:
        assert refused.response.status_code == 403
    else:
        raise AssertionError("a client without system/Schedule.s searched Schedules")
