"""A customer reads the merchant's texts in their own language: the menu, the product page,
the cart, the order's lines (kept as they were read), the link preview; and the merchant's
default language when it gave none in theirs."""

import re

import pytest
from django.conf import settings
from django.urls import reverse

from tapgo.catalog.services import VariantInput
from tapgo.flows import listings
from tapgo.ordering.models import OrderLine
from tapgo.shell.views import sharing

ZH = {"zh-hans": {"name": "摩卡", "description": "浓缩咖啡、黑巧克力和蒸汽牛奶。"}}


@pytest.fixture
def mocha(merchant, category):
    return listings.product_create(
        merchant=merchant,
        category=category,
        name="Mocha",
        price=2800,
        description="Espresso, dark chocolate and steamed milk.",
        variants=[
            VariantInput("Regular", 2800, translations={"zh-hans": {"name": "中杯"}}),
            VariantInput("Large", 3200, translations={"zh-hans": {"name": "大杯"}}),
        ],
        translations=ZH,
    )


@pytest.fixture
def bilingual_app(app, category):
    listings.app_update(
        app=app,
        name=app.name,
        slug=app.slug,
        description="Coffee by the water.",
        brand_color=app.brand_color,
        translations={"zh-hans": {"name": "测试咖啡", "description": "海边的咖啡。"}},
    )
    listings.category_rename(
        category=category, name="Coffee", translations={"zh-hans": {"name": "咖啡"}}
    )
    return app


def speaking(client, language: str):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client


def test_a_chinese_customer_reads_the_menu_in_chinese(client, bilingual_app, mocha, product):
    html = speaking(client, "zh-hans").get(reverse("shell:app", args=["test-cafe"])).text
    assert "摩卡" in html and "浓缩咖啡、黑巧克力和蒸汽牛奶。" in html
    assert "大杯" in html and "中杯" in html
    assert ">Mocha<" not in html and "Large" not in html
    assert "测试咖啡" in html and "海边的咖啡。" in html and "<h2>咖啡</h2>" in html
    # The latte has no Chinese name: the merchant's default one is shown.
    assert "Latte" in html


def test_an_english_customer_reads_the_default_texts(client, bilingual_app, mocha):
    html = speaking(client, "en").get(reverse("shell:app", args=["test-cafe"])).text
    assert "Mocha" in html and "Large" in html and "Test Café" in html
    assert "摩卡" not in html and "测试咖啡" not in html


def test_the_menu_is_cached_per_language(client, bilingual_app, mocha):
    url = reverse("shell:app", args=["test-cafe"])
    assert "摩卡" in speaking(client, "zh-hans").get(url).text
    assert "摩卡" not in speaking(client, "en").get(url).text
    assert "摩卡" in speaking(client, "zh-hans").get(url).text


def test_the_product_page_and_its_preview_are_in_the_customers_language(
    client, bilingual_app, mocha
):
    url = reverse("shell:product", args=["test-cafe", mocha.public_id])
    html = speaking(client, "zh-hans").get(url).text
    assert "<h1>摩卡</h1>" in html and "大杯" in html
    assert re.search(r'<meta property="og:title" content="摩卡 · 测试咖啡"', html)


def test_og_cards_fall_back_to_the_default_language(bilingual_app, mocha):
    from django.utils import translation

    with translation.override("en"):
        assert sharing.og_for_product(bilingual_app, mocha)["title"] == "Mocha · Test Café"
    with translation.override("zh-hans"):
        assert sharing.og_for_product(bilingual_app, mocha)["title"] == "摩卡 · 测试咖啡"


def test_the_cart_and_the_order_keep_the_names_the_customer_read(client, bilingual_app, mocha):
    """Before: a Chinese customer read "Mocha（Large）" in the cart and on the order."""
    client = speaking(client, "zh-hans")
    app = bilingual_app
    large = mocha.variants.get(name="Large")
    client.post(
        reverse("shell:cart_add", args=[app.slug]),
        {"item": mocha.public_id, f"v_{mocha.public_id}": large.public_id},
    )
    page = client.get(reverse("shell:cart", args=[app.slug])).text
    assert "摩卡（大杯）" in page
    key = re.search(r'name="checkout_key" value="([^"]+)"', page)[1]
    client.post(
        reverse("shell:checkout", args=[app.slug]),
        {"checkout_key": key, "fulfilment": "pickup", "pickup_name": "王"},
    )
    line = OrderLine.objects.get()
    assert line.name == "摩卡（大杯）"
    assert line.order.language == "zh-hans"


