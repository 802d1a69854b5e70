"""Table groups: everyone who scans one table's code shares one cart (each phone's cart is
its seat in the table's group), sends rounds to the kitchen, and — where the store takes
payment after eating — pays one bill at the end, whole, in equal parts, by items or by
amounts, or at the counter.

The database decides every race: one open group per table (a partial unique constraint),
seat numbers by one UPDATE, an equal part taken by one phone (a partial unique constraint),
the bill's shares applied under the group's row lock (ordering/locks.py) by the flow that
takes the money (flows/tables.py). Shares are allocated in integer minor units by largest
remainder, so the parts of a bill add up to it exactly.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from tapgo.core import money
from tapgo.core.ids import is_public_id
from tapgo.identity.models import Customer
from tapgo.merchants.models import DineInPayment
from tapgo.miniapps.models import MiniApp
from tapgo.ordering.models import (
    Cart,
    CartLine,
    Order,
    OrderLine,
    OrderStatus,
    ShareKind,
    TableGroup,
    TableGroupStatus,
    TableShare,
    TableShareStatus,
)
from tapgo.ordering.services.base import OrderingError
from tapgo.ordering.services.cart import customer_cart, group_bump, seat_label

# A table whose group has had nothing happen for this long starts afresh at the next scan
# (the party left without anything to pay: nothing in the cart, no bill open).
IDLE_GROUP = timedelta(hours=3)
MAX_PARTS = 20
ENDED = (OrderStatus.CANCELLED, OrderStatus.REJECTED, OrderStatus.EXPIRED)
S = TableGroupStatus


def _open_group(app: MiniApp, table_label: str) -> TableGroup:
    """The table's open group, opened now when there is none (or the last one sat idle with
    nothing owed): of two phones opening it at once, the database keeps one."""
    for _attempt in range(3):
        group = TableGroup.objects.filter(app=app, table_label=table_label, status=S.OPEN).first()
        if group is not None and not _idle(group):
            return group
        if group is not None:
            TableGroup.objects.filter(pk=group.pk, status=S.OPEN).update(
                status=S.CLOSED, ended_at=timezone.now(), ended_by="idle"
            )
        store = app.store
        try:
            with transaction.atomic():
                return TableGroup.objects.create(
                    merchant_id=app.merchant_id,
                    app=app,
                    store=store,
                    table_label=table_label,
                    currency=app.merchant.currency,
                    pay_after=store.dine_in_payment == DineInPayment.PAY_AFTER,
                )
        except IntegrityError:
            continue  # another phone opened it first: join that one
    raise OrderingError(_("The table is busy. Try again."))


def _idle(group: TableGroup) -> bool:
    if group.updated_at > timezone.now() - IDLE_GROUP:
        return False
    if CartLine.objects.filter(cart__group=group).exists():
        return False
    return not group.pay_after or bill_of(group).left == 0


def group_join(*, customer: Customer, app: MiniApp, table_label: str) -> Cart:
    """Scanning a table's code: the customer's cart becomes a seat in the table's open group
    ("Guest 2"), and what is in it joins the table's shared cart."""
    cart = Cart.objects.select_related("group").filter(customer=customer, app=app).first()
    if cart is None:
        cart = customer_cart(customer=customer, app=app)
    elif cart.group and cart.group.status == S.OPEN and cart.table_label == table_label:
        return cart  # seated already: one query
    group = _open_group(app, table_label)
    with transaction.atomic():
        TableGroup.objects.filter(pk=group.pk).update(last_seat=F("last_seat") + 1)
        seat = TableGroup.objects.values_list("last_seat", flat=True).get(pk=group.pk)
        Cart.objects.filter(pk=cart.pk).update(
            group=group, seat=seat, table_label=table_label, updated_at=timezone.now()
        )
        group_bump(group_id=group.pk)
    cart.group, cart.seat, cart.table_label = group, seat, table_label
    return cart


