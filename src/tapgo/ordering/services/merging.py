"""A guest signing in: their carts and orders become the account's (flows/customers.py)."""

from django.db.models import F
from django.db.models.functions import Least

from tapgo.identity.models import Customer
from tapgo.ordering.models import MAX_LINE_QUANTITY, Cart, CartLine, Order, TableShare


def carts_move(*, source: Customer, target: Customer) -> None:
    for cart in Cart.objects.filter(customer=source).prefetch_related("lines"):
        existing = Cart.objects.filter(customer=target, app_id=cart.app_id).first()
        if existing is None:
            Cart.objects.filter(pk=cart.pk).update(customer=target)
            continue
        for line in cart.lines.all():
            # Capped in the same UPDATE: the sum may not pass the line's CHECK constraint.
            merged = CartLine.objects.filter(
                cart=existing, product_id=line.product_id, variant_key=line.variant_key
            ).update(quantity=Least(F("quantity") + line.quantity, MAX_LINE_QUANTITY))
            if not merged:
                CartLine.objects.filter(pk=line.pk).update(cart=existing)
        Cart.objects.filter(pk=cart.pk).delete()


def orders_move(*, source: Customer, target: Customer) -> None:
    Order.objects.filter(customer=source).update(customer=target)
    # The parts of a table's bill the guest chose or paid are the account's too.
    TableShare.objects.filter(customer=source).update(customer=target)


def orders_share_repoint(*, share_ids, to: int | None, customer_id: int | None = None) -> None:
    """Orders credited to these share links are credited to `to` (None: to no one); only the
    customer's orders when one is given. For merging accounts (miniapps.share_links_move)."""
    orders = Order.objects.filter(share_id__in=share_ids)
    if customer_id is not None:
        orders = orders.filter(customer_id=customer_id)
    orders.update(share_id=to)
