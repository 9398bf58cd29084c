"""JSON bodies are read as UTF-8 only (RFC 8259): a body in UTF-16 or UTF-32, or bytes that are not UTF-8, is
refused with 400 in the contract's shape before it is parsed, and the nesting check reads the same text the
parser reads."""

from __future__ import annotations

import codecs
import json

import pytest

from tests.helpers import admin, patient

DEEP = '["\\"",' + "[" * 3000 + "]" * 3000 + "]"
"""Read as UTF-8, the bytes of this text in UTF-16 hide its brackets inside a string (every other byte is NUL)."""


def _refused_as_not_utf8(response) -> None:
    assert response.status_code == 400, response.body
    error = response.data["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert error["details"]["fields"] == {"body": "must be JSON encoded as UTF-8"}


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be", "utf-16", "utf-32-le", "utf-32-be", "utf-32"])
def test_a_deeply_nested_body_in_utf16_or_utf32_is_400_not_500(api, encoding):
    # GIVEN the body: a string holding an escaped quote, then 3000 nested arrays, in a wide encoding
    raw = DEEP.encode(encoding)
    # WHEN it is posted to a route that reads a JSON body
    refused = api.call("POST", "/api/appointments", patient(), raw)
    # THEN it is refused as not UTF-8, never a 500 from the parser's recursion
    _refused_as_not_utf8(refused)


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16", "utf-32-be"])
def test_a_valid_object_in_another_encoding_is_refused_too(api, encoding):
    # GIVEN a well-formed doctor, written in UTF-16 or UTF-32 (json.loads alone would accept these bytes)
    body = {"name": "Dr. Zoë", "specialty": "GP", "location": "Room 1", "timezone": "UTC", "telehealth": False}
    # WHEN it is posted
    refused = api.call("POST", "/api/admin/doctors", admin(), json.dumps(body).encode(encoding))
    # THEN it is refused: only UTF-8 is JSON on this API
    _refused_as_not_utf8(refused)


def test_bytes_that_are_not_utf8_are_refused(api):
    # GIVEN a Latin-1 body ("ë" is one byte, 0xEB, which is no UTF-8 sequence)
    raw = '{"name": "Dr. Zoë", "specialty": "GP"}'.encode("latin-1")
    # WHEN it is posted THEN it is refused as not UTF-8
    _refused_as_not_utf8(api.call("POST", "/api/admin/doctors", admin(), raw))


def test_a_deep_body_behind_a_utf8_bom_is_still_caught_by_the_depth_check(api):
    # GIVEN a UTF-8 body behind a byte order mark, nested far deeper than the limit
    raw = codecs.BOM_UTF8 + ('{"reason": ' + "[" * 30_000 + "]" * 30_000 + "}").encode()
    # WHEN it is posted
    refused = api.call("POST", "/api/appointments", patient(), raw)
    # THEN the depth check refuses it
    assert (refused.status_code, refused.data["error"]["code"]) == (400, "VALIDATION_ERROR")
    assert refused.data["error"]["details"]["fields"] == {"body": "nested too deeply"}


def test_utf8_with_or_without_a_bom_is_read(api):
    # GIVEN the same doctor as UTF-8, once plain and once behind a UTF-8 byte order mark (RFC 8259 lets a
    # parser ignore it; some Windows tools add it)
    body = {"name": "Dr. Zoë Ångström", "specialty": "GP", "location": "Room 1", "timezone": "UTC", "telehealth": False}
    for raw in (json.dumps(body, ensure_ascii=False).encode(), codecs.BOM_UTF8 + json.dumps(body).encode()):
        # WHEN it is posted
        created = api.call("POST", "/api/admin/doctors", admin(), raw)
        # THEN the doctor is created with the name as written
        assert created.status_code == 201, created.data
        assert created.data["name"] == "Dr. Zoë Ångström"


def test_an_unpaired_surrogate_escape_is_refused_before_it_reaches_the_store(api):
    # GIVEN a booking whose reason holds "\ud800": valid JSON syntax, but no character (it cannot be stored)
    doc = api.doctor_with_hours()
    # WHEN it is booked
    refused = api.try_book(doc, reason="Cough \ud800")
    # THEN it is refused with 400, not a 500 from the store's encoder
    assert (refused.status_code, refused.data["error"]["code"]) == (400, "VALIDATION_ERROR")
    assert refused.data["error"]["details"]["fields"] == {"body": "holds an unpaired surrogate"}
    # AND a pair that makes a real character is fine
    assert api.try_book(doc, reason="Cough \U0001f927").status_code == 201
