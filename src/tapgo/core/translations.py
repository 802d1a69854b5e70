"""Merchants' own texts in several languages: names and descriptions of apps, categories,
products and variants (docs/decisions/0014-merchant-texts-in-several-languages.md).

A row keeps its text in the merchant's default language in its ordinary columns (`name`,
`description`), which every part of Tapgo that does not care about languages goes on reading;
its `translations` column (a JSON object) holds the other languages the merchant gave:
``{"zh-hans": {"name": "拿铁", "description": "…"}}``. A customer reads the text in their
language when the merchant gave it, else the default one.
"""

import copy
import json
from collections.abc import Iterable, Mapping
from typing import Any

from django.conf import settings
from django.utils import translation

MAX_LANGUAGES = 8


def language_codes() -> list[str]:
    return [code for code, _name in settings.LANGUAGES]


def supported(language: str | None) -> str:
    """`language` as one of settings.LANGUAGES ("zh-Hans-CN" → "zh-hans"), else the site's."""
    if language:
        try:
            return translation.get_supported_language_variant(language)
        except LookupError:
            pass
    return settings.LANGUAGE_CODE


def current() -> str:
    """The language of the request (or task) being served, as one of settings.LANGUAGES."""
    return supported(translation.get_language())


def text(translations: Any, field: str, default: str, language: str | None = None) -> str:
    """`field` in `language` (the current one if None) from a row's translations, else the
    default-language text the row's column holds."""
    if translations:
        if isinstance(translations, str):  # a raw JSON column read without the ORM
            translations = parse(translations)
        given = translations.get(language or current())
        if given:
            value = given.get(field)
            if value:
                return value
    return default


def of(obj, field: str, language: str | None = None) -> str:
    """An object's `field` (a column such as `name`) in `language`, else its default text."""
    return text(getattr(obj, "translations", None), field, getattr(obj, field) or "", language)


def parse(raw: str | None) -> dict:
    """A translations column read raw (SQLite gives its text), as a dict; {} if unreadable."""
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def clean(
    given: Mapping[str, Mapping[str, str]] | None,
    *,
    default_language: str,
    fields: Mapping[str, int],
    check: Any = None,
) -> dict[str, dict[str, str]]:
    """Translations fit to store: known languages other than the default, known fields,
    stripped, empty ones left out, each at most its length (`fields`: name → limit);
    `check(field, value, limit)` may raise for a value it refuses (the domain's own message)."""
    out: dict[str, dict[str, str]] = {}
    for language in language_codes():
        if language == default_language or not given or language not in given:
            continue
        texts = {}
        for field, limit in fields.items():
            value = (given[language] or {}).get(field) or ""
            value = " ".join(value.split()) if field == "name" else value.strip()
            if not value:
                continue
            texts[field] = check(field, value, limit) if check else value[:limit]
        if texts:
            out[language] = texts
    return out


def each(rows: Iterable, field: str) -> list[str]:
    """Every language's text of `field` across rows (the default first), for an index."""
    out = []
    for row in rows:
        out.append(getattr(row, field) or "")
        for texts in (getattr(row, "translations", None) or {}).values():
            if texts.get(field):
                out.append(texts[field])
    return out


def localised(obj, fields: tuple[str, ...] = ("name", "description"), language: str | None = None):
    """A shallow copy of a model instance with `fields` in `language` (the current one):
    for showing, never for saving. The object itself is returned when nothing changes."""
    if not getattr(obj, "translations", None):
        return obj
    values = {field: of(obj, field, language) for field in fields}
    if all(getattr(obj, field) == value for field, value in values.items()):
        return obj
    shown = copy.copy(obj)
    for field, value in values.items():
        setattr(shown, field, value)
    return shown
