"""Checking out: the cart becomes an order (ordering takes the stock in the same
transaction; a repeated checkout key returns the order the first request made), and the
order's expiry is scheduled for when its time to pay is up."""

from django.db import transaction

from tapgo.flows.tasks import schedule_expiry
from tapgo.identity.models import Customer
from tapgo.miniapps.models import MiniApp
from tapgo.ordering import services as ordering
from tapgo.ordering.models import Order


def checkout(
    *,
    customer: Customer,
    app: MiniApp,
    checkout_key: str,
    fulfilment: str,
    pickup_name: str = "",
    note: str | None = None,
    delivery_request: ordering.DeliveryRequest | None = None,
) -> Order:
    order = ordering.order_place(
        customer=customer,
        app=app,
        checkout_key=checkout_key,
        fulfilment=fulfilment,
        pickup_name=pickup_name,
        note=note,
        delivery_request=delivery_request,
    )
    transaction.on_commit(lambda: schedule_expiry(order))
    return order
