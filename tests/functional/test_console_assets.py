"""The clinic console is web/console.html with its script and styles, served beside the patient app (locally by the
app, in AWS by CloudFront from S3). Nothing in the page runs inline, so a Content-Security-Policy without
'unsafe-inline' leaves it working."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any


class _Inline(HTMLParser):
    """Collects what a strict CSP would block: inline scripts, style elements and attributes, on* handlers."""

    def __init__(self) -> None:
        super().__init__()
        self.blocked: list[str] = []
        self.assets: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = dict(attrs)
        if tag == "script":
            if not names.get("src"):
                self.blocked.append("inline <script>")
            else:
                self.assets.append(str(names["src"]))
        if tag == "link" and names.get("rel") == "stylesheet":
            self.assets.append(str(names.get("href")))
        if tag == "style":
            self.blocked.append("<style>")
        for name, _ in attrs:
            if name.startswith("on") or name == "style":
                self.blocked.append(f"{tag} {name}=")


def test_the_page_loads_its_script_and_styles_from_the_app_and_runs_nothing_inline(client: Any) -> None:
    # GIVEN the console page WHEN it is read as a browser would THEN it names its own two files and inlines nothing
    page = client.get("/console")
    assert page.status_code == 200
    found = _Inline()
    found.feed(page.body.decode())
    assert found.blocked == []
    assert sorted(found.assets) == ["/console.css", "/console.js"]
    assert not re.search(r"https?://", page.body.decode())  # nothing from a third-party host


def test_the_script_and_styles_are_served_with_their_types(client: Any) -> None:
    # GIVEN no sign-in WHEN the console's files are fetched THEN each comes with its type and is never sniffed
    for path, kind, marker in (
        ("/console.js", "text/javascript", 'from "./shared/api.js"'),
        ("/console.css", "text/css", "prefers-color-scheme: dark"),
    ):
        got = client.get(path)
        assert got.status_code == 200, path
        assert got.headers["Content-Type"].startswith(kind)
        assert got.headers["X-Content-Type-Options"] == "nosniff"
        assert marker in got.body.decode()


def test_the_script_builds_no_inline_handlers_or_styles_either() -> None:
    # GIVEN the script's HTML templates THEN none carries an on* handler or a style attribute (CSP would block them)
    from chalicelib.api.webapp import WEB_DIR

    script = (WEB_DIR / "console.js").read_text()
    assert not re.search(r"""\son[a-z]+=["'`$]""", script)
    assert not re.search(r"""\sstyle=["'`$]""", script)
    assert "eval(" not in script and "new Function" not in script
