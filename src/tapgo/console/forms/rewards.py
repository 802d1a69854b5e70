"""The console's form for a points reward: its name, its cost in points, and what it gives
(an amount off the order, or an item free)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from tapgo.catalog.models import Product
from tapgo.console.forms.fields import MoneyField
from tapgo.console.forms.money import AMOUNT_INVALID
from tapgo.membership import services as membership
from tapgo.membership.models import Reward, RewardKind


class RewardForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=60)
    points = forms.IntegerField(label=_("Points it costs"), min_value=1, max_value=10_000_000)
    kind = forms.ChoiceField(label=_("It gives"), choices=RewardKind.choices,
                             widget=forms.RadioSelect)  # fmt: skip
    active = forms.BooleanField(label=_("Members can choose it"), required=False, initial=True)

    def __init__(self, *args, merchant, reward: Reward | None = None, **kwargs):
        if reward is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                "name": reward.name, "points": reward.points, "kind": reward.kind,
                "amount": reward.amount or None, "product": reward.product_id,
                "active": reward.active,
            }  # fmt: skip
        super().__init__(*args, **kwargs)
        self.fields["amount"] = MoneyField(
            label=_("Amount off the order"), currency=merchant.currency, required=False,
            help_text=_("An amount off only."), error_messages={"invalid": AMOUNT_INVALID},
        )  # fmt: skip
        self.fields["product"] = forms.ModelChoiceField(
            label=_("Free item"), required=False,
            queryset=Product.objects.for_merchant(merchant).order_by("name"),
            help_text=_("A free item only: its price comes off one of it in the cart."),
        )  # fmt: skip
        self.order_fields(["name", "points", "kind", "amount", "product", "active"])

    def terms(self) -> membership.RewardTerms:
        data = self.cleaned_data
        free = data["kind"] == RewardKind.FREE_ITEM
        return membership.RewardTerms(
            name=data["name"],
            points=data["points"],
            kind=data["kind"],
            amount=0 if free else (data.get("amount") or 0),
            product=data.get("product") if free else None,
            active=data["active"],
        )


class CounterRewardForm(forms.Form):
    """A member takes a reward at the counter: their member code and the reward."""

    code = forms.CharField(
        label=_("Member code"),
        max_length=40,
        help_text=_("The code on the customer's card, typed or scanned."),
    )
    reward = forms.ChoiceField(label=_("Reward"))
    key = forms.CharField(max_length=64, widget=forms.HiddenInput)

    def __init__(self, *args, merchant, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["code"].widget.attrs.update({"autocomplete": "off", "inputmode": "numeric"})
        self.fields["reward"].choices = [
            (r.public_id, f"{r.name} · {r.points}")
            for r in membership.rewards_of(merchant, active_only=True)
        ]
