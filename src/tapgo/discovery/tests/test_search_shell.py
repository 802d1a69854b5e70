"""The shell's search page and box, with Django's test client (SQLite and PostgreSQL)."""

import pytest
from django.urls import reverse

from tapgo.discovery import search
from tapgo.discovery.tests.test_search import HOME, HOSTILE, built_world, world_rows
from tapgo.miniapps.models import Visit

URL = "/search"


@pytest.fixture(scope="module")
def world_once(django_db_setup, django_db_blocker):
    with built_world(django_db_blocker):
        yield


@pytest.fixture
def world(world_once, db):
    return world_rows()


def test_the_url_is_the_shells():
    assert reverse("shell:search") == URL


def test_the_home_page_has_the_search_box(client, db):
    html = client.get("/").content.decode()
    assert f'action="{URL}"' in html and 'name="q"' in html and "shell/search.js" in html


def test_results_link_to_their_pages_with_the_search_scene(client, world):
    response = client.get(URL, {"q": "燕麦拿铁"})
    assert response.status_code == 200
    html = response.content.decode()
    product = world["products"]["燕麦拿铁"]
    article = world["articles"]["新品上市：燕麦拿铁"]
    assert f'href="/m/harbour-cafe/p/{product.public_id}/?scene=search"' in html
    assert f'href="/m/harbour-cafe/a/{article.public_id}/?scene=search"' in html
    assert 'data-kind="product"' in html and 'data-kind="article"' in html
    html = client.get(URL, {"q": "harbour", "kind": "app"}).content.decode()
    assert 'href="/m/harbour-cafe/?scene=search"' in html
    assert 'data-kind="product"' not in html


def test_a_hit_url_falls_back_to_the_app_without_a_page(monkeypatch):
    from django.urls import NoReverseMatch

    from tapgo.shell.views import search as shell_search

    real = shell_search.reverse

    def without_pages(name, args=None):
        if name in ("shell:product", "shell:article"):
            raise NoReverseMatch(name)
        return real(name, args=args)

    monkeypatch.setattr(shell_search, "reverse", without_pages)
    product = search.Hit("product", "x", "", "shop", "Shop", "abc", None, 1.0)
    article = search.Hit("article", "x", "", "shop", "Shop", "def", None, 1.0)
    assert shell_search.hit_url(product) == "/m/shop/?scene=search#p-abc"
    assert shell_search.hit_url(article) == "/m/shop/?scene=search"


def test_opening_a_result_records_a_search_visit(client, world):
    client.get(URL, {"q": "harbour"})
    response = client.get("/m/harbour-cafe/?scene=search")
    assert response.status_code == 200
    visit = Visit.objects.get()
    assert visit.scene == "search" and visit.app.slug == "harbour-cafe"


def test_a_location_shows_distances_and_a_bad_one_says_so(client, world):
    html = client.get(URL, {"q": "拿铁", "lat": HOME[0], "lng": HOME[1]}).content.decode()
    assert 'data-testid="hit-distance"' in html and " m<" in html
    for lat, lng in (("x", "1"), ("91", "0"), ("nan", "0"), ("1", ""), ("1e999", "1")):
        response = client.get(URL, {"q": "拿铁", "lat": lat, "lng": lng})
        assert response.status_code == 200
        html = response.content.decode()
        assert "could not be read" in html and 'data-testid="search-hit"' in html
        assert 'data-testid="hit-distance"' not in html


def test_nothing_found_says_so(client, world):
    html = client.get(URL, {"q": "zzzqqq"}).content.decode()
    assert 'data-testid="search-empty"' in html and "zzzqqq" in html


def test_an_empty_query_shows_the_box(client, world):
    response = client.get(URL)
    assert (
        response.status_code == 200 and 'data-testid="search-hit"' not in response.content.decode()
    )


# (a lone surrogate cannot be sent in a URL; raw bytes are tried below)
SENDABLE = [q for q in HOSTILE if not any("\ud800" <= c <= "\udfff" for c in q)]


@pytest.mark.parametrize("query", SENDABLE, ids=[repr(q[:20]) for q in SENDABLE])
def test_hostile_queries_never_break_the_page(client, world, query):
    response = client.get(URL, {"q": query, "kind": query[:10], "lat": query[:5], "lng": "0"})
    assert response.status_code == 200


def test_raw_bytes_in_the_query_string(client, world):
    for raw in ("q=%00", "q=%ff%fe", "q=%E6%8B", "q=latte&q=tea", "q[]=x", "kind=%00&q=a"):
        assert client.get(f"{URL}?{raw}").status_code == 200, raw


def test_user_text_is_escaped(client, world):
    html = client.get(URL, {"q": "<script>alert(1)</script>"}).content.decode()
    assert "<script>alert(1)" not in html and "&lt;script&gt;" in html


def test_the_page_is_under_the_strict_csp(client, world):
    response = client.get(URL, {"q": "latte"})
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert "<script>" not in response.content.decode()
