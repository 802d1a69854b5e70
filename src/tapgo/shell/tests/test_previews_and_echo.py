"""Link previews and crawlers (no visit, no guest, no share link), what a product's and an
article's page say about themselves, and request text shown again without control characters."""

import re

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils.html import escape

from tapgo.catalog.models import Product
from tapgo.core.bots import is_bot
from tapgo.core.text import printable
from tapgo.identity.models import Customer
from tapgo.miniapps import services as miniapps
from tapgo.miniapps.models import EntryCode, MiniApp, ShareLink, Visit

PREVIEWS = [
    "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
    "Twitterbot/1.0",
    "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
    "TelegramBot (like TwitterBot)",
    "WhatsApp/2.23.20.0 A",
    "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)",
    "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)",
    "Mozilla/5.0 (Windows NT 6.1; WOW64) SkypeUriPreview Preview/0.5",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "ExampleCrawler/1.0",
]
BROWSERS = [
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0 Mobile Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) [FBAN/FBIOS;FBAV/440.0]",
]


@pytest.fixture(autouse=True)
def _clear_cache(settings):
    settings.PUBLIC_URL = "https://tapgo.example"
    cache.clear()


def shared_path(client, app, path=None) -> str:
    """A shared link's path and query, made by a customer on another phone."""
    url = reverse("shell:share", args=[app.slug])
    data = client.get(url, {"path": path or reverse("shell:app", args=[app.slug])}, headers={
        "Accept": "application/json"
    }).json()  # fmt: skip
    client.cookies.clear()
    return data["url"].removeprefix("https://tapgo.example")


@pytest.mark.parametrize("agent", PREVIEWS)
def test_preview_and_crawler_agents_are_bots(rf, agent):
    assert is_bot(rf.get("/", HTTP_USER_AGENT=agent))


@pytest.mark.parametrize("agent", [*BROWSERS, ""])
def test_browsers_are_not(rf, agent):
    assert not is_bot(rf.get("/", HTTP_USER_AGENT=agent))


@pytest.mark.parametrize("agent", PREVIEWS[:8])
def test_a_link_preview_of_a_shared_link_records_nothing(client, app, product, agent):
    path = shared_path(client, app, reverse("shell:product", args=[app.slug, product.public_id]))
    customers = Customer.objects.count()
    response = client.get(path, headers={"user-agent": agent})
    assert response.status_code == 200
    assert 'property="og:type" content="product"' in response.content.decode()
    assert Visit.objects.count() == 0 and Customer.objects.count() == customers
    assert set(response.cookies) <= {"csrftoken"}  # no guest's cookie, no shell state


@pytest.mark.parametrize("agent", BROWSERS)
def test_a_browser_through_the_same_link_records_the_share(client, app, agent):
    path = shared_path(client, app)
    customers = Customer.objects.count()
    assert client.get(path, headers={"user-agent": agent}).status_code == 200
    visit = Visit.objects.get()
    assert (visit.scene, visit.share, visit.first) == ("share", ShareLink.objects.get(), True)
    assert Customer.objects.count() == customers + 1


@pytest.mark.parametrize("kind", ["store", "table", "product"])
def test_a_crawler_fetching_a_code_records_nothing(client, app, product, kind):
    extra = {"table_label": "9"} if kind == "table" else {"scene_param": "crawled"}
    if kind == "product":
        extra = {"product_public_id": product.public_id, "scene_param": "crawled"}
    entry = miniapps.code_create(app=app, kind=kind, **extra)
    customers = Customer.objects.count()
    response = client.get(
        reverse("shell:scan", args=[entry.code]), headers={"user-agent": PREVIEWS[0]}
    )
    assert response.status_code == 200
    assert Visit.objects.count() == 0 and Customer.objects.count() == customers
    assert "og:title" in response.content.decode()
    # A person scanning it is still counted.
    client.get(reverse("shell:scan", args=[entry.code]), headers={"user-agent": BROWSERS[0]})
    assert Visit.objects.get().scene == "scan"


