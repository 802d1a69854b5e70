"""The console's article pages: write, upload a cover, publish, delete; bad input; tenancy."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from tapgo.console.tests.conftest import png_bytes
from tapgo.flows import listings
from tapgo.official.models import Article


@pytest.fixture
def owner_client(client, owner):
    client.force_login(owner)
    return client


def _url(name, merchant, *args):
    return reverse(f"console:{name}", args=[merchant.public_id, *args])


def _data(for_app, **extra):
    return {
        "app": for_app.public_id,
        "title": "Oat latte is here",
        "summary": "Silky, no dairy.",
        "body": '<p>Try it <a href="https://example.com">here</a>.</p><script>x()</script>',
    } | extra


def test_the_list_shows_drafts_and_published_with_a_nav_link(
    owner_client, merchant, article, published
):
    draft = listings.article_create(merchant=merchant, app=article.app, title="Autumn hours")
    page = owner_client.get(_url("articles", merchant)).content.decode()
    assert "Oat latte is here" in page and "Autumn hours" in page
    assert "Published" in page and "Draft" in page
    assert _url("article", merchant, draft.public_id) in page
    board = owner_client.get(_url("board", merchant)).content.decode()
    assert _url("articles", merchant) in board  # the tab next to the others


def test_write_a_draft_with_a_cover_and_a_picture(owner_client, merchant, app, settings):
    page = owner_client.get(_url("article_new", merchant)).content.decode()
    assert "&lt;blockquote&gt;" in page  # the allowed HTML is explained
    response = owner_client.post(
        _url("article_new", merchant),
        _data(
            app,
            cover=SimpleUploadedFile("cover.png", png_bytes((1600, 900)), "image/png"),
            picture=SimpleUploadedFile("cup.png", png_bytes((300, 300)), "image/png"),
        ),
    )
    article = Article.objects.get()
    assert response.status_code == 302
    assert response.url == _url("article", merchant, article.public_id)
    assert (article.status, article.app_id, article.merchant_id) == ("draft", app.pk, merchant.pk)
    assert article.cover.startswith(f"articles/{merchant.public_id}/")
    assert article.cover.endswith(".webp")
    assert (settings.MEDIA_ROOT / article.cover).read_bytes()[8:12] == b"WEBP"
    assert "<script>" not in article.body and "x()" not in article.body
    assert 'rel="noopener nofollow"' in article.body
    picture = article.body.rsplit('<img src="', 1)[1].split('"', 1)[0]
    assert picture.startswith(settings.MEDIA_URL + f"articles/{merchant.public_id}/")
    assert (settings.MEDIA_ROOT / picture.removeprefix(settings.MEDIA_URL)).is_file()
    page = owner_client.get(response.url).content.decode()
    assert "A draft: only your team sees it." in page


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"title": ""}, "This field is required."),
        ({"title": "x" * 121}, "at most 120 characters"),
        ({"summary": "s" * 301}, "at most 300 characters"),
        ({"app": "notmyapp1234"}, "Select a valid choice."),
        (
            {"cover": SimpleUploadedFile("cover.png", b"<?php echo 1; ?>", "image/png")},
            "This file is not an image we can read.",
        ),
        (
            {"picture": SimpleUploadedFile("x.gif", b"GIF89a-not-really", "image/gif")},
            "This file is not an image we can read.",
        ),
    ],
)
def test_bad_input_shows_a_message_and_changes_nothing(owner_client, merchant, app, extra, message):
    response = owner_client.post(_url("article_new", merchant), _data(app, **extra))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Article.objects.exists()


def test_edit_remove_cover_and_move_to_another_app(owner_client, merchant, app, article):

    listings.article_update(
        article=article, title=article.title, summary="", body="", cover="articles/c-large.webp"
    )
    kiosk = listings.app_create(merchant=merchant, name="Kiosk", slug="kiosk")
    url = _url("article", merchant, article.public_id)
    page = owner_client.get(url).content.decode()
    assert "Remove the cover image" in page and "Kiosk" in page
    response = owner_client.post(
        url, _data(app, title="Oat latte, again", remove_cover="on", app=kiosk.public_id)
    )
    assert response.status_code == 302
    article.refresh_from_db()
    assert (article.title, article.cover, article.app_id) == ("Oat latte, again", "", kiosk.pk)


def test_one_app_needs_no_choice_and_no_app_sends_to_make_one(
    owner_client, merchant, app, other_merchant
):
    page = owner_client.get(_url("article_new", merchant)).content.decode()
    assert f'type="hidden" name="app" value="{app.public_id}"' in page
    app.delete()
    response = owner_client.get(_url("article_new", merchant))
    assert response.url == _url("app_new", merchant)


def test_publish_unpublish_and_the_public_address(owner_client, merchant, app, article):
    publish = _url("article_publish", merchant, article.public_id)
    assert owner_client.get(publish).status_code == 405
    response = owner_client.post(publish, {"published": "1"}, follow=True)
    article.refresh_from_db()
    assert article.status == "published" and article.published_at is not None
    page = response.content.decode()
    assert "Published: customers can read" in page
    assert reverse("shell:article", args=[app.slug, article.public_id]) in page
    owner_client.post(publish, {"published": "0"})
    article.refresh_from_db()
    assert article.status == "draft" and article.published_at is not None


def test_delete_asks_first(owner_client, merchant, article):
    url = _url("article_delete", merchant, article.public_id)
    page = owner_client.get(url).content.decode()
    assert "Oat latte is here" in page and "cannot be undone" in page
    assert Article.objects.exists()
    response = owner_client.post(url)
    assert response.url == _url("articles", merchant)
    assert not Article.objects.exists()
    assert owner_client.post(url).status_code == 404


def test_staff_may_write_articles(client, merchant, app, staff_member):
    client.force_login(staff_member)
    response = client.post(_url("article_new", merchant), _data(app))
    assert response.status_code == 302
    assert Article.objects.get().title == "Oat latte is here"


def test_another_merchants_articles_are_404(owner_client, merchant, app, other_article):
    for name in ("article", "article_publish", "article_delete"):
        url = _url(name, merchant, other_article.public_id)
        for method in ("get", "post"):
            response = getattr(owner_client, method)(url, {"title": "Hacked", "published": "0"})
            assert response.status_code in (404, 405), (name, method)
            assert "Sourdough" not in response.content.decode()
    other_article.refresh_from_db()
    assert (other_article.title, other_article.status) == ("Sourdough Sundays", "published")
    for bad in ("nope", "x" * 300, "%00"):
        assert owner_client.get(_url("articles", merchant) + bad + "/").status_code == 404
    page = owner_client.get(_url("articles", merchant)).content.decode()
    assert "Sourdough" not in page


def test_anonymous_is_sent_to_login(client, merchant, article):
    response = client.get(_url("articles", merchant))
    assert response.status_code == 302 and response.url.startswith("/console/login/")
