"""The patient app's catalogues (issue 32): every word on its screens comes from web/i18n/<lang>.json, every key
the app uses is in every catalogue with the same placeholders, no catalogue holds a key nothing uses, and the
layout uses logical CSS properties (ready for a right-to-left language)."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import ClassVar

import pytest

from chalicelib.domain.language import LANGUAGES

WEB = Path(__file__).resolve().parents[2] / "web"
PATIENT_SCRIPTS = [
    "app.js",
    "slots.js",
    "telehealth.js",
    "waitlist.js",
    "shared/i18n.js",
    "shared/dates.js",
    "shared/status.js",
]
NOT_KEYS = re.compile(r"clinic\.\w+")
"""Dotted strings in the scripts that are not catalogue keys: the browser storage's keys."""


def catalogue(language: str) -> dict[str, str]:
    return json.loads((WEB / "i18n" / f"{language}.json").read_text(encoding="utf-8"))


class _Marked(HTMLParser):
    """The page's keys (`data-i18n`, `data-i18n-<attribute>`), and any text that carries none."""

    VOID: ClassVar[frozenset[str]] = frozenset({"meta", "link", "input", "br", "img"})

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[tuple[str, dict[str, str | None]]] = []
        self.keys: set[str] = set()
        self.bare: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        self.keys |= {v for k, v in found.items() if k.startswith("data-i18n") and v}
        if tag not in self.VOID:
            self.stack.append((tag, found))

    def handle_endtag(self, tag: str) -> None:
        while self.stack and self.stack[-1][0] != tag:
            self.stack.pop()
        if self.stack:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        text = data.strip()
        if not text or not self.stack or self.stack[-1][0] in ("script", "style"):
            return
        attrs = self.stack[-1][1]
        # a language's own name (the language menu, `lang` set) and numbers (text sizes) are no one's translation
        if "data-i18n" not in attrs and "lang" not in attrs and not re.fullmatch(r"[\d%]+", text):
            self.bare.append(text)


def page() -> _Marked:
    parsed = _Marked()
    parsed.feed((WEB / "index.html").read_text(encoding="utf-8"))
    return parsed


def script_keys() -> set[str]:
    """Keys the scripts name: dotted string literals (`t('book.button')`, the two sides of `t(a ? 'x.y' :
    'x.z')`), and those built at run time (`t(\\`status.${s}\\`)`), which their module lists in `// i18n-keys:`."""
    keys: set[str] = set()
    for name in PATIENT_SCRIPTS:
        text = (WEB / name).read_text(encoding="utf-8")
        keys |= {k for k in re.findall(r"'([a-z][A-Za-z]*(?:\.[A-Za-z0-9_-]+)+)'", text) if not NOT_KEYS.fullmatch(k)}
        for line in re.findall(r"// i18n-keys:(.*)", text):
            keys |= set(line.split())
    return keys


def used_keys() -> set[str]:
    return page().keys | script_keys() | {"meta.dir"}  # meta.dir: the page's direction (shared/i18n.js)


def test_every_text_of_the_page_comes_from_the_catalogue():
    assert page().bare == []


def _literal_at(text: str, start: int) -> str:
    """The words of the string literal opening at `start`: a quoted one whole, a template one without its
    `${...}` parts (those are data or t(...) calls)."""
    quote, i, words, depth = text[start], start + 1, [], 0
    while i < len(text):
        char = text[i]
        if depth == 0 and char == quote:
            break
        if quote == "`" and text.startswith("${", i) and depth == 0:
            depth, i = 1, i + 2
            continue
        if depth:
            depth += {"{": 1, "}": -1}.get(char, 0)
        else:
            words.append(char)
        i += 1
    return "".join(words)


def test_no_script_writes_words_of_its_own():
    # GIVEN the patient app's scripts THEN no text, label or announcement is an English literal: each is t(...)
    opening = re.compile(
        r"""(?:\btext:|'aria-label':|textContent\s*=|announce\(|replaceChildren\(|retryButton\()\s*(['`])"""
    )
    for name in PATIENT_SCRIPTS:
        text = (WEB / name).read_text(encoding="utf-8")
        worded = [w for m in opening.finditer(text) if re.search(r"[A-Za-z]{3}", w := _literal_at(text, m.start(1)))]
        assert worded == [], (name, worded)


def test_dynamic_keys_are_declared():
    # GIVEN the run-time keys (`t(\`prefix.${...}\`)`) THEN their prefix has keys declared in `// i18n-keys:`
    declared = script_keys()
    for name in PATIENT_SCRIPTS:
        for prefix in re.findall(r"t\(`([a-zA-Z.]+\.)\$\{", (WEB / name).read_text(encoding="utf-8")):
            assert any(k.startswith(prefix) for k in declared), (name, prefix)


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_key_the_app_uses_is_in_the_catalogue_and_nothing_else(language):
    held = set(catalogue(language))
    used = used_keys()
    assert used - held == set(), f"missing from {language}.json"
    assert held - used == set(), f"unused in {language}.json"


@pytest.mark.parametrize("language", [lang for lang in LANGUAGES if lang != "en"])
def test_each_translation_keeps_the_placeholders_and_is_translated(language):
    english, other = catalogue("en"), catalogue(language)
    for key, text in english.items():
        assert sorted(re.findall(r"\{\w+\}", other[key])) == sorted(re.findall(r"\{\w+\}", text)), key
        assert other[key].strip() or not text.strip(), key


def test_the_language_menu_offers_every_language_named_in_itself():
    html = (WEB / "index.html").read_text(encoding="utf-8")
    menu = re.search(r'<select id="language">(.*?)</select>', html, re.S)
    assert menu is not None
    offered = re.findall(r'<option value="(\w+)" lang="(\w+)">', menu.group(1))
    assert [value for value, _ in offered] == list(LANGUAGES)
    assert all(value == lang for value, lang in offered)
    script = (WEB / "shared" / "i18n.js").read_text(encoding="utf-8")
    listed = re.search(r"export const LANGUAGES = \[(.*?)\];", script)
    assert listed is not None and listed.group(1) == ", ".join(f"'{x}'" for x in LANGUAGES)


def test_the_layout_uses_logical_properties_so_a_right_to_left_page_mirrors():
    css = (WEB / "app.css").read_text(encoding="utf-8")
    physical = re.findall(
        r"(?:margin|padding|border)-(?:left|right|top|bottom)\b|(?<![\w-])(?:left|right|top|bottom)\s*:"
        r"|text-align:\s*(?:left|right)|float:\s*(?:left|right)",
        css,
    )
    assert physical == []
