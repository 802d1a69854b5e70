"""Issuing coupons: validity, caps (total, per customer, per day), the ways a coupon is had."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tapgo.coupons import services as coupons
from tapgo.coupons.models import Batch, Coupon, CouponState
from tapgo.identity.services import customer_create_guest

pytestmark = pytest.mark.django_db


def test_a_claim_issues_a_coupon_valid_for_its_days(batch, customer):
    coupon = coupons.coupon_issue(batch=batch, customer=customer, source="claimed")

    assert coupon.state == CouponState.AVAILABLE
    assert coupon.merchant_id == batch.merchant_id
    left = coupon.expires_at - coupon.claimed_at
    assert left == timedelta(days=7)
    assert Batch.objects.get(pk=batch.pk).issued == 1


def test_fixed_dates_end_with_the_batch(make_batch, customer):
    until = timezone.now() + timedelta(days=2)
    batch = make_batch(valid_days=None, valid_until=until)

    assert coupons.coupon_issue(batch=batch, customer=customer, source="link").expires_at == until


def test_the_per_customer_cap_refuses_a_second_claim(batch, customer):
    coupons.coupon_issue(batch=batch, customer=customer, source="claimed")
    with pytest.raises(coupons.CouponError, match="all the coupons of this offer you can"):
        coupons.coupon_issue(batch=batch, customer=customer, source="claimed")

    assert Batch.objects.get(pk=batch.pk).issued == 1  # the refused claim counted nothing
    assert Coupon.objects.count() == 1


def test_the_total_cap_and_the_day_cap(make_batch):
    capped = make_batch(total_cap=2, per_customer_cap=None)
    daily = make_batch(per_day_cap=1)
    people = [customer_create_guest() for _ in range(3)]
    for person in people[:2]:
        coupons.coupon_issue(batch=capped, customer=person, source="claimed")
    with pytest.raises(coupons.CouponError, match="have been claimed"):
        coupons.coupon_issue(batch=capped, customer=people[2], source="claimed")

    coupons.coupon_issue(batch=daily, customer=people[0], source="claimed")
    with pytest.raises(coupons.CouponError, match="Today"):
        coupons.coupon_issue(batch=daily, customer=people[1], source="claimed")
    tomorrow = timezone.now() + timedelta(days=1)
    coupons.coupon_issue(batch=daily, customer=people[1], source="claimed", now=tomorrow)


def test_a_stopped_or_ended_batch_issues_nothing(batch, make_batch, customer):
    assert coupons.batch_stop(batch=batch)
    assert not coupons.batch_stop(batch=batch)
    with pytest.raises(coupons.CouponError, match="ended"):
        coupons.coupon_issue(batch=batch, customer=customer, source="claimed")
    later = make_batch(valid_from=timezone.now() + timedelta(days=1))
    with pytest.raises(coupons.CouponError, match="not started"):
        coupons.coupon_issue(batch=later, customer=customer, source="claimed")


def test_a_next_order_batch_is_issued_only_after_an_order(make_batch, customer):
    batch = make_batch(kind="next_order", value=300, min_spend=0)
    assert batch.auto_issue == "paid_order"
    with pytest.raises(coupons.CouponError, match="comes with an order"):
        coupons.coupon_issue(batch=batch, customer=customer, source="claimed")
    coupon = coupons.coupon_issue(batch=batch, customer=customer, source="next_order")
    assert coupon.source == "next_order"
    assert coupons.batches_claimable(batch.merchant_id) == []
    assert coupons.batches_issued_after_payment(batch.merchant_id) == [batch]


@pytest.mark.parametrize(
    ("terms", "message"),
    [
        ({"name": " "}, "name"),
        ({"kind": "bogus"}, "takes off"),
        ({"kind": "percent", "value": 120}, "between 1 and 99"),
        ({"value": 500, "min_spend": 400}, "more than the amount off"),
        ({"kind": "free_item"}, "item the coupon gives free"),
        ({"valid_days": None}, "end date"),
        ({"total_cap": 0}, "limit"),
        ({"valid_days": 0}, "between 1 and 3650"),
    ],
)
def test_bad_terms_are_refused_with_a_message(make_batch, terms, message):
    with pytest.raises(coupons.CouponError, match=message):
        make_batch(**terms)
    assert not Batch.objects.exists()


def test_an_edit_keeps_the_cap_above_what_was_issued(make_batch, customer):
    batch = make_batch(total_cap=5, per_customer_cap=None)
    for _ in range(3):
        coupons.coupon_issue(batch=batch, customer=customer, source="staff")
    terms = coupons.BatchTerms(
        name="Now ¥6",
        kind="threshold",
        value=600,
        min_spend=3000,
        valid_days=7,
        total_cap=2,
        per_customer_cap=None,
    )
    with pytest.raises(coupons.CouponError, match="3 coupons were issued"):
        coupons.batch_update(batch=batch, terms=terms)
    assert Batch.objects.get(pk=batch.pk).name == "¥5 off ¥30"

    batch = coupons.batch_update(
        batch=batch, terms=coupons.BatchTerms(**{**terms.__dict__, "total_cap": 3})
    )
    assert (batch.name, batch.total_cap, batch.value) == ("Now ¥6", 3, 600)
    with pytest.raises(coupons.CouponError, match="kind stays"):
        coupons.batch_update(
            batch=batch, terms=coupons.BatchTerms(**{**terms.__dict__, "kind": "amount"})
        )


def test_another_merchants_batch_is_not_found(batch, other_merchant):
    assert (
        coupons.access_batch_for_merchant(merchant=other_merchant, public_id=batch.public_id)
        is None
    )
    assert coupons.access_batch_for_merchant(merchant=batch.merchant, public_id="../1") is None
    assert (
        coupons.access_batch_for_merchant(merchant=batch.merchant, public_id=batch.public_id)
        == batch
    )


def test_a_full_offer_as_read_is_refused_without_writing(make_batch, customer):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    batch = make_batch(total_cap=1)
    coupons.coupon_issue(batch=batch, customer=customer, source="claimed")
    late = customer_create_guest()
    full = Batch.objects.get(pk=batch.pk)  # as a claim reads it: issued == total_cap

    with CaptureQueriesContext(connection) as queries:
        with pytest.raises(coupons.CouponError, match="All the coupons"):
            coupons.coupon_issue(batch=full, customer=late, source="claimed")
    written = [q["sql"] for q in queries if not q["sql"].lstrip().upper().startswith("SELECT")]
    assert written == []
    # The one who has theirs is told so, not that the offer is all claimed.
    with pytest.raises(coupons.CouponError, match="all the coupons of this offer you can"):
        coupons.coupon_issue(batch=full, customer=customer, source="claimed")


def test_a_batch_read_before_it_filled_is_refused_by_the_update(make_batch, customer):
    batch = make_batch(total_cap=1)
    stale = Batch.objects.get(pk=batch.pk)  # read while one was left
    coupons.coupon_issue(batch=batch, customer=customer, source="claimed")

    with pytest.raises(coupons.CouponError, match="All the coupons"):
        coupons.coupon_issue(batch=stale, customer=customer_create_guest(), source="claimed")
    assert Batch.objects.get(pk=batch.pk).issued == 1
    assert Coupon.objects.filter(batch=batch).count() == 1


def test_the_claim_page_reads_a_batch_once_a_second_and_afresh_after_an_edit(make_batch):
    batch = make_batch()
    first = coupons.access_batch(public_id=batch.public_id)
    assert coupons.access_batch(public_id=batch.public_id) is first  # shared, not read again
    coupons.batch_stop(batch=batch)

    again = coupons.access_batch(public_id=batch.public_id)
    assert again is not first and again.stopped
