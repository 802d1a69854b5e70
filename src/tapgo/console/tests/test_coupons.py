"""The console's coupons: creating and editing an offer, its figures and sales, its campaign
code, stopping it, a coupon given by staff; another merchant's offer is a 404 (and in
test_tenancy.py with every other URL)."""

import pytest
from django.urls import reverse

from tapgo.coupons import services as coupons
from tapgo.coupons.models import Batch, Coupon

pytestmark = pytest.mark.django_db

NEW = {
    "name": "¥5 off ¥30",
    "kind": "threshold",
    "amount": "5",
    "min_spend": "30",
    "valid_days": "7",
    "per_customer_cap": "1",
    "total_cap": "100",
}


def test_create_edit_and_stop_an_offer(owner_client, merchant, app, customer):
    url = reverse("console:coupons", args=[merchant.public_id])
    response = owner_client.post(url, NEW)
    batch = Batch.objects.get()
    assert response.url == reverse(
        "console:coupon_batch", args=[merchant.public_id, batch.public_id]
    )
    assert (batch.value, batch.min_spend, batch.total_cap, batch.valid_days) == (500, 3000, 100, 7)

    page = owner_client.get(response.url).content.decode()
    assert f"/m/{app.slug}/c/{batch.public_id}/" in page and "<svg" in page
    code = owner_client.get(
        reverse("console:coupon_batch_code", args=[merchant.public_id, batch.public_id])
    )
    assert code["Content-Type"] == "image/svg+xml" and b"<svg" in code.content

    grant = reverse("console:coupon_batch_grant", args=[merchant.public_id, batch.public_id])
    owner_client.post(grant, {"customer": customer.public_id})
    assert Coupon.objects.get().source == "staff"
    refused = owner_client.post(grant, {"customer": customer.public_id}, follow=True)
    assert "all the coupons of this offer" in refused.content.decode()
    assert (
        "No customer has that code."
        in owner_client.post(grant, {"customer": "nobody"}, follow=True).content.decode()
    )

    edited = owner_client.post(
        response.url, NEW | {"name": "¥6 off ¥30", "amount": "6", "total_cap": ""}
    )
    assert edited.status_code == 302
    batch.refresh_from_db()
    assert (batch.name, batch.value, batch.total_cap) == ("¥6 off ¥30", 600, None)
    listing = owner_client.get(url).content.decode()
    assert "¥6 off ¥30" in listing

    owner_client.post(
        reverse("console:coupon_batch_stop", args=[merchant.public_id, batch.public_id])
    )
    assert Batch.objects.get().stopped


def test_a_bad_offer_is_refused_with_a_message(owner_client, merchant):
    url = reverse("console:coupons", args=[merchant.public_id])
    response = owner_client.post(url, NEW | {"amount": "50"})
    assert response.status_code == 400
    assert "The spend must be more than the amount off." in response.content.decode()
    response = owner_client.post(url, NEW | {"amount": "abc"})
    assert response.status_code == 400
    assert not Batch.objects.exists()


def test_another_merchants_offer_is_404(owner_client, merchant, other_merchant):
    from datetime import timedelta

    from django.utils import timezone

    theirs = coupons.batch_create(
        merchant=other_merchant,
        terms=coupons.BatchTerms(
            name="Bakery deal",
            kind="amount",
            value=100,
            valid_days=3,
            valid_from=timezone.now() - timedelta(minutes=1),
        ),
    )
    for name in ("coupon_batch", "coupon_batch_stop", "coupon_batch_grant", "coupon_batch_code"):
        url = reverse(f"console:{name}", args=[merchant.public_id, theirs.public_id])
        for method in ("get", "post"):
            response = getattr(owner_client, method)(url, NEW)
            assert response.status_code in (404, 405), (name, method)
    theirs.refresh_from_db()
    assert (theirs.name, theirs.stopped) == ("Bakery deal", False)


def test_an_orders_page_and_the_offer_show_gross_discount_and_net(
    owner_client, make_batch, merchant, app, product, customer
):
    from tapgo.flows.checkout import checkout
    from tapgo.ordering import services as ordering
    from tapgo.payments.tests.sandbox_helpers import pay_by_sandbox

    batch = make_batch(valid_days=3)
    coupon = coupons.coupon_issue(batch=batch, customer=customer, source="claimed")
    ordering.cart_add(customer=customer, app=app, product_public_id=product.public_id, quantity=2)
    order = checkout(
        customer=customer,
        app=app,
        checkout_key="k",
        fulfilment="pickup",
        pickup_name="Ann",
        coupon=coupon.public_id,
    )
    pay_by_sandbox(order)

    page = owner_client.get(reverse("console:order", args=[merchant.public_id, order.public_id]))
    text = page.content.decode()
    assert "Before the offers CN¥52.00 · Coupon “¥5 off ¥30” −CN¥5.00 · paid CN¥47.00" in text
    offer = owner_client.get(
        reverse("console:coupon_batch", args=[merchant.public_id, batch.public_id])
    )
    assert "1 paid order used it: CN¥47.00 paid, CN¥5.00 off." in offer.content.decode()