def seat_set_name(*, customer: Customer, app: MiniApp, name: str) -> None:
    """The first name the table sees for this phone (up to 20 characters; "" for a number)."""
    name = " ".join((name or "").split())
    if len(name) > 20:
        raise OrderingError(_("A name has at most 20 characters."))
    if any(not ch.isprintable() for ch in name) or "@" in name:
        raise OrderingError(_("Give a first name only."))
    cart = customer_cart(customer=customer, app=app)
    Cart.objects.filter(pk=cart.pk).update(seat_name=name)
    if cart.group_id:
        group_bump(group_id=cart.group_id)


def group_of(
    *, customer: Customer | None, app: MiniApp, open_only: bool = True
) -> TableGroup | None:
    """The open group the customer sits in at this app, if any (or the last one it sat in,
    settled or closed since, when not `open_only`: a bill's page after it was paid)."""
    if customer is None or not getattr(customer, "pk", None):
        return None
    found = TableGroup.objects.filter(carts__customer=customer, carts__app=app)
    if open_only:
        found = found.filter(status=S.OPEN)
    return found.select_related("store").first()


def access_group(*, public_id: str, merchant_id: int | None = None) -> TableGroup | None:
    if not is_public_id(public_id, 16):
        return None
    found = TableGroup.objects.select_related("store", "app", "merchant")
    if merchant_id is not None:
        found = found.filter(merchant_id=merchant_id)
    return found.filter(public_id=public_id).first()


def seats(group: TableGroup) -> list[str]:
    return [seat_label(c) for c in group.carts.order_by("seat")]


# --- the bill -------------------------------------------------------------------------------


@dataclass(frozen=True)
class BillLine:
    line: OrderLine
    round_number: str
    open_quantity: int  # not yet taken by a phone's "my items" share


@dataclass(frozen=True)
class Bill:
    group: TableGroup
    rounds: list[Order]
    lines: list[BillLine]
    total: int  # what the table owes: its rounds not cancelled
    paid: int  # what paid shares cover
    tips: int
    shares: list[TableShare]  # paid and open ones, oldest first

    @property
    def left(self) -> int:
        return max(self.total - self.paid, 0)

    @property
    def settled(self) -> bool:
        return self.group.status == S.SETTLED


def bill_of(group: TableGroup) -> Bill:
    """The table's bill: three queries."""
    rounds = list(group.rounds.exclude(status__in=ENDED).order_by("id"))
    shares = list(group.shares.exclude(status=TableShareStatus.VOID).order_by("id"))
    paid = [s for s in shares if s.status == TableShareStatus.PAID]
    taken: dict[str, int] = {}
    for share in shares:
        for line_id, quantity in share.lines.items():
            taken[line_id] = taken.get(line_id, 0) + quantity
    numbers = {r.pk: r.number for r in rounds}
    lines = [
        BillLine(
            line=line,
            round_number=numbers[line.order_id],
            open_quantity=max(
                line.quantity - line.refunded_quantity - taken.get(str(line.pk), 0), 0
            ),
        )
        for line in OrderLine.objects.filter(order__in=rounds).order_by("order_id", "id")
    ]
    return Bill(
        group=group,
        rounds=rounds,
        lines=lines,
        total=sum(r.total for r in rounds),
        paid=sum(s.amount for s in paid),
        tips=sum(s.tip for s in paid),
        shares=shares,
    )


def split_parts(total: int, parts: int) -> list[int]:
    """`total` in `parts` integer parts by largest remainder: they differ by at most one
    minor unit, the larger ones first, and add up to `total` exactly."""
    return money.allocate(total, [1] * parts)


def _check_open_bill(group: TableGroup) -> None:
    if not group.pay_after:
        raise OrderingError(_("This table pays when it orders."))
    if group.status != S.OPEN:
        raise OrderingError(_("This table's bill is settled."))


