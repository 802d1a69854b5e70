"""Money: refunds, delivery zones, stored-value tiers and top-ups, payment providers, settlement."""

import re
from typing import TYPE_CHECKING

from django import forms
from django.utils.translation import gettext_lazy as _

from tapgo.console.forms.fields import MoneyField
from tapgo.ordering.models import MAX_LINE_QUANTITY, DeliveryZone

if TYPE_CHECKING:
    pass


AMOUNT_INVALID = _("Enter an amount such as 20 or 20.50.")


class RefundForm(forms.Form):
    """Refund by item (a quantity per order line, and/or the delivery fee) or by an amount,
    with a reason."""

    mode = forms.ChoiceField(choices=[("items", "items"), ("amount", "amount")])
    restock = forms.BooleanField(label=_("Put the items back in stock"), required=False)
    fee = forms.BooleanField(label=_("Refund the delivery fee"), required=False)
    reason = forms.CharField(label=_("Reason (the customer sees it)"), max_length=200)

    def __init__(self, *args, lines, currency: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.lines = list(lines)
        for line in self.lines:
            self.fields[f"line_{line.pk}"] = forms.IntegerField(
                label=line.name,
                required=False,
                min_value=0,
                max_value=MAX_LINE_QUANTITY,
                widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
            )
        self.fields["amount"] = MoneyField(
            label=_("Amount"),
            currency=currency,
            required=False,
            help_text=_("For example 8.50."),
            error_messages={"invalid": AMOUNT_INVALID},
        )

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        if cleaned["mode"] == "amount":
            if not cleaned.get("amount") or cleaned["amount"] <= 0:
                self.add_error("amount", _("Enter an amount above zero."))
        elif not any(self.quantities().values()) and not cleaned.get("fee"):
            raise forms.ValidationError(_("Choose at least one item to refund."))
        return cleaned

    def quantities(self) -> dict[int, int]:
        return {line.pk: self.cleaned_data.get(f"line_{line.pk}") or 0 for line in self.lines}


class DeliveryZoneForm(forms.Form):
    """A delivery zone: a radius around the store or a named area, with a fee, a minimum
    order before the fee and an estimated time (ordering.zone_add checks the rest)."""

    kind = forms.ChoiceField(
        label=_("Kind"),
        choices=DeliveryZone.Kind.choices,
        initial=DeliveryZone.Kind.RADIUS,
        widget=forms.RadioSelect,
    )
    name = forms.CharField(
        label=_("Name"),
        max_length=80,
        help_text=_(
            "What customers see, e.g. “Within 2 km”, or the district or building of a named area."
        ),
    )
    radius_m = forms.IntegerField(
        label=_("Radius in metres"),
        required=False,
        min_value=1,
        max_value=100_000,
        help_text=_("Radius zones only: as the crow flies from the store's location."),
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    eta_minutes = forms.IntegerField(
        label=_("Estimated time in minutes"),
        min_value=1,
        max_value=24 * 60,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )

    def __init__(self, *args, currency: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["fee"] = MoneyField(
            label=_("Delivery fee"),
            currency=currency,
            help_text=_("For example 5, or 0 for free delivery."),
            error_messages={"invalid": AMOUNT_INVALID},
        )
        self.fields["minimum"] = MoneyField(
            label=_("Minimum order"),
            currency=currency,
            required=False,
            help_text=_("The items' total before the fee; leave empty for none."),
            error_messages={"invalid": AMOUNT_INVALID},
        )

    def clean(self):
        cleaned = super().clean()
        kind = cleaned.get("kind")
        if kind == DeliveryZone.Kind.RADIUS and cleaned.get("radius_m") is None:
            if not self.has_error("radius_m"):
                self.add_error("radius_m", _("Give the radius in metres."))
        for name in ("fee", "minimum"):
            value = cleaned.get(name)
            if value is not None and value < 0:
                self.add_error(name, _("Enter an amount of zero or more."))
        return cleaned


class TierForm(forms.Form):
    def __init__(self, *args, currency: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["pay"] = MoneyField(
            label=_("Customer pays at least"),
            currency=currency,
            help_text=_("For example 500."),
            error_messages={"invalid": AMOUNT_INVALID},
        )
        self.fields["bonus"] = MoneyField(
            label=_("Bonus added to the card"),
            currency=currency,
            help_text=_("For example 50."),
            error_messages={"invalid": AMOUNT_INVALID},
        )


class TopUpForm(forms.Form):
    """A top-up taken at the counter; `key` is the form's one-time key (a double submit is one
    top-up)."""

    code = forms.CharField(
        label=_("Member code"),
        max_length=40,
        help_text=_("Shown on the customer's card page, as text and a QR code."),
    )
    key = forms.CharField(max_length=64, widget=forms.HiddenInput)

    def __init__(self, *args, currency: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["code"].widget.attrs.update({"autocomplete": "off", "autocapitalize": "none"})
        self.fields["amount"] = MoneyField(
            label=_("Cash received"),
            currency=currency,
            help_text=_("For example 200."),
            error_messages={"invalid": AMOUNT_INVALID},
        )
        self.order_fields(["code", "amount", "key"])

    def clean_code(self):
        # Typed from a phone screen: spaces, dashes and capitals are forgiven.
        return re.sub(r"[\s-]", "", self.cleaned_data["code"]).lower()


class SecretTextarea(forms.Textarea):
    """A textarea for a multi-line secret (a PEM private key): never filled back, not even
    with what was just typed into a form that failed."""

    def format_value(self, value):
        return None


def multiline_fields(provider) -> set[str]:
    """Fields holding a PEM key (a single-line input would drop its line breaks): what the
    provider declares, and any public or private key by name."""
    keys = {key for key, _label in (*provider.config_fields, *provider.secret_fields)}
    declared = set(getattr(provider, "multiline_fields", ()))
    return declared | {key for key in keys if key.endswith(("public_key", "private_key"))}


class ProviderForm(forms.Form):
    """A provider's settings as its config_fields and secret_fields describe them. Secrets
    are never shown back: a blank secret keeps the stored one."""

    enabled = forms.BooleanField(label=_("Take payments with this provider"), required=False)

    def __init__(self, *args, provider, account=None, **kwargs):
        config = dict(account.config) if account is not None else {}
        hints = dict(account.hints) if account is not None else {}
        initial = {f"config_{key}": config.get(key, "") for key, _label in provider.config_fields}
        initial["enabled"] = account.enabled if account is not None else False
        super().__init__(*args, prefix=provider.name, initial=initial, **kwargs)
        self.provider = provider
        self.tested = account is not None and account.tested_at is not None
        if not self.tested and not initial["enabled"]:
            # Switched on only once a connection test with these settings has worked (the
            # service refuses it too): the box waits for one.
            self.fields["enabled"].disabled = True
            self.fields["enabled"].help_text = _(
                "Test the connection first: this can be ticked once a test has worked."
            )
        multiline = multiline_fields(provider)
        for key, label in provider.config_fields:
            self.fields[f"config_{key}"] = forms.CharField(
                label=label,
                required=False,
                max_length=8000,
                widget=forms.Textarea({"rows": 4}) if key in multiline else None,
            )
        for key, label in provider.secret_fields:
            hint = hints.get(key)
            self.fields[f"secret_{key}"] = forms.CharField(
                label=label,
                required=False,
                strip=False,
                max_length=8000,
                widget=(
                    SecretTextarea({"rows": 4, "autocomplete": "off", "spellcheck": "false"})
                    if key in multiline
                    else forms.PasswordInput(attrs={"autocomplete": "off"})
                ),
                help_text=(
                    _("Stored: %(hint)s. Leave blank to keep it.") % {"hint": hint}
                    if hint
                    else _("Not set yet.")
                ),
            )
        self.order_fields([name for name in self.fields if name != "enabled"] + ["enabled"])

    def values(self) -> tuple[dict, dict, bool]:
        data = self.cleaned_data
        config = {key: data[f"config_{key}"] for key, _label in self.provider.config_fields}
        secrets = {key: data[f"secret_{key}"] for key, _label in self.provider.secret_fields}
        return config, secrets, data["enabled"]


class SandboxForm(forms.Form):
    offer = forms.ChoiceField(
        label=_("Customers may pay with test payments"),
        choices=[
            ("auto", _("while no provider is on")),
            ("always", _("always, beside any provider that is on")),
            ("never", _("never")),
        ],
        widget=forms.RadioSelect,
    )


class SettleForm(forms.Form):
    day = forms.DateField(input_formats=["%Y-%m-%d"])
