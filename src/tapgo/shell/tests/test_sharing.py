"""Chat sharing in the shell: the share endpoint, links that come in with ?sh=<token>, the
credit they give, and the rich previews chat apps read."""

import html
import io
import json
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.cache import cache
from django.urls import reverse
from PIL import Image

from tapgo.flows import listings
from tapgo.identity.services import customer_create_guest
from tapgo.miniapps import services as miniapps
from tapgo.miniapps.models import MiniApp, ShareLink, Visit
from tapgo.ordering.models import Order
from tapgo.payments.models import PaymentIntent, Purpose
from tapgo.shell.tests.test_flow import deliver_sandbox_webhooks

JSON = {"Accept": "application/json"}


@pytest.fixture(autouse=True)
def _public_url(settings):
    settings.PUBLIC_URL = "https://tapgo.example"
    cache.clear()


def share_json(client, app, path=None):
    url = reverse("shell:share", args=[app.slug])
    response = client.get(url, {} if path is None else {"path": path}, headers=JSON)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    return response.json()


def token_of(url: str) -> str:
    return parse_qs(urlsplit(url).query)["sh"][0]


def meta(page: str, key: str) -> str:
    """The content of <meta property|name=key> (unescaped), or fail."""
    found = re.search(rf'<meta (?:property|name)="{re.escape(key)}" content="([^"]*)">', page)
    assert found, f"no {key} in the page"
    return html.unescape(found[1])


# --- the share endpoint ---------------------------------------------------------------------


def test_the_endpoint_gives_the_customers_link_to_the_page(client, app):
    data = share_json(client, app, "/m/test-cafe/")
    assert data["title"] == "Test Café"
    assert data["url"].startswith("https://tapgo.example/m/test-cafe/?sh=")
    link = ShareLink.objects.get()
    assert token_of(data["url"]) == link.token and link.app == app
    assert share_json(client, app, "/m/test-cafe/")["url"] == data["url"]  # one link
    assert ShareLink.objects.count() == 1
    # Another customer gets their own.
    client.cookies.clear()
    assert token_of(share_json(client, app)["url"]) != link.token
    assert ShareLink.objects.count() == 2


def test_the_endpoint_is_private_to_the_customer(client, app):
    response = client.get(reverse("shell:share", args=[app.slug]), headers=JSON)
    assert "private" in response["Cache-Control"]
    assert "Cookie" in response["Vary"] and "Accept" in response["Vary"]


def test_without_javascript_it_is_a_page_with_the_link_and_its_qr_code(client, app):
    response = client.get(reverse("shell:share", args=[app.slug]), {"path": "/m/test-cafe/"})
    assert response.status_code == 200
    page = response.content.decode()
    link = ShareLink.objects.get()
    url = f"https://tapgo.example/m/test-cafe/?sh={link.token}"
    assert f'value="{url}"' in page
    assert 'data-testid="share-qr"><svg' in page
    assert '<meta name="robots" content="noindex">' in page


def svg_to_image(svg: str, px: int = 4) -> Image.Image:
    """segno's SVG as pixels: each row's dark runs are horizontal strokes (M, m, h moves)."""
    modules = int(re.search(r'width="(\d+)"', svg)[1]) // int(re.search(r"scale\((\d+)\)", svg)[1])
    image = Image.new("L", (modules * px, modules * px), 255)
    pixels = image.load()
    x = y = 0.0
    for move, a, b in re.findall(
        r"([Mmh])(-?[\d.]+)(?: (-?[\d.]+))?", re.search(r' d="([^"]+)"', svg)[1]
    ):
        if move == "M":
            x, y = float(a), float(b)
        elif move == "m":
            x, y = x + float(a), y + float(b)
        else:
            for column in range(int(x * px), int((x + float(a)) * px)):
                for row in range(int((y - 0.5) * px), int((y + 0.5) * px)):
                    pixels[column, row] = 0
            x += float(a)
    return image


def test_the_qr_code_on_the_page_reads_as_the_link(client, app):
    import zxingcpp

    page = client.get(reverse("shell:share", args=[app.slug])).content.decode()
    url = html.unescape(re.search(r'id="share-url"[^>]*value="([^"]+)"', page)[1])
    assert url.startswith("https://tapgo.example/m/test-cafe/?sh=")
    svg = re.search(r"<svg.*?</svg>", page, re.S)[0]
    (found,) = zxingcpp.read_barcodes(svg_to_image(svg))
    assert found.text == url


