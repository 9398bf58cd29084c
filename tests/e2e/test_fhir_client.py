"""An outside FHIR client, fhirclient's server and models (not our code), against `make run`'s server: it reads the
CapabilityStatement, finds free Slots and proposals with `$find`, reads a Slot back, reads a REST booking as a FHIR
Appointment, and holds, books, reads back and cancels a time with `$hold`, `$book` and a JSON Patch."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from datetime import UTC, datetime, timedelta

import requests
from fhirclient.models.appointment import Appointment
from fhirclient.models.bundle import Bundle
from fhirclient.models.parameters import Parameters
from fhirclient.models.slot import Slot
from fhirclient.server import FHIRServer

from infra.local.dynamodb_local import ROOT
from infra.local.tokens import demo_tokens
from tests.e2e.days import free_slots
from tests.e2e.patients import new_patient


def fhir_server(base: str, token: str) -> FHIRServer:
    server = FHIRServer(None, base_uri=f"{base}/fhir/R4/")
    server.session.headers["Authorization"] = token  # the API's header, as a SMART app's proxy would send it
    return server


def test_an_outside_fhir_client_finds_reads_and_sees_its_booking(server: str):
    patient = new_patient("Fhir Client")
    fhir = fhir_server(server, patient.token)
    # GIVEN the server's CapabilityStatement, as fhirclient reads it
    fhir.get_capability()
    assert fhir.capabilityStatement.fhirVersion == "4.0.1"
    # WHEN the client searches a week of Dr. Smith's free in-person Slots, from the first day that has some
    day, _ = free_slots(server, patient.token, "dr-ada-smith")
    end = (datetime.fromisoformat(day).date() + timedelta(days=7)).isoformat()
    found = Bundle(
        fhir.request_json(f"Slot?schedule=Schedule/dr-ada-smith.in-person&start=ge{day}&start=lt{end}&status=free")
    )
    slots = [entry.resource for entry in found.entry or []]
    # THEN they are free Slots of that schedule, and the first reads back the same
    assert slots and all(isinstance(s, Slot) and s.status == "free" for s in slots)
    first = Slot.read(slots[0].id, fhir)
    assert (first.start.isostring, first.schedule.reference) == (slots[0].start.isostring, slots[0].schedule.reference)
    # AND $find proposes times from free slots that day
    proposals = Bundle(fhir.request_json(f"Appointment/$find?start={day}&end={day}&practitioner=dr-ada-smith"))
    assert proposals.entry and {e.resource.status for e in proposals.entry} == {"proposed"}
    # WHEN the patient books the first free slot (over REST) and the client reads it as FHIR
    starts = datetime.fromisoformat(first.start.isostring.replace("Z", "+00:00")).astimezone(UTC)
    booked = requests.post(
        f"{server}/api/appointments",
        headers=patient.headers,
        json={
            "doctorId": "dr-ada-smith",
            "date": day,
            "time": _local_time(server, patient.token, day, starts),
            "type": "in-person",
            "reason": "Check-up",
        },
        timeout=10,
    )
    assert booked.status_code == 201, booked.text
    read = Appointment.read(booked.json()["id"], fhir)
    mine = Bundle(fhir.request_json(f"Appointment?date=ge{day}"))
    # THEN it is booked at that instant, with the patient and the practitioner, and its Slot is now busy for staff
    assert read.status == "booked" and read.start.isostring == first.start.isostring
    assert {p.actor.reference for p in read.participant} >= {f"Patient/{patient.sub}", "Practitioner/dr-ada-smith"}
    assert read.id in {e.resource.id for e in mine.entry or []}
    assert Slot.read(first.id, fhir_server(server, demo_tokens()["admin"])).status == "busy"


def test_an_outside_fhir_client_finds_holds_books_reads_back_and_cancels(server: str):
    patient = new_patient("Fhir Booker")
    fhir = fhir_server(server, patient.token)
    day, _ = free_slots(server, patient.token, "dr-ada-smith")
    # GIVEN the first time $find proposes with Dr. Smith, as fhirclient's Appointment
    proposals = Bundle(fhir.request_json(f"Appointment/$find?start={day}&end={day}&practitioner=dr-ada-smith"))
    proposed = proposals.entry[0].resource
    assert isinstance(proposed, Appointment) and proposed.status == "proposed"
    # WHEN the client holds it with the proposed Appointment (a Parameters resource fhirclient builds)
    hold_request = Parameters({"resourceType": "Parameters", "parameter": [{"name": "appt-resource"}]})
    hold_request.parameter[0].resource = proposed
    held = Appointment(fhir.post_json("Appointment/$hold", hold_request.as_json()).json())
    # THEN the time is held: a pending Appointment at that start with its expiry, and its Slot busy for staff
    assert held.status == "pending" and held.start.isostring == proposed.start.isostring
    (expiry,) = held.extension
    assert expiry.url.endswith("/fhir/R4/StructureDefinition/appointment-hold-expiry") and expiry.valueInstant
    staff = fhir_server(server, demo_tokens()["admin"])
    assert Slot.read(proposed.slot[0].reference.split("/")[1], staff).status == "busy"
    # WHEN it books the hold with a comment, and reads it back
    book_request = Parameters(
        {
            "resourceType": "Parameters",
            "parameter": [
                {"name": "appt-id", "valueString": f"Appointment/{held.id}"},
                {"name": "comment", "valueString": "Booked by an outside FHIR client"},
            ],
        }
    )
    booked = Appointment(fhir.post_json("Appointment/$book", book_request.as_json()).json())
    read = Appointment.read(held.id, fhir)
    # THEN it is booked, the same id and time, with the patient and the practitioner
    assert (booked.id, booked.status, read.status) == (held.id, "booked", "booked")
    assert read.start.isostring == proposed.start.isostring and read.comment == "Booked by an outside FHIR client"
    assert {p.actor.reference for p in read.participant} >= {f"Patient/{patient.sub}", "Practitioner/dr-ada-smith"}
    # WHEN it cancels with a JSON Patch of the status, as Argonaut asks
    patched = fhir.session.patch(
        f"{fhir.base_uri}Appointment/{held.id}",
        json=[{"op": "replace", "path": "/status", "value": "cancelled"}],
        headers={"Content-Type": "application/json-patch+json", "Accept": "application/fhir+json"},
        timeout=10,
    )
    # THEN the answer and a read say cancelled, and the time is free again
    assert patched.status_code == 200, patched.text
    assert Appointment(patched.json()).status == "cancelled" == Appointment.read(held.id, fhir).status
    assert Slot.read(proposed.slot[0].reference.split("/")[1], staff).status == "free"


def _local_time(server: str, token: str, day: str, starts: datetime) -> str:
    """The local time availability names for an instant (the booking route takes the doctor's wall clock)."""
    answer = requests.get(
        f"{server}/api/appointments/availability/dr-ada-smith/{day}", headers={"Authorization": token}, timeout=10
    )
    answer.raise_for_status()
    stamp = starts.strftime("%Y-%m-%dT%H:%M:%SZ")
    (slot,) = [s for s in answer.json()["slots"] if s["startsAt"] == stamp]
    return str(slot["time"])


def test_the_readmes_fhir_session_runs_as_written(server: str):
    # GIVEN the README's FHIR curl session WHEN it runs against make run's server
    text = (ROOT / "README.md").read_text()
    section = text[text.index("\n## FHIR R4\n") :]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block, "the README's FHIR section has no session"
    done = subprocess.run(
        [shutil.which("bash") or "bash", "-euo", "pipefail", "-c", block.group(1)],
        cwd=ROOT,
        env={**os.environ, "API": server},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    # THEN every step succeeds: the searches, the refusal, the hold booked, read back booked, then cancelled
    assert done.returncode == 0, done.stdout + done.stderr
    compact = done.stdout.replace(" ", "")
    assert '"resourceType":"CapabilityStatement"' in compact and '"code":"not-supported"' in compact
    assert compact.count('"status":"booked"') >= 2 and '"comment":"Fromcurl"' in compact
    assert '"status":"cancelled"' in compact
    assert done.stdout.strip().endswith("304")
