"""The language of an answer: a patient's profile choice, else its browser's `Accept-Language`, else English
(staff read English: the console is English). Error answers carry their language in `Content-Language`."""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from chalice import Response

from chalicelib import container
from chalicelib.domain.error_messages import patient_message
from chalicelib.domain.errors import DomainError
from chalicelib.domain.identity import Role, caller_from_claims
from chalicelib.domain.language import DEFAULT, choose

if TYPE_CHECKING:
    from chalicelib.services.patients import PatientDirectory

log = logging.getLogger("clinic.api")


def accept_language(request: Any) -> str | None:
    headers = {k.lower(): v for k, v in (getattr(request, "headers", None) or {}).items()}
    return headers.get("accept-language")


def patient_language(patient_id: str | None, accept: str | None, patients: PatientDirectory | None = None) -> str:
    """The patient's chosen language, else the browser's; a failed read of the profile falls back to the browser
    (an error answer must not fail for the sake of its wording). `patients`: the handler's, when it has them."""
    chosen = None
    if patient_id:
        try:
            profile = (patients or container.current().patients).get(patient_id)
            chosen = profile.language if profile else None
        except Exception:  # DynamoDB down: the browser's language will do
            log.warning("could not read the patient's language; using Accept-Language")
    return choose(chosen, accept)


def request_language(request: Any) -> str:
    """The language of an error answer to this request: a patient's (or an anonymous caller's) language, staff
    English. Never raises: an error answer must not fail for the sake of its wording."""
    try:
        return _request_language(request)
    except Exception:
        log.warning("could not choose the answer's language; using %s", DEFAULT)
        return DEFAULT


def _request_language(request: Any) -> str:
    accept = accept_language(request)
    claims = ((getattr(request, "context", None) or {}).get("authorizer") or {}).get("claims")
    if isinstance(claims, str):  # the FHIR routes' Lambda authorizer hands its claims on as one JSON string
        claims = json.loads(claims)
    if not claims or not isinstance(claims, dict):
        return choose(None, accept)
    try:
        caller = caller_from_claims(claims, container.current().settings.staff_pool_issuer)
    except (DomainError, ValueError, KeyError):
        return choose(None, accept)
    if caller.role is not Role.PATIENT:
        return DEFAULT
    return patient_language(caller.subject, accept)


def localized(response: Response, language: str) -> Response:
    """An error answer in the language: its `message` reworded (its `code` the same), `Content-Language` set."""
    body = response.body
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        error = body["error"]
        error["message"] = patient_message(str(error.get("code")), str(error.get("message")), language)
    response.headers = {**(response.headers or {}), "Content-Language": language}
    return response
