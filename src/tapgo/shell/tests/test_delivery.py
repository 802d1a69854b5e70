"""Delivery in the shell, with Django's test client: the option shows only where the store
delivers, the fee is shown before the order is placed (with and without the page's script),
bad input gets a message and changes nothing (never a 500), and the order page shows the fee,
the address and the trip live."""

import json
import re
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import translation

from tapgo.core.actors import SYSTEM
from tapgo.flows import orders as order_flows
from tapgo.merchants.services import merchant_store
from tapgo.messaging.keys import TemplateKey
from tapgo.messaging.models import Consent
from tapgo.ordering import services as ordering
from tapgo.ordering.models import CartLine, Order, OrderStatus
from tapgo.payments.tests.sandbox_helpers import pay_by_sandbox

S = OrderStatus
NEAR = {"lat": "31.232000", "lng": "121.473700"}  # about 180 m north of the store
FAR = {"lat": "31.330000", "lng": "121.473700"}  # about 11 km


@pytest.fixture
def zones(merchant, app):
    store = merchant_store(merchant)
    store.latitude, store.longitude = Decimal("31.230400"), Decimal("121.473700")
    store.save(update_fields=["latitude", "longitude"])

    def add(kind, name, radius_m, fee, minimum=0, eta=30):
        return ordering.zone_add(
            merchant=merchant,
            store=store,
            kind=kind,
            name=name,
            radius_m=radius_m,
            fee=fee,
            minimum=minimum,
            eta_minutes=eta,
        )

    return {
        "near": add("radius", "Within 2 km", 2000, 500, minimum=3000),
        "tower": add("area", "Harbour Tower", None, 300, eta=20),
    }


def cart_page(client, app) -> str:
    return client.get(reverse("shell:cart", args=[app.slug])).content.decode()


def fill_cart(client, app, product, quantity=1):
    client.get(reverse("shell:app", args=[app.slug]))
    for _ in range(quantity):
        client.post(reverse("shell:cart_add", args=[app.slug]), {"item": product.public_id})
    page = cart_page(client, app)
    return re.search(r'name="checkout_key" value="([^"]+)"', page)[1]


def checkout(client, app, key, **fields):
    data = {
        "checkout_key": key,
        "fulfilment": "delivery",
        "address": "Room 1201, Harbour Tower",
        "phone": "+86 138 0013 8000",
    } | fields
    return client.post(reverse("shell:checkout", args=[app.slug]), data)


def quote(client, app, **fields):
    response = client.post(reverse("shell:delivery_quote", args=[app.slug]), fields)
    assert response.status_code == 200
    return json.loads(response.content)


def test_no_zones_no_delivery(client, app, product):
    fill_cart(client, app, product)
    page = cart_page(client, app)
    assert 'value="delivery"' not in page and "shell/delivery.js" not in page


def test_the_cart_page_offers_delivery_with_its_zones(client, app, product, zones):
    fill_cart(client, app, product)
    page = cart_page(client, app)
    assert 'value="delivery"' in page
    assert "Within 2 km (within 2 km): fee CN¥5.00 · minimum order CN¥30.00" in page
    assert "Harbour Tower: fee CN¥3.00 · about 20 minutes" in page
    assert f'<option value="{zones["tower"].public_id}">Harbour Tower</option>' in page
    assert 'src="/static/shell/delivery.js"' in page or "shell/delivery.js" in page


def test_the_script_asks_for_the_fee_before_the_order(client, app, product, zones):
    fill_cart(client, app, product, quantity=2)
    answer = quote(client, app, **NEAR)
    assert answer["ok"] and answer["fee"] == 500 and answer["error"] == ""
    assert answer["text"] == (
        "Delivery to Within 2 km: fee CN¥5.00, about 30 minutes. Total CN¥57.00."
    )
    assert answer["button"] == "Place order and pay CN¥57.00"

    answer = quote(client, app, area=zones["tower"].public_id)
    assert (answer["ok"], answer["fee"]) == (True, 300)

    answer = quote(client, app, **FAR)
    assert not answer["ok"] and answer["fee"] is None
    assert "outside our delivery area (11.1 km from the shop)" in answer["error"]


def test_the_quote_says_how_much_is_missing(client, app, product, zones):
    fill_cart(client, app, product)
    answer = quote(client, app, **NEAR)
    assert not answer["ok"] and answer["fee"] is None
    assert answer["error"] == (
        "Delivery to Within 2 km needs an order of at least CN¥30.00 before the fee: "
        "add CN¥4.00 more."
    )


def test_in_chinese(client, app, product, zones):
    fill_cart(client, app, product, quantity=2)
    client.cookies["django_language"] = "zh-hans"
    answer = quote(client, app, **NEAR)
    assert "配送" in answer["text"] and "¥57.00" in answer["text"]
    assert "配送" in cart_page(client, app)


