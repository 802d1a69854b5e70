"""Rewards a merchant offers for points: an amount off the order, or an item free. Members
choose one at checkout (flows/offers.py prices it on the order and redeems its points);
here the merchant defines, changes and deactivates them."""

from dataclasses import dataclass

from django.http import Http404
from django.utils.translation import gettext as _

from tapgo.catalog.models import Product
from tapgo.core.ids import is_public_id
from tapgo.membership.models import Reward, RewardKind
from tapgo.membership.services.errors import MembershipError

MOST_POINTS = 10_000_000
MOST_AMOUNT = 100_000_000


@dataclass(frozen=True)
class RewardTerms:
    name: str
    points: int
    kind: str
    amount: int = 0
    product: Product | None = None
    active: bool = True


def _checked(merchant, terms: RewardTerms) -> dict:
    name = (terms.name or "").strip()
    if not name or len(name) > 60:
        raise MembershipError(_("Give the reward a name of up to 60 characters."))
    points = terms.points
    if not isinstance(points, int) or isinstance(points, bool) or not 0 < points <= MOST_POINTS:
        raise MembershipError(_("Enter a whole number of points above zero."))
    values = {"name": name, "points": points, "kind": terms.kind, "active": bool(terms.active)}
    if terms.kind == RewardKind.AMOUNT:
        amount = terms.amount
        if not isinstance(amount, int) or not 0 < amount <= MOST_AMOUNT:
            raise MembershipError(_("Enter the amount the reward takes off, above zero."))
        values.update(amount=amount, product=None)
    elif terms.kind == RewardKind.FREE_ITEM:
        product = terms.product
        if product is None or product.merchant_id != merchant.pk:
            raise MembershipError(_("Choose the item the reward gives free."))
        values.update(amount=0, product=product)
    else:
        raise MembershipError(_("Choose what the reward gives."))
    return values


def reward_save(*, merchant, terms: RewardTerms, public_id: str = "") -> Reward:
    """Add a reward, or change the one named by `public_id` (another merchant's: not found).
    Orders that used it keep what it took off them, by name, as it was."""
    values = _checked(merchant, terms)
    if not public_id:
        return Reward.objects.create(merchant=merchant, **values)
    reward = Reward.objects.for_merchant(merchant).filter(public_id=public_id).first()
    if reward is None:
        raise MembershipError(_("That reward is not in this programme."))
    Reward.objects.filter(pk=reward.pk).update(**values)
    reward.refresh_from_db()
    return reward


def reward_set_active(*, merchant, public_id: str, active: bool) -> bool:
    """Deactivate (or bring back) a reward: members can no longer choose it."""
    return bool(
        Reward.objects.for_merchant(merchant).filter(public_id=public_id).update(active=active)
    )


def rewards_of(merchant, *, active_only: bool = False) -> list[Reward]:
    rewards = Reward.objects.for_merchant(merchant).select_related("product")
    if active_only:
        rewards = rewards.filter(active=True)
    return list(rewards.order_by("points", "id"))


def access_reward(merchant, public_id: str) -> Reward:
    """The merchant's reward by public id; another merchant's (or none) answers 404."""
    reward = (
        Reward.objects.for_merchant(merchant)
        .filter(public_id=public_id)
        .select_related("product")
        .first()
    )
    if reward is None:
        raise Http404("no such reward")
    return reward


def reward_for_checkout(*, merchant, public_id: str) -> Reward:
    """An active reward of the merchant, chosen at checkout; MembershipError otherwise."""
    reward = None
    if is_public_id(public_id):
        reward = (
            Reward.objects.for_merchant(merchant)
            .filter(public_id=public_id, active=True)
            .select_related("product")
            .first()
        )
    if reward is None:
        raise MembershipError(_("That reward is not offered any more."))
    return reward
