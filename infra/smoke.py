"""The smoke test a person runs after any deploy (`make smoke API=https://...`), and the suite runs against `make run`.

As the reserved smoke patient it books a telehealth visit with the reserved smoke doctor, reads it, checks a
reminder is planned, reschedules it, opens its room link, and cancels it, printing each step. Whatever fails, the
visit it made is cancelled before it exits (exit status 1 on a failure, 0 when every step passed).

Tokens: `--patient-token`/`SMOKE_PATIENT_TOKEN` (an ID token of the reserved patient, a member of `patients`) and
`--admin-token`/`SMOKE_ADMIN_TOKEN` (a staff admin's ID token, needed only the first time: it creates the reserved
doctor). Against a local API (`make run`) both are minted as `make run`'s development tokens when not given.
README "Releasing" says how the reserved doctor and patient are made in a deployed stage.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

SMOKE_DOCTOR = "Smoke Test (reserved)"
SMOKE_PATIENT = {
    "sub": "smoke-test-patient",
    "cognito:username": "smoke-test-patient",
    "cognito:groups": ["patients"],
    "name": "Smoke Test",
    "email": "smoke-test@clinic.example",
    "email_verified": True,
}
SMOKE_ADMIN = {"sub": "smoke-test-admin", "cognito:username": "smoke-test-admin", "cognito:groups": ["admins"]}
DAYS_AHEAD = 3  # far enough that the 24h reminder is planned whatever the hour, and the change windows are open
SEARCH_DAYS = 21
WEEK = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


class SmokeFailure(Exception):
    """A step did not answer as it must."""


@dataclass
class Http:
    base: str
    timeout: float = 15.0

    def call(
        self, method: str, path: str, token: str | None = None, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        """The status and the JSON answer (or the text of a page); never raises for an HTTP status."""
        url = path if path.startswith(("http://", "https://")) else f"{self.base}{path}"
        sent = {**({"Content-Type": "application/json"} if body is not None else {}), **(headers or {})}
        if token:
            sent["Authorization"] = token
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(url, data=data, method=method, headers=sent)  # noqa: S310 - http(s) only
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:  # noqa: S310 # nosec B310
                status, raw, kind = answer.status, answer.read(), answer.headers.get("Content-Type", "")
        except urllib.error.HTTPError as refused:
            status, raw, kind = refused.code, refused.read(), refused.headers.get("Content-Type", "")
        if "json" in kind and raw:
            return status, json.loads(raw)
        return status, raw.decode(errors="replace")


def expect(status: int, answer: Any, *wanted: int) -> Any:
    if status not in wanted:
        raise SmokeFailure(f"answered {status}: {str(answer)[:300]}")
    return answer


@dataclass
class Smoke:
    http: Http
    patient: str
    admin: str | None
    say: Callable[[str], None] = print
    today: date = field(default_factory=lambda: datetime.now(UTC).date())
    appointment: str | None = None
    cancelled: bool = False

    def step(self, name: str, action: Callable[[], str]) -> None:
        try:
            detail = action()
        except SmokeFailure as failure:
            self.say(f"FAIL {name}: {failure}")
            raise
        self.say(f"ok   {name}: {detail}")

    # --- the steps -----------------------------------------------------------------------------------------
    def health(self) -> str:
        answer = expect(*self.http.call("GET", "/health"), 200)
        return f"release {answer.get('version', '?')}"

    def doctor(self) -> str:
        query = urllib.parse.quote(SMOKE_DOCTOR)
        found = expect(*self.http.call("GET", f"/api/doctors?q={query}", self.patient), 200)["doctors"]
        mine = [d for d in found if d["name"] == SMOKE_DOCTOR]
        if mine:
            self.doctor_id = str(mine[0]["id"])
            return f"{self.doctor_id}"
        if not self.admin:
            raise SmokeFailure(f"no doctor named {SMOKE_DOCTOR!r}: run once with an admin token to create it")
        made = expect(
            *self.http.call(
                "POST",
                "/api/admin/doctors",
                self.admin,
                {
                    "name": SMOKE_DOCTOR,
                    "specialty": "Smoke test",
                    "location": "Nowhere (reserved for the smoke test)",
                    "timezone": "UTC",
                    "telehealth": True,
                    "telehealthPlatform": "custom",
                },
            ),
            201,
        )
        self.doctor_id = str(made["id"])
        hours = {day: [{"start": "06:00", "end": "22:00"}] for day in WEEK}
        availability = {"workingHours": hours, "breaks": [], "maxPatientsPerDay": 64, "appointmentDuration": 15}
        expect(
            *self.http.call("PUT", f"/api/admin/doctors/{self.doctor_id}/availability", self.admin, availability), 200
        )
        return f"{self.doctor_id} (created)"

    def free_times(self) -> str:
        for ahead in range(DAYS_AHEAD, DAYS_AHEAD + SEARCH_DAYS):
            day = (self.today + timedelta(days=ahead)).isoformat()
            path = f"/api/appointments/availability/{self.doctor_id}/{day}?onlyAvailable=true"
            slots = expect(*self.http.call("GET", path, self.patient), 200)["slots"]
            if len(slots) >= 2:
                self.day, self.times = day, [slot["time"] for slot in slots]
                return f"{len(slots)} free on {day}"
        raise SmokeFailure(f"no day with two free times in {SEARCH_DAYS} days")

    def book(self) -> str:
        body = {
            "doctorId": self.doctor_id,
            "date": self.day,
            "time": self.times[0],
            "type": "telehealth",
            "reason": "smoke test",
            "reminderPreferences": {"email": True, "timing": "24h"},
        }
        headers = {"Idempotency-Key": f"smoke-{uuid.uuid4()}"}
        made = expect(*self.http.call("POST", "/api/appointments", self.patient, body, headers), 201)
        self.appointment = str(made["id"])
        return f"{self.appointment} on {self.day} at {self.times[0]}"

    def read(self) -> str:
        visit = expect(*self.http.call("GET", f"/api/appointments/{self.appointment}", self.patient), 200)
        if visit["status"] != "scheduled" or visit["time"] != self.times[0]:
            raise SmokeFailure(f"read back {visit['status']} at {visit['time']}")
        return f"{visit['status']} at {visit['time']}"

    def reminder(self) -> str:
        path = f"/api/reminders/appointment/{self.appointment}"
        planned = expect(*self.http.call("GET", path, self.patient), 200)["reminders"]
        pending = [r for r in planned if r["status"] == "pending"]
        if not pending:
            raise SmokeFailure(f"no pending reminder: {planned}")
        return ", ".join(f"{r['type']} {r.get('kind', '')} {r['status']}".replace("  ", " ") for r in pending)

    def reschedule(self) -> str:
        path = f"/api/appointments/{self.appointment}/reschedule"
        moved = expect(*self.http.call("PUT", path, self.patient, {"date": self.day, "time": self.times[1]}), 200)
        self.appointment = str(moved["id"])
        if moved["time"] != self.times[1]:
            raise SmokeFailure(f"moved to {moved['time']}, not {self.times[1]}")
        return f"{self.appointment} at {moved['time']}"

    def room(self) -> str:
        path = f"/api/telehealth/generate-url/{self.appointment}"
        room = expect(*self.http.call("POST", path, self.patient), 201)
        token = urllib.parse.quote(room["token"])
        status, state = self.http.call("GET", f"/api/telehealth/room/{room['roomId']}?token={token}", self.patient)
        # days ahead, the room is not open yet: the API knows the token and says when it opens (a forged or
        # foreign token is refused without a time)
        not_yet = status == 401 and isinstance(state, dict) and "validFrom" in state["error"].get("details", {})
        if status != 200 and not not_yet:
            raise SmokeFailure(f"the room answered {status}: {str(state)[:300]}")
        page = urllib.parse.urlsplit(room["url"])._replace(query="").geturl()  # its token is not printed
        page_status, _ = self.http.call("GET", room["url"])
        if page_status != 200:
            raise SmokeFailure(f"the room page {page} answered {page_status}")
        opens = "open" if status == 200 else "opens 15 minutes before the visit"
        return f"room {room['roomId']} known, {opens}; its page {page} answers 200"

    def cancel(self) -> str:
        expect(*self.http.call("DELETE", f"/api/appointments/{self.appointment}", self.patient), 200)
        self.cancelled = True
        visit = expect(*self.http.call("GET", f"/api/appointments/{self.appointment}", self.patient), 200)
        if visit["status"] != "cancelled":
            raise SmokeFailure(f"still {visit['status']}")
        return "cancelled"

    def run(self) -> bool:
        steps: list[tuple[str, Callable[[], str]]] = [
            ("health", self.health),
            ("the reserved doctor", self.doctor),
            ("free times", self.free_times),
            ("book", self.book),
            ("read", self.read),
            ("reminder planned", self.reminder),
            ("reschedule", self.reschedule),
            ("room link", self.room),
            ("cancel", self.cancel),
        ]
        try:
            for name, action in steps:
                self.step(name, action)
            return True
        except SmokeFailure:
            return False
        finally:
            self.clean_up()

    def clean_up(self) -> None:
        """Cancels the visit this run made, if a step failed before `cancel` did."""
        if self.appointment is None or self.cancelled:
            return
        try:
            status, answer = self.http.call("DELETE", f"/api/appointments/{self.appointment}", self.patient)
        except OSError as broken:  # the API is unreachable: say which visit is left
            self.say(f"FAIL clean-up: {self.appointment} is still booked ({broken})")
            return
        if status == 200:
            self.say(f"ok   clean-up: {self.appointment} cancelled")
        else:
            self.say(f"FAIL clean-up: {self.appointment} answered {status}: {str(answer)[:200]}")


def is_local(api: str) -> bool:
    return urllib.parse.urlsplit(api).hostname in ("127.0.0.1", "localhost", "::1")


def tokens(api: str, patient: str | None, admin: str | None) -> tuple[str, str | None]:
    """The tokens given, or against a local API `make run`'s development tokens for the reserved identities."""
    if is_local(api):
        from infra.local.tokens import unsigned_token

        patient = patient or unsigned_token(SMOKE_PATIENT)
        admin = admin or unsigned_token(SMOKE_ADMIN)
    if not patient:
        raise SystemExit("set SMOKE_PATIENT_TOKEN (or --patient-token): the reserved smoke patient's ID token")
    return patient, admin


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--api", required=True, help="the API's base URL, e.g. https://.../api or http://127.0.0.1:8000"
    )
    parser.add_argument("--patient-token", default=os.environ.get("SMOKE_PATIENT_TOKEN"))
    parser.add_argument("--admin-token", default=os.environ.get("SMOKE_ADMIN_TOKEN"))
    args = parser.parse_args(argv)
    api = args.api.rstrip("/")
    if not api.startswith(("http://", "https://")):
        raise SystemExit("--api must be an http(s) URL")
    patient, admin = tokens(api, args.patient_token, args.admin_token)
    passed = Smoke(Http(api), patient, admin, say=lambda line: print(line, flush=True)).run()
    print("smoke test passed" if passed else "smoke test FAILED", flush=True)
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
