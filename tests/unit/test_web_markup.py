"""Both web apps build the page from data with DOM calls (web/shared/dom.js's `el`), never from HTML strings: no
script under web/ assigns innerHTML or outerHTML or calls insertAdjacentHTML or document.write, so nothing a
server or a person typed can become markup (README: Patient web app, "How the pages are built")."""

from __future__ import annotations

import re
from pathlib import Path

WEB = Path(__file__).resolve().parents[2] / "web"
HTML_SINKS = re.compile(
    r"\.(?:innerHTML|outerHTML)\s*(?:\+?=)(?!=)|insertAdjacentHTML\s*\(|document\.write(?:ln)?\s*\(|createContextualFragment"
)


def sinks(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if HTML_SINKS.search(line)]


def test_no_script_of_either_app_writes_html_strings_into_the_page():
    # GIVEN every script the two apps serve (vendored code aside) THEN none has an HTML sink
    scripts = [p for p in WEB.rglob("*.js") if "vendor" not in p.parts]
    assert {p.name for p in scripts} >= {"app.js", "console.js", "slots.js", "dom.js"}
    found = {p.relative_to(WEB).as_posix(): sinks(p.read_text()) for p in scripts}
    assert {name: lines for name, lines in found.items() if lines} == {}


def test_the_check_catches_each_kind_of_sink():
    # GIVEN lines as the console once had them THEN each is caught; reading innerHTML or comparing is not a sink
    for line in (
        "box.innerHTML = `<td>${esc(a.name)}</td>`;",
        "list.innerHTML += row;",
        "tbody.insertAdjacentHTML('beforeend', html);",
        "node.outerHTML = html;",
        "document.write(x);",
    ):
        assert sinks(line) == [line], line
    assert sinks("if (a.innerHTML === b) return;") == []
    assert sinks("node.textContent = name;") == []
