"""The demo a newcomer opens: every product bilingual and pictured, days of history paid
through the ledger (whose books stay sound), and seeding twice adds nothing."""

import pytest
from django.core.files.storage import default_storage
from django.test import override_settings

from tapgo.catalog.models import Product, Variant
from tapgo.flows.checks import verify_books
from tapgo.miniapps.models import Visit
from tapgo.ordering.models import PAID_STATUSES, Order, OrderLine
from tapgo.payments.models import LedgerTransaction, Refund

DAYS = 2  # the command seeds 30; two days take the same paths at a test's cost


@pytest.fixture
def seeded(db):
    from tapgo import demo

    with override_settings(PUBLIC_URL="http://example.test"):
        return demo.seed(history_days=DAYS)


def test_the_demo(seeded):
    """One seed (it takes a while) for what a newcomer sees; each part is a function below."""
    bilingual_with_pictures(seeded)
    history_with_sound_books(seeded)
    seeding_again_adds_nothing()


def bilingual_with_pictures(seeded):
    products = list(Product.objects.all())
    assert len(products) == 17
    for product in products:
        zh = product.translations.get("zh-hans", {})
        assert zh.get("name") and zh.get("description") and product.description, product.name
        assert product.image and default_storage.exists(product.image), product.name
    for variant in Variant.objects.all():
        assert variant.translations["zh-hans"]["name"] in {"中杯", "大杯"}
    cafe = seeded["cafe"]
    assert cafe.translations["zh-hans"]["name"] == "港湾咖啡"


def history_with_sound_books(seeded):
    orders = Order.objects.all()
    assert orders.filter(status__in=PAID_STATUSES).count() >= DAYS
    assert orders.filter(created_at__lt=orders.order_by("-created_at")[0].created_at).exists()
    days = {o.business_date for o in orders}
    assert len(days) >= DAYS - 1  # spread over the days, not all today
    assert Visit.objects.values("scene").distinct().count() >= 3
    assert LedgerTransaction.objects.filter(kind="capture").exists()
    # Order lines keep the language their customer read.
    assert OrderLine.objects.filter(order__language="zh-hans").exclude(name__regex=r"[A-Za-z]")
    # Cancelled and rejected paid orders were refunded through the sandbox, in full.
    for order in orders.filter(status__in=("cancelled", "rejected"), paid_at__isnull=False):
        assert sum(r.amount for r in Refund.objects.filter(intent__purpose_id=order.pk)) == (
            order.total
        ), order.status
    assert not Refund.objects.exclude(status="succeeded").exists()
    assert verify_books() == []


def seeding_again_adds_nothing():
    from tapgo import demo

    counts = (Product.objects.count(), Order.objects.count(), Visit.objects.count())
    with override_settings(PUBLIC_URL="http://example.test"):
        demo.seed(history_days=DAYS)
    assert counts == (Product.objects.count(), Order.objects.count(), Visit.objects.count())
    assert verify_books() == []


@pytest.mark.django_db
def test_an_older_demo_gets_its_translations_and_pictures():
    """A demo database seeded before the menus were bilingual: seeding completes it."""
    from tapgo import demo

    with override_settings(PUBLIC_URL="http://example.test"):
        demo.seed(history_days=0)
        Product.objects.update(translations={}, image="")
        demo.seed(history_days=0)
    assert not Product.objects.filter(translations={}).exists()
    assert not Product.objects.filter(image="").exists()


@pytest.mark.django_db
def test_the_demo_shows_tips_delivery_and_a_table_that_pays_after_eating():
    from tapgo import demo
    from tapgo.merchants.models import Store
    from tapgo.ordering import services as ordering

    seeded = demo.seed(history_days=0)
    cafe, bakery = seeded["cafe"], seeded["bakery"]
    assert cafe.merchant.__class__.objects.get(pk=cafe.merchant_id).tips_on
    cafe_store = Store.objects.get(merchant=cafe.merchant)
    assert [z.radius_m for z in ordering.zones_of_store(cafe_store)] == [3000]
    assert Store.objects.get(merchant=bakery.merchant).dine_in_payment == "pay_after"
    # A merchant's later choice stays through another seed.
    Store.objects.filter(merchant=bakery.merchant).update(dine_in_payment="pay_first")
    demo.seed(history_days=0)
    assert Store.objects.get(merchant=bakery.merchant).dine_in_payment == "pay_first"
