"""The official account's articles: writing, publishing and reading them.

An article belongs to one mini app of its merchant. Merchants write it in the console (a
draft first), publish it, unpublish or delete it; customers read the published ones in the
shell (`/m/<app>/a/`). The console writes through flows/listings.py, which keeps the search
index (discovery/search/) in step.

The body is HTML the merchant types, so it is sanitised with nh3 (ammonia) before it is
stored, and again when it is shown (cheap, and an allow-list narrowed later then applies to
old articles too). What is kept, and why (docs/decisions/0007-article-html.md):

- text structure: p, br, h2, h3, strong, em, ul, ol, li, blockquote. No h1 (the page's
  title is the article's own), no tables, no classes, ids or `style` (the shell's look is
  the shell's, and the CSP allows no inline style).
- links: a[href] with http, https or mailto only (no relative, javascript: or data: URLs);
  every link gets rel="noopener nofollow", so a linked page cannot reach back to ours and a
  spammer gains no search ranking from an article.
- images: img[src, alt] only from our own uploaded files (MEDIA_URL). Not any https image:
  the shell's CSP allows images from 'self' only (a third-party image would not show), and
  an image from another host tells that host who reads the article and when.
- everything else goes: tags not listed are removed (their text kept); script, style,
  iframe, object, embed, svg, math, template, noscript, textarea and select are removed with
  their content; every event handler attribute (onerror, onclick…) and comment goes too.
"""

import re
from functools import cache

import nh3
from django.conf import settings
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404
from django.utils import timezone
from django.utils.html import linebreaks
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from tapgo.core.ids import is_public_id
from tapgo.merchants.models import Merchant
from tapgo.miniapps.models import MiniApp
from tapgo.official.models import Article
from tapgo.official.tasks import article_fan_out

TITLE_MAX = 120
SUMMARY_MAX = 300
BODY_MAX = 100_000  # characters of HTML as typed; a long article is a few thousand
PAGE_SIZE = 20

