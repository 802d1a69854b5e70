"""Caps under concurrency, decided by the database: real threads, SQLite and PostgreSQL."""

import pytest
from django.db import connection

from tapgo.coupons import services as coupons
from tapgo.coupons.models import Batch, Coupon, CustomerCount
from tapgo.identity.services import customer_create_guest

pytestmark = [pytest.mark.race, pytest.mark.django_db(transaction=True)]


def _threads(wanted: int) -> int:
    """PostgreSQL's test server allows 100 connections: there, 200 customers share 50
    threads (each claims for 4 of them, in a row, all threads starting together)."""
    return wanted if connection.vendor == "sqlite" else min(wanted, 50)


def test_two_hundred_customers_for_the_last_fifty(concurrently, make_batch):
    batch = make_batch(total_cap=60, per_customer_cap=1)
    early = [customer_create_guest() for _ in range(10)]
    for person in early:
        coupons.coupon_issue(batch=batch, customer=person, source="claimed")
    people = [customer_create_guest() for _ in range(200)]
    threads = _threads(200)

    def claim(i):
        results = []
        for person in people[i::threads]:
            try:
                results.append(coupons.coupon_issue(batch=batch, customer=person, source="claimed"))
            except coupons.CouponError as exc:
                results.append(exc)
        return results

    results = [r for batch_of in concurrently(claim, threads) for r in batch_of]

    assert len(results) == 200
    claimed = [r for r in results if isinstance(r, Coupon)]
    refused = [r for r in results if isinstance(r, coupons.CouponError)]
    assert len(claimed) == 50 and len(refused) == 150, results
    assert all("have been claimed" in str(r) for r in refused)
    assert Batch.objects.get(pk=batch.pk).issued == 60
    assert Coupon.objects.filter(batch=batch).count() == 60


def test_one_customer_clicking_twenty_times_gets_one(concurrently, make_batch, customer):
    batch = make_batch(total_cap=100, per_customer_cap=1)

    def claim(_i):
        try:
            return coupons.coupon_issue(batch=batch, customer=customer, source="claimed")
        except coupons.CouponError as exc:
            return exc

    results = concurrently(claim, 20)

    assert sum(isinstance(r, Coupon) for r in results) == 1, results
    assert sum(isinstance(r, coupons.CouponError) for r in results) == 19, results
    assert Coupon.objects.filter(batch=batch, customer=customer).count() == 1
    assert Batch.objects.get(pk=batch.pk).issued == 1
    assert CustomerCount.objects.get(batch=batch, customer=customer).count == 1


def test_one_coupon_reserved_by_five_orders_at_once_is_held_by_one(
    concurrently, make_batch, customer, merchant
):
    """The reservation itself decides (not a lock taken by checkout): on PostgreSQL an
    UPDATE joined to the batch was not re-checked and every order held the coupon."""
    coupon = coupons.coupon_issue(batch=make_batch(), customer=customer, source="claimed")
    lines = [coupons.Line(key=1, product_id=1, category_id=1, unit_price=4000, quantity=1)]

    def reserve(i):
        try:
            return coupons.coupon_reserve(customer=customer, merchant_id=merchant.pk,
                                          code=coupon.public_id, order_id=1000 + i,
                                          lines=lines, total=4000)  # fmt: skip
        except coupons.CouponError as exc:
            return exc

    results = concurrently(reserve, 5)
    held = [r for r in results if not isinstance(r, BaseException)]
    assert len(held) == 1, results
    assert Coupon.objects.get(pk=coupon.pk).order_id == held[0][0].order_id
