"""Points with what earns and takes them back, and the customer told when they asked.

- An order earns when it is paid (never at checkout), in the paid transition's transaction
  (flows/orders.py), for a customer who is a member of the merchant (joining is the
  consent): per amount paid for goods (the order's total, never its tip), per order, the
  first purchase's bonus and the extra points of what was bought. Its key is the order, so a
  replayed webhook earns once.
- Each refund of a paid order (by item, by amount, or the whole order when it is cancelled or
  rejected) takes back the points in proportion, once per Refund row: only the goods' part
  counts, never a refunded tip. A refund the provider then fails gives them back, once
  (`refund_failed:<refund>`), and the level follows: in the failure's webhook transaction
  (flows/payment_events.py), or by the worker's sweep for a refund refused when it was sent.
- A table's rounds paid with the bill (pay after eating) earn when the bill settles
  (flows/tables.py), each with its own key, as an order paid when placed.
- A counter purchase staff record earns the same way, once per form key (flows/counter.py).
- The customer is told of each change ("points changed", messaging's POINTS_CHANGED) only
  with a consent covering their card; messaging's outbox delivers after commit.
- A change that moves the member's level up (an order paid, a counter purchase, staff's
  adjustment, the nightly recomputation) issues the coupons of the levels reached, and
  joining the card issues the "on joining" coupons (flows/member_coupons.py).

Lock order: what the flow already holds (the order, its intents, the money ledger's
accounts), then the member's row (membership.locks), last.
"""

import math
import time
from collections.abc import Iterable
from datetime import timedelta

from django.db import transaction

from tapgo.core import links
from tapgo.core import translations as texts
from tapgo.core.actors import Actor
from tapgo.flows import member_coupons
from tapgo.membership import services as membership
from tapgo.membership.models import Level, Member, PointsEntry, Source
from tapgo.messaging import services as messaging
from tapgo.messaging.keys import TemplateKey
from tapgo.messaging.models import ConsentSubject, Template
from tapgo.miniapps.models import MiniApp
from tapgo.ordering.models import Order
from tapgo.payments import services as payments
from tapgo.payments.models import Refund


def card_subject(member: Member) -> ConsentSubject:
    return ConsentSubject(Template.Subject.CARD, member.public_id)


def order_paid(*, order: Order) -> PointsEntry | None:
    """The order was paid: its customer, if a member, earns its points (once)."""
    member = membership.member_of(merchant=order.merchant_id, customer=order.customer_id)
    if member is None:
        return None
    items = [
        membership.Item(line.product_id, line.product.category_id, line.quantity)
        for line in order.lines.select_related("product")
    ]
    with member_coupons.level_watched(member=member):
        entry = membership.points_earn(
            member=member,
            amount=order.total,
            items=items,
            key=f"order:{order.pk}",
            source=Source.ORDER,
            source_id=order.pk,
        )
        tell_points(member, entry, app_id=order.app_id)
    return entry


def order_refunded(*, order: Order, refunds: Iterable[Refund]) -> list[PointsEntry]:
    """Refunds of a paid order were made: each takes back its share of the order's points,
    once (the refund's key). Called in the refund's transaction."""
    member = membership.member_of(merchant=order.merchant_id, customer=order.customer_id)
    if member is None:
        return []
    made = []
    for refund in refunds:
        entry = membership.points_reverse(
            member=member,
            source=Source.ORDER,
            source_id=order.pk,
            amount=refund.amount - refund.tip,
            key=f"refund:{refund.pk}",
            reason=refund.reason,
        )
        if entry is not None:
            made.append(entry)
            tell_points(member, entry, app_id=order.app_id)
    return made


def refund_failed(*, refund: Refund) -> PointsEntry | None:
    """A refund failed at its provider: the points its reversal took come back, once."""
    entry = membership.points_reverse_undo(
        merchant_id=refund.merchant_id,
        key=f"refund:{refund.pk}",
        undo_key=f"refund_failed:{refund.pk}",
        reason=refund.reason,
    )
    if entry is not None:
        tell_points(entry.member, entry)
    return entry


FAILED_REFUNDS_WITHIN = timedelta(days=2)


def refunds_failed_settle(*, within: timedelta = FAILED_REFUNDS_WITHIN, limit: int = 500) -> int:
    """The worker's sweep: refunds that failed lately give their points back (those failed in
    a webhook did at once; one refused when the worker sent it did not). Returns how many
    gave points back now."""
    done = 0
    for refund in payments.failed_refunds(since=within, limit=limit):
        with transaction.atomic():
            done += refund_failed(refund=refund) is not None
    return done


