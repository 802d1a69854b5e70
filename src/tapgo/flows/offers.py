"""The offers taken off an order at checkout, and what follows them: what crosses coupons,
membership and ordering.

Placing (in the transaction that placed the order, which waits for payment), in this order:

1. the coupon chosen, if any (flows/coupons.py): held, its parts by largest remainder;
2. the member's level discount, automatic: `bps` of what is left of each line after the
   coupon, rounded down per line (so each line's part is exact and never more than what is
   left of it; the sum may be a few minor units under the percentage of the whole);
3. the points reward chosen, if any: an amount off, shared over what is left of the lines by
   largest remainder, or an item free (the price of one unit of that product, or what is
   left to pay of its line if less); its points redeemed (key per order) in the same
   transaction, or the checkout refused with the reason and nothing placed.

Each offer is recorded by name and amount (ordering.OrderDiscount) and the order's and each
line's discount are their sums (ordering.order_discount_apply), so item refunds give back
what was paid for each unit (OrderLine.paid_for). An order always pays something.

A coupon that does not combine (`Batch.combinable` off, the default) refuses a reward on the
same order; the level discount is a standing member benefit and goes with any coupon.

Ending: when the order ends unpaid its coupon is released and the reward's points come back
(once, key per order); when the whole paid order is refunded, the coupon comes back and so do
the points; a partial refund keeps both used.

At the counter, a member takes a reward with their member code (spent once) and the points
are redeemed, once per form key (`counter_reward`).

Lock order: the order's row (ordering), the coupon's conditional UPDATEs, then the member's
row (membership.locks), last.
"""

from dataclasses import dataclass

from django.db import transaction
from django.utils.translation import gettext as _

from tapgo.core.actors import CUSTOMER, Actor
from tapgo.core.money import allocate
from tapgo.coupons import services as coupons
from tapgo.coupons.models import Coupon
from tapgo.flows import coupons as coupon_flows
from tapgo.identity.models import Customer
from tapgo.membership import services as membership
from tapgo.membership.models import Level, Member, PointsEntry, Reward, RewardKind
from tapgo.miniapps.models import MiniApp
from tapgo.ordering import services as ordering
from tapgo.ordering.models import DiscountKind, Order, OrderLine, OrderStatus

BPS = 10_000


@dataclass(frozen=True)
class Left:
    """A line as the offers see it: what is left to pay of it after the offers so far."""

    key: int
    product_id: int
    unit_price: int
    quantity: int
    left: int


def level_label(level: Level) -> str:
    """The level's offer as recorded on the order: its name and percentage ("Gold −5%")."""
    return f"{level.name} −{level.discount_bps / 100:g}%"


