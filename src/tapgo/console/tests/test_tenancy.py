"""Every console URL, tried with another merchant's ids: 404, never 403, never their data."""

import pytest
from django.urls import URLPattern, reverse

from tapgo.catalog import services as catalog
from tapgo.console import urls as console_urls
from tapgo.console.tests.conftest import paid_order
from tapgo.console.views.membership import _counter_token
from tapgo.coupons import services as coupons
from tapgo.flows import listings
from tapgo.membership import services as membership
from tapgo.merchants import services as merchants
from tapgo.miniapps import services as miniapps
from tapgo.official import services as official
from tapgo.ordering import services as ordering
from tapgo.ordering.models import TableGroup

ACTIONS = {"category_action": "rename", "product_action": "delete", "order_action": "accept"}


def _merchant_patterns() -> list[URLPattern]:
    return [p for p in console_urls.urlpatterns if "m" in p.pattern.converters]


def _ids_of(merchant) -> dict:
    app = miniapps.apps_of(merchant).first()
    product = catalog.products_of(merchant).first()
    order = paid_order(app, product)
    return {
        "m": merchant.public_id,
        "app_id": app.public_id,
        "code": miniapps.codes_of(app).filter(kind="table").first().code,
        "category_id": product.category.public_id,
        "product_id": product.public_id,
        "order_id": order.public_id,
        "user_id": merchants.staff_list(merchant).first().user.public_id,
        "article_id": listings.article_create(merchant=merchant, app=app, title="News").public_id,
        # paid_order seats a guest at table 1: the table's group.
        "group_id": TableGroup.objects.filter(merchant=merchant).first().public_id,
        "member_id": (
            member := membership.member_join(merchant=merchant, customer=order.customer)
        ).public_id,
        "token": _counter_token(merchant, member, membership.code_step()),
        "batch_id": coupons.batch_create(
            merchant=merchant,
            terms=coupons.BatchTerms(name="Deal", kind="amount", value=100, valid_days=3),
        ).public_id,
        "reward_id": membership.reward_save(
            merchant=merchant,
            terms=membership.RewardTerms(name="Treat", points=10, kind="amount", amount=100),
        ).public_id,
        "key": "order_ready",  # a notification template: the platform's, not the merchant's
        "day": "2024-01-01",  # a business day of the report (the merchant's own books)
        "zone_id": ordering.zone_add(
            merchant=merchant,
            store=merchants.merchant_store(merchant),
            kind="area",
            name="Harbour Tower",
            radius_m=None,
            fee=500,
            minimum=0,
            eta_minutes=30,
        ).public_id,
    }


def _urls(ids: dict) -> list[str]:
    urls = []
    for pattern in _merchant_patterns():
        kwargs = {name: ids[name] for name in pattern.pattern.converters if name != "action"}
        if "action" in pattern.pattern.converters:
            kwargs["action"] = ACTIONS[pattern.name]
        urls.append(reverse(f"console:{pattern.name}", kwargs=kwargs))
    return urls


@pytest.fixture
def ids(merchant, app, product, other_merchant):
    return {"mine": _ids_of(merchant), "theirs": _ids_of(other_merchant)}


def test_every_merchant_url_is_covered(ids):
    assert len(_urls(ids["mine"])) == len(_merchant_patterns()) >= 20


def test_my_own_urls_answer(owner_client, ids):
    """The control: with my own ids nothing is 404 (so the 404s below mean something)."""
    for url in _urls(ids["mine"]):
        if url.endswith("/remove"):
            continue  # removing myself is refused with a message, tested elsewhere
        response = owner_client.get(url)
        assert response.status_code in (200, 302, 405), url


def test_another_merchants_ids_are_404(owner_client, ids, other_merchant):
    mine, theirs = ids["mine"], ids["theirs"]
    attempts = set(_urls(theirs))  # their merchant id and their objects
    for name in ("app_id", "code", "category_id", "product_id", "order_id", "user_id",
                 "article_id", "zone_id", "member_id", "batch_id", "token",
                 "reward_id"):  # fmt: skip
        attempts |= set(_urls(mine | {name: theirs[name]}))  # my merchant id, their object
    attempts -= set(_urls(mine))
    assert len(attempts) > 30
    for url in sorted(attempts):
        for method in ("get", "post"):
            response = getattr(owner_client, method)(url, {"name": "Hacked", "reason": "x"})
            assert response.status_code in (404, 405), (method, url, response.status_code)
            if response.status_code == 404:
                body = response.content.decode()
                assert "Bakery" not in body and "Sourdough" not in body, url
    # nothing of theirs changed
    other_merchant.refresh_from_db()
    assert other_merchant.name == "Bakery"
    assert catalog.categories_of(other_merchant).get().name == "Bread"
    assert catalog.products_of(other_merchant).get().name == "Sourdough"
    assert miniapps.apps_of(other_merchant).get().is_published
    assert merchants.staff_list(other_merchant).count() == 1
    assert [(r.name, r.active) for r in membership.rewards_of(other_merchant)] == [("Treat", True)]
    assert official.articles_of(other_merchant).get().title == "News"
    assert [z.name for z in ordering.zones_of_store(merchants.merchant_store(other_merchant))] == [
        "Harbour Tower"
    ]
    from tapgo.ordering.models import Order

    assert not Order.objects.for_merchant(other_merchant).exclude(status="paid").exists()


def test_garbage_ids_are_404(owner_client, merchant):
    for url in [
        "/console/zzzzzzzzzzzz/board/",
        f"/console/{merchant.public_id}/apps/nope/",
        f"/console/{merchant.public_id}/orders/../../etc/",
        f"/console/{merchant.public_id}/codes/%00/qr.png",
        f"/console/{merchant.public_id}/menu/products/{'x' * 5000}/",
    ]:
        assert owner_client.get(url).status_code == 404, url


def test_anonymous_is_sent_to_login(client, ids):
    for url in _urls(ids["theirs"]):
        response = client.get(url)
        assert response.status_code in (302, 405), url
        if response.status_code == 302:
            assert response["Location"].startswith("/console/login/")