def points_adjust(
    *, member: Member, points: int, reason: str, key: str, actor: Actor
) -> PointsEntry | None:
    """Staff add or take points with a reason, recorded with who did it."""
    with member_coupons.level_watched(member=member):
        entry = membership.points_adjust(
            member=member, points=points, reason=reason, key=f"adjust:{key}"[:80], actor=actor
        )
        tell_points(member, entry)
    return entry


def points_expire_due(*, limit: int = 500) -> int:
    """Expire the points that are due (the worker's sweep), telling each member who asked."""
    with transaction.atomic():
        made = membership.points_expire_due(limit=limit)
        for entry in made:
            tell_points(entry.member, entry)
    return len(made)


LEVELS_SWEEP_SECONDS = 24 * 3600
_last_levels = -math.inf  # when this process last recomputed every level (monotonic)


def membership_sweep() -> int:
    """The worker's sweep: expire the points that are due (every round: a partial index finds
    them) and, once a day, recompute every member's level as the window moves on."""
    global _last_levels
    done = points_expire_due() + refunds_failed_settle()
    now = time.monotonic()
    if now - _last_levels >= LEVELS_SWEEP_SECONDS:
        _last_levels = now
        done += levels_recompute()
    return done


def levels_recompute() -> int:
    """Recompute every member's level, issuing the coupons of the levels reached (the
    nightly part of the sweep; flows.tasks.recompute_levels for a deployment's schedule)."""
    return membership.levels_sweep(on_change=_level_changed)


def _level_changed(member: Member, before: Level | None, after: Level | None) -> None:
    member_coupons.coupons_on_level(member=member, before=before, after=after)


def card_join(*, app: MiniApp, customer) -> tuple[Member, bool]:
    """The customer joins the app's merchant's card (their consent to be a member); a new
    member gets the merchant's "on joining" coupons in the same transaction. Returns the
    card and whether it is new (joining twice returns the one card, and no second coupon)."""
    with transaction.atomic():
        found = membership.member_of(merchant=app.merchant_id, customer=customer)
        if found is not None:
            return found, False
        member = membership.member_join(merchant=app.merchant, customer=customer, app=app)
        member_coupons.coupons_on_join(member=member)
    return member, True


def tell_points(member: Member, entry: PointsEntry | None, *, app_id: int | None = None) -> None:
    """Write "points changed" for the member, if they allowed it (nothing otherwise)."""
    if entry is None or not entry.points:
        return
    app_id = member.app_id or app_id
    if app_id is None:
        return
    app = MiniApp.objects.select_related("merchant").get(pk=app_id)
    member = Member.objects.select_related("customer").get(pk=member.pk)
    messaging.notify_quietly(
        customer=member.customer,
        app=app,
        key=TemplateKey.POINTS_CHANGED,
        values={
            "app": texts.of(app, "name", app.merchant.language),
            "change": entry.points,
            "balance": member.balance,
        },
        link=links.card(app.slug),
        subject=card_subject(member),
        dedupe=f"points:{entry.pk}",
    )


# What the card page lets the customer ask for: standing consents, one per template.
NOTICES = (TemplateKey.POINTS_CHANGED, TemplateKey.COUPON_EXPIRING)


def notices_set(
    *, member: Member, app: MiniApp, on: bool, key: str = TemplateKey.POINTS_CHANGED
) -> bool:
    """The customer asks for (or stops) "points changed" or "coupon about to expire"
    messages (`key`) from their card page: a standing consent. False when the app does not
    send them (or `key` is not one the card page offers)."""
    if key not in NOTICES:
        return False
    customer = member.customer
    if on:
        try:
            messaging.consent_give(customer=customer, app=app, key=key, standing=True)
        except messaging.MessagingError:
            return False
        return True
    for consent in messaging.consents_of(customer).filter(app=app, template__key=key):
        messaging.consent_revoke(customer=customer, public_id=consent.public_id)
    return True


def notices_on(*, member: Member, app: MiniApp, key: str = TemplateKey.POINTS_CHANGED) -> bool:
    """Whether the customer gets `key`'s messages: about their card (points), or about any
    coupon of theirs here (reminders are sent without a subject)."""
    subject = card_subject(member) if key == TemplateKey.POINTS_CHANGED else None
    return messaging.consent_covers(customer=member.customer, app=app, key=key, subject=subject)
