"""The settlement report shows gross, discount and net per day and, for a day, per order."""

import csv
import io

import pytest
from django.urls import reverse

from tapgo.coupons import services as coupons
from tapgo.payments import reports

pytestmark = pytest.mark.django_db


@pytest.fixture
def coupon_order(make_batch, merchant, app, product, customer):
    from tapgo.flows.checkout import checkout
    from tapgo.ordering import services as ordering
    from tapgo.payments.tests.sandbox_helpers import pay_by_sandbox

    coupon = coupons.coupon_issue(batch=make_batch(), customer=customer, source="claimed")
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
    order.refresh_from_db()
    return order


def test_the_report_shows_gross_discount_and_net_by_day_and_by_order(
    owner_client, merchant, coupon_order
):
    today = reports.today(merchant).isoformat()
    page = owner_client.get(reverse("console:report", args=[merchant.public_id]))
    text = page.content.decode()
    day_url = reverse("console:report_day", args=[merchant.public_id, today])
    assert f'href="{day_url}"' in text
    for key, shown in (("gross", "52.00"), ("discount", "5.00"), ("sales", "47.00")):
        assert f'data-testid="day-{key}">CN¥{shown}</td>' in text

    response = owner_client.get(reverse("console:report_csv", args=[merchant.public_id]))
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][2:5] == ["Gross sales", "Discounts", "Net sales"]
    last = dict(zip(rows[0], rows[-1], strict=True))
    assert (last["Gross sales"], last["Discounts"], last["Net sales"]) == (
        "52.00", "5.00", "47.00"
    )  # fmt: skip

    text = owner_client.get(day_url).content.decode()
    order_url = reverse("console:order", args=[merchant.public_id, coupon_order.public_id])
    assert f'href="{order_url}"' in text and coupon_order.number in text
    assert "CN¥52.00" in text and "CN¥5.00" in text and "CN¥47.00" in text


@pytest.mark.parametrize("day", ["2024-02-30", "yesterday", "2024-1-1", "x" * 300])
def test_a_bad_day_is_not_found(owner_client, merchant, day):
    response = owner_client.get(f"/console/{merchant.public_id}/reports/{day}/")
    assert response.status_code == 404


def test_a_quiet_day_says_so_to_staff_too(client, staff_member, merchant):
    client.force_login(staff_member)
    response = client.get(reverse("console:report_day", args=[merchant.public_id, "2024-01-01"]))
    assert response.status_code == 200 and "No sales on this day." in response.content.decode()


def test_the_report_says_its_discounts_are_every_offer_not_only_coupons(
    owner_client, merchant, coupon_order
):
    """Bug: the pages said the discount was what coupons took off, while it is every offer
    on the order (a coupon, the member's level, a points reward), as the books record it."""
    today = reports.today(merchant).isoformat()
    for page in (
        owner_client.get(reverse("console:report", args=[merchant.public_id])),
        owner_client.get(reverse("console:report_day", args=[merchant.public_id, today])),
    ):
        text = page.content.decode()
        assert "coupons, member levels and points rewards" in text
        assert "what a coupon took off" not in text and "what coupons took off" not in text
