"""A client generated from `/openapi.json` by openapi-python-client books an appointment against `make run`'s
server: the document is complete and readable enough for a real code generator."""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path

import requests

from infra.local.tokens import demo_tokens
from tests.e2e.days import free_slots
from tests.e2e.patients import new_patient

TOKENS = demo_tokens()


def fresh_patient(name: str) -> str:
    return new_patient(name).token


def generate_client(server: str, where: Path) -> None:
    (where / "openapi.json").write_bytes(requests.get(f"{server}/openapi.json", timeout=10).content)
    tool = Path(sys.executable).parent / "openapi-python-client"
    done = subprocess.run(
        [str(tool), "generate", "--path", "openapi.json", "--meta", "none", "--output-path", "clinic_client"],
        cwd=where,
        env={**os.environ, "PATH": f"{tool.parent}{os.pathsep}{os.environ.get('PATH', '')}"},  # its ruff pass
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0 and (where / "clinic_client" / "client.py").exists(), done.stdout + done.stderr


def test_a_generated_client_finds_a_slot_and_books_it_once(server: str, tmp_path: Path):
    # GIVEN a Python client generated from the served OpenAPI document
    generate_client(server, tmp_path)
    sys.path.insert(0, str(tmp_path))
    try:
        client_module = importlib.import_module("clinic_client")
        availability = importlib.import_module("clinic_client.api.appointments.get_availability")
        book = importlib.import_module("clinic_client.api.appointments.book_appointment")
        models = importlib.import_module("clinic_client.models")
        client = client_module.AuthenticatedClient(base_url=server, token=fresh_patient("Gen One"), prefix="")
        day, _ = free_slots(server, TOKENS["patient"], "dr-ada-smith")

        # WHEN it reads the free slots and books the first one with an Idempotency-Key, twice
        slots = availability.sync("dr-ada-smith", date.fromisoformat(day), client=client, only_available=True)
        assert isinstance(slots, models.DayAvailabilityOut) and slots.slots
        body = models.BookingIn(
            doctor_id="dr-ada-smith",
            date=date.fromisoformat(day),
            time=slots.slots[0].time,
            type_=models.BookingInTypeType0.IN_PERSON,  # optional since `holdId` may stand for it
            reason="Check-up",
        )
        first = book.sync_detailed(client=client, body=body, idempotency_key=f"generated-{day}")
        again = book.sync_detailed(client=client, body=body, idempotency_key=f"generated-{day}")

        # THEN the typed answer is the booked appointment, and the retry returns it without booking again
        assert first.status_code == 201 and isinstance(first.parsed, models.AppointmentOut)
        assert str(first.parsed.date) == day and first.parsed.status.value == "scheduled"
        # typed values, as the document's formats say: a date, and instants as aware date-times
        assert isinstance(first.parsed.date, date) and isinstance(first.parsed.starts_at, datetime)
        assert first.parsed.starts_at.utcoffset() is not None and isinstance(first.parsed.created_at, datetime)
        assert again.status_code == 201 and again.parsed.id == first.parsed.id
        # AND an error comes back typed in the API's error shape: another patient finds the slot taken
        other = client_module.AuthenticatedClient(base_url=server, token=fresh_patient("Gen Two"), prefix="")
        taken = book.sync_detailed(client=other, body=body)
        assert taken.status_code == 409 and isinstance(taken.parsed, models.ErrorOut)
    finally:
        sys.path.remove(str(tmp_path))
        for name in [m for m in sys.modules if m.startswith("clinic_client")]:
            del sys.modules[name]
        shutil.rmtree(tmp_path / "clinic_client", ignore_errors=True)
