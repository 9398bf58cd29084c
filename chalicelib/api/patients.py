"""The patient directory: a patient's sign-in writes its record (staff book only patients that exist); admins
read a record (masked) and enter contacts for it (kept as staff-entered, never verified)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice import Blueprint

from chalicelib.api import schemas as s
from chalicelib.api.http import Call, endpoint
from chalicelib.domain.contact import mask_email, mask_phone
from chalicelib.domain.identity import Role

if TYPE_CHECKING:
    from chalicelib.domain.patients import PatientProfile

patients_api = Blueprint(__name__)


@endpoint(
    patients_api,
    "/api/patients/me",
    "PUT",
    "Sign in to the clinic: write (or refresh) my directory record from my verified claims (with the language I "
    "chose, if any)",
    response="PatientOut",
    roles=(Role.PATIENT,),
    tags=("patients",),
)
def sign_in(call: Call) -> s.PatientOut:
    """The record as written, with the language the patient chose before (the app starts in it)."""
    c = call.services
    contact = c.sign_in.record(call.caller)
    return s.PatientOut.from_domain(contact, language=c.patients.get(contact.id).language)


@endpoint(
    patients_api,
    "/api/patients/me",
    "PATCH",
    "Choose my language (`en`, `es`): the app, my reminders, my calendar files and error messages use it "
    "(until I choose, the browser's `Accept-Language`). Sign in first (`PUT /api/patients/me`)",
    body="LanguageIn",
    response="PatientOut",
    roles=(Role.PATIENT,),
    errors=(404,),
    tags=("patients",),
)
def choose_language(call: Call) -> s.PatientOut:
    body: s.LanguageIn = call.body
    return s.PatientOut.from_domain(call.services.patients.set_language(call.caller.subject, body.language))


@endpoint(
    patients_api,
    "/api/admin/patients/{patientId}",
    "PATCH",
    "Set a patient's language (`en`, `es`), e.g. as it asked at the desk: its reminders, calendar files and app "
    "follow it (a change in the patient's access log)",
    body="LanguageIn",
    response="DirectoryPatientOut",
    roles=(Role.ADMIN,),
    errors=(404,),
    tags=("admin",),
)
def set_language(call: Call) -> s.DirectoryPatientOut:
    body: s.LanguageIn = call.body
    c = call.services
    changed = c.patients.set_language(call.params["patientId"], body.language)
    c.access.record(call.caller, call.route, [(changed.id, None)], "language-change")
    return _masked(changed)


def _masked(profile: PatientProfile) -> s.DirectoryPatientOut:
    """Staff see that a patient has addresses, and whether they are verified, not the addresses themselves."""
    return s.DirectoryPatientOut.from_domain(
        profile,
        email=mask_email(profile.email),
        phone=mask_phone(profile.phone),
        staff_entered=s.ContactOnFileOut(email=mask_email(profile.staff_email), phone=mask_phone(profile.staff_phone)),
    )


@endpoint(
    patients_api,
    "/api/admin/patients/{patientId}",
    "GET",
    "A patient's directory record, every address masked (a read in the patient's access log)",
    response="DirectoryPatientOut",
    roles=(Role.ADMIN,),
    errors=(404,),
    tags=("admin",),
)
def directory_record(call: Call) -> s.DirectoryPatientOut:
    c = call.services
    found = c.patients.get(call.params["patientId"])
    c.access.record(call.caller, call.route, [(found.id, None)])
    return _masked(found)


@endpoint(
    patients_api,
    "/api/admin/patients/{patientId}/contact",
    "PUT",
    "Enter contacts for a patient: kept as staff-entered, shown masked, never verified (reminders go only to "
    "the patient's own verified addresses)",
    body="StaffContactIn",
    response="DirectoryPatientOut",
    roles=(Role.ADMIN,),
    errors=(404,),
    tags=("admin",),
)
def enter_contact(call: Call) -> s.DirectoryPatientOut:
    body: s.StaffContactIn = call.body
    c = call.services
    changed = c.patients.enter_contact(call.params["patientId"], body.email, body.phone)
    c.access.record(call.caller, call.route, [(changed.id, None)], "contact-change")
    return _masked(changed)


@endpoint(
    patients_api,
    "/api/admin/patients/{patientId}/access",
    "GET",
    "A patient's access history: who read its data or changed its reminders, when, from which route (each read "
    "of the history is recorded in it too, shown from the next read on)",
    response="AccessHistory",
    roles=(Role.ADMIN,),
    tags=("admin",),
)
def access_history(call: Call) -> s.AccessHistory:
    entries = call.services.access.history(call.caller, call.route, call.params["patientId"])
    return s.AccessHistory(entries=[s.AccessEntryOut.from_domain(e) for e in entries])


@endpoint(
    patients_api,
    "/api/admin/patients",
    "GET",
    "Find patients to book for: `query` is the start of a name or an e-mail, or the end of a phone number "
    "(at least 2 characters); `limit` per page, `nextToken` while more remain. Addresses are masked, as in the "
    "record; each patient shown is recorded in its access history",
    query="PatientSearchQuery",
    response="PatientSearchOut",
    roles=(Role.ADMIN,),
    tags=("admin",),
)
def search_directory(call: Call) -> s.PatientSearchOut:
    q: s.PatientSearchQuery = call.query
    found, next_token = call.services.directory.search(call.caller, call.route, q.query, q.limit, q.next_token)
    return s.PatientSearchOut(patients=[_match(p) for p in found], next_token=next_token or None)


def _match(profile: PatientProfile) -> s.PatientMatch:
    """A search result shows contacts as the record does: masked (enough to tell two namesakes apart)."""
    return s.PatientMatch.from_domain(profile, email=mask_email(profile.email), phone=mask_phone(profile.phone))
