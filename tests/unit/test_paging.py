"""List page tokens: signed for one list, refused when edited or used elsewhere; pages read one item past."""

from __future__ import annotations

import pytest

from chalicelib.domain import errors
from chalicelib.domain.paging import open_token, sign_token, take_page

KEY = b"unit-test-key"
POSITION = ("2027-03-01T15:00:00Z", "appt-1")


def test_a_token_opens_for_its_own_list_only():
    # GIVEN a token signed for one list
    token = sign_token(POSITION, "GET /a|p1|||", KEY)
    # WHEN opened for that list THEN it names the position; for another scope or key THEN 400
    assert open_token(token, "GET /a|p1|||", KEY) == POSITION
    for scope, key in (("GET /a|p2|||", KEY), ("GET /a|p1|scheduled||", KEY), ("GET /a|p1|||", b"other")):
        with pytest.raises(errors.InvalidInput):
            open_token(token, scope, key)


@pytest.mark.parametrize("bad", ["", "abc", "abc.def", "not-ours", "."])
def test_malformed_tokens_are_invalid_input(bad):
    with pytest.raises(errors.InvalidInput):
        open_token(bad, "s", KEY)


def test_an_edited_position_breaks_the_signature():
    _, mac = sign_token(POSITION, "s", KEY).split(".")
    other, _ = sign_token(("2000-01-01T00:00:00Z", "appt-1"), "s", KEY).split(".")
    with pytest.raises(errors.InvalidInput):
        open_token(f"{other}.{mac}", "s", KEY)


def test_take_page_keeps_matches_and_reads_only_one_past_the_page():
    read: list[int] = []

    def numbers():
        for n in range(100):
            read.append(n)
            yield n

    # GIVEN even numbers wanted, 3 per page WHEN a page is taken THEN 0, 2, 4, more follow, read up to 6
    assert take_page(numbers(), lambda n: n % 2 == 0, 3) == ([0, 2, 4], True)
    assert read[-1] == 6
    # AND a short list has no more
    assert take_page(iter([1, 2]), lambda n: True, 3) == ([1, 2], False)
    assert take_page(iter([1, 2, 3]), lambda n: True, 3) == ([1, 2, 3], False)
