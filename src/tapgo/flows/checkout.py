"""Checking out: the cart becomes an order (ordering takes the stock in the same
transaction; a repeated checkout key returns the order the first request made), and the
order's expiry is scheduled for when its time to pay is up. At a table that pays after
eating, the table's cart becomes a round sent to the kitchen, paid later with the bill. The
offers (a coupon chosen, the member's level, a points reward chosen) are taken off in the
same transaction (flows/offers.py)."""

from django.db import transaction

from tapgo.flows import offers as offer_flows
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
    reward: str = "",
) -> Order:
    """Place the cart as an order with its offers taken off in the same transaction: the
    coupon `coupon` names (held for the order), the member's level discount, the points
    reward `reward` names (its points redeemed), or nothing is placed and OrderingError says
    why (flows/offers.py). A form sent again (its key) gets the order it placed back as it
    is, whatever offers it names now."""
    placed = ordering.order_of_checkout(customer=customer, checkout_key=checkout_key)
    if placed is not None:
        return placed
    with transaction.atomic():
        order, new = ordering.order_place_new(
            customer=customer,
            app=app,
            checkout_key=checkout_key,
            fulfilment=fulfilment,
            pickup_name=pickup_name,
            note=note,
            delivery_request=delivery_request,
        )
        order = offer_flows.order_offers_apply(
            order=order, customer=customer, coupon=coupon, reward=reward, new=new
        )
    if order.status == OrderStatus.PLACED:  # a table's round, paid with the bill
        order_flows.order_sent(order=order)
    else:
        transaction.on_commit(lambda: schedule_expiry(order))
    return order
