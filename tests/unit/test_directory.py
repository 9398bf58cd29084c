"""How staff's search text is read and how a patient's terms are kept: one normalization for both."""

from __future__ import annotations

import pytest

from chalicelib.domain.directory import index_key, parse_query, terms
from chalicelib.domain.errors import InvalidInput


@pytest.mark.parametrize(
    ("typed", "read_as"),
    [
        ("Nia", ("name", "nia")),
        ("  NICO   Álvarez ", ("name", "nico alvarez")),
        ("Nia.Park@Example.org", ("email", "nia.park@example.org")),
        ("+1 (617) 555-0101", ("phone", "10105557161")),
        ("0102", ("phone", "2010")),
        ("O'Brien 2", ("name", "o'brien 2")),
    ],
)
def test_a_query_is_read_as_a_name_an_email_or_a_phone(typed, read_as):
    # GIVEN what staff typed WHEN it is read THEN its kind and the prefix the index is asked for
    assert parse_query(typed) == read_as


@pytest.mark.parametrize("typed", ["", " ", "n", "É", "+1", "(-)"])
def test_a_query_too_short_to_narrow_the_directory_is_refused(typed):
    # GIVEN fewer than two letters or digits THEN it is refused, naming the field
    with pytest.raises(InvalidInput) as refused:
        parse_query(typed)
    assert "query" in (refused.value.details or {})["fields"]


def test_a_patients_terms_match_the_queries_that_should_find_it():
    # GIVEN a patient's record
    kept = terms("Nico Álvarez", "Nico@Example.org", "+1 617-555-0102")
    # THEN each query for it is a prefix of the matching term, whatever the case, accents or punctuation: the
    # start of a name or e-mail, the end of a phone number (with or without the country code)
    for typed in ("nico alv", "NICO@ex", "555 0102", "617-555-0102", "+1 617 555 0102"):
        kind, prefix = parse_query(typed)
        term = kept[kind]
        assert term is not None and term.startswith(prefix), typed
    # AND the start of a phone number without its country code is not the end of it
    assert not str(kept["phone"]).startswith(parse_query("617 555")[1])
    # AND a missing value has no term
    assert terms("Sam", None, "")["email"] is None and terms("Sam", None, "")["phone"] is None


def test_equal_terms_of_two_patients_stay_apart_and_sort_by_the_term_first():
    assert index_key("sam lee", "p-2") != index_key("sam lee", "p-1")
    assert index_key("sam", "p-9") < index_key("sam lee", "p-1")
