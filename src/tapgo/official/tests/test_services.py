"""The articles' services: sanitising, checks, publishing, tenancy, the search index hooks."""

import pytest
from django.http import Http404
from django.utils import timezone

from tapgo.flows import listings
from tapgo.official import services
from tapgo.official.models import Article

# --- sanitising ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ("<p>Hi<script>alert(1)</script></p>", "<p>Hi</p>"),
        ('<img src="/media/a/x.webp" onerror="alert(1)">', '<img src="/media/a/x.webp">'),
        ('<p onclick="steal()">x</p>', "<p>x</p>"),
        ('<a href="javascript:alert(1)">go</a>', '<a rel="noopener nofollow">go</a>'),
        ('<a href="JaVaScRiPt:alert(1)">go</a>', '<a rel="noopener nofollow">go</a>'),
        ('<a href="java&#x09;script:alert(1)">go</a>', '<a rel="noopener nofollow">go</a>'),
        ('<a href="data:text/html,<script>x</script>">go</a>', '<a rel="noopener nofollow">go</a>'),
        ('<a href="/console/">go</a>', '<a rel="noopener nofollow">go</a>'),
        ('<a href="//evil.example/">go</a>', '<a rel="noopener nofollow">go</a>'),
        ('<p style="color:red">x</p><style>p{color:red}</style>', "<p>x</p>"),
        ('<iframe src="https://evil.example/"></iframe><p>x</p>', "<p>x</p>"),
        ('<object data="x.swf"></object><embed src="x.swf"><p>x</p>', "<p>x</p>"),
        ("<svg><script>alert(1)</script></svg><math><mi>x</mi></math>", ""),
        ('<form action="/x"><input name="q"><button>Go</button></form>', "Go"),
        ("<p>a<!-- secret --></p>", "<p>a</p>"),
        ('<p class="x" id="y">x</p>', "<p>x</p>"),
        ("<h1>Title</h1><table><tr><td>cell</td></tr></table>", "Titlecell"),
        # images: only our own uploads
        ('<img src="https://cdn.example/a.png" alt="a">', ""),
        ('<img src="/media/../console/x" alt="a">', ""),
        ('<img src="data:image/png;base64,AAAA">', ""),
        ('<img src="/static/shell/shell.js">', ""),
        ('<img src="/media/articles/m/a-large.webp" alt="Oat">',
         '<img src="/media/articles/m/a-large.webp" alt="Oat">'),
    ],
)  # fmt: skip
def test_sanitise_removes_what_is_not_allowed(html, expected):
    assert services.sanitise(html) == expected


def test_sanitise_keeps_the_allowed_tags():
    html = (
        "<h2>Oat</h2><h3>Why</h3><p>Plain <strong>bold</strong> <em>em</em><br>next</p>"
        "<ul><li>one</li></ul><ol><li>two</li></ol><blockquote>said</blockquote>"
    )
    assert services.sanitise(html) == html


def test_links_keep_http_https_and_mailto_with_a_safe_rel():
    html = (
        '<a href="https://example.com/a?b=1" target="_blank" rel="opener">s</a>'
        '<a href="http://example.com/">h</a><a href="mailto:hi@cafe.example">m</a>'
    )
    assert services.sanitise(html) == (
        '<a href="https://example.com/a?b=1" rel="noopener nofollow">s</a>'
        '<a href="http://example.com/" rel="noopener nofollow">h</a>'
        '<a href="mailto:hi@cafe.example" rel="noopener nofollow">m</a>'
    )


def test_media_on_another_host_is_allowed_when_media_lives_there(settings):
    settings.MEDIA_URL = "https://files.example/media/"
    kept = '<img src="https://files.example/media/a.webp">'
    assert services.sanitise(kept) == kept
    assert services.sanitise('<img src="https://other.example/media/a.webp">') == ""


def test_plain_text_becomes_paragraphs():
    text = "Line one\nline two\n\nPara <strong>two</strong>\r\n\r\n<script>x()</script>"
    assert services.sanitise(services.paragraphs(text)) == (
        "<p>Line one<br>line two</p>\n\n<p>Para <strong>two</strong></p>"
    )
    html = "<p>one</p>\n\ntwo"
    assert services.paragraphs(html) == html  # it has paragraphs of its own


