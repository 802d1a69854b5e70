"""Scanning codes of every kind, tampered code URLs, and the product page."""

import re
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from tapgo.catalog import services as catalog
from tapgo.flows import listings
from tapgo.miniapps import services as miniapps
from tapgo.miniapps.models import EntryCode, MiniApp, Visit
from tapgo.ordering.models import Cart

Kind = EntryCode.Kind


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()


@pytest.fixture
def codes(app, product):
    """One code of each kind, each with its own scene parameter."""
    return {
        "store": miniapps.code_create(app=app, kind=Kind.STORE, scene_param="window"),
        "table": miniapps.code_create(
            app=app, kind=Kind.TABLE, table_label="7", scene_param="terrace"
        ),
        "product": miniapps.code_create(
            app=app, kind=Kind.PRODUCT, product_public_id=product.public_id, scene_param="shelf"
        ),
        "campaign": miniapps.code_create(
            app=app, kind=Kind.CAMPAIGN, scene_param="春季传单", name="Spring flyer"
        ),
    }


def scan(client, entry_or_code, query="", **headers):
    code = entry_or_code if isinstance(entry_or_code, str) else entry_or_code.code
    return client.get(reverse("shell:scan", args=[code]) + query, headers=headers)


def product_url(app, product):
    return reverse("shell:product", args=[app.slug, product.public_id])


# --- each kind ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["store", "table", "product", "campaign"])
def test_each_kind_records_scene_scan_with_its_parameter(client, app, codes, kind):
    entry = codes[kind]
    response = scan(client, entry)
    assert response.status_code == 200
    visit = Visit.objects.get()
    assert (visit.scene, visit.code_id, visit.scene_param, visit.code_state) == (
        "scan", entry.pk, entry.scene_param, "",
    )  # fmt: skip
    assert visit.table_label == ("7" if kind == "table" else "")
    assert visit.app_id == app.pk and visit.merchant_id == app.merchant_id


def test_store_and_campaign_codes_open_the_app(client, app, product, codes):
    for kind in ("store", "campaign"):
        html = scan(client, codes[kind]).content.decode()
        assert 'class="menu-form"' in html and "Latte" in html
        assert 'data-testid="table"' not in html


def test_a_table_code_sets_the_table(client, app, product, codes):
    html = scan(client, codes["table"]).content.decode()
    assert "Table 7" in html
    assert Cart.objects.get().table_label == "7"


def test_a_product_code_renders_the_product_page_directly(client, app, product, codes):
    response = scan(client, codes["product"])
    assert response.status_code == 200  # no redirect: the code's URL answers the page
    html = response.content.decode()
    assert 'data-testid="product-page"' in html
    assert "<h1>Latte</h1>" in html and "26.00" in html
    # Its forms go back to the product's own address, never the code's (no second scan).
    here = product_url(app, product)
    assert f'name="next" value="{here}"' in html
    assert f'action="{reverse("shell:cart_add", args=[app.slug])}"' in html
    assert reverse("shell:scan", args=[codes["product"].code]) not in html


def test_a_product_code_whose_product_is_gone_opens_the_app(client, app, product, codes):
    listings.product_delete(product=product)  # never ordered: deleted, the code points nowhere
    response = scan(client, codes["product"])
    assert response.status_code == 200
    assert 'class="menu-form"' in response.content.decode()
    assert Visit.objects.get().code_id == codes["product"].pk


# --- disabled and expired -------------------------------------------------------------------


@pytest.mark.parametrize("state", ["disabled", "expired"])
def test_a_disabled_or_expired_code_shows_a_friendly_page(client, app, codes, state):
    entry = codes["campaign"]
    if state == "disabled":
        miniapps.code_set_enabled(entry=entry, enabled=False)
    else:
        EntryCode.objects.filter(pk=entry.pk).update(expires_at=timezone.now() - timedelta(days=1))
    response = scan(client, entry)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="code-inactive"' in html and app.name in html
    assert ("has expired" in html) == (state == "expired")
    home = reverse("shell:app", args=[app.slug])
    assert f'href="{home}?from=code"' in html
    visit = Visit.objects.get()
    assert (visit.scene, visit.code_id, visit.code_state, visit.scene_param) == (
        "scan", entry.pk, state, "春季传单",
    )  # fmt: skip
    # Following its button records no second visit, with the page as Referer or without one.
    scan_url = "http://testserver" + reverse("shell:scan", args=[entry.code])
    assert client.get(home, headers={"referer": scan_url}).status_code == 200
    assert client.get(home + "?from=code").status_code == 200
    assert Visit.objects.count() == 1


def test_a_disabled_table_code_sets_no_table(client, app, codes):
    miniapps.code_set_enabled(entry=codes["table"], enabled=False)
    scan(client, codes["table"])
    assert not Cart.objects.filter(table_label="7").exists()


def test_a_code_of_an_app_that_is_not_live_opens_nothing(client, app, codes):
    miniapps.code_set_enabled(entry=codes["campaign"], enabled=False)
    listings.app_set_published(app=app, published=False)
    for entry in codes.values():
        response = scan(client, entry)
        assert response.status_code == 404 and b"not active" in response.content
    assert not Visit.objects.exists()


# --- tampering ------------------------------------------------------------------------------


