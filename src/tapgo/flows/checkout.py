"""Checking out: the cart becomes an order (ordering takes the stock in the same
transaction; a repeated checkout key returns the order the first request made), and the
order's expiry is scheduled for when its time to pay is up. At a table that pays after
eating, the table's cart becomes a round sent to the kitchen, paid later with the bill. A
coupon chosen at checkout is held and its discount taken off in the same transaction."""

from django.db import transaction

from tapgo.flows import coupons as coupon_flows
from tapgo.flows import orders as order_flows
from tapgo.flows.tasks import schedule_expiry
from tapgo.identity.models import Customer
from tapgo.miniapps.models import MiniApp
from tapgo.ordering import services as ordering
from tapgo.ordering.models import Order, OrderStatus


def checkout(
    *,
    customer: Customer,
    app: MiniApp,
    checkout_key: str,
    fulfilment: str,
    pickup_name: str = "",
    note: str | None = None,
    delivery_request: ordering.DeliveryRequest | None = None,
    coupon: str = "",
) -> Order:
    """Place the cart as an order; with `coupon` (a coupon's code), the coupon is held for
    the order and its discount taken off in the same transaction, or nothing is placed and
    OrderingError says why (flows/coupons.py). A form sent again (its key) gets the order it
    placed back as it is, whatever coupon it names now."""
    placed = ordering.order_of_checkout(customer=customer, checkout_key=checkout_key)
    if placed is not None:
        return placed
    with transaction.atomic():
        order = ordering.order_place(
            customer=customer,
            app=app,
            checkout_key=checkout_key,
            fulfilment=fulfilment,
            pickup_name=pickup_name,
            note=note,
            delivery_request=delivery_request,
        )
        if coupon:
            order = coupon_flows.order_coupon_apply(order=order, customer=customer, code=coupon)
    if order.status == OrderStatus.PLACED:  # a table's round, paid with the bill
        order_flows.order_sent(order=order)
    else:
        transaction.on_commit(lambda: schedule_expiry(order))
    return order