@pytest.mark.parametrize(
    "path",
    [
        None,
        "",
        "/",
        "/m/test-cafe/",
        "/m/test-cafe/?scene=search&sh=aaaaaaaaaaaa",  # the query is dropped
        "/m/test-cafe/#menu",
        "/m/test-cafe/cart/",  # not a page to share
        "/m/test-cafe/card/",
        "/m/test-cafe/orders/abcdefghjkmnpqrs/",
        "/m/test-cafe/share",
        "/m/bakery/",  # another app
        "/m/bakery/p/abcdefghjkmn/",
        "/m/test-cafe/../bakery/",
        "/m/test-cafe/p/../../bakery/",
        "/m/test-cafe/p/%2e%2e/",
        "/m/test-cafe//evil.example/",
        "//evil.example/m/test-cafe/",
        "https://evil.example/m/test-cafe/",
        "javascript:alert(1)",
        "/m/test-cafe/\\evil",
        "/m/test-cafe/\x00",
        "/m/test-cafe/\n",
        "/m/test-cafe/" + "p" * 10_000,
        "/m/test-cafe/分享/",
        "/console/",
        "/s/abcdefghjk",
    ],
)
def test_a_path_outside_the_apps_shareable_pages_gives_its_home(client, app, other_merchant, path):
    url = share_json(client, app, path)["url"]
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "tapgo.example", "/m/test-cafe/")
    assert list(parse_qs(parts.query)) == ["sh"]


def test_a_product_or_an_article_page_can_be_shared(client, app, product):
    product_path = reverse("shell:product", args=[app.slug, product.public_id])
    url = share_json(client, app, product_path)["url"]
    assert urlsplit(url).path == product_path
    # An article's address is shared as it is (whether it exists is the article page's say).
    article_path = reverse("shell:article", args=[app.slug, "abcdefghjkmn"])
    assert urlsplit(share_json(client, app, article_path)["url"]).path == article_path


def test_an_unknown_or_unpublished_app_has_no_share_endpoint(client, app):
    assert client.get("/m/nope-nope/share", headers=JSON).status_code == 404
    listings.app_set_published(app=app, published=False)
    assert client.get(reverse("shell:share", args=[app.slug]), headers=JSON).status_code == 404
    assert not ShareLink.objects.exists()


def test_the_menus_share_goes_to_the_endpoint_for_this_page(client, app, product):
    page = client.get(reverse("shell:app", args=[app.slug]) + "?scene=search").content.decode()
    share = re.search(r'<a class="share" href="([^"]+)" data-share="([^"]+)"', page)
    assert share[1] == share[2]
    endpoint = html.unescape(share[1])
    assert endpoint == reverse("shell:share", args=[app.slug]) + "?path=%2Fm%2Ftest-cafe%2F"
    assert 'data-copied="Link copied"' in page
    product_page = client.get(
        reverse("shell:product", args=[app.slug, product.public_id])
    ).content.decode()
    button = re.search(r'href="([^"]+)" data-share="[^"]+" data-title="Latte"', product_page)
    assert parse_qs(urlsplit(html.unescape(button[1])).query)["path"] == [
        reverse("shell:product", args=[app.slug, product.public_id])
    ]


# --- coming in through a shared link ------------------------------------------------------


def test_a_shared_link_records_a_share_visit_credited_to_the_sharer(client, app):
    url = share_json(client, app)["url"]
    link = ShareLink.objects.get()
    client.cookies.clear()  # a friend, on another phone
    response = client.get(urlsplit(url).path + "?" + urlsplit(url).query)
    assert response.status_code == 200
    visit = Visit.objects.get()
    assert (visit.scene, visit.share, visit.first) == ("share", link, True)
    assert visit.customer_id != link.sharer_id


def test_moving_inside_the_app_with_the_link_in_the_address_records_nothing_more(client, app):
    link = miniapps.share_link_for(app=app, customer=customer_create_guest())
    url = reverse("shell:app", args=[app.slug]) + f"?sh={link.token}"
    client.get(url)
    # The language switch (or a reload from inside the app) comes back to the same address.
    client.get(url, headers={"Referer": "http://testserver" + url})
    assert Visit.objects.count() == 1
    # A link from another app on this site is a door, though.
    client.get(url, headers={"Referer": "http://testserver/m/bakery/"})
    assert Visit.objects.count() == 2


