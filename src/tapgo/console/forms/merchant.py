"""The merchant's settings, staff invitations, pausing, and texts in its other languages."""

from typing import TYPE_CHECKING

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from tapgo.console.forms.fields import time_zone_choices
from tapgo.core import translations
from tapgo.merchants.models import Role

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


class MerchantForm(forms.Form):
    name = forms.CharField(label=_("Business name"), max_length=120)
    address = forms.CharField(label=_("Address"), max_length=300, required=False)
    latitude = forms.DecimalField(
        label=_("Latitude"),
        required=False,
        max_digits=9,
        decimal_places=6,
        min_value=-90,
        max_value=90,
        help_text=_("Optional. Give both latitude and longitude, or neither."),
    )
    longitude = forms.DecimalField(
        label=_("Longitude"),
        required=False,
        max_digits=9,
        decimal_places=6,
        min_value=-180,
        max_value=180,
    )
    opening_hours = forms.CharField(
        label=_("Opening hours"),
        max_length=300,
        required=False,
        help_text=_("As customers should read it, e.g. Mon–Sun 07:30–20:00."),
    )
    time_zone = forms.ChoiceField(label=_("Time zone"), initial="Asia/Shanghai")
    currency = forms.CharField(
        label=_("Currency"),
        max_length=3,
        min_length=3,
        initial="CNY",
        help_text=_("Three-letter code such as CNY, HKD, USD. It cannot be changed later."),
    )
    language = forms.ChoiceField(
        label=_("Default language of your menu"),
        choices=settings.LANGUAGES,
        required=False,  # not given: the language the console is used in
        help_text=_(
            "Names and descriptions are required in this language; customers who read"
            " another one see them when you give no translation. It cannot be changed later."
        ),
    )

    def __init__(self, *args, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        time_zone = self.fields["time_zone"]
        assert isinstance(time_zone, forms.ChoiceField)  # as declared above
        time_zone.choices = time_zone_choices()
        if editing:
            self.fields["currency"].disabled = True
            self.fields["currency"].help_text = _("The currency cannot be changed.")
            self.fields["language"].disabled = True
            self.fields["language"].help_text = _("The default language cannot be changed.")

    def clean_language(self):
        return self.cleaned_data.get("language") or translations.current()

    def clean_currency(self):
        return self.cleaned_data["currency"].strip().upper()

    def clean(self):
        cleaned = super().clean()
        if (cleaned.get("latitude") is None) != (cleaned.get("longitude") is None):
            if not self.has_error("latitude") and not self.has_error("longitude"):
                raise forms.ValidationError(_("Give both latitude and longitude, or neither."))
        return cleaned


class InviteForm(forms.Form):
    email = forms.EmailField(label=_("Email"), max_length=254)
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices, initial=Role.STAFF)


class PauseForm(forms.Form):
    paused = forms.BooleanField(required=False)
    reason = forms.CharField(label=_("Reason shown to customers"), max_length=200, required=False)


# --- texts in the merchant's other languages -------------------------------------------------


def other_languages(merchant) -> list[tuple[str, "StrOrPromise"]]:
    """The shipped languages other than the merchant's default, as (code, name)."""
    return [(code, name) for code, name in settings.LANGUAGES if code != merchant.language]


class TranslatedForm(forms.Form):
    """A form whose texts (TRANSLATED: field → its limit) also get a field per other language,
    `<field>__<language>`, optional, after the default one; the default one's label says its
    language. `translations()` gives them as the services take them."""

    TRANSLATED: dict[str, int] = {}

    def add_translations(self, merchant, order: list[str]) -> None:
        languages = dict(settings.LANGUAGES)
        ordered = []
        for name in order:
            ordered.append(name)
            if name not in self.TRANSLATED:
                continue
            base = self.fields[name]
            label = base.label
            base.label = _("%(field)s (%(language)s)") % {
                "field": label,
                "language": languages.get(merchant.language, merchant.language),
            }
            for code, language in other_languages(merchant):
                field = forms.CharField(
                    label=_("%(field)s in %(language)s (optional)")
                    % {"field": label, "language": language},
                    max_length=self.TRANSLATED[name],
                    required=False,
                    # (the default field's example is in its language: not copied)
                    widget=type(base.widget)(
                        {k: v for k, v in base.widget.attrs.items() if k != "placeholder"}
                    ),
                )
                field.widget.attrs["lang"] = code
                self.fields[f"{name}__{code}"] = field
                ordered.append(f"{name}__{code}")
        self.order_fields(ordered)

    def translations(self) -> dict[str, dict[str, str]]:
        out: dict[str, dict[str, str]] = {}
        for key, value in self.cleaned_data.items():
            if "__" in key and value:
                field, code = key.split("__", 1)
                out.setdefault(code, {})[field] = value
        return out

    @staticmethod
    def initial_of(obj) -> dict[str, str]:
        """The form's initial values of an object's translations."""
        return {
            f"{field}__{code}": value
            for code, texts in (obj.translations or {}).items()
            for field, value in texts.items()
        }