def test_the_body_is_stored_sanitised_and_shown_sanitised_again(merchant, app):
    article = listings.article_create(
        merchant=merchant, app=app, title="T", body="<p>ok</p><script>alert(1)</script>"
    )
    assert article.body == "<p>ok</p>"
    Article.objects.filter(pk=article.pk).update(body="<p>x</p><script>old()</script>")
    article.refresh_from_db()
    assert str(services.body_html(article)) == "<p>x</p>"


# --- checks -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "summary", "body", "message"),
    [
        ("", "", "", "title"),
        ("   ", "", "", "title"),
        ("x" * 121, "", "", "title is too long"),
        ("ok", "s" * 301, "", "summary is too long"),
        ("ok", "", "b" * (services.BODY_MAX + 1), "text is too long"),
    ],
)
def test_bad_input_changes_nothing(merchant, app, article, title, summary, body, message):
    with pytest.raises(services.ArticleError, match=message):
        listings.article_create(merchant=merchant, app=app, title=title, summary=summary, body=body)
    with pytest.raises(services.ArticleError, match=message):
        listings.article_update(article=article, title=title, summary=summary, body=body)
    assert Article.objects.count() == 1
    article.refresh_from_db()
    assert article.title == "Oat latte is here"


def test_limits_are_inclusive_and_text_is_tidied(merchant, app):
    article = listings.article_create(
        merchant=merchant, app=app, title=" " + "t" * 120 + " ", summary="a\n  b" + "s" * 296
    )
    assert article.title == "t" * 120
    assert article.summary == "a b" + "s" * 296


# --- publishing ---------------------------------------------------------------------------


def test_published_at_is_set_on_the_first_publish_only(article):
    assert (article.status, article.published_at) == ("draft", None)
    before = timezone.now()
    article = listings.article_set_published(article=article, published=True)
    assert article.status == "published"
    first = article.published_at
    assert first is not None and first >= before
    article = listings.article_set_published(article=article, published=False)
    assert (article.status, article.published_at) == ("draft", first)
    article = listings.article_set_published(article=article, published=True)
    assert (article.status, article.published_at) == ("published", first)
    article = listings.article_update(article=article, title="New title", summary="", body="")
    assert (article.status, article.published_at) == ("published", first)


def test_update_keeps_or_changes_the_cover_and_app(merchant, app, article):

    article = listings.article_update(
        article=article, title="T", summary="", body="", cover="articles/x-large.webp"
    )
    assert article.cover == "articles/x-large.webp"
    article = listings.article_update(article=article, title="T", summary="", body="")
    assert article.cover == "articles/x-large.webp"
    article = listings.article_update(article=article, title="T", summary="", body="", cover="")
    assert article.cover == ""
    second = listings.app_create(merchant=merchant, name="Kiosk", slug="kiosk")
    article = listings.article_update(article=article, title="T", summary="", body="", app=second)
    assert article.app_id == second.pk


def test_delete(article):
    listings.article_delete(article=article)
    assert not Article.objects.exists()


# --- tenancy and what customers see -------------------------------------------------------


def test_another_merchants_article_is_a_404(merchant, article, other_article):
    assert services.access_article(merchant=merchant, public_id=article.public_id) == article
    for public_id in (other_article.public_id, "nope", "", "x" * 500, article.public_id.upper()):
        with pytest.raises(Http404):
            services.access_article(merchant=merchant, public_id=public_id)
    assert list(services.articles_of(merchant)) == [article]


def test_an_article_goes_only_in_its_merchants_app(merchant, app, other_merchant, article):
    from tapgo.miniapps.models import MiniApp

    other_app = MiniApp.objects.get(merchant=other_merchant)
    with pytest.raises(Http404):
        listings.article_create(merchant=merchant, app=other_app, title="Sneaky")
    with pytest.raises(Http404):
        listings.article_update(article=article, title="T", summary="", body="", app=other_app)
    assert Article.objects.filter(merchant=merchant).get().app_id == app.pk


