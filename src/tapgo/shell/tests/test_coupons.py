"""Coupons in the shell: claimed from the app or a campaign code (its door recorded), listed
on "My coupons", suggested at checkout (the customer may choose none), and shown on the
order; another merchant's batch is a 404."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from tapgo.coupons import services as coupons
from tapgo.coupons.models import Coupon
from tapgo.miniapps.models import Visit
from tapgo.ordering.models import Order
from tapgo.payments.models import PaymentIntent

pytestmark = pytest.mark.django_db


def _batch(merchant, **terms):
    terms = {
        "name": "¥5 off ¥30",
        "kind": "threshold",
        "value": 500,
        "min_spend": 3000,
        "valid_days": 7,
        "valid_from": timezone.now() - timedelta(minutes=1),
        **terms,
    }
    return coupons.batch_create(merchant=merchant, terms=coupons.BatchTerms(**terms))


def test_a_campaign_code_claims_with_its_scene(client, app, merchant):
    batch = _batch(merchant)
    url = reverse("shell:campaign", args=[app.slug, batch.public_id])

    page = client.get(url + "?scene=scan")
    assert page.status_code == 200 and "¥5 off ¥30" in page.content.decode()
    assert Visit.objects.filter(scene="scan").exists()
    response = client.post(url, {"scene": "scan"})
    assert response.url == reverse("shell:coupons", args=[app.slug])
    coupon = Coupon.objects.get()
    assert (coupon.source, coupon.scene) == ("link", "scan")

    listed = client.get(response.url).content.decode()
    assert coupon.public_id in listed
    again = client.post(url, {"scene": "scan"}, follow=True).content.decode()
    assert "all the coupons of this offer you can have" in again
    assert Coupon.objects.count() == 1


def test_claiming_from_the_coupons_page(client, app, merchant):
    batch = _batch(merchant)
    page = client.get(reverse("shell:coupons", args=[app.slug])).content.decode()
    assert "No coupons yet." in page and batch.name in page
    client.post(reverse("shell:campaign", args=[app.slug, batch.public_id]))
    assert Coupon.objects.get().source == "claimed"


def test_another_merchants_batch_is_not_found(client, app, other_merchant):
    other = _batch(other_merchant)
    url = reverse("shell:campaign", args=[app.slug, other.public_id])
    assert client.get(url).status_code == 404
    assert client.post(url).status_code == 404
    assert client.get(reverse("shell:campaign", args=[app.slug, "nope"])).status_code == 404


def test_checkout_suggests_the_best_and_allows_none(client, app, merchant, product):
    batch = _batch(merchant)
    client.post(reverse("shell:campaign", args=[app.slug, batch.public_id]))
    coupon = Coupon.objects.get()
    client.post(
        reverse("shell:cart_add", args=[app.slug]), {"item": product.public_id, "quantity": 2}
    )
    page = client.get(reverse("shell:cart", args=[app.slug])).content.decode()
    assert re.search(rf'value="{coupon.public_id}"[^>]* checked', page)
    key = re.search(r'name="checkout_key" value="([^"]+)"', page)[1]

    response = client.post(
        reverse("shell:checkout", args=[app.slug]),
        {
            "checkout_key": key,
            "fulfilment": "pickup",
            "pickup_name": "Ann",
            "coupon": coupon.public_id,
        },
    )
    order = Order.objects.get()
    assert (order.total, order.discount) == (5200 - 500, 500)
    shown = client.get(reverse("shell:order", args=[app.slug, order.public_id])).content.decode()
    assert "Coupon: ¥5 off ¥30" in shown  # each offer by kind and name
    assert response.status_code == 302


def test_checkout_without_the_coupon(client, app, merchant, product):
    client.post(reverse("shell:campaign", args=[app.slug, _batch(merchant).public_id]))
    client.post(
        reverse("shell:cart_add", args=[app.slug]), {"item": product.public_id, "quantity": 2}
    )
    page = client.get(reverse("shell:cart", args=[app.slug])).content.decode()
    key = re.search(r'name="checkout_key" value="([^"]+)"', page)[1]
    client.post(
        reverse("shell:checkout", args=[app.slug]),
        {"checkout_key": key, "fulfilment": "pickup", "pickup_name": "Ann", "coupon": ""},
    )
    assert (Order.objects.get().total, Coupon.objects.get().state) == (5200, "available")


def test_a_coupon_that_no_longer_applies_says_why(client, app, merchant, product):
    client.post(reverse("shell:campaign", args=[app.slug, _batch(merchant).public_id]))
    coupon = Coupon.objects.get()
    client.post(reverse("shell:cart_add", args=[app.slug]), {"item": product.public_id})
    page = client.get(reverse("shell:cart", args=[app.slug])).content.decode()
    assert "Spend" in page  # not chosen: it says why
    key = re.search(r'name="checkout_key" value="([^"]+)"', page)[1]
    response = client.post(
        reverse("shell:checkout", args=[app.slug]),
        {
            "checkout_key": key,
            "fulfilment": "pickup",
            "pickup_name": "Ann",
            "coupon": coupon.public_id,
        },
        follow=True,
    )
    assert "Spend" in response.content.decode()
    assert not Order.objects.exists()


def test_the_pay_page_refuses_an_order_whose_offer_stopped(client, app, merchant, product):
    batch = _batch(merchant)
    client.post(reverse("shell:campaign", args=[app.slug, batch.public_id]))
    coupon = Coupon.objects.get()
    client.post(
        reverse("shell:cart_add", args=[app.slug]), {"item": product.public_id, "quantity": 2}
    )
    page = client.get(reverse("shell:cart", args=[app.slug])).content.decode()
    key = re.search(r'name="checkout_key" value="([^"]+)"', page)[1]
    client.post(
        reverse("shell:checkout", args=[app.slug]),
        {
            "checkout_key": key,
            "fulfilment": "pickup",
            "pickup_name": "Ann",
            "coupon": coupon.public_id,
        },
    )
    order = Order.objects.get()
    coupons.batch_stop(batch=batch)

    response = client.post(
        reverse("shell:order_pay", args=[app.slug, order.public_id]), follow=True
    )
    assert "Cancel the order and order again." in response.content.decode()
    assert not PaymentIntent.objects.exists()
    client.post(reverse("shell:order_cancel", args=[app.slug, order.public_id]))
    assert Coupon.objects.get().state == "available"
