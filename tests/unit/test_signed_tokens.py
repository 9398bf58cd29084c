"""One signed-token format for room links, WebSocket tickets and list pages: a token made for one use (or one
list) never opens as another, even under the same signing key."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.domain import errors, signed
from chalicelib.domain.paging import open_token, sign_token
from chalicelib.domain.realtime import Ticket, sign_ticket, verify_ticket

KEY = b"unit-test-key"
NOW = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)


def test_a_token_opens_with_its_key_use_and_context_only():
    # GIVEN a token signed for one use and context
    token = signed.sign({"sub": "p1"}, KEY, "realtime", context="c1")
    # THEN it opens for exactly that, and for nothing else
    assert signed.verified(token, KEY, "realtime", context="c1") == {"sub": "p1", "use": "realtime"}
    assert signed.verified(token, KEY, "realtime", context="c2") is None
    assert signed.verified(token, KEY, "room", context="c1") is None
    assert signed.verified(token, b"other-key", "realtime", context="c1") is None


@pytest.mark.parametrize("bad", [None, "", "abc", "a.b.c", ".", "e30.AAAA"])
def test_missing_and_malformed_tokens_open_as_nothing(bad):
    assert signed.verified(bad, KEY, "realtime") is None


def test_a_websocket_ticket_is_not_a_list_page_token_and_the_reverse():
    # GIVEN a WebSocket ticket and a list page token made with the same key
    ticket = sign_ticket(Ticket("p1", "patient", NOW + timedelta(seconds=60), "t1"), KEY)
    page = sign_token(("2027-03-01T15:00:00Z", "appt-1"), "GET /a", KEY)
    # WHEN each is offered where the other belongs THEN both are refused
    with pytest.raises(errors.InvalidInput):
        open_token(ticket, "GET /a", KEY)
    with pytest.raises(errors.Unauthenticated):
        verify_ticket(page, KEY, NOW)
    # while each still works where it belongs
    assert verify_ticket(ticket, KEY, NOW).subject == "p1"
    assert open_token(page, "GET /a", KEY) == ("2027-03-01T15:00:00Z", "appt-1")


@pytest.mark.parametrize("forged", [".\x80", "é.é", "eyJ1c2UiOiJ4In0.\u00e9\u00e9", "\x00.\x00"])
def test_a_token_edited_with_non_ascii_characters_opens_as_nothing_not_an_error(forged):
    # GIVEN a token someone edited with characters no token of ours holds
    # WHEN it is verified, or opened as a list's page token
    # THEN it is refused like any forgery (compare_digest raised TypeError on a non-ASCII str: a 500)
    assert signed.verified(forged, KEY, "list-page") is None
    with pytest.raises(errors.InvalidInput):
        open_token(forged, "some-list", KEY)
