"""Template texts: typed fields, checking a template and a message's values, rendering.

A text names fields as {field}; nothing else of str.format is allowed (no attributes,
indexes, conversions or format specs), so a template can never reach into Python objects.
"""

import string
from datetime import datetime

from babel.dates import format_datetime
from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy

from tapgo.core.money import format_money

FIELD_TYPES = ("text", "money", "datetime", "number")
TEXT_PARTS = ("name", "ask", "title", "body")
MAX_TEXT = {"name": 60, "ask": 80, "title": 80, "body": 400}
MAX_VALUE = 200  # characters of a text field's value
MAX_NUMBER = 10**15  # bigger ints overflow JSON numbers and str() (a message would never render)

# What messages call the parts and the types (the codes are for the code and the ops form).
PART_LABELS = {
    "name": pgettext_lazy("template part", "name"),
    "ask": pgettext_lazy("template part", "question"),
    "title": pgettext_lazy("template part", "title"),
    "body": pgettext_lazy("template part", "text"),
}
TYPE_LABELS = {
    "text": pgettext_lazy("field type", "text"),
    "money": pgettext_lazy("field type", "money"),
    "datetime": pgettext_lazy("field type", "date and time"),
    "number": pgettext_lazy("field type", "whole number"),
}


class TemplateTextError(ValueError):
    pass


def languages() -> list[str]:
    return [code for code, _name in settings.LANGUAGES]


def current_language() -> str:
    """The active language if it is a shipped one, else "" (the default language): what a
    consent, a device or a text for the customer goes by."""
    language = (translation.get_language() or "").lower()
    return language if language in languages() else ""


def language_name(code: str) -> str:
    """A language's name as settings.LANGUAGES gives it (translated), not its code."""
    return str(dict(settings.LANGUAGES).get(code, code))


def _placeholders(text: str) -> list[str]:
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError:
        raise TemplateTextError(_("A text has an unmatched “{” or “}”.")) from None
    names = []
    for _literal, name, spec, conversion in parsed:
        if name is None:
            continue
        if not name.isidentifier():
            raise TemplateTextError(
                _("“{%(name)s}” is not a field: write a field's name in braces.") % {"name": name}
            )
        if spec or conversion:
            written = "{" + name + (f"!{conversion}" if conversion else "")
            written += (f":{spec}" if spec else "") + "}"
            raise TemplateTextError(
                _(
                    "“%(written)s”: a field is written as {%(name)s}, without a conversion (!) "
                    "or a format (:)."
                )
                % {"written": written, "name": name}
            )
        names.append(name)
    return names


def check_template(fields, texts) -> tuple[list[dict], dict]:
    """The fields and texts cleaned, or TemplateTextError with a message."""
    if not isinstance(fields, list) or not isinstance(texts, dict):
        raise TemplateTextError(_("A template needs a list of fields and a text per language."))
    clean_fields, names = [], set()
    for field in fields:
        if not isinstance(field, dict):
            raise TemplateTextError(_("Each field needs a name and a type."))
        name = field.get("name")
        name = name.strip() if isinstance(name, str) else ""
        kind = field.get("type")
        if not name.isidentifier() or len(name) > 30:
            raise TemplateTextError(_("A field's name is a word of letters, digits and _."))
        if kind not in FIELD_TYPES:
            raise TemplateTextError(
                _("A field's type is one of: %(types)s.") % {"types": ", ".join(FIELD_TYPES)}
            )
        if name in names:
            raise TemplateTextError(_("Two fields are called “%(name)s”.") % {"name": name})
        names.add(name)
        clean_fields.append({"name": name, "type": kind})
    clean_texts = {}
    for language in languages():
        parts = texts.get(language) or {}
        if not isinstance(parts, dict):
            raise TemplateTextError(_("A template needs a list of fields and a text per language."))
        clean = {}
        for part in TEXT_PARTS:
            value = parts.get(part, "")
            value = value.strip() if isinstance(value, str) else ""  # not text: missing
            if not value:
                raise TemplateTextError(
                    _("Every language needs a %(part)s (%(language)s is missing one).")
                    % {"part": PART_LABELS[part], "language": language_name(language)}
                )
            if len(value) > MAX_TEXT[part]:
                raise TemplateTextError(
                    _("A %(part)s is at most %(max)d characters.")
                    % {"part": PART_LABELS[part], "max": MAX_TEXT[part]}
                )
            for name in _placeholders(value):
                if name not in names:
                    raise TemplateTextError(
                        _("The text names {%(name)s}, which is not one of the fields.")
                        % {"name": name}
                    )
            clean[part] = value
        clean_texts[language] = clean
    return clean_fields, clean_texts


def check_values(fields: list[dict], values) -> dict:
    """A message's values checked against the template's typed fields (all, and no more)."""
    if not isinstance(values, dict):
        raise TemplateTextError(_("A message's values are a mapping of field to value."))
    expected = {field["name"]: field["type"] for field in fields}
    extra = set(values) - set(expected)
    if extra:
        raise TemplateTextError(
            _("Unknown fields: %(names)s.") % {"names": ", ".join(sorted(map(str, extra)))}
        )
    clean = {}
    for name, kind in expected.items():
        if name not in values:
            raise TemplateTextError(_("The field %(name)s is missing.") % {"name": name})
        value = values[name]
        ok = True
        if kind == "text":
            ok = isinstance(value, str) and len(value) <= MAX_VALUE
        elif kind == "number":
            ok = isinstance(value, int) and not isinstance(value, bool) and abs(value) < MAX_NUMBER
        elif kind == "money":
            ok = (
                isinstance(value, dict)
                and set(value) == {"amount", "currency"}
                and isinstance(value["amount"], int)
                and not isinstance(value["amount"], bool)
                and abs(value["amount"]) < MAX_NUMBER
                and isinstance(value["currency"], str)
                and len(value["currency"]) == 3
                and value["currency"].isalpha()
            )
        elif kind == "datetime":
            try:
                ok = datetime.fromisoformat(value).tzinfo is not None
            except (TypeError, ValueError):
                ok = False
        if not ok:
            raise TemplateTextError(
                _("The field %(name)s needs a %(type)s value.")
                % {"name": name, "type": TYPE_LABELS[kind]}
            )
        clean[name] = value
    return clean


def _display(kind: str, value, language: str) -> str:
    if kind == "money":
        return format_money(value["amount"], value["currency"].upper(), language)
    if kind == "datetime":
        moment = datetime.fromisoformat(value)
        locale = "zh_Hans_CN" if language.lower() == "zh-hans" else language.replace("-", "_")
        return format_datetime(moment, "medium", tzinfo=moment.tzinfo, locale=locale)
    return str(value)


def text_for(texts: dict, language: str | None) -> dict:
    """The template's texts in `language`, or in the default language."""
    return (
        texts.get(language or "") or texts.get(settings.LANGUAGE_CODE) or next(iter(texts.values()))
    )


def render(template, values: dict, language: str | None) -> tuple[str, str]:
    """A message's title and body in `language` (falling back to the default language)."""
    texts = text_for(template.texts, language)
    language = (
        language if language is not None and language in template.texts else settings.LANGUAGE_CODE
    )
    kinds = {field["name"]: field["type"] for field in template.fields}
    shown = {name: _display(kinds[name], value, language) for name, value in values.items()}
    formatter = string.Formatter()
    return formatter.vformat(texts["title"], (), shown), formatter.vformat(texts["body"], (), shown)