def level_parts(lines: list[Left], bps: int, *, most: int) -> dict[int, int]:
    """`bps` of what is left of each line, rounded down per line, at most `most` in all
    (the order must pay something): the last lines give up what is over."""
    parts = {ln.key: ln.left * bps // BPS for ln in lines if ln.left > 0}
    over = sum(parts.values()) - max(most, 0)
    for key in reversed(list(parts)):
        if over <= 0:
            break
        cut = min(over, parts[key])
        parts[key] -= cut
        over -= cut
    return {key: part for key, part in parts.items() if part > 0}


def reward_parts(reward: Reward, lines: list[Left], *, most: int) -> dict[int, int]:
    """What `reward` takes off the lines ({key: minor units}), at most `most` in all; a
    MembershipError with the reason when it does not apply."""
    if reward.kind == RewardKind.FREE_ITEM:
        found = [ln for ln in lines if ln.product_id == reward.product_id and ln.left > 0]
        if not found:
            name = reward.product.name if reward.product else ""
            raise membership.MembershipError(
                _("Add %(name)s to your cart to have it free.") % {"name": name}
            )
        line = max(found, key=lambda ln: (ln.left, -ln.key))
        parts = {line.key: min(line.unit_price, line.left)}
    else:
        weights = [ln.left for ln in lines if ln.left > 0]
        if not weights or reward.amount >= sum(weights):
            raise membership.MembershipError(
                _("This reward is worth more than what is left to pay: add something else.")
            )
        shares = allocate(reward.amount, weights)
        parts = {
            ln.key: part
            for ln, part in zip([ln for ln in lines if ln.left > 0], shares, strict=True)
            if part
        }
    if sum(parts.values()) > most:
        raise membership.MembershipError(
            _("This reward would pay for the whole order: add something else.")
        )
    return parts


def _left(lines: list[OrderLine], taken: dict[int, int]) -> list[Left]:
    """The lines with what is left to pay of them after `taken` ({line id: minor units})."""
    return [
        Left(ln.pk, ln.product_id, ln.unit_price, ln.quantity,
             ln.subtotal - ln.discount - taken.get(ln.pk, 0))
        for ln in lines
    ]  # fmt: skip


def redeem_key(order: Order) -> str:
    return f"order:{order.pk}:reward"


def order_offers_apply(
    *, order: Order, customer: Customer, coupon: str = "", reward: str = "", new: bool = False
) -> Order:
    """Take the offers off a just-placed order (the coupon `coupon` names, the member's level,
    the reward `reward` names), in the transaction that placed it; OrderingError with the
    reason when one does not apply (the caller's transaction places nothing then). An order
    that has its offers already (the same checkout sent twice at once) is left as it is;
    `new`: this transaction placed the order (it has none: nothing to look up).

    The order's lines are read once; each offer's parts are added to what the ones before
    took, so the next works on what is left without reading them again."""
    if not new and (
        ordering.order_discounts(order) or coupons.coupon_of_order(order.pk) is not None
    ):
        return order
    if order.status != OrderStatus.PENDING_PAYMENT:
        if coupon or reward:
            raise ordering.OrderingError(_("Offers are used on an order paid when it is placed."))
        return order
    lines: list[OrderLine] | None = None
    taken: dict[int, int] = {}
    held: Coupon | None = None
    if coupon:
        lines = coupon_flows.order_lines(order)
        order, held, parts = coupon_flows.coupon_hold(
            order=order, customer=customer, code=coupon, lines=lines
        )
        _add(taken, parts)
    if order.group_id is not None:  # a table's shared cart: a member's offers are their own
        if reward:
            raise ordering.OrderingError(_("A points reward is used on your own cart."))
        return order
    member = membership.member_of(merchant=order.merchant_id, customer=customer)
    level = None
    if member is not None:  # the level as it is now (the window moves on)
        level = membership.level_recompute(member=member)
    if (level is not None and level.discount_bps > 0) or reward:
        lines = coupon_flows.order_lines(order) if lines is None else lines
    if level is not None and level.discount_bps > 0 and lines is not None:
        order = _level_apply(order, level, _left(lines, taken), taken)
    if reward:
        assert lines is not None  # read above
        order = _reward_apply(order, member, reward, _left(lines, taken), held, new=new)
    return order


def _add(taken: dict[int, int], parts: dict[int, int]) -> None:
    for key, part in parts.items():
        taken[key] = taken.get(key, 0) + part


def _level_apply(order: Order, level: Level, lines: list[Left], taken: dict[int, int]) -> Order:
    parts = level_parts(lines, level.discount_bps, most=order.total - 1)
    if not parts:
        return order
    order = ordering.order_discount_apply(
        order=order, parts=parts, label=level_label(level), kind=DiscountKind.LEVEL
    )
    _add(taken, parts)
    return order


def _reward_apply(
    order: Order,
    member: Member | None,
    public_id: str,
    lines: list[Left],
    held: Coupon | None,
    *,
    new: bool,
) -> Order:
    if member is None:
        raise ordering.OrderingError(_("Join the programme to use a points reward."))
    if not new:  # the coupon held is the one this call held, or none
        held = coupons.coupon_of_order(order.pk)
    if held is not None and not held.batch.combinable:
        raise ordering.OrderingError(
            _("The coupon “%(coupon)s” does not go with a points reward: choose one of them.")
            % {"coupon": held.batch.name}
        )
    try:
        reward = membership.reward_for_checkout(merchant=order.merchant_id, public_id=public_id)
        parts = reward_parts(reward, lines, most=order.total - 1)
        membership.points_redeem(
            member=member,
            points=reward.points,
            key=redeem_key(order),
            reason=reward.name,
            actor=CUSTOMER,
            source_id=order.pk,
        )
    except membership.NotEnoughPoints:
        raise ordering.OrderingError(
            _("You do not have enough points for “%(reward)s”.") % {"reward": reward.name}
        ) from None
    except membership.MembershipError as exc:
        raise ordering.OrderingError(str(exc)) from None
    return ordering.order_discount_apply(
        order=order, parts=parts, label=reward.name, kind=DiscountKind.REWARD
    )


def order_ended_unpaid(*, order: Order) -> None:
    """The order expired or was cancelled before it was paid: its coupon is free again and the
    points its reward took come back (once)."""
    coupon_flows.order_ended_unpaid(order=order)
    _points_back(order)


def order_refunded_whole(*, order: Order) -> None:
    """The whole paid order was refunded: its coupon comes back while it is valid, and the
    points its reward took come back (once)."""
    coupon_flows.order_refunded_whole(order=order)
    _points_back(order)


def _points_back(order: Order) -> None:
    member = membership.member_of(merchant=order.merchant_id, customer=order.customer_id)
    if member is None:
        return
    membership.points_give_back(
        member=member,
        redeemed_key=redeem_key(order),
        key=f"order:{order.pk}:reward-back",
        reason=_("Order %(number)s") % {"number": order.number},
    )


# --- the cart page ------------------------------------------------------------------------


@dataclass(frozen=True)
class RewardChoice:
    """A reward at checkout: what it would take off this cart, or why it cannot be chosen."""

    reward: Reward
    discount: int
    reason: str = ""


@dataclass(frozen=True)
class CartOffers:
    """What the cart page shows of the offers: the coupons (best first), the member's level
    discount with the chosen coupon, the rewards with the member's points."""

    coupons: list[coupons.Offer]
    member: Member | None = None
    level: Level | None = None
    level_discount: int = 0
    rewards: list[RewardChoice] | None = None
    combinable: bool = True  # the chosen coupon goes with a reward (or no coupon is chosen)

    @property
    def any(self) -> bool:
        return bool(self.coupons or self.level_discount or self.rewards)

    @property
    def level_percent(self) -> str:
        return f"{self.level.discount_bps / 100:g}" if self.level else ""


def cart_offers(
    *, customer: Customer | None, app: MiniApp, view: ordering.CartView, coupon: str | None
) -> CartOffers:
    """The offers for the customer's cart (`view`, as the cart page read it). `coupon`: the
    coupon chosen (None: the suggestion, the one that takes most off). The amounts are those
    placing the order would take off now; placing works them out again."""
    offers = coupon_flows.cart_offers(customer=customer, app=app, view=view)
    if coupon is None:
        coupon = offers[0].coupon.public_id if offers and offers[0].discount else ""
    member = membership.member_of(merchant=app.merchant_id, customer=customer)
    if customer is None or member is None or not view.lines:
        return CartOffers(coupons=offers)
    lines = [
        coupons.Line(i, ln.product_id, ln.product.category_id, ln.unit_price, ln.quantity)
        for i, ln in enumerate(view.lines)
    ]
    chosen = next((o for o in offers if o.coupon.public_id == coupon and o.discount), None)
    taken: dict[int, int] = {}
    if chosen is not None:
        try:
            taken = coupons.discount_of(chosen.coupon.batch, lines)
        except coupons.CouponError:
            taken = {}
    left = [
        Left(ln.key, ln.product_id, ln.unit_price, ln.quantity, ln.subtotal - taken.get(ln.key, 0))
        for ln in lines
    ]
    level = member.level if member.level and member.level.discount_bps > 0 else None
    level_discount = 0
    if level is not None:
        parts = level_parts(left, level.discount_bps, most=view.total - sum(taken.values()) - 1)
        level_discount = sum(parts.values())
        left = [
            Left(ln.key, ln.product_id, ln.unit_price, ln.quantity, ln.left - parts.get(ln.key, 0))
            for ln in left
        ]
    most = view.total - sum(taken.values()) - level_discount - 1
    choices = []
    for reward in membership.rewards_of(app.merchant_id, active_only=True):
        reason, discount = "", 0
        try:
            discount = sum(reward_parts(reward, left, most=most).values())
        except membership.MembershipError as exc:
            reason = str(exc)
        if not reason and member.balance < reward.points:
            reason = _("You have %(balance)s points.") % {"balance": member.balance}
        choices.append(RewardChoice(reward, discount, reason))
    return CartOffers(
        coupons=offers,
        member=member,
        level=level,
        level_discount=level_discount,
        rewards=choices,
        combinable=chosen is None or chosen.coupon.batch.combinable,
    )


# --- at the counter -------------------------------------------------------------------------


def counter_reward(
    *, merchant, code: str, reward: str, key: str, actor: Actor
) -> tuple[Member, Reward, PointsEntry | None]:
    """A member takes a reward at the counter (staff give the item or take the amount off at
    the till): the member code is spent and the points redeemed in one transaction, once per
    form key (a form sent again finds its redemption and changes nothing: None). A
    MembershipError with the reason (a wrong or used code, not enough points, a reward no
    longer offered) changes nothing."""
    chosen = membership.reward_for_checkout(merchant=merchant, public_id=reward)
    entry_key = f"counter-reward:{key}"[:80]
    member, _step = membership.code_find(merchant=merchant, text=code)
    if PointsEntry.objects.filter(member=member, key=entry_key).exists():
        return member, chosen, None
    with transaction.atomic():
        member = membership.code_spend(merchant=merchant, text=code)
        entry = membership.points_redeem(member=member, points=chosen.points, key=entry_key,
                                         reason=chosen.name, actor=actor)  # fmt: skip
    return member, chosen, entry
