"""Fields and widgets every console form may use: a price typed as a decimal, a time zone."""

import re
import zoneinfo
from functools import cache
from typing import TYPE_CHECKING

from django import forms
from django.utils.translation import gettext_lazy as _

from tapgo.core.money import MoneyError, amount_input, minor_digits, parse_amount

if TYPE_CHECKING:
    pass


# Digits with an optional decimal part: what a person types for a price. Exponents ("1e9")
# and words never reach parse_amount.
AMOUNT_RE = re.compile(r"^[+-]?\d{1,12}(?:[.,]\d{1,6})?$")


@cache
def time_zone_choices() -> list[tuple[str, str]]:
    return [(name, name) for name in sorted(zoneinfo.available_timezones())]


class MoneyField(forms.CharField):
    """A price typed as a decimal ("26", "26.50"), cleaned to integer minor units."""

    default_error_messages = {
        "invalid": _("Enter a price such as 26 or 26.50."),
        "decimals": _("This currency has at most %(digits)s digits after the decimal point."),
    }

    def __init__(self, *, currency: str, **kwargs):
        self.currency = currency
        super().__init__(**kwargs)
        self.widget.attrs.setdefault("maxlength", "20")  # the pattern below limits it too
        self.widget.attrs.setdefault("inputmode", "decimal")
        self.widget.attrs.setdefault("autocomplete", "off")

    def prepare_value(self, value):
        if isinstance(value, int) and not isinstance(value, bool):
            return amount_input(value, self.currency)
        return value

    def to_python(self, value):
        value = super().to_python(value)
        if value in self.empty_values:
            return None
        text = value.strip().replace(" ", "")
        if not AMOUNT_RE.match(text):
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        if "," in text and "." not in text and re.search(r",\d{3}$", text) is None:
            text = text.replace(",", ".")  # "26,50" typed with a decimal comma
        try:
            return parse_amount(text, self.currency)
        except MoneyError:
            raise forms.ValidationError(
                self.error_messages["decimals"],
                code="decimals",
                params={"digits": minor_digits(self.currency)},
            ) from None
