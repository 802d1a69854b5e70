"""Membership under concurrency (SQLite and PostgreSQL): joining, member numbers, a code
spent at several tills."""

import pytest

from tapgo.identity.services import customer_create_guest
from tapgo.membership import services as membership
from tapgo.membership.models import Member

pytestmark = [pytest.mark.race, pytest.mark.django_db(transaction=True)]


def test_customers_joining_at_once_get_one_card_each_with_distinct_numbers(
    concurrently, merchant, app
):
    customers = [customer_create_guest() for _ in range(8)]
    results = concurrently(
        lambda i: membership.member_join(merchant=merchant, customer=customers[i % 4], app=app), 8
    )
    assert all(isinstance(r, Member) for r in results), results
    assert Member.objects.count() == 4
    assert sorted(Member.objects.values_list("number", flat=True)) == [1, 2, 3, 4]


def test_one_code_at_five_tills_is_spent_once(concurrently, merchant, customer, app):
    member = membership.member_join(merchant=merchant, customer=customer, app=app)
    code = membership.member_code(member)
    results = concurrently(lambda _i: membership.code_spend(merchant=merchant, text=code), 5)
    assert sum(isinstance(r, Member) for r in results) == 1, results
    assert sum(isinstance(r, membership.CodeError) for r in results) == 4
