"""Stock and pause in the customer's flow (issue 12): what is left shows on the menu and the
product page before checkout, the cart caps a line at what is left and says so, checkout
says how many are left, and a paused app refuses adding and says why, live."""

import re

import pytest
from django.core.cache import cache
from django.urls import reverse

from tapgo.catalog import services as catalog
from tapgo.catalog.models import Product, Variant
from tapgo.merchants.models import Merchant
from tapgo.merchants.services import ordering_pause
from tapgo.miniapps.models import EntryCode
from tapgo.ordering.models import CartLine, Order

IN_APP = {"Referer": "http://testserver/m/"}


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()


def scan(client, app, label="1"):
    code = EntryCode.objects.get(app=app, kind="table", table_label=label)
    return client.get(reverse("shell:scan", args=[code.code]))


def menu(client, app) -> str:
    return client.get(reverse("shell:app", args=[app.slug]), headers=IN_APP).content.decode()


def article(html: str, product) -> str:
    found = re.search(rf'<article[^>]*id="p-{product.public_id}".*?</article>', html, re.S)
    assert found, f"{product.name} is not on the menu"
    return found[0]


def version(merchant) -> int:
    return Merchant.objects.get(pk=merchant.pk).catalog_version


def add(client, app, product, quantity=1, variant=None):
    data = {"item": product.public_id, "quantity": str(quantity)}
    if variant is not None:
        data[f"v_{product.public_id}"] = variant.public_id
    return client.post(reverse("shell:cart_add", args=[app.slug]), data, follow=True)


# --- what is left, on the menu and the product page ------------------------------------------


def test_the_menu_shows_low_stock_and_sold_out_per_product_and_option(client, app, product,
                                                                      sized_product):  # fmt: skip
    Product.objects.filter(pk=product.pk).update(stock=3)
    Variant.objects.filter(product=sized_product, name="Regular").update(stock=0)
    Variant.objects.filter(product=sized_product, name="Large").update(stock=2)
    scan(client, app)
    html = menu(client, app)
    latte = article(html, product)
    assert 'data-testid="left">3 left<' in latte and "data-ordering" in latte
    americano = article(html, sized_product)
    assert re.search(r"<option [^>]*disabled>Regular · [^<]* · Sold out</option>", americano)
    assert re.search(r"<option [^>]*>Large · [^<]* · 2 left</option>", americano)
    assert "data-ordering" in americano  # Large can still be added

    Variant.objects.filter(product=sized_product).update(stock=0)
    Product.objects.filter(pk=product.pk).update(stock=6)  # plenty: nothing said
    catalog._bump(app.merchant)
    html = menu(client, app)
    assert "left<" not in article(html, product)
    americano = article(html, sized_product)
    assert "soldout" in americano and "Sold out" in americano and "data-ordering" not in americano


def test_the_product_page_shows_what_is_left(client, app, product, sized_product):
    Product.objects.filter(pk=product.pk).update(stock=1)
    Variant.objects.filter(product=sized_product, name="Regular").update(stock=0)
    page = client.get(reverse("shell:product", args=[app.slug, product.public_id]))
    assert 'data-testid="left">1 left<' in page.content.decode()
    html = client.get(
        reverse("shell:product", args=[app.slug, sized_product.public_id])
    ).content.decode()
    large = Variant.objects.get(product=sized_product, name="Large")
    # Regular is sold out, so Large is the one chosen; Large has 5: "5 left".
    assert re.search(rf'value="{large.public_id}" checked>', html)
    assert 'data-testid="left">5 left<' in html


def test_stock_taken_into_the_low_range_shows_on_the_cached_menu(
    client, app, product, django_capture_on_commit_callbacks
):
    """The menu is cached by the catalogue's version; taking stock that changes what it shows
    bumps the version (after commit), taking stock that leaves plenty does not."""
    scan(client, app)
    assert "left<" not in article(menu(client, app), product)  # 20 in stock
    before = version(app.merchant)
    with django_capture_on_commit_callbacks(execute=True):
        catalog.stock_take(product_id=product.pk, variant_id=None, quantity=10)  # 10 left
    assert version(app.merchant) == before  # nothing the menu shows changed
    with django_capture_on_commit_callbacks(execute=True):
        catalog.stock_take(product_id=product.pk, variant_id=None, quantity=7)  # 3 left
    assert version(app.merchant) == before + 1
    assert 'data-testid="left">3 left<' in article(menu(client, app), product)
    with django_capture_on_commit_callbacks(execute=True):
        catalog.stock_take(product_id=product.pk, variant_id=None, quantity=3)
    assert "Sold out" in article(menu(client, app), product)
    with django_capture_on_commit_callbacks(execute=True):
        catalog.stock_release(product_id=product.pk, variant_id=None, quantity=2)
    assert 'data-testid="left">2 left<' in article(menu(client, app), product)
    with django_capture_on_commit_callbacks(execute=True):
        catalog.stock_release(product_id=product.pk, variant_id=None, quantity=10)
    assert "left<" not in article(menu(client, app), product)
    settled = version(app.merchant)
    with django_capture_on_commit_callbacks(execute=True):
        catalog.stock_release(product_id=product.pk, variant_id=None, quantity=1)  # 13: plenty
    assert version(app.merchant) == settled