def share_open(
    *,
    group: TableGroup,
    customer: Customer,
    kind: str,
    parts: int | None = None,
    amount: int | None = None,
    lines: dict | None = None,
) -> TableShare:
    """The part of the bill this phone will pay: the remaining, an equal part of `parts`, its
    items ({order line id: quantity}) or an amount. A phone has one unpaid share at a time:
    choosing again gives up the last one (the flow cancels its payment attempt). Raises
    OrderingError with a message, changing nothing, for anything the bill cannot take."""
    _check_open_bill(group)
    if kind not in (ShareKind.REST, ShareKind.EQUAL, ShareKind.ITEMS, ShareKind.AMOUNT):
        raise OrderingError(_("Choose how to pay."))
    with transaction.atomic():
        share_drop(group=group, customer=customer)
        bill = bill_of(group)
        if bill.left <= 0:
            raise OrderingError(_("Nothing is left to pay."))
        fields: dict = {"lines": {}}
        if kind == ShareKind.REST:
            value = bill.left
        elif kind == ShareKind.AMOUNT:
            if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
                raise OrderingError(_("Enter an amount above zero."))
            if amount > bill.left:
                raise OrderingError(_("That is more than is left to pay."))
            value = amount
        elif kind == ShareKind.ITEMS:
            value, fields["lines"] = _items(bill, lines or {})
        else:
            return _equal_part(group, customer, bill, parts)
        return TableShare.objects.create(
            merchant_id=group.merchant_id,
            group=group,
            customer=customer,
            kind=kind,
            amount=value,
            **fields,
        )


def _items(bill: Bill, lines: dict) -> tuple[int, dict]:
    by_id = {str(b.line.pk): b for b in bill.lines}
    chosen, value = {}, 0
    for key, quantity in lines.items():
        found = by_id.get(str(key))
        if found is None:
            raise OrderingError(_("That item is not on this table's bill."))
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 0:
            raise OrderingError(_("Choose how many of each item."))
        if quantity > found.open_quantity:
            raise OrderingError(
                _("Only %(n)d of %(name)s are left to pay for.")
                % {"n": found.open_quantity, "name": found.line.name}
            )
        if quantity:
            chosen[str(found.line.pk)] = quantity
            value += found.line.unit_price * quantity
    if not chosen:
        raise OrderingError(_("Choose the items you pay for."))
    return min(value, bill.left), chosen


def _equal_part(group: TableGroup, customer: Customer, bill: Bill, parts) -> TableShare:
    if isinstance(parts, bool) or not isinstance(parts, int) or not 2 <= parts <= MAX_PARTS:
        raise OrderingError(
            _("Split among %(low)d to %(high)d people.") % {"low": 2, "high": MAX_PARTS}
        )
    # A new split (another number of people, or the bill changed since) starts a new round
    # of parts over what is left now; phones choosing the same split share its round.
    TableGroup.objects.filter(pk=group.pk).exclude(
        split_parts=parts, split_total=bill.left + _paid_in_round(group)
    ).update(split_parts=parts, split_total=bill.left, split_round=F("split_round") + 1)
    group.refresh_from_db(fields=["split_parts", "split_total", "split_round"])
    amounts = split_parts(group.split_total, parts)
    for part, value in enumerate(amounts, start=1):
        try:
            with transaction.atomic():
                return TableShare.objects.create(
                    merchant_id=group.merchant_id,
                    group=group,
                    customer=customer,
                    kind=ShareKind.EQUAL,
                    amount=min(value, bill.left),
                    split_round=group.split_round,
                    part=part,
                )
        except IntegrityError:
            continue  # another phone has this part: the next one
    raise OrderingError(_("Every part of this split is taken. Pay the remaining instead."))


def _paid_in_round(group: TableGroup) -> int:
    """What parts of the current equal split have paid: with the bill left, the split's
    total while the bill has not changed otherwise."""
    return sum(
        group.shares.filter(
            split_round=group.split_round, part__gt=0, status=TableShareStatus.PAID
        ).values_list("amount", flat=True)
    )


def share_drop(*, group: TableGroup, customer: Customer) -> list[TableShare]:
    """Give up this phone's unpaid shares (choosing again, or leaving); returns them so the
    flow can cancel their payment attempts."""
    dropped = list(
        TableShare.objects.filter(group=group, customer=customer, status=TableShareStatus.OPEN)
    )
    TableShare.objects.filter(pk__in=[s.pk for s in dropped], status=TableShareStatus.OPEN).update(
        status=TableShareStatus.VOID
    )
    return dropped


