"""The ops console's forms. They only parse what was typed; messaging decides what is valid."""

from django import forms
from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tapgo.messaging.models import Template
from tapgo.messaging.texts import FIELD_TYPES, TEXT_PARTS

MAX_TYPED = 1000  # characters of any one box: the service's own limits are far lower
MAX_FIELDS = 30


def _part_labels() -> dict[str, str]:
    return {
        "name": _("Name"),
        "ask": _("Asking for consent"),
        "title": _("Title"),
        "body": _("Text"),
    }


class TemplateForm(forms.Form):
    """A notification template: key (adding only), subject, typed fields, a text per shipped
    language (settings.LANGUAGES), and the three switches."""

    key = forms.CharField(
        label=gettext_lazy("Key"),
        max_length=40,
        help_text=gettext_lazy("A short word for the code, e.g. order_ready. It cannot change."),
    )
    subject = forms.ChoiceField(
        label=gettext_lazy("About"), choices=Template.Subject.choices, required=False
    )
    field_lines = forms.CharField(
        label=gettext_lazy("Fields"),
        required=False,
        max_length=MAX_TYPED,
        widget=forms.Textarea({"rows": 4}),
    )
    standing = forms.BooleanField(
        label=gettext_lazy("Customers may allow it until they turn it off (standing)"),
        required=False,
    )
    default_on = forms.BooleanField(label=gettext_lazy("On for new mini apps"), required=False)
    active = forms.BooleanField(
        label=gettext_lazy("Active (offered to merchants)"), required=False, initial=True
    )

    def __init__(self, *args, adding: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.adding = adding
        if not adding:
            del self.fields["key"]
        self.fields["field_lines"].help_text = _(
            "One field a line: its name and its type, e.g. “total money”. Types: %(types)s. "
            "Texts name a field in braces: {total}."
        ) % {"types": ", ".join(FIELD_TYPES)}
        labels = _part_labels()
        for code, _name in settings.LANGUAGES:
            for part in TEXT_PARTS:
                self.fields[self.text_field(code, part)] = forms.CharField(
                    label=labels[part],
                    required=False,
                    max_length=MAX_TYPED,
                    widget=forms.Textarea({"rows": 3}) if part == "body" else forms.TextInput,
                )

    @staticmethod
    def text_field(code: str, part: str) -> str:
        return f"{code}__{part}"

    @classmethod
    def initial_for(cls, template: Template) -> dict:
        initial = {
            "subject": template.subject,
            "field_lines": "\n".join(f"{f['name']} {f['type']}" for f in template.fields),
            "standing": template.standing,
            "default_on": template.default_on,
            "active": template.active,
        }
        for code, _name in settings.LANGUAGES:
            for part in TEXT_PARTS:
                value = (template.texts.get(code) or {}).get(part, "")
                initial[cls.text_field(code, part)] = value
        return initial

    def general_fields(self):
        names = ["key", "subject", "field_lines"] if self.adding else ["subject", "field_lines"]
        return [self[name] for name in names]

    def switch_fields(self):
        return [self[name] for name in ("standing", "default_on", "active")]

    def languages(self):
        """(language name, its bound text fields) for each shipped language."""
        return [
            (name, [self[self.text_field(code, part)] for part in TEXT_PARTS])
            for code, name in settings.LANGUAGES
        ]

    def clean_field_lines(self) -> list[dict]:
        fields = []
        for number, line in enumerate(self.cleaned_data["field_lines"].splitlines(), start=1):
            words = line.split()
            if not words:
                continue
            if len(words) != 2:
                raise forms.ValidationError(
                    _("Line %(n)d: write a field as its name and its type, e.g. “total money”.")
                    % {"n": number}
                )
            fields.append({"name": words[0], "type": words[1]})
        if len(fields) > MAX_FIELDS:
            raise forms.ValidationError(_("At most %(n)d fields a template.") % {"n": MAX_FIELDS})
        return fields

    def texts(self) -> dict:
        data = self.cleaned_data
        return {
            code: {part: data.get(self.text_field(code, part), "") for part in TEXT_PARTS}
            for code, _name in settings.LANGUAGES
        }
