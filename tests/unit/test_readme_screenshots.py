"""The README's "How it looks" pictures are committed, small PNGs of the browser tests' own screenshots."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_picture_the_readme_shows_is_a_small_committed_png():
    shown = re.findall(r"!\[[^\]]+\]\(([^)]+)\)", (ROOT / "README.md").read_text())
    assert len(shown) >= 2
    for path in shown:
        picture = ROOT / path
        assert path.startswith("docs/screenshots/") and picture.suffix == ".png", path
        assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", path
        assert picture.stat().st_size < 150_000, (path, picture.stat().st_size)
