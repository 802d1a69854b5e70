"""/me/orders (issue 12): each row names the app and the order's number on one line and lists
the items, in a fixed number of queries; a signed-in customer is not asked to sign in."""

import re

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tapgo.identity.models import Customer
from tapgo.miniapps.models import EntryCode
from tapgo.ordering.models import Order

URL = reverse("shell:my_orders")


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()


def order(client, app, *items) -> Order:
    for product, quantity, variant in items:
        data = {"item": product.public_id, "quantity": str(quantity)}
        if variant is not None:
            data[f"v_{product.public_id}"] = variant.public_id
        client.post(reverse("shell:cart_add", args=[app.slug]), data)
    client.post(
        reverse("shell:checkout", args=[app.slug]),
        {"checkout_key": f"k{Order.objects.count()}", "fulfilment": "dine_in"},
    )
    return Order.objects.order_by("-id").first()


def scan(client, app) -> Customer:
    code = EntryCode.objects.get(app=app, kind="table", table_label="1")
    client.get(reverse("shell:scan", args=[code.code]))
    return Customer.objects.order_by("-id").first()


def rows(html: str) -> list[str]:
    return re.findall(r'<a class="card order-row"[^>]*>(.*?)</a>', html, re.S)


def test_a_row_names_the_app_and_number_together_and_lists_the_items(
    client, app, product, sized_product
):
    scan(client, app)
    large = sized_product.variants.get(name="Large")
    first = order(client, app, (product, 2, None), (sized_product, 1, large))
    html = client.get(URL).content.decode()
    [row] = rows(html)
    head = re.search(r"<span>(.*?)</span>", row)[1]
    assert head == f"<strong>Test Café</strong> · {first.number}"  # one line, not "· A001"
    items = re.search(r'data-testid="my-order-items">([^<]*)<', row)[1]
    assert items == "Latte × 2, Americano (Large) × 1"


def test_the_list_costs_the_same_queries_for_one_order_or_many(client, app, product):
    scan(client, app)
    order(client, app, (product, 1, None))
    with CaptureQueriesContext(connection) as one:
        client.get(URL)
    for _ in range(4):
        order(client, app, (product, 1, None))
    with CaptureQueriesContext(connection) as five:
        html = client.get(URL).content.decode()
    assert len(rows(html)) == 5
    assert len(five.captured_queries) == len(one.captured_queries) <= 4


def test_a_guest_is_offered_signing_in_a_signed_in_customer_is_not(client, app, product):
    customer = scan(client, app)
    html = client.get(URL).content.decode()
    assert "Sign in with email to see your orders on every device" in html
    Customer.objects.filter(pk=customer.pk).update(email="ann@example.com")
    html = client.get(URL).content.decode()
    assert "Sign in with email" not in html
    assert "Signed in as ann@example.com" in html
