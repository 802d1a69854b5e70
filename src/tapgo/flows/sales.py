"""An order's gross, discount and net in the books: the money's postings carry the net (what
was paid); the discount is posted beside them as a memo (payments/services/memo.py) when the
order is paid, and given back with its refunds, so the settlement report and `tapgo ledger
verify` see gross − discount = net for every order (docs/decisions/0004-ledger.md).

- paid: the order's whole discount, once (`discount:order:<id>`), in the paid transition's
  transaction (flows/orders.py; a table's rounds when the bill settles, flows/tables.py);
- refunded by item: exactly the discount those units carried (OrderLine.paid_for gives a
  line's discount to its units in turn), never more than the books still hold;
- refunded by an amount: the discount in proportion to the amount (rounding down);
- refunded whole (the last of the order's money, or the order cancelled): all that is left,
  so a whole refund returns the whole discount however it was split;
- a refund the provider fails: its share comes back with the rest of its postings.
"""

from collections.abc import Iterable

from tapgo.ordering.models import Order, OrderLine
from tapgo.payments import services as payments
from tapgo.payments.models import Purpose, Refund


def order_sold(*, order: Order) -> None:
    """The order was paid: its discount goes into the books beside its money, once."""
    if order.discount:
        payments.discount_post(
            merchant=order.merchant,
            currency=order.currency,
            purpose=Purpose.ORDER,
            purpose_id=order.pk,
            amount=order.discount,
        )


def listed_price(*, order: Order, wanted: dict[int, int]) -> int:
    """What items ({line id: quantity}) of the order cost before any discount."""
    prices = dict(
        OrderLine.objects.filter(order=order, pk__in=wanted).values_list("pk", "unit_price")
    )
    return sum(prices.get(pk, 0) * quantity for pk, quantity in wanted.items())


def order_refunded(
    *, order: Order, refunds: Iterable[Refund], discount: int | None = None, whole: bool = False
) -> None:
    """Refunds of the order were made: its discount goes back with them. `discount` is what
    the refunded items carried (a refund by item), `whole` that nothing of the order's money
    is left (the rest of the discount goes back)."""
    refunds = list(refunds)
    if not order.discount or not refunds:
        return
    held = payments.discount_held(Purpose.ORDER, order.pk)
    sale = sum(refund.amount - refund.tip for refund in refunds)
    if held <= 0 or sale <= 0:
        return
    if whole:
        back = held
    elif discount is not None:
        back = min(discount, held)
    else:
        back = min(held, order.discount * sale // max(order.total, 1))
    payments.discount_return(
        refunds=refunds, purpose=Purpose.ORDER, purpose_id=order.pk, amount=back
    )