def test_out_of_stock_says_how_many_are_left(product):
    Product.objects.filter(pk=product.pk).update(stock=2)
    with pytest.raises(catalog.OutOfStock) as refused:
        catalog.stock_take(product_id=product.pk, variant_id=None, quantity=3)
    assert refused.value.left == 2
    assert Product.objects.get(pk=product.pk).stock == 2


# --- the cart caps a line at what is left ------------------------------------------------------


def test_adding_more_than_is_left_caps_the_line_and_says_so(client, app, product):
    Product.objects.filter(pk=product.pk).update(stock=3)
    scan(client, app)
    response = add(client, app, product, 5)
    assert "Only 3 left: your cart has 3." in response.content.decode()
    assert CartLine.objects.get().quantity == 3
    assert 'id="cart-count">3<' in menu(client, app)  # the count the cookie keeps is exact
    response = add(client, app, product, 1)
    assert "Only 3 left: your cart has 3." in response.content.decode()
    assert CartLine.objects.get().quantity == 3

    cart = client.get(reverse("shell:cart", args=[app.slug])).content.decode()
    assert 'data-testid="only-left">Only 3 left<' in cart
    assert re.search(r'aria-label="One more" disabled data-ordering>\+<', cart)

    # Stock sold elsewhere meanwhile: the line comes down to what is left.
    Product.objects.filter(pk=product.pk).update(stock=2)
    response = add(client, app, product, 1)
    assert "Only 2 left: your cart has 2." in response.content.decode()
    assert CartLine.objects.get().quantity == 2
    assert 'id="cart-count">2<' in menu(client, app)


def test_raising_a_line_in_the_cart_caps_it(client, app, sized_product):
    large = Variant.objects.get(product=sized_product, name="Large")  # 5 in stock
    scan(client, app)
    add(client, app, sized_product, 4, large)
    line = CartLine.objects.get()
    response = client.post(
        reverse("shell:cart_update", args=[app.slug]),
        {"line": line.pk, "quantity": "9"},
        follow=True,
    )
    assert "Only 5 left: your cart has 5." in response.content.decode()
    assert CartLine.objects.get().quantity == 5


def test_adding_a_sold_out_item_is_refused(client, app, product):
    Product.objects.filter(pk=product.pk).update(stock=0)
    scan(client, app)
    response = add(client, app, product)
    assert "Latte is sold out." in response.content.decode()
    assert not CartLine.objects.exists()


def test_checkout_says_how_many_are_left(client, app, product):
    scan(client, app)
    add(client, app, product, 4)
    Product.objects.filter(pk=product.pk).update(stock=3)
    cart = client.get(reverse("shell:cart", args=[app.slug])).content.decode()
    assert 'data-testid="only-left">Only 3 left<' in cart  # said before checking out
    key = re.search(r'name="checkout_key" value="([^"]+)"', cart)[1]
    response = client.post(
        reverse("shell:checkout", args=[app.slug]),
        {"checkout_key": key, "fulfilment": "dine_in"},
        follow=True,
    )
    assert "Sorry, only 3 left of Latte." in response.content.decode()
    assert not Order.objects.exists()


# --- pause ---------------------------------------------------------------------------------


def test_the_live_state_says_paused_and_why_in_one_query(
    client, app, django_assert_max_num_queries
):
    url = reverse("shell:app_live", args=[app.slug])
    assert client.get(url).json() == {"paused": False, "notice": ""}
    ordering_pause(merchant=app.merchant, paused=True, reason="Back at 3pm")
    with django_assert_max_num_queries(1):  # the app's state (a prepared query)
        response = client.get(url)
    assert response["Cache-Control"] == "no-store"
    assert response.json() == {"paused": True, "notice": "Ordering is paused: Back at 3pm"}
    with_language = client.get(url, headers={"Accept-Language": "zh-hans"}).json()
    assert with_language["notice"].startswith("暂停")
    ordering_pause(merchant=app.merchant, paused=False)
    assert client.get(url).json() == {"paused": False, "notice": ""}
    assert client.get(reverse("shell:app_live", args=["no-such-app"])).status_code == 404


def test_pages_follow_the_live_state_and_mark_what_orders(client, app, product):
    scan(client, app)
    add(client, app, product)
    live_url = reverse("shell:app_live", args=[app.slug])
    pages = [
        reverse("shell:app", args=[app.slug]),
        reverse("shell:product", args=[app.slug, product.public_id]),
        reverse("shell:cart", args=[app.slug]),
    ]
    for path in pages:
        html = client.get(path, headers=IN_APP).content.decode()
        assert f'data-live-state="{live_url}"' in html and " data-paused" not in html, path
        assert "data-ordering" in html, path
    ordering_pause(merchant=app.merchant, paused=True, reason="Back at 3pm")
    for path in pages:
        html = client.get(path, headers=IN_APP).content.decode()
        assert re.search(r"<body[^>]* data-paused>", html), path
        assert "Ordering is paused: Back at 3pm" in html, path


def test_raising_a_line_is_refused_while_paused_lowering_is_not(client, app, product):
    scan(client, app)
    add(client, app, product, 2)
    line = CartLine.objects.get()
    ordering_pause(merchant=app.merchant, paused=True, reason="Back at 3pm")
    update = reverse("shell:cart_update", args=[app.slug])
    response = client.post(update, {"line": line.pk, "quantity": "3"}, follow=True)
    assert "Back at 3pm" in response.content.decode()
    assert CartLine.objects.get().quantity == 2
    client.post(update, {"line": line.pk, "quantity": "1"})
    assert CartLine.objects.get().quantity == 1
