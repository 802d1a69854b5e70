"""The console's coupon forms: a batch's terms (coupons.batch_create / batch_update check
the rest and say what is wrong), and a coupon granted to a customer by their code."""

from django import forms
from django.utils.translation import gettext_lazy as _

from tapgo.catalog.models import Category, Product
from tapgo.console.forms.fields import MoneyField
from tapgo.coupons import services as coupons
from tapgo.coupons.models import Audience, AutoIssue, Batch, CouponKind
from tapgo.membership.models import Level

CAP_HELP = _("Empty: no limit.")
ISSUED_ON = [
    (AutoIssue.NONE, _("Claimed in the app, by its link or code, or given by staff")),
    (AutoIssue.JOIN, _("Issued on joining the card")),
    (AutoIssue.LEVEL, _("Issued on reaching the level below")),
]


class LevelChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return obj.name


class BatchForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=80, help_text=_("For example “¥5 off ¥30”."))
    kind = forms.ChoiceField(
        label=_("Kind"), choices=CouponKind.choices, initial=CouponKind.THRESHOLD,
        widget=forms.RadioSelect,
    )  # fmt: skip
    percent = forms.IntegerField(
        label=_("Percentage off"), required=False, min_value=1, max_value=99,
        help_text=_("Percentage off only."),
    )  # fmt: skip
    valid_until = forms.DateTimeField(
        label=_("Ends"), required=False,
        help_text=_("The last moment to claim and use it (YYYY-MM-DD HH:MM)."),
    )  # fmt: skip
    valid_days = forms.IntegerField(
        label=_("Days a coupon lasts once claimed"), required=False, min_value=1, max_value=3650
    )
    total_cap = forms.IntegerField(
        label=_("Coupons in all"), required=False, min_value=1, help_text=CAP_HELP
    )
    per_customer_cap = forms.IntegerField(
        label=_("Per customer"), required=False, min_value=1, initial=1, help_text=CAP_HELP
    )
    per_day_cap = forms.IntegerField(
        label=_("Per day"), required=False, min_value=1, help_text=CAP_HELP
    )
    combinable = forms.BooleanField(
        label=_("Combines with other offers"), required=False,
        help_text=_("Otherwise one coupon an order and no other offer with it."),
    )  # fmt: skip
    audience = forms.ChoiceField(
        label=_("Who can have it"), choices=Audience.choices, initial=Audience.EVERYONE,
        required=False, widget=forms.RadioSelect,
        help_text=_("Members at a level or above: choose the level below."),
    )  # fmt: skip
    issued_on = forms.ChoiceField(
        label=_("How customers get it"), choices=ISSUED_ON, initial=AutoIssue.NONE,
        required=False, widget=forms.RadioSelect,
        help_text=_("Issued by itself: one a member, within the limits; next-order coupons "
                    "come after a paid order."),
    )  # fmt: skip

    def __init__(self, *args, merchant, batch: Batch | None = None, **kwargs):
        if batch is not None and "initial" not in kwargs:
            kwargs["initial"] = _initial(batch)
        super().__init__(*args, **kwargs)
        currency = merchant.currency
        self.fields["amount"] = MoneyField(
            label=_("Amount off"), currency=currency, required=False,
            help_text=_("Amount off, a spend's amount off and next-order coupons."),
        )  # fmt: skip
        self.fields["max_off"] = MoneyField(
            label=_("At most off"), currency=currency, required=False,
            help_text=_("Percentage off only; empty: no maximum."),
        )  # fmt: skip
        self.fields["min_spend"] = MoneyField(
            label=_("Minimum spend"), currency=currency, required=False,
            help_text=_("On the items it applies to, before the discount."),
        )  # fmt: skip
        products = Product.objects.for_merchant(merchant).order_by("name")
        self.fields["free_product"] = forms.ModelChoiceField(
            label=_("Free item"), queryset=products, required=False,
            help_text=_("A free item only."),
        )  # fmt: skip
        self.fields["products"] = forms.ModelMultipleChoiceField(
            label=_("Only these items"), queryset=products, required=False,
            widget=forms.CheckboxSelectMultiple,
        )  # fmt: skip
        self.fields["categories"] = forms.ModelMultipleChoiceField(
            label=_("Or these categories"), queryset=Category.objects.for_merchant(merchant),
            required=False, widget=forms.CheckboxSelectMultiple,
            help_text=_("None chosen: everything on the menu."),
        )  # fmt: skip
        self.fields["level"] = LevelChoice(
            label=_("Level"), queryset=Level.objects.for_merchant(merchant).order_by("rank"),
            required=False,
            help_text=_("For members at this level or above, or issued on reaching it."),
        )  # fmt: skip

    def terms(self) -> coupons.BatchTerms:
        data = self.cleaned_data
        percent = data["kind"] == CouponKind.PERCENT
        return coupons.BatchTerms(
            name=data["name"],
            kind=data["kind"],
            value=(data["percent"] if percent else data["amount"]) or 0,
            max_off=data["max_off"] if percent else None,
            min_spend=data["min_spend"] or 0,
            free_product=data["free_product"],
            products=list(data["products"]),
            categories=list(data["categories"]),
            valid_until=data["valid_until"],
            valid_days=data["valid_days"],
            total_cap=data["total_cap"],
            per_customer_cap=data["per_customer_cap"],
            per_day_cap=data["per_day_cap"],
            combinable=data["combinable"],
            audience=data["audience"] or Audience.EVERYONE,
            level=data["level"],
            issued_on=data["issued_on"] or AutoIssue.NONE,
        )


def _initial(batch: Batch) -> dict:
    percent = batch.kind == CouponKind.PERCENT
    return {
        "name": batch.name,
        "kind": batch.kind,
        "percent": batch.value if percent else None,
        "amount": None if percent else batch.value,
        "max_off": batch.max_off,
        "min_spend": batch.min_spend,
        "free_product": batch.free_product_id,
        "products": list(batch.products.all()),
        "categories": list(batch.categories.all()),
        "valid_until": batch.valid_until,
        "valid_days": batch.valid_days,
        "total_cap": batch.total_cap,
        "per_customer_cap": batch.per_customer_cap,
        "per_day_cap": batch.per_day_cap,
        "combinable": batch.combinable,
        "audience": batch.audience,
        "level": batch.level_id,
        "issued_on": batch.auto_issue if batch.auto_issue != AutoIssue.PAID_ORDER else "",
    }


class GrantForm(forms.Form):
    customer = forms.CharField(
        label=_("Customer's code"), max_length=12,
        help_text=_("The code on the customer's card page."),
    )  # fmt: skip