@pytest.mark.parametrize(
    "token",
    [
        "aaaaaaaaaaaa",  # well formed, unknown
        "AAAAAAAAAAAA",
        "short",
        "x" * 10_000,
        "分享分享分享分享分享分享",
        "abcdefghjkm\x00",
        "%00",
        "",
        "' OR 1=1 --",
        "other-app",
        "own",
    ],
)
def test_a_tampered_token_gets_a_share_visit_and_no_credit(client, app, other_merchant, token):
    bakery = MiniApp.objects.get(slug="bakery")
    if token == "other-app":
        token = miniapps.share_link_for(app=bakery, customer=customer_create_guest()).token
    elif token == "own":
        token = token_of(share_json(client, app)["url"])
    response = client.get(reverse("shell:app", args=[app.slug]), {"sh": token})
    assert response.status_code == 200
    visit = Visit.objects.get(app=app)
    assert (visit.scene, visit.share) == ("share", None)


def test_a_token_twice_in_the_query_does_not_break_anything(client, app):
    link = miniapps.share_link_for(app=app, customer=customer_create_guest())
    response = client.get(reverse("shell:app", args=[app.slug]) + f"?sh=bad&sh={link.token}")
    assert response.status_code == 200
    assert Visit.objects.get().scene == "share"


def test_a_shared_product_page_records_the_credit(client, app, product):
    link = miniapps.share_link_for(app=app, customer=customer_create_guest())
    path = reverse("shell:product", args=[app.slug, product.public_id])
    assert client.get(path, {"sh": link.token}).status_code == 200
    visit = Visit.objects.get()
    assert (visit.scene, visit.share) == ("share", link)


def test_an_order_through_a_shared_link_is_credited_to_the_sharer(client, app, product):
    url = share_json(client, app)["url"]
    link = ShareLink.objects.get()
    client.cookies.clear()
    parts = urlsplit(url)
    client.get(parts.path + "?" + parts.query)
    client.post(reverse("shell:cart_add", args=[app.slug]), {"item": product.public_id})
    cart = client.get(reverse("shell:cart", args=[app.slug])).content.decode()
    key = re.search(r'name="checkout_key" value="([^"]+)"', cart)[1]
    response = client.post(
        reverse("shell:checkout", args=[app.slug]),
        {"checkout_key": key, "fulfilment": "pickup", "pickup_name": "Bo"},
    )
    order = Order.objects.get()
    assert (order.scene, order.share) == ("share", link)
    # Paid through the sandbox: the console's report counts it.
    response = client.post(response.url)
    intent = PaymentIntent.objects.get(purpose=Purpose.ORDER, purpose_id=order.pk)
    client.post(reverse("payments:sandbox_page", args=[intent.public_id]), {"decision": "approve"})
    deliver_sandbox_webhooks(client)
    from datetime import timedelta

    from django.utils import timezone

    from tapgo.analytics.sharing import share_report

    report = share_report(merchant=app.merchant, since=timezone.now() - timedelta(days=1))
    (sharer,) = report.sharers
    assert (sharer.visits, sharer.new_customers, sharer.orders, sharer.revenue) == (
        1,
        1,
        1,
        order.total,
    )


# --- rich previews --------------------------------------------------------------------------


def test_the_app_page_has_open_graph_and_twitter_tags(client, app):
    page = client.get(reverse("shell:app", args=[app.slug])).content.decode()
    assert meta(page, "og:title") == "Test Café"
    assert meta(page, "og:type") == "website"
    assert meta(page, "og:url") == "https://tapgo.example/m/test-cafe/"
    image = meta(page, "og:image")
    assert re.fullmatch(r"https://tapgo\.example/m/test-cafe/card\.jpg\?v=[0-9a-f]{12}", image)
    assert meta(page, "og:image:type") == "image/jpeg"
    assert (meta(page, "og:image:width"), meta(page, "og:image:height")) == ("1200", "630")
    assert meta(page, "twitter:card") == "summary_large_image"
    assert meta(page, "twitter:image") == image
    assert "Test Café" in meta(page, "og:description")  # the default description names it
    assert '<link rel="canonical" href="https://tapgo.example/m/test-cafe/">' in page