def test_an_order_line_in_english_stays_english(client, bilingual_app, mocha):
    client = speaking(client, "en")
    app = bilingual_app
    client.post(
        reverse("shell:cart_add", args=[app.slug]),
        {"item": mocha.public_id, f"v_{mocha.public_id}": mocha.variants.first().public_id},
    )
    page = client.get(reverse("shell:cart", args=[app.slug])).text
    key = re.search(r'name="checkout_key" value="([^"]+)"', page)[1]
    client.post(
        reverse("shell:checkout", args=[app.slug]),
        {"checkout_key": key, "fulfilment": "pickup", "pickup_name": "Ann"},
    )
    assert OrderLine.objects.get().name == "Mocha (Regular)"


def test_a_chinese_default_merchant_falls_back_to_chinese(client, db):
    """A merchant whose default is Chinese: an English customer reads the Chinese name
    where no English one was given, and the English one where it was."""
    from tapgo.catalog.services import category_create
    from tapgo.identity.services import staff_user_create
    from tapgo.merchants.services import merchant_create

    owner = staff_user_create(email="laoban@cha.test", password="correct horse battery")
    merchant = merchant_create(owner=owner, name="茶语", language="zh-hans")
    app = listings.app_create(merchant=merchant, name="茶语", slug="cha-yu")
    listings.app_set_published(app=app, published=True)
    category = category_create(merchant=merchant, name="奶茶")
    listings.product_create(merchant=merchant, category=category, name="珍珠奶茶", price=1800)
    listings.product_create(
        merchant=merchant,
        category=category,
        name="乌龙奶茶",
        price=1800,
        translations={"en": {"name": "Oolong Milk Tea"}, "zh-hans": {"name": "ignored"}},
    )
    html = speaking(client, "en").get(reverse("shell:app", args=["cha-yu"])).text
    assert "珍珠奶茶" in html and "Oolong Milk Tea" in html and "ignored" not in html
    html = speaking(client, "zh-hans").get(reverse("shell:app", args=["cha-yu"])).text
    assert "乌龙奶茶" in html and "Oolong Milk Tea" not in html


def test_a_poster_names_the_product_in_the_posters_language(bilingual_app, mocha):
    from django.utils import translation

    from tapgo.miniapps import posters
    from tapgo.miniapps import services as miniapps

    entry = miniapps.code_create(
        app=bilingual_app, kind="product", product_public_id=mocha.public_id
    )
    with translation.override("zh-hans"):
        assert posters.label_of(entry) == "摩卡"
    with translation.override("en"):
        assert posters.label_of(entry) == "Mocha"


def test_the_ready_message_names_the_app_in_the_orders_language(bilingual_app, mocha, owner):
    """An order placed in Chinese: the message about it says the app's Chinese name, though
    the staff who marked it ready use the console in English."""
    from django.utils import translation

    from tapgo.core.actors import Actor
    from tapgo.flows import orders as order_flows
    from tapgo.identity.services import customer_create_guest
    from tapgo.messaging.models import Message
    from tapgo.ordering import services as ordering

    customer = customer_create_guest()
    with translation.override("zh-hans"):
        ordering.cart_add(
            customer=customer,
            app=bilingual_app,
            product_public_id=mocha.public_id,
            variant_public_id=mocha.variants.first().public_id,
        )
        order = ordering.order_place(
            customer=customer,
            app=bilingual_app,
            checkout_key="k-zh",
            fulfilment="pickup",
            pickup_name="王",
        )
    assert order_flows.order_mark_paid(order=order, amount=order.total, currency=order.currency)
    order.refresh_from_db()
    with translation.override("en"):
        order_flows.order_accept(order=order, actor=Actor.staff(owner))
        order_flows.order_mark_ready(order=order, actor=Actor.staff(owner))
    message = Message.objects.get(customer=customer)
    assert message.values["app"] == "测试咖啡"
