"""Text from a request, made fit to show again (in a page's title, a form field's value, a
cell of a CSV file), and a distance as people say it."""

import unicodedata

from django.utils.translation import gettext as _

_SPACES = {"\t", "\n", "\r"}
_JOINERS = {"\u200c", "\u200d"}  # zero-width (non-)joiner: part of some scripts and emoji


def printable(text: str) -> str:
    """`text` without control or format characters (NUL, escape, bidi overrides, ...):
    tabs and line breaks become spaces; the rest are dropped."""
    if text.isprintable():
        return text
    return "".join(
        " "
        if ch in _SPACES
        else ch
        if ch in _JOINERS or unicodedata.category(ch) not in ("Cc", "Cf")
        else ""
        for ch in text
    )


def format_distance(metres: float) -> str:
    """A distance as people say it: "800 m", "2.5 km"."""
    if metres < 1000:
        return _("%(n)d m") % {"n": round(metres)}
    return _("%(n)s km") % {"n": f"{metres / 1000:.1f}".removesuffix(".0")}


# What makes a spreadsheet read a cell as a formula (and the full-width forms some read so too).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", "＝", "＋", "－", "＠")


def spreadsheet_safe(text: str) -> str:
    """`text` for a cell of a CSV file someone opens in a spreadsheet: one that would start a
    formula ("=HYPERLINK(…)", "+1", "@SUM") starts with an apostrophe instead, which the
    spreadsheet shows as text (OWASP's advice against CSV injection)."""
    return "'" + text if text.startswith(_FORMULA_STARTS) else text
