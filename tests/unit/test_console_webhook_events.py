"""The console's Webhooks form offers every event type the API accepts, and no other (its list is written out in
web/console.js, with words for each; a new event type added to the API must appear there too)."""

from __future__ import annotations

import re
from typing import get_args

from chalicelib.api.schemas.webhooks import WebhookEvent
from chalicelib.api.webapp import WEB_DIR


def offered(script: str) -> list[str]:
    block = re.search(r"const WEBHOOK_EVENTS = \[(.*?)\n\];", script, re.S)
    assert block, "web/console.js has no WEBHOOK_EVENTS list"
    return re.findall(r'^\s*\["([a-z_.]+)", "[^"]+"\],?$', block.group(1), re.M)


def test_the_console_offers_exactly_the_event_types_the_api_accepts() -> None:
    # GIVEN the console's script and the API's event types THEN the form's checkboxes are exactly those, in order
    assert offered((WEB_DIR / "console.js").read_text()) == list(get_args(WebhookEvent))


def test_a_type_missing_from_the_console_is_caught() -> None:
    # GIVEN a console list without one type THEN it does not match the API's
    script = '\nconst WEBHOOK_EVENTS = [\n  ["appointment.booked", "a visit is booked"],\n];\n'
    assert offered(script) == ["appointment.booked"] != list(get_args(WebhookEvent))
