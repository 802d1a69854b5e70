"""The official account in the shell: the article list, an article, and the door it opens."""

import re

import pytest
from django.core.cache import cache
from django.urls import reverse

from tapgo.flows import listings
from tapgo.miniapps.models import Visit
from tapgo.official.models import Article


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()


def _article_url(app, article):
    return reverse("shell:article", args=[app.slug, article.public_id])


INSIDE = {"HTTP_REFERER": "http://testserver/m/test-cafe/"}


def test_the_account_page_lists_published_articles_newest_first(
    client, merchant, app, published, other_article
):
    newer = listings.article_create(merchant=merchant, app=app, title="Autumn menu")
    newer = listings.article_set_published(article=newer, published=True)
    Article.objects.filter(pk=published.pk).update(
        published_at=newer.published_at.replace(year=2020)
    )
    listings.article_create(merchant=merchant, app=app, title="Secret draft")
    response = client.get(reverse("shell:articles", args=[app.slug]))
    assert response.status_code == 200
    page = response.content.decode()
    assert page.index("Autumn menu") < page.index("Oat latte is here")
    assert "Silky, and no dairy." in page
    assert "Secret draft" not in page and "Sourdough" not in page
    assert _article_url(app, newer) in page
    assert f'href="/m/{app.slug}/?scene=account"' in page
    assert "2020" in page  # the date it was published


def test_an_article_with_its_call_to_action(client, app, published):
    response = client.get(_article_url(app, published), **INSIDE)
    assert response.status_code == 200
    page = response.content.decode()
    assert "<title>Oat latte is here · Test Café</title>" in page
    assert "<p>Our new <strong>oat latte</strong>.</p>" in page
    cta = re.search(r'<a class="button primary" href="([^"]+)" data-testid="article-cta">', page)
    assert cta[1] == f"/m/{app.slug}/?scene=account"
    # the frame: the app's top bar, with the official account in its menu
    assert reverse("shell:articles", args=[app.slug]) in page
    assert reverse("shell:cart", args=[app.slug]) in page
    assert "default-src 'self'" in response["Content-Security-Policy"]
    assert "style=" not in page and "<script>" not in page


def test_the_menu_pages_top_bar_leads_to_the_official_account(client, app):
    page = client.get(reverse("shell:app", args=[app.slug])).content.decode()
    assert f'href="/m/{app.slug}/a/" data-testid="account-link"' in page


def test_following_the_call_to_action_records_scene_account(client, app, published):
    client.get(_article_url(app, published), **INSIDE)
    assert not Visit.objects.exists()  # a move inside the app
    response = client.get(f"/m/{app.slug}/?scene=account", **INSIDE)
    assert response.status_code == 200
    visit = Visit.objects.get()
    assert (visit.scene, visit.app_id) == ("account", app.pk)


def test_a_link_from_outside_records_the_visit(client, app, published):
    client.get(_article_url(app, published))
    client.get(_article_url(app, published), HTTP_REFERER="https://chat.example/room/1")
    client.get(reverse("shell:articles", args=[app.slug]) + "?scene=account")
    assert list(Visit.objects.order_by("pk").values_list("scene", flat=True)) == [
        "direct", "direct", "account"
    ]  # fmt: skip


def test_drafts_other_apps_and_garbage_are_404(client, app, article, other_article):
    assert client.get(_article_url(app, article)).status_code == 404  # a draft
    crossed = reverse("shell:article", args=[app.slug, other_article.public_id])
    response = client.get(crossed)
    assert response.status_code == 404 and b"Sourdough" not in response.content
    theirs = reverse("shell:article", args=["bakery", other_article.public_id])
    assert client.get(theirs).status_code == 200
    for bad in ("nope", "x" * 400, "%00", "' OR 1=1 --"):
        assert client.get(f"/m/{app.slug}/a/{bad}/").status_code == 404
    assert client.get(f"/m/no-such-app/a/{article.public_id}/").status_code == 404
    assert client.get("/m/no-such-app/a/").status_code == 404
    assert not Visit.objects.exclude(app__slug="bakery").exists()  # a 404 records no visit
    listings.article_set_published(article=article, published=True)
    assert client.get(_article_url(app, article)).status_code == 200
    listings.article_set_published(article=article, published=False)
    assert client.get(_article_url(app, article)).status_code == 404


def test_an_unpublished_app_hides_its_articles(client, app, published):

    listings.app_set_published(app=app, published=False)
    assert client.get(_article_url(app, published)).status_code == 404
    assert client.get(reverse("shell:articles", args=[app.slug])).status_code == 404


def test_bad_page_numbers_show_a_page(client, app, published):
    for page in ("x", "-1", "99999999999999999999", "0"):
        response = client.get(reverse("shell:articles", args=[app.slug]) + f"?page={page}")
        assert response.status_code == 200 and b"Oat latte is here" in response.content


def test_a_stored_body_is_sanitised_again_when_shown(client, app, published):
    Article.objects.filter(pk=published.pk).update(
        body='<p>hi</p><img src="x" onerror="alert(1)"><script>alert(2)</script>'
    )
    page = client.get(_article_url(app, published)).content.decode()
    assert "<p>hi</p>" in page and "onerror" not in page and "alert(" not in page


def test_the_pages_queries_are_few(client, app, published, django_assert_max_num_queries):
    client.get(_article_url(app, published))  # the guest cookie and shell state, once
    for n in range(3):
        listings.article_set_published(
            article=listings.article_create(merchant=published.merchant, app=app, title=f"N{n}"),
            published=True,
        )
    with django_assert_max_num_queries(8):
        assert client.get(_article_url(app, published), **INSIDE).status_code == 200
    with django_assert_max_num_queries(8):
        assert client.get(reverse("shell:articles", args=[app.slug]), **INSIDE).status_code == 200