def test_the_query_string_changes_nothing(client, app, product, codes, other_merchant):
    bakery = MiniApp.objects.get(slug="bakery")
    sourdough = catalog.products_of(other_merchant).get()
    query = (
        f"?table=9&table_label=9&scene_param=evil&scene=share&app={bakery.slug}"
        f"&slug={bakery.slug}&product={sourdough.public_id}&kind=store&code_state=&sh=zzz"
    )
    for kind in ("table", "campaign", "product"):
        response = scan(client, codes[kind], query)
        assert response.status_code == 200
        # The page's return paths echo the address as it was asked: leave those out.
        html = response.content.decode().replace(escape(query), "")
        assert "Bakery" not in html and "Sourdough" not in html and "evil" not in html
    assert "Latte" in html  # the product code still shows its own product
    visits = Visit.objects.order_by("id").values_list("scene", "scene_param", "table_label", "app")
    assert list(visits) == [
        ("scan", "terrace", "7", app.pk),
        ("scan", "春季传单", "", app.pk),
        ("scan", "shelf", "", app.pk),
    ]
    assert Cart.objects.get().table_label == "7"


def _flipped(code: str) -> list[str]:
    """The code with one character changed, in each position."""
    alphabet = "23456789abcdefghjkmnpqrstvwxyz"
    out = []
    for i, c in enumerate(code):
        other = alphabet[(alphabet.index(c) + 1) % len(alphabet)]
        out.append(code[:i] + other + code[i + 1 :])
    return out


def test_tampered_and_odd_code_urls_get_the_unavailable_page(client, app, codes, other_merchant):
    entry = codes["campaign"]
    odd = [
        *_flipped(entry.code),
        entry.code.upper(),
        entry.code + "2",
        entry.code[:-1],
        "x" * 5000,
        "%00" + entry.code[1:],
        entry.code[:5] + "%00" + entry.code[6:],
        "..%2E%2E",
        "%E6%89%AB" * 4,
        "%F0%9F%8C%B8" * 3,
        "a%0Ab",
        "%27%3B%20DROP%20TABLE%20miniapps_entrycode%3B%20--",
    ]
    for code in odd:
        response = client.get("/s/" + code)
        assert response.status_code == 404, code
        assert b"not active" in response.content, code
    assert client.get("/s/../../etc/passwd").status_code == 404
    assert not Visit.objects.exists()
    assert EntryCode.objects.filter(pk=entry.pk).exists()


def test_another_merchants_code_opens_its_own_app_only(client, app, other_merchant):
    bakery = MiniApp.objects.get(slug="bakery")
    theirs = bakery.codes.get(kind="table")
    html = scan(client, theirs).content.decode()
    assert "Bakery" in html and "Test Café" not in html
    assert Visit.objects.get().app_id == bakery.pk


# --- the product page -----------------------------------------------------------------------


def test_the_product_page(client, app, product, sized_product):
    response = client.get(product_url(app, sized_product))
    assert response.status_code == 200
    html = response.content.decode()
    assert "<h1>Americano</h1>" in html
    assert html.count(f'name="v_{sized_product.public_id}"') == 2
    assert "Regular" in html and "Large" in html and "22.00" in html
    assert 'data-testid="add-to-cart"' in html
    assert f'href="{reverse("shell:app", args=[app.slug])}#p-{sized_product.public_id}"' in html
    assert 'style="' not in html and "<script>" not in html
    # The menu links each product's name to its page.
    menu = client.get(reverse("shell:app", args=[app.slug])).content.decode()
    assert f'href="{product_url(app, product)}"' in menu
    assert f'href="{product_url(app, sized_product)}"' in menu


def test_adding_from_the_product_page_comes_back_to_it(client, app, sized_product):
    url = product_url(app, sized_product)
    html = client.get(url).content.decode()
    large = re.search(r'value="(\w+)"[^>]*>\s*Large', html)[1]
    response = client.post(
        reverse("shell:cart_add", args=[app.slug]),
        {"item": sized_product.public_id, f"v_{sized_product.public_id}": large, "next": url},
    )
    assert response.status_code == 302
    assert response.url == f"{url}#p-{sized_product.public_id}"
    line = Cart.objects.get().lines.get()
    assert line.variant.name == "Large"
    page = client.get(url, headers={"referer": "http://testserver" + url}).content.decode()
    assert "View cart (1 item)" in page


def test_a_sold_out_product_says_so(client, app, product, sized_product):
    listings.product_set_available(product=product, available=False)
    html = client.get(product_url(app, product)).content.decode()
    assert 'data-testid="sold-out"' in html and 'data-testid="add-to-cart"' not in html
    sized_product.variants.update(stock=0)
    html = client.get(product_url(app, sized_product)).content.decode()
    assert 'data-testid="sold-out"' in html and html.count(" disabled>") >= 2


def test_the_product_page_records_a_door_visit(client, app, product):
    url = product_url(app, product)
    client.get(url)  # from outside (no Referer): direct
    client.get(url + "?scene=search")
    client.get(url, headers={"referer": "http://testserver" + url})  # inside: nothing
    assert list(Visit.objects.order_by("id").values_list("scene", flat=True)) == [
        "direct",
        "search",
    ]


def test_another_merchants_or_an_odd_product_is_404(client, app, product, other_merchant):
    sourdough = catalog.products_of(other_merchant).get()
    bakery = MiniApp.objects.get(slug="bakery")
    for url in [
        reverse("shell:product", args=[app.slug, sourdough.public_id]),
        reverse("shell:product", args=[bakery.slug, product.public_id]),
        reverse("shell:product", args=[app.slug, "nosuchprodc"]),
        reverse("shell:product", args=[app.slug, "x" * 5000]),
        f"/m/{app.slug}/p/%00/",
        f"/m/{app.slug}/p/{product.public_id.upper()}/",
    ]:
        assert client.get(url).status_code == 404, url
    assert not Visit.objects.exists()
    listings.app_set_published(app=app, published=False)
    assert client.get(product_url(app, product)).status_code == 404