def test_without_the_script_the_fee_is_shown_first(client, app, product, zones):
    key = fill_cart(client, app, product, quantity=2)
    # "Check the delivery fee": the page again, with the quote; nothing placed.
    response = checkout(client, app, key, quote="1", area=zones["tower"].public_id)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Delivery to Harbour Tower: fee CN¥3.00, about 20 minutes. Total CN¥55.00." in page
    assert 'name="fee_seen" value="300"' in page
    assert "Place order and pay CN¥55.00" in page
    assert 'value="Room 1201, Harbour Tower"' in page  # what they typed is kept
    assert not Order.objects.exists()

    # Placing without having seen the fee (a stale page) shows it and places nothing.
    response = checkout(client, app, key, area=zones["tower"].public_id)
    assert response.status_code == 200
    assert "Check the delivery fee and the total, then place your order." in (
        response.content.decode()
    )
    assert not Order.objects.exists()

    response = checkout(client, app, key, area=zones["tower"].public_id, fee_seen="300")
    order = Order.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("shell:order_pay", args=[app.slug, order.public_id])
    assert (order.total, order.delivery_fee, order.delivery_zone_name) == (
        5500,
        300,
        "Harbour Tower",
    )


@pytest.mark.parametrize(
    "bad",
    [
        {"address": ""},
        {"address": "\x00"},
        {"phone": "call me"},
        {"phone": "1" * 300},
        {"lat": "NaN", "lng": "1"},
        {"lat": "1" * 5000, "lng": "2"},
        {"lat": "31.2"},
        {"area": "nope"},
        {"area": "x" * 5000},
        {"fee_seen": "9" * 500},
        {"note": "\x00"},
        {"lat": "31.330000", "lng": "121.473700"},  # outside
        {},  # neither a position nor an area
    ],
)
def test_bad_input_gets_a_message_and_changes_nothing(client, app, product, zones, bad):
    key = fill_cart(client, app, product, quantity=2)
    fields = {"fee_seen": "500", **NEAR} if "area" not in bad else {"fee_seen": "300"}
    if not bad:
        fields = {"fee_seen": "500"}
    response = checkout(client, app, key, **(fields | bad))
    assert response.status_code in (200, 302)
    assert not Order.objects.exists()
    assert CartLine.objects.get().quantity == 2
    page = (
        response.content.decode()
        if response.status_code == 200
        else client.get(response.url).content.decode()
    )
    assert 'class="msg error' in page or 'class="quote msg error' in page
    for answer in (quote(client, app, **(fields | bad)),):
        assert answer["ok"] in (True, False)  # the quote never fails either


def test_another_shops_area_is_refused(client, app, product, zones, other_merchant):
    theirs = ordering.zone_add(
        merchant=other_merchant,
        store=merchant_store(other_merchant),
        kind="area",
        name="Bakery Street",
        radius_m=None,
        fee=100,
        minimum=0,
        eta_minutes=10,
    )
    key = fill_cart(client, app, product, quantity=2)
    answer = quote(client, app, area=theirs.public_id)
    assert not answer["ok"] and "Bakery Street" not in json.dumps(answer)
    response = checkout(client, app, key, area=theirs.public_id, fee_seen="100")
    assert response.status_code == 200
    assert "Choose your area from the list." in response.content.decode()
    assert not Order.objects.exists()


def test_the_order_page_shows_the_fee_and_the_trip_live(client, app, product, zones, settings):
    settings.LIVE_STREAM_SECONDS = 0.3  # the stream ends soon after sending what is there
    settings.LIVE_POLL_SECONDS = 0.05
    key = fill_cart(client, app, product, quantity=2)
    checkout(client, app, key, fee_seen="500", **NEAR)
    order = Order.objects.get()
    pay_by_sandbox(order)
    order.refresh_from_db()
    url = reverse("shell:order", args=[app.slug, order.public_id])
    page = client.get(url).content.decode()
    assert "Delivery fee (Within 2 km)" in page and "CN¥5.00" in page
    assert "CN¥57.00" in page
    assert "Delivery to Room 1201, Harbour Tower · +86 138 0013 8000" in page
    # Paying granted one message, and it will be this one (not "ready for pickup").
    assert "We&#x27;ll tell you when it&#x27;s on its way." in page

    order_flows.order_accept(order=order, actor=SYSTEM)
    order_flows.order_out_for_delivery(order=order, actor=SYSTEM)
    last = order.events.order_by("-pk")[1].pk  # the page saw up to "accepted"
    events = client.get(
        reverse("shell:order_events", args=[app.slug, order.public_id]),
        headers={"Last-Event-ID": str(last)},
    )
    body = b"".join(events.streaming_content).decode()
    assert '"status": "out_for_delivery"' in body
    assert "Your order is on its way" in body and "Delivered" in body
    page = client.get(url).content.decode()
    assert 'data-status="out_for_delivery"' in page


def test_the_customer_can_ask_to_be_told_when_it_leaves(client, app, product, zones):
    key = fill_cart(client, app, product, quantity=2)
    with translation.override("en"):
        checkout(client, app, key, fee_seen="500", **NEAR)
    order = Order.objects.get()
    pay_by_sandbox(order)
    response = client.post(reverse("shell:order_notify", args=[app.slug, order.public_id]))
    assert response.status_code == 302
    page = client.get(response.url).content.decode()
    assert "We&#x27;ll tell you in your inbox when it&#x27;s on its way." in page
    order.refresh_from_db()
    assert ordering.order_awaits_dispatch(order)
    consents = Consent.objects.filter(customer_id=order.customer_id, kind=Consent.Kind.ONE_TIME)
    assert consents.get().template.key == TemplateKey.ORDER_OUT_FOR_DELIVERY


def test_the_cart_page_keeps_the_saved_note(client, app, product, zones):
    fill_cart(client, app, product)
    client.post(reverse("shell:cart_update", args=[app.slug]), {"note": "No sugar"})
    assert ">No sugar</textarea>" in cart_page(client, app)
