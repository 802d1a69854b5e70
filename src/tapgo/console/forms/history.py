"""The order history's filters (a GET query string: bookmarkable)."""

import datetime
from typing import TYPE_CHECKING

from django import forms
from django.utils.translation import gettext_lazy as _

from tapgo.core.ids import is_public_id
from tapgo.ordering.models import Fulfilment, OrderStatus
from tapgo.ordering.services import ORDER_ID_LENGTH
from tapgo.payments import services as payments

if TYPE_CHECKING:
    pass


FIRST_DAY, LAST_DAY = datetime.date(2000, 1, 1), datetime.date(2099, 12, 31)


class DayField(forms.DateField):
    """A day as the browser's date input sends it (2026-12-07), within this century."""

    default_error_messages = {
        "invalid": _("Enter a day such as 2026-12-07."),
        "range": _("Choose a day between 2000-01-01 and 2099-12-31."),
    }

    def __init__(self, **kwargs):
        super().__init__(
            input_formats=["%Y-%m-%d"],
            required=False,
            widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            **kwargs,
        )

    def to_python(self, value):
        day = super().to_python(value)
        if day is not None and not FIRST_DAY <= day <= LAST_DAY:
            raise forms.ValidationError(self.error_messages["range"], code="range")
        return day


class HistoryForm(forms.Form):
    """The order history's filters and search. Every field is optional; a bad one is
    reported and left out, the others still apply (cleaned_data keeps them)."""

    status = forms.ChoiceField(label=_("Status"), required=False)
    fulfilment = forms.ChoiceField(label=_("Fulfilment"), required=False)
    table = forms.CharField(label=_("Table"), max_length=40, required=False)
    method = forms.ChoiceField(label=_("Paid with"), required=False)
    q = forms.CharField(
        label=_("Search"),
        max_length=100,
        required=False,
        help_text=_("A pickup number (A003), a customer’s whole email, or a product"),
    )
    after = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # "from" is a keyword in Python: these two are named in the fields mapping.
        self.fields["from"] = DayField(label=_("From"))
        self.fields["to"] = DayField(label=_("To"))
        self.order_fields(["from", "to", "status", "fulfilment", "table", "method", "q"])
        # From the models' choices: a new status, fulfilment or provider appears by itself.
        self.fields["status"].choices = [("", _("Any status")), *OrderStatus.choices]
        self.fields["fulfilment"].choices = [("", _("Any way")), *Fulfilment.choices]
        self.fields["method"].choices = [("", _("Any way to pay")), *payments.method_choices()]
        self.fields["q"].widget.attrs.update(type="search", placeholder="A003")

    def clean_after(self):
        after = self.cleaned_data["after"]
        if after and not is_public_id(after, ORDER_ID_LENGTH):
            raise forms.ValidationError(_("That page of the list does not exist."))
        return after

    def clean(self):
        cleaned = super().clean()
        first, last = cleaned.get("from"), cleaned.get("to")
        if first and last and first > last:
            self.add_error("to", _("The last day comes before the first."))
        return cleaned

    def values(self) -> dict:
        """The fields that are valid (a form with errors keeps its good ones)."""
        data = getattr(self, "cleaned_data", {})
        return {name: data.get(name) for name in self.fields if data.get(name)}