def test_customers_see_published_articles_of_this_app_newest_first(
    merchant, app, article, other_article
):
    assert list(services.published_articles(app=app)) == []
    with pytest.raises(Http404):
        services.published_article(app=app, public_id=article.public_id)  # a draft
    older = listings.article_set_published(article=article, published=True)
    newer = listings.article_create(merchant=merchant, app=app, title="Newer")
    newer = listings.article_set_published(article=newer, published=True)
    Article.objects.filter(pk=older.pk).update(published_at=newer.published_at.replace(year=2020))
    listings.article_create(merchant=merchant, app=app, title="Still a draft")
    assert [a.title for a in services.published_articles(app=app)] == ["Newer", older.title]
    assert services.published_article(app=app, public_id=older.public_id) == older
    with pytest.raises(Http404):  # another app's article, asked for through this app
        services.published_article(app=app, public_id=other_article.public_id)


def test_the_list_is_paged_and_a_bad_page_is_the_first(merchant, app):
    for n in range(services.PAGE_SIZE + 1):
        found = listings.article_create(merchant=merchant, app=app, title=f"A{n}")
        listings.article_set_published(article=found, published=True)
    assert len(services.published_articles(app=app)) == services.PAGE_SIZE
    assert len(services.published_articles(app=app, page="2")) == 1
    assert services.published_articles(app=app, page="x").number == 1
    assert services.published_articles(app=app, page="99").number == 2


# --- the search index ---------------------------------------------------------------------


@pytest.fixture
def hooks(monkeypatch):
    """What the services told the search index, passed on to the real functions."""
    from tapgo.discovery import search

    calls = []
    real_index, real_remove = search.index_article_later, search.remove_article_later

    def index(pk):
        calls.append(("index", pk))
        return real_index(pk)

    def remove(pk):
        calls.append(("remove", pk))
        return real_remove(pk)

    monkeypatch.setattr(search, "index_article_later", index)
    monkeypatch.setattr(search, "remove_article_later", remove)
    return calls


def test_every_write_tells_the_search_index(merchant, app, hooks):
    article = listings.article_create(merchant=merchant, app=app, title="T")
    listings.article_update(article=article, title="T2", summary="", body="")
    listings.article_set_published(article=article, published=True)
    listings.article_set_published(article=article, published=False)
    pk = article.pk
    listings.article_delete(article=article)
    assert hooks == [("index", pk)] * 4 + [("remove", pk)]


def test_bad_input_tells_the_index_nothing(merchant, app, hooks):
    with pytest.raises(services.ArticleError):
        listings.article_create(merchant=merchant, app=app, title="")
    assert hooks == []


def test_published_articles_are_found_by_search(merchant, app, django_capture_on_commit_callbacks):
    from tapgo.discovery import search

    def found(query):
        return [h.ref_public_id for h in search.search(query, kinds=["article"])]

    with django_capture_on_commit_callbacks(execute=True):
        article = listings.article_create(
            merchant=merchant,
            app=app,
            title="燕麦拿铁上新",
            summary="Oat latte, silky and dairy-free.",
            body="<p>双份浓缩配燕麦奶。</p>",
        )
    assert found("燕麦拿铁") == []  # a draft is not in the index
    with django_capture_on_commit_callbacks(execute=True):
        listings.article_set_published(article=article, published=True)
    assert found("燕麦拿铁") == [article.public_id]
    assert found("拿铁") == [article.public_id]
    assert found("oat latte") == [article.public_id]
    with django_capture_on_commit_callbacks(execute=True):
        listings.article_update(
            article=article, title="Cold brew season", summary="", body="<p>Iced.</p>"
        )
    assert found("燕麦拿铁") == [] and found("cold brew") == [article.public_id]
    with django_capture_on_commit_callbacks(execute=True):
        listings.article_set_published(article=article, published=False)
    assert found("cold brew") == []
    with django_capture_on_commit_callbacks(execute=True):
        listings.article_set_published(article=article, published=True)
    assert found("cold brew") == [article.public_id]
    with django_capture_on_commit_callbacks(execute=True):
        listings.article_delete(article=article)
    assert found("cold brew") == []