def test_the_preview_is_canonical_whatever_door_the_page_was_opened_by(client, app):
    link = miniapps.share_link_for(app=app, customer=customer_create_guest())
    for query in (f"?sh={link.token}", "?scene=search", ""):
        page = client.get(reverse("shell:app", args=[app.slug]) + query).content.decode()
        assert meta(page, "og:url") == "https://tapgo.example/m/test-cafe/"
        assert link.token not in page.split("</head>")[0]


def test_preview_text_is_escaped(client, app, merchant):
    listings.app_update(
        app=app,
        name='Bob\'s "Best" <script>',
        slug=app.slug,
        description='Tea & "cake" <b>now</b>',
        brand_color="#123abc",
        cover="apps/x/cover-large.webp",
    )
    page = client.get(reverse("shell:app", args=[app.slug])).content.decode()
    head = page.split("</head>")[0]
    assert "<script>" not in head and "<b>" not in head
    assert meta(page, "og:title") == 'Bob\'s "Best" <script>'
    assert meta(page, "og:description") == 'Tea & "cake" <b>now</b>'
    assert meta(page, "og:image").startswith("https://tapgo.example/m/test-cafe/card.jpg?v=")
    assert meta(page, "twitter:card") == "summary_large_image"


def test_a_product_page_previews_the_product(client, app, product):
    from tapgo.catalog.models import Product

    Product.objects.filter(pk=product.pk).update(
        image="products/x/latte-thumb.webp", description="Double shot, oat milk"
    )
    path = reverse("shell:product", args=[app.slug, product.public_id])
    page = client.get(path).content.decode()
    assert meta(page, "og:title") == "Latte · Test Café"
    assert meta(page, "og:description") == "Double shot, oat milk"
    assert meta(page, "og:type") == "product"
    assert meta(page, "og:url") == "https://tapgo.example" + path
    card = meta(page, "og:image")
    assert card.startswith(f"https://tapgo.example{path}card.jpg?v=")
    assert meta(page, "og:image:type") == "image/jpeg"
    assert meta(page, "twitter:card") == "summary_large_image"


def test_an_article_page_previews_the_article(client, app):
    from tapgo.official.models import Article

    article = Article.objects.create(
        merchant=app.merchant,
        app=app,
        title="Spring <menu>",
        summary="New & seasonal",
        cover="articles/x/spring-large.webp",
        status=Article.Status.PUBLISHED,
        published_at="2026-03-01T08:00:00Z",
    )
    path = reverse("shell:article", args=[app.slug, article.public_id])
    response = client.get(path)
    assert response.status_code == 200
    page = response.content.decode()
    assert meta(page, "og:title") == "Spring <menu>"
    assert meta(page, "og:description") == "New & seasonal"
    assert meta(page, "og:type") == "article"
    assert meta(page, "og:url") == "https://tapgo.example" + path
    assert meta(page, "og:image").startswith(f"https://tapgo.example{path}card.jpg?v=")
    assert meta(page, "twitter:card") == "summary_large_image"


def test_the_default_preview_picture_is_drawn_in_the_brand_colour(client):
    response = client.get(reverse("shell:share_image", args=["0f766e"]))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert "public" in response["Cache-Control"]
    image = Image.open(io.BytesIO(response.content))
    assert image.size == (1200, 630)
    assert image.convert("RGB").getpixel((5, 5)) == (0x0F, 0x76, 0x6E)
    assert len(response.content) < 30_000
    for bad in ("0F766E", "0f766", "0f766e0", "zzzzzz", "..%2f"):
        assert client.get(f"/share/{bad}.png").status_code == 404


def test_the_endpoint_json_is_plain_json(client, app):
    raw = client.get(reverse("shell:share", args=[app.slug]), headers=JSON).content
    assert set(json.loads(raw)) == {"url", "title"}


def test_leaving_the_share_page_for_another_app_comes_back_to_the_shared_page(client, app, product):
    from tapgo.shell import state as shell_state

    path = reverse("shell:product", args=[app.slug, product.public_id])
    client.get(reverse("shell:share", args=[app.slug]), {"path": path})
    raw = client.cookies[shell_state.COOKIE].value
    data = shell_state._verified(raw)
    assert path in json.dumps(data)
    assert reverse("shell:share", args=[app.slug]) not in json.dumps(data)
