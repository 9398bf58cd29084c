"""Debian's Chromium headless shell for the browser tests, launched one way for the web app's and the console's,
and axe-core's accessibility check run the same way in both."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from infra.local.dynamodb_local import ROOT, real_clock_env

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
# the headless shell (the build Playwright uses for headless runs): the same Blink as the full browser for less CPU
# (29 s instead of 37 s on the two costliest browser tests), and the browser is most of these tests' cost
CHROMIUM = "/usr/lib/chromium/chromium-headless-shell"  # the binary: /usr/bin/ has a wrapper script that does not exec
LAUNCH_FLAGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


FAKE_MEDIA = "--use-fake-device-for-media-stream"
"""Camera and microphone are Chromium's fakes (the web app's device check before a video visit)."""


def launch_chromium(playwright: Any, *extra_flags: str) -> Any:
    """Chromium keeps the machine's real clock under `make test-any-hour` (it stalls under libfaketime); the
    pages' dates are weeks ahead, so its clock and the faked one agree on every date a test uses."""
    return playwright.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=[*LAUNCH_FLAGS, *extra_flags], env=real_clock_env()
    )


COLOUR_RULES = ("color-contrast", "link-in-text-block")
"""axe-core's rules whose results a colour scheme can change (the rest read the DOM, ARIA and layout)."""


def axe_violations(page: Any, rules: Sequence[str] = ()) -> list[str]:
    """axe-core's violations on the page as it stands (only `rules` when given): rule id and the first few
    elements of each. axe is put on the page once per document, not before every run."""
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(AXE.read_text() + "\n;true")  # not a <script> tag: the CSP allows only the page's own
    only = f", runOnly: {{type: 'rule', values: {json.dumps(list(rules))}}}" if rules else ""
    result = page.evaluate(f"axe.run(document, {{resultTypes: ['violations']{only}}})")
    return [f"{v['id']}: {[n['target'] for n in v['nodes']][:3]}" for v in result["violations"]]
