"""The Simplified Chinese catalogue is complete for every string the code marks, and compiled."""

import gettext
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

SRC = Path(__file__).resolve().parent.parent / "src" / "tapgo"
PO = SRC / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
MO = PO.with_suffix(".mo")


def _catalog(path: Path):
    with path.open("rb") as f:
        return read_po(f, locale="zh_Hans")


def test_every_message_is_translated_and_none_is_fuzzy():
    catalog = _catalog(PO)
    untranslated = [
        m.id
        for m in catalog
        if m.id and (not m.string or (isinstance(m.string, tuple) and not all(m.string)))
    ]
    fuzzy = [m.id for m in catalog if m.id and m.fuzzy]
    assert untranslated == [] and fuzzy == []


def test_the_compiled_catalogue_matches_the_source():
    with MO.open("rb") as f:
        compiled = gettext.GNUTranslations(f)
    for message in _catalog(PO):
        if not message.id:
            continue
        if isinstance(message.id, tuple):
            got = compiled.ngettext(message.id[0], message.id[1], 1)
            want = message.string[0]
        elif message.context:
            got, want = compiled.pgettext(message.context, message.id), message.string
        else:
            got, want = compiled.gettext(message.id), message.string
        assert got == want, f"{message.id!r}: run `tapgo compilemessages` in src/tapgo"


def test_the_catalogue_covers_every_marked_string(tmp_path):
    if shutil.which("xgettext") is None:
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail("CI=true but xgettext is missing: apt-get install gettext")
        pytest.skip("MISSING TOOL: xgettext (apt-get install gettext) to check the catalogue")
    tree = tmp_path / "tapgo"
    shutil.copytree(SRC, tree, ignore=shutil.ignore_patterns("__pycache__", "*.mo"))
    subprocess.run(
        [
            sys.executable, "-m", "django", "makemessages", "-l", "zh_Hans", "--no-location",
            "--ignore", "*/tests/*", "--ignore", "*/migrations/*",
        ],
        cwd=tree,
        check=True,
        capture_output=True,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "tapgo.settings"},
    )  # fmt: skip
    fresh = {(m.id, m.context) for m in _catalog(tree / "locale/zh_Hans/LC_MESSAGES/django.po")}
    known = {(m.id, m.context) for m in _catalog(PO)}
    missing = sorted(str(key) for key in fresh - known)
    assert missing == [], "new strings need translating (see README, Translations)"
