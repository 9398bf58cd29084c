"""The patient directory: a patient's sign-in writes its record (staff book only patients that exist)."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint

from chalicelib import container
from chalicelib.api import schemas as s
from chalicelib.api.http import Call, endpoint
from chalicelib.domain.identity import Role
from chalicelib.domain.timefmt import instant

patients_api = Blueprint(__name__)


@endpoint(
    patients_api,
    "/api/patients/me",
    "PUT",
    "Sign in to the clinic: write (or refresh) my directory record from my verified claims",
    response=s.PatientOut,
    roles=(Role.PATIENT,),
    tags=("patients",),
)
def sign_in(call: Call) -> dict[str, Any]:
    me = container.current().booking.sign_in(call.caller)
    return {
        "id": me.id,
        "name": me.name,
        "email": me.email,
        "emailVerified": me.email_verified,
        "phone": me.phone,
        "phoneVerified": me.phone_verified,
    }


@endpoint(
    patients_api,
    "/api/admin/patients/{patientId}/access",
    "GET",
    "A patient's access history: who read its data or changed its reminders, when, from which route",
    response=s.AccessHistory,
    roles=(Role.ADMIN,),
    tags=("admin",),
)
def access_history(call: Call) -> dict[str, Any]:
    entries = container.current().access.history(call.params["patientId"])
    return {
        "entries": [
            {
                "id": e.id,
                "at": instant(e.at),
                "actorId": e.actor_id,
                "actorRole": e.actor_role,
                "action": e.action,
                "route": e.route,
                "appointmentIds": list(e.appointment_ids),
            }
            for e in entries
        ]
    }


@endpoint(
    patients_api,
    "/api/admin/patients",
    "GET",
    "Find patients to book for: `query` is the start of a name or an e-mail, or the end of a phone number "
    "(at least 2 characters); `limit` per page, `nextToken` while more remain. Each patient shown is recorded in its "
    "access history",
    query=s.PatientSearchQuery,
    response=s.PatientSearchOut,
    roles=(Role.ADMIN,),
    tags=("admin",),
)
def search_directory(call: Call) -> dict[str, Any]:
    q: s.PatientSearchQuery = call.query
    found, next_token = container.current().directory.search(call.caller, call.route, q.query, q.limit, q.next_token)
    shaped: dict[str, Any] = {
        "patients": [{"id": p.id, "name": p.name, "email": p.email, "phone": p.phone} for p in found]
    }
    if next_token:
        shaped["nextToken"] = next_token
    return shaped