def test_crawlers_make_no_share_link_and_the_menus_link_is_nofollow(client, app):
    html = client.get(reverse("shell:app", args=[app.slug])).content.decode()
    assert re.search(r'<a class="share" [^>]*data-testid="share" rel="nofollow">', html)
    client.cookies.clear()
    customers = Customer.objects.count()
    url = reverse("shell:share", args=[app.slug])
    for headers in ({}, {"Accept": "application/json"}):
        response = client.get(url, headers={"user-agent": "Googlebot/2.1", **headers})
        assert response.status_code == 404
    assert ShareLink.objects.count() == 0 and Customer.objects.count() == customers
    assert client.get(url).status_code == 200 and ShareLink.objects.count() == 1  # a person


# --- a product's page at its code's address, descriptions ---------------------------------


def test_share_on_a_product_at_its_codes_address_shares_the_product(client, app, product):
    entry = miniapps.code_create(
        app=app, kind=EntryCode.Kind.PRODUCT, product_public_id=product.public_id
    )
    html = client.get(reverse("shell:scan", args=[entry.code])).content.decode()
    here = reverse("shell:product", args=[app.slug, product.public_id])
    share = reverse("shell:share", args=[app.slug])
    expected = escape(f"{share}?path={here.replace('/', '%2F')}")
    assert f'<a class="share" href="{expected}"' in html
    shared = client.get(share, {"path": here}, headers={"Accept": "application/json"}).json()
    assert shared["url"].startswith("https://tapgo.example" + here + "?sh=")


def test_product_and_article_pages_describe_themselves(client, app, product):
    from tapgo.official.models import Article

    MiniApp.objects.filter(pk=app.pk).update(description="The app itself")
    cache.clear()
    Product.objects.filter(pk=product.pk).update(description="Oat milk & a double shot")
    article = Article.objects.create(
        merchant=app.merchant,
        app=app,
        title="Spring",
        summary="New <seasonal> cakes",
        status=Article.Status.PUBLISHED,
        published_at="2026-03-01T08:00:00Z",
    )
    pages = {
        reverse("shell:app", args=[app.slug]): "The app itself",
        reverse("shell:product", args=[app.slug, product.public_id]): "Oat milk & a double shot",
        reverse("shell:article", args=[app.slug, article.public_id]): "New <seasonal> cakes",
    }
    for path, description in pages.items():
        html = client.get(path).content.decode()
        found = re.findall(r'<meta name="description" content="([^"]*)">', html)
        assert found == [escape(description)], path
    # Without a description of their own, they keep the app's.
    Product.objects.filter(pk=product.pk).update(description="")
    html = client.get(next(iter(list(pages)[1:]))).content.decode()
    assert '<meta name="description" content="The app itself">' in html


# --- control characters ---------------------------------------------------------------------


def test_printable_drops_control_and_format_characters():
    assert printable("a\x00b\x1bc\u202ed\u200be") == "abcde"
    assert printable("one\ttwo\nthree\r") == "one two three "
    assert printable("👨\u200d👩 café 咖啡") == "👨\u200d👩 café 咖啡"


def test_the_search_page_shows_no_control_characters(client, db):
    response = client.get("/search?q=lat%00te%1B%5B31m%E2%80%AEx")
    assert response.status_code == 200
    html = response.content.decode()
    assert "\x00" not in html and "\x1b" not in html and "\u202e" not in html
    assert "<title>latte[31mx" in html and 'value="latte[31mx"' in html


def test_the_nearby_page_shows_no_control_characters(client, db):
    response = client.get(reverse("shell:nearby") + "?lat=31%00.2&lng=%1B121")
    assert response.status_code == 400
    html = response.content.decode()
    assert "\x00" not in html and "\x1b" not in html
    assert 'value="31.2"' in html and 'value="121"' in html
