"""What every FHIR test checks of an answer: its media type, and that outside models parse it strictly:
`fhirclient` 4.4 (FHIR 4.0.1, strict) and, for a second opinion, `fhir.resources` (R4B)."""

from __future__ import annotations

import json
from typing import Any

from chalicelib.domain.fhir import MEDIA_TYPE

BASE = "/fhir/R4"


def validated(resource: dict[str, Any]) -> dict[str, Any]:
    """The resource itself, once both models accept it (any refusal raises)."""
    from fhir.resources.R4B import get_fhir_model_class
    from fhirclient.models.fhirelementfactory import FHIRElementFactory

    kind = resource["resourceType"]
    model = FHIRElementFactory.instantiate(kind, resource)  # strict: unknown or missing elements raise
    assert type(model).__name__ == kind, f"fhirclient has no model of {kind}"
    assert model.as_json() == json.loads(json.dumps(model.as_json()))  # serializes back (required elements kept)
    get_fhir_model_class(kind).model_validate(resource)
    if kind == "Bundle":  # each entry on its own too, so a failure names the resource
        for entry in resource.get("entry", []):
            validated(entry["resource"])
    return resource


def fhir_get(api: Any, path: str, headers: dict[str, str] | None = None) -> Any:
    """GET under /fhir/R4; the answer's JSON (validated) in `.data`."""
    response = api.http.request("GET", BASE + path, headers=headers or {})
    return _read(response)


def fhir_post(api: Any, path: str, headers: dict[str, str], body: Any) -> Any:
    payload = body if isinstance(body, str | bytes) else json.dumps(body)
    response = api.http.request(
        "POST", BASE + path, headers={"Content-Type": MEDIA_TYPE, **headers}, body=payload or b""
    )
    return _read(response)


JSON_PATCH = "application/json-patch+json"
CANCEL = [{"op": "replace", "path": "/status", "value": "cancelled"}]
"""The JSON Patch that cancels an Appointment, as Argonaut's scheduling guide sends it."""


def fhir_send(api: Any, method: str, path: str, headers: dict[str, str], body: Any, content_type: str = "") -> Any:
    """PUT (a resource) or PATCH (a JSON Patch) under /fhir/R4; the answer validated as `fhir_get`'s."""
    payload = body if isinstance(body, str | bytes) else json.dumps(body)
    kind = content_type or (JSON_PATCH if method == "PATCH" else MEDIA_TYPE)
    response = api.http.request(method, BASE + path, headers={"Content-Type": kind, **headers}, body=payload or b"")
    return _read(response)


def parameters(*entries: tuple[str, Any]) -> dict[str, Any]:
    """An operation's Parameters body: a dict value is a resource (`appt-resource`), text a valueString."""
    out = [
        {"name": name, "resource": value} if isinstance(value, dict) else {"name": name, "valueString": value}
        for name, value in entries
    ]
    return {"resourceType": "Parameters", "parameter": out}


def _read(response: Any) -> Any:
    response.data = json.loads(response.body) if response.body else None
    assert response.headers["Content-Type"] == MEDIA_TYPE, response.headers
    validated(response.data)
    return response


def issue(response: Any) -> tuple[int, str]:
    """(status, the OperationOutcome's issue code)."""
    assert response.data["resourceType"] == "OperationOutcome", response.data
    return response.status_code, response.data["issue"][0]["code"]


def entries(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "searchset", bundle
    return [entry["resource"] for entry in bundle.get("entry", [])]


def next_link(bundle: dict[str, Any]) -> str | None:
    """The `next` link as a path under /fhir/R4, or None."""
    for link in bundle.get("link", []):
        if link["relation"] == "next":
            url: str = link["url"]
            return url[url.index(BASE) + len(BASE) :]
    return None