ALLOWED_TAGS = {
    "p", "br", "h2", "h3", "strong", "em", "a", "ul", "ol", "li", "blockquote", "img",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href"}, "img": {"src", "alt"}}
REMOVED_WITH_CONTENT = {
    "script", "style", "iframe", "object", "embed", "svg", "math", "template", "noscript",
    "textarea", "select", "title",
}  # fmt: skip
LINK_REL = "noopener nofollow"
LINK_RE = re.compile(r"^(?:https?://[^\s/\\]|mailto:[^\s])", re.IGNORECASE)
MEDIA_NAME_RE = re.compile(r"^[A-Za-z0-9_\-./]+$")
# Text with none of these is plain text: its blank lines make paragraphs.
BLOCK_RE = re.compile(r"<\s*(?:p|br|h2|h3|ul|ol|blockquote)\b", re.IGNORECASE)
# An image whose src was refused, as the sanitiser writes it out (attributes in order).
EMPTY_IMG_RE = re.compile(r'<img(?: alt="[^"]*")?>')
EMPTY_P_RE = re.compile(r"<p>\s*</p>")


class ArticleError(ValueError):
    pass


# --- sanitising ---------------------------------------------------------------------------


def _media_src(value: str) -> bool:
    """Is this src one of our own uploaded files (under MEDIA_URL, no way out of it)?"""
    prefix = settings.MEDIA_URL
    if not prefix or not value.startswith(prefix):
        return False
    name = value[len(prefix) :]
    return (
        bool(name)
        and MEDIA_NAME_RE.match(name) is not None
        and ".." not in name
        and not name.startswith("/")
    )


def _attribute(tag: str, name: str, value: str) -> str | None:
    value = value.strip()
    if tag == "a" and name == "href":
        return value if LINK_RE.match(value) else None
    if tag == "img" and name == "src":
        return value if _media_src(value) else None
    return value


@cache
def _cleaner(media_url: str) -> nh3.Cleaner:  # one per MEDIA_URL (tests change it)
    return nh3.Cleaner(
        tags=ALLOWED_TAGS,
        clean_content_tags=REMOVED_WITH_CONTENT,
        attributes=ALLOWED_ATTRIBUTES,
        attribute_filter=_attribute,
        strip_comments=True,
        link_rel=LINK_REL,
        url_schemes={"http", "https", "mailto"},
    )


def sanitise(html: str) -> str:
    """The article HTML with only what the allow-list above keeps."""
    cleaned = _cleaner(settings.MEDIA_URL).clean(html or "")
    # An image that cannot show, a paragraph left empty: only noise.
    return EMPTY_P_RE.sub("", EMPTY_IMG_RE.sub("", cleaned)).strip()


def paragraphs(text: str) -> str:
    """Plain text as paragraphs (a blank line between them, a newline a line break); text
    with block tags of its own is left as it is."""
    if not text or BLOCK_RE.search(text):
        return text or ""
    return linebreaks(text, autoescape=False)


def body_html(article: Article) -> SafeString:
    """The body to put in a page: sanitised again on the way out."""
    return SafeString(sanitise(article.body))  # noqa: S308 - sanitised just now


# --- checks -------------------------------------------------------------------------------


def _check(title: str, summary: str, body: str) -> tuple[str, str, str]:
    title = (title or "").strip()
    summary = " ".join((summary or "").split())
    if not title:
        raise ArticleError(_("Give the article a title."))
    if len(title) > TITLE_MAX:
        raise ArticleError(
            _("The title is too long (at most %(n)d characters).") % {"n": TITLE_MAX}
        )
    if len(summary) > SUMMARY_MAX:
        raise ArticleError(
            _("The summary is too long (at most %(n)d characters).") % {"n": SUMMARY_MAX}
        )
    if len(body or "") > BODY_MAX:
        raise ArticleError(_("The text is too long (at most %(n)d characters).") % {"n": BODY_MAX})
    return title, summary, sanitise(paragraphs(body))


def _check_app(merchant: Merchant, app: MiniApp) -> None:
    if app.merchant_id != merchant.pk:
        raise Http404


# --- the console: a merchant's articles ---------------------------------------------------


def articles_of(merchant: Merchant):
    """All the merchant's articles, drafts and published, newest first."""
    return (
        Article.objects.for_merchant(merchant).select_related("app").order_by("-created_at", "-pk")
    )


def access_article(*, merchant: Merchant, public_id: str) -> Article:
    """The merchant's article by its public id; another merchant's (or none) is a 404."""
    if not is_public_id(public_id):
        raise Http404
    article = (
        Article.objects.for_merchant(merchant)
        .select_related("app")
        .filter(public_id=public_id)
        .first()
    )
    if article is None:
        raise Http404
    return article


@transaction.atomic
def article_create(
    *,
    merchant: Merchant,
    app: MiniApp,
    title: str,
    summary: str = "",
    body: str = "",
    cover: str = "",
) -> Article:
    """A new draft."""
    _check_app(merchant, app)
    title, summary, body = _check(title, summary, body)
    now = timezone.now()
    article = Article.objects.create(
        merchant=merchant,
        app=app,
        title=title,
        summary=summary,
        body=body,
        cover=cover,
        created_at=now,
        updated_at=now,
    )
    return article


@transaction.atomic
def article_update(
    *,
    article: Article,
    title: str,
    summary: str,
    body: str,
    cover: str | None = None,
    app: MiniApp | None = None,
) -> Article:
    """Change the text; `cover` None keeps the cover, "" removes it; `app` None keeps it."""
    title, summary, body = _check(title, summary, body)
    fields = {
        "title": title,
        "summary": summary,
        "body": body,
        "updated_at": timezone.now(),
    }
    if cover is not None:
        fields["cover"] = cover
    if app is not None:
        _check_app(article.merchant, app)
        fields["app"] = app
    Article.objects.filter(pk=article.pk).update(**fields)
    article.refresh_from_db()
    return article


@transaction.atomic
def article_set_published(*, article: Article, published: bool) -> Article:
    """Publish (published_at is set the first time only) or take back to draft.

    Coming out (from draft) tells the app's followers, after commit, in a background task
    (official/tasks.py); its dedupe key means publishing again sends nobody the article twice.
    """
    now = timezone.now()
    if published:
        # A conditional update: two publishers racing both leave the first time in place.
        Article.objects.filter(pk=article.pk, published_at__isnull=True).update(published_at=now)
    status = Article.Status.PUBLISHED if published else Article.Status.DRAFT
    # Conditional too: of two racing publishers, one brings it out and tells the followers.
    came_out = Article.objects.filter(pk=article.pk).exclude(status=status).update(status=status)
    Article.objects.filter(pk=article.pk).update(updated_at=now)
    article.refresh_from_db()
    if published and came_out:
        _tell_followers(article.pk)
    return article


def _tell_followers(article_id: int) -> None:
    # robust: the article stands if the queue cannot take the task (publishing again retries).
    transaction.on_commit(lambda: article_fan_out.enqueue(article_id), robust=True)


@transaction.atomic
def article_delete(*, article: Article) -> None:
    Article.objects.filter(pk=article.pk).delete()


# --- the shell: what customers read -------------------------------------------------------


def _published(app: MiniApp):
    return Article.objects.for_merchant(app.merchant).filter(
        app=app, status=Article.Status.PUBLISHED
    )


def published_articles(*, app: MiniApp, page: str | int | None = 1):
    """One page of the app's published articles, newest first (a Paginator page)."""
    articles = _published(app).order_by("-published_at", "-pk")
    return Paginator(articles, PAGE_SIZE).get_page(page)


def published_article(*, app: MiniApp, public_id: str) -> Article:
    """A published article of this app; a draft or another app's article is a 404."""
    if not is_public_id(public_id):
        raise Http404
    article = _published(app).filter(public_id=public_id).first()
    if article is None:
        raise Http404
    return article
