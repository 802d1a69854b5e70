"""The console's forms for membership: the programme's rules, a level, adjusting a member's
points, and the counter: the member code, then a purchase, a coupon or an amount from the
card."""

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from tapgo.console.forms.fields import MoneyField
from tapgo.console.forms.money import AMOUNT_INVALID
from tapgo.membership.models import ExpiryRule, LevelBasis


def _months(label, **kwargs) -> forms.IntegerField:
    return forms.IntegerField(label=label, min_value=1, max_value=120, **kwargs)


def _points(label) -> forms.IntegerField:
    return forms.IntegerField(label=label, min_value=0, max_value=1_000_000)


class ProgrammeForm(forms.Form):
    points_per_unit = _points(_("Points"))
    unit_amount = forms.CharField()  # replaced by a MoneyField in the merchant's currency
    points_per_order = _points(_("Points per paid order"))
    first_order_bonus = _points(_("Bonus points for the first purchase"))
    level_basis = forms.ChoiceField(label=_("Levels are reached by"), choices=LevelBasis.choices)
    level_window_months = _months(_("Over the last (months)"))
    expiry_rule = forms.ChoiceField(label=_("Points expire"), choices=ExpiryRule.choices)
    expiry_months = _months(
        _("Months after earning"),
        help_text=_("Used when points expire a number of months after they were earned."),
    )

    def __init__(self, *args, currency: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit_amount"] = MoneyField(
            label=_("For each"),
            currency=currency,
            help_text=_("Points for each whole amount paid, rounding down: 1 point for each 1.00."),
            error_messages={"invalid": AMOUNT_INVALID},
        )
        self.order_fields(["points_per_unit", "unit_amount"])

    def clean_unit_amount(self):
        value = self.cleaned_data["unit_amount"]
        if not value:
            raise forms.ValidationError(_("Enter an amount above zero."))
        return value


class LevelForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=40)
    rank = forms.IntegerField(label=_("Rank"), min_value=1, max_value=100,
                              help_text=_("1 for the first level, 2 for the next…"))  # fmt: skip
    threshold = forms.IntegerField(label=_("Points to reach it"), min_value=1, max_value=10**9)
    percent_off = forms.DecimalField(
        label=_("Discount (%)"), min_value=0, max_value=100, decimal_places=2, initial=0
    )

    def __init__(self, *args, currency: str, basis: str, **kwargs):
        super().__init__(*args, **kwargs)
        if basis == LevelBasis.SPEND:
            self.fields["threshold"] = MoneyField(
                label=_("Amount spent to reach it"),
                currency=currency,
                error_messages={"invalid": AMOUNT_INVALID},
            )

    def discount_bps(self) -> int:
        return int(self.cleaned_data["percent_off"] * Decimal(100))


class AdjustForm(forms.Form):
    points = forms.IntegerField(
        label=_("Points"), min_value=-1_000_000, max_value=1_000_000,
        help_text=_("A negative number takes points away."),
    )  # fmt: skip
    reason = forms.CharField(label=_("Reason"), max_length=200)
    key = forms.CharField(max_length=64, widget=forms.HiddenInput)


class CounterForm(forms.Form):
    """The member code, typed or scanned (a scanner types the QR's text) or pasted."""

    code = forms.CharField(
        label=_("Member code"),
        max_length=40,
        help_text=_("The code on the customer's card, typed or scanned."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["code"].widget.attrs.update(
            {"autocomplete": "off", "inputmode": "numeric", "autofocus": True}
        )


class _CounterAction(forms.Form):
    key = forms.CharField(max_length=64, widget=forms.HiddenInput)

    def __init__(self, *args, currency: str, amount_label, amount_help, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["amount"] = MoneyField(
            label=amount_label,
            currency=currency,
            help_text=amount_help,
            error_messages={"invalid": AMOUNT_INVALID},
        )


class CounterPurchaseForm(_CounterAction):
    """A purchase the member paid at the counter: it earns points."""

    def __init__(self, *args, currency: str, **kwargs):
        super().__init__(*args, currency=currency, amount_label=_("Amount paid"),
                         amount_help=_("What the customer paid for the purchase: it earns "
                                       "points."), **kwargs)  # fmt: skip
        self.order_fields(["amount", "key"])


class CounterCardForm(_CounterAction):
    """An amount taken from the member's stored value (needs the code typed just now)."""

    earn = forms.BooleanField(label=_("Earn points on this amount"), required=False, initial=True)
    code = forms.CharField(
        label=_("The code on the card now"),
        max_length=40,
        required=False,
        help_text=_("Only when the code this page was opened with was used or is too old."),
    )

    def __init__(self, *args, currency: str, **kwargs):
        super().__init__(*args, currency=currency, amount_label=_("Amount to take"),
                         amount_help=_("Taken from the member's card balance."),
                         **kwargs)  # fmt: skip
        self.fields["code"].widget.attrs.update({"autocomplete": "off", "inputmode": "numeric"})
        self.order_fields(["amount", "earn", "code", "key"])


class CounterCouponForm(_CounterAction):
    """One of the member's coupons used for a sale at the counter."""

    coupon = forms.ChoiceField(label=_("Coupon"), widget=forms.RadioSelect)
    earn = forms.BooleanField(
        label=_("Earn points on what is paid after the coupon"), required=False, initial=True
    )

    def __init__(self, *args, currency: str, choices, **kwargs):
        super().__init__(*args, currency=currency, amount_label=_("Sale amount"),
                         amount_help=_("The sale before the coupon (0 for a free item alone)."),
                         **kwargs)  # fmt: skip
        self.fields["coupon"].choices = choices  # type: ignore[attr-defined]
        self.order_fields(["coupon", "amount", "earn", "key"])