def share_set_tip(*, share: TableShare, tip: int) -> None:
    TableShare.objects.filter(pk=share.pk, status=TableShareStatus.OPEN).update(tip=tip)
    share.tip = tip


def access_share(*, public_id: str) -> TableShare | None:
    if not is_public_id(public_id, 16):
        return None
    return (
        TableShare.objects.select_related("group", "merchant").filter(public_id=public_id).first()
    )


def share_apply(*, share: TableShare) -> bool:
    """The share's money arrived: under the group's lock (the flow holds it), the share is
    paid when the bill still needs it all; the bill is settled when nothing is left. False
    when the bill no longer needs it (another phone paid the last of it meanwhile, or the
    bill is settled): the flow gives the money back."""
    group = TableGroup.objects.get(pk=share.group_id)
    if group.status != S.OPEN:
        TableShare.objects.filter(pk=share.pk, status=TableShareStatus.OPEN).update(
            status=TableShareStatus.VOID
        )
        return False
    bill = bill_of(group)
    if share.amount > bill.left or not TableShare.objects.filter(
        pk=share.pk, status__in=[TableShareStatus.OPEN, TableShareStatus.VOID]
    ).update(status=TableShareStatus.PAID, paid_at=timezone.now()):
        TableShare.objects.filter(pk=share.pk, status=TableShareStatus.OPEN).update(
            status=TableShareStatus.VOID
        )
        return False
    if share.amount == bill.left:
        _settle(group)
    group_bump(group_id=group.pk)
    return True


def counter_share(*, group: TableGroup, method: str, by: str) -> TableShare | None:
    """Staff take what is left at the counter (cash or card): a paid share at once, and the
    bill settled (the flow records the money). None when nothing was left: the group closes."""
    if method not in ("cash", "card"):
        raise OrderingError(_("Choose cash or card."))
    _check_open_bill(group)
    bill = bill_of(group)
    if bill.left <= 0:
        _settle(group, by=by)
        return None
    share = TableShare.objects.create(
        merchant_id=group.merchant_id,
        group=group,
        kind=ShareKind.COUNTER,
        amount=bill.left,
        status=TableShareStatus.PAID,
        paid_at=timezone.now(),
        method=method,
        recorded_by=by[:120],
    )
    _settle(group, by=by)
    return share


def _settle(group: TableGroup, *, by: str = "") -> None:
    now = timezone.now()
    TableGroup.objects.filter(pk=group.pk, status=S.OPEN).update(
        status=S.SETTLED, ended_at=now, ended_by=by[:120], updated_at=now
    )
    group.status = S.SETTLED
    # The rounds are paid now (the kitchen's steps go on as they were).
    group.rounds.filter(paid_at__isnull=True).exclude(status__in=ENDED).update(paid_at=now)
    TableShare.objects.filter(group=group, status=TableShareStatus.OPEN).update(
        status=TableShareStatus.VOID
    )


def group_close(*, group: TableGroup, by: str) -> None:
    """Staff clear a table that pays when it orders (or owes nothing): the next scan starts a
    new group."""
    if group.pay_after and group.status == S.OPEN and bill_of(group).left:
        raise OrderingError(_("This table still has a bill to pay."))
    TableGroup.objects.filter(pk=group.pk, status=S.OPEN).update(
        status=S.CLOSED, ended_at=timezone.now(), ended_by=by[:120]
    )
    group_bump(group_id=group.pk)


def unpaid_tables(merchant_id: int) -> list[Bill]:
    """Open tables that pay after eating with something sent to the kitchen (the board)."""
    groups = (
        TableGroup.objects.filter(merchant_id=merchant_id, status=S.OPEN, pay_after=True)
        .filter(Q(rounds__isnull=False))
        .distinct()
        .order_by("opened_at")
    )
    return [bill for bill in (bill_of(g) for g in groups) if bill.rounds]
