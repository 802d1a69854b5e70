"""Every template keeps to the Content-Security-Policy the pages are served with (no
'unsafe-inline' for styles or scripts): no style attribute, no inline script or event
handler, no javascript: link. A browser would block them, so the page would silently lose
what they do (the coupon page's campaign code once carried a style attribute)."""

import re
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src" / "tapgo"
TEMPLATES = sorted(p for p in SRC.rglob("templates/**/*.html"))
INLINE = [
    (re.compile(r"\sstyle\s*=", re.I), "a style attribute"),
    (re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I), "an inline script"),
    (re.compile(r"\son[a-z]+\s*=\s*[\"']", re.I), "an inline event handler"),
    (re.compile(r"href\s*=\s*[\"']\s*javascript:", re.I), "a javascript: link"),
]


def test_templates_are_found():
    assert len(TEMPLATES) > 50


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: str(p.relative_to(SRC)))
def test_a_template_has_nothing_the_csp_blocks(path: Path):
    text = path.read_text(encoding="utf-8")
    found = [
        f"{what} on line {text.count(chr(10), 0, match.start()) + 1}"
        for pattern, what in INLINE
        for match in pattern.finditer(text)
    ]
    assert found == [], f"{path.relative_to(SRC)}: " + ", ".join(found)
