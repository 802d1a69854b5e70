"""The console's Sharing page: top sharers and what they brought, without naming anyone."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from tapgo.core.scenes import Scene
from tapgo.flows import orders as order_flows
from tapgo.identity.models import Customer
from tapgo.identity.services import customer_create_guest
from tapgo.miniapps import services as miniapps
from tapgo.miniapps.models import MiniApp, Visit
from tapgo.ordering import services as ordering


def url(merchant, **query):
    base = reverse("console:sharing", args=[merchant.public_id])
    return base + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def brought_by(app, product, sharer, *, visitors=1, paying=0):
    """Friends come in through the sharer's link; the first `paying` of them order and pay."""
    link = miniapps.share_link_for(app=app, customer=sharer)
    orders = []
    for n in range(visitors):
        friend = customer_create_guest()
        miniapps.visit_record(app=app, customer=friend, scene=Scene.SHARE, share=link)
        if n < paying:
            ordering.cart_add(customer=friend, app=app, product_public_id=product.public_id)
            order = ordering.order_place(
                customer=friend, app=app, checkout_key=f"k{n}", fulfilment="pickup", pickup_name="F"
            )
            assert order_flows.order_mark_paid(
                order=order, amount=order.total, currency=order.currency
            )
            orders.append(order)
    return link, orders


def rows(page: str) -> list[tuple]:
    found = []
    for row in re.findall(r'<tr data-testid="sharer" data-label="([^"]+)">(.*?)</tr>', page, re.S):
        label, cells = row
        numbers = re.findall(r'data-testid="(visits|new-customers|orders|revenue)">([^<]*)<', cells)
        found.append((label, "Signed in" in cells, *(value for _name, value in numbers)))
    return found


def test_the_page_shows_the_top_sharers_and_what_they_brought(owner_client, merchant, app, product):
    guest = customer_create_guest()
    account = Customer.objects.create(email="sharer@example.com")
    link_g, _orders = brought_by(app, product, guest, visitors=3)
    link_a, orders = brought_by(app, product, account, visitors=2, paying=1)
    miniapps.visit_record(app=app, customer=customer_create_guest(), scene=Scene.SHARE)  # no credit

    response = owner_client.get(url(merchant))

    assert response.status_code == 200
    page = response.content.decode()
    assert rows(page) == [
        (miniapps.share_label(link_a.token), True, "2", "2", "1", "CN¥26.00"),
        (miniapps.share_label(link_g.token), False, "3", "3", "0", "CN¥0.00"),
    ]
    total = re.search(r'data-testid="total-share">(.*?)</tr>', page, re.S)[1]
    assert re.findall(r'class="num">([^<]*)<', total) == ["6", "6", "1", "CN¥26.00"]
    credited = re.search(r'data-testid="total-credited">(.*?)</tr>', page, re.S)[1]
    assert re.findall(r'class="num">([^<]*)<', credited) == ["5", "5", "1", "CN¥26.00"]
    # Nobody is named: no email, no customer id, no token.
    for secret in ("sharer@example.com", account.public_id, guest.public_id):
        assert secret not in page
    for secret in (link_a.token, link_g.token):
        assert secret not in page
    assert re.search(r'href="/console/\w+/sharing/" aria-current="page">Sharing<', page)  # tab


def test_the_revenue_is_formatted_in_the_merchants_language(owner_client, merchant, app, product):
    brought_by(app, product, customer_create_guest(), visitors=1, paying=1)
    page = owner_client.get(url(merchant), headers={"Accept-Language": "zh-hans"})
    assert "¥26.00" in page.content.decode()


def test_the_period_is_chosen_and_a_bad_one_is_told(owner_client, merchant, app, product):
    link, _ = brought_by(app, product, customer_create_guest(), visitors=2)
    earlier = Visit.objects.filter(share=link).order_by("pk").first()
    Visit.objects.filter(pk=earlier.pk).update(created_at=timezone.now() - timedelta(days=20))
    assert rows(owner_client.get(url(merchant, days=7)).content.decode())[0][2] == "1"
    assert rows(owner_client.get(url(merchant, days=30)).content.decode())[0][2] == "2"
    for bad in ("5", "abc", "-1", "1e9", "%00", "9" * 500):
        response = owner_client.get(url(merchant, days=bad))
        assert response.status_code == 200
        page = response.content.decode()
        assert "Choose a period" in page
        assert rows(page)[0][2] == "2"  # the last 30 days


def test_an_empty_page_says_so(owner_client, merchant, app):
    page = owner_client.get(url(merchant)).content.decode()
    assert 'data-testid="no-sharers"' in page


def test_another_merchants_sharers_are_not_shown(owner_client, merchant, app, other_merchant):
    bakery = MiniApp.objects.get(slug="bakery")
    theirs = miniapps.share_link_for(app=bakery, customer=customer_create_guest())
    miniapps.visit_record(app=bakery, customer=customer_create_guest(), scene="share", share=theirs)
    page = owner_client.get(url(merchant)).content.decode()
    assert rows(page) == []
    assert miniapps.share_label(theirs.token) not in page
    assert owner_client.get(url(other_merchant)).status_code == 404


def test_staff_see_the_page_too(client, merchant, app, staff_member):
    client.force_login(staff_member)
    assert client.get(url(merchant)).status_code == 200


@pytest.mark.parametrize("sharers", [1, 12])
def test_the_page_does_not_grow_queries_with_sharers(
    owner_client, merchant, app, product, sharers, django_assert_max_num_queries
):
    for _ in range(sharers):
        brought_by(app, product, customer_create_guest(), visitors=1)
    with django_assert_max_num_queries(10):
        page = owner_client.get(url(merchant)).content.decode()
    assert len(rows(page)) == sharers
