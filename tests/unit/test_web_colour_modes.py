"""The web app's dark and high-contrast modes change colours and nothing else. The browser tests rely on it: they
run every axe rule in the light mode and only axe's colour rules in the others (tests/e2e/test_webapp.py)."""

from __future__ import annotations

import re
from pathlib import Path

CSS = Path(__file__).resolve().parents[2] / "web" / "app.css"
MODE_BLOCK = re.compile(r"html(?:\[data-(?:theme|contrast)=[^\]]+\])*\s*\{([^}]*)\}")
"""The root element's rules: unconditional, under prefers-color-scheme or prefers-contrast, or for the page's own
theme and contrast switches (`data-theme`, `data-contrast`)."""
COLOUR_ONLY = re.compile(r"--[a-z-]+: (#[0-9a-fA-F]{3,8}|rgba?\([^)]*\)|transparent)|color-scheme: (light|dark)")


def declarations(block: str) -> list[str]:
    without_comments = re.sub(r"/\*.*?\*/", "", block, flags=re.S)
    return [d.strip() for d in without_comments.split(";") if d.strip()]


def test_the_colour_modes_set_colour_variables_and_the_colour_scheme_only():
    # GIVEN the style sheet's blocks for the root element: the default, dark and high-contrast modes
    blocks = MODE_BLOCK.findall(CSS.read_text())
    assert len(blocks) >= 5
    # THEN every declaration in them is a colour variable or the colour scheme
    found = [d for block in blocks for d in declarations(block)]
    assert len(found) > 40
    assert [d for d in found if not COLOUR_ONLY.fullmatch(d)] == []


def test_a_mode_that_changed_a_size_would_be_caught():
    # GIVEN a mode block that also changes the layout WHEN it is read THEN it is not colour-only
    block = MODE_BLOCK.findall("html[data-contrast='more'] { --fg: #000; display: none; }")[0]
    assert [d for d in declarations(block) if not COLOUR_ONLY.fullmatch(d)] == ["display: none"]
