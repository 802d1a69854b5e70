"""Helpers for the console's tests: signed-in clients, paid orders, small images."""

import io
import secrets

import pytest
from PIL import Image

from tapgo.coupons.tests.conftest import make_batch  # noqa: F401 (a fixture)


@pytest.fixture
def owner_client(client, owner):
    client.force_login(owner)
    return client


@pytest.fixture
def staff_member(merchant, owner):
    from tapgo.identity.services import staff_user_create
    from tapgo.merchants import services as merchants

    user = staff_user_create(email="staff@cafe.test", password="correct horse battery")
    invitation = merchants.invitation_create(
        merchant=merchant, invited_by=owner, email=user.email, role="staff"
    )
    merchants.invitation_accept(invitation=invitation, user=user)
    return user


def png_bytes(size=(40, 30), color=(200, 40, 40)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format="PNG")
    return out.getvalue()


def paid_order(app, product, *, table="1", quantity=1, note="", pickup_name=""):
    """A fresh guest orders and pays, the way the shell and the payment webhook would."""
    from tapgo.flows import orders as order_flows
    from tapgo.identity.services import customer_create_guest
    from tapgo.ordering import services as ordering

    customer = customer_create_guest()
    ordering.cart_add(
        customer=customer, app=app, product_public_id=product.public_id, quantity=quantity
    )
    if pickup_name:
        fulfilment = "pickup"
    else:
        ordering.cart_set_table(customer=customer, app=app, table_label=table)
        fulfilment = "dine_in"
    order = ordering.order_place(
        customer=customer,
        app=app,
        checkout_key=secrets.token_hex(8),
        fulfilment=fulfilment,
        pickup_name=pickup_name,
        note=note,
    )
    assert order_flows.order_mark_paid(order=order, amount=order.total, currency=order.currency)
    order.refresh_from_db()
    return order
