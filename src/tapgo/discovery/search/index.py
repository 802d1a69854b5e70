"""The index: one SearchDoc per app, product and article, built from the catalogue.

Only docs with `live` (a published app of an active merchant) are searched; products the
merchant marked unavailable (`available=False`) and articles that are not published have no
doc. A product whose stock ran out keeps its doc: its page says it is sold out. An app's doc
carries its merchant's category names; a product's and an article's doc are shown in an app
(a product in its merchant's primary app) and carry that app's store location and popularity.

`index_*` and `remove_*` bring the docs of one thing up to date now; the `*_later` forms do
it after the writer's transaction commits (what flows/listings.py calls); `reindex` rebuilds
all.
Building a doc teaches the dictionary (lexicon.py) the Chinese parts of the names it holds,
and the vocabulary its Latin title words.

A doc is indexed under every language the merchant gave (core/translations.py): its title
terms are all its names, its body all its descriptions and category names, so "拿铁" finds
"Latte" whose Chinese name is 拿铁. Its `title` and `summary` are the merchant's default
language's; `translations` holds the others' for the hits to show in the customer's.
"""

from functools import partial
from html import unescape

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.html import strip_tags

from tapgo.catalog.models import Category, Product
from tapgo.core import translations as texts
from tapgo.discovery.models import SearchDoc
from tapgo.discovery.search.lexicon import dictionary
from tapgo.discovery.search.popularity import popularity_of, popularity_refresh
from tapgo.discovery.search.terms import index_terms
from tapgo.miniapps.models import MiniApp
from tapgo.official.models import Article

Kind = SearchDoc.Kind

MAX_BODY_CHARS = 4000


def _text(*parts: str) -> str:
    return " ".join(p for p in parts if p)


def _float(value) -> float | None:
    return None if value is None else float(value)


def _app_live(app: MiniApp) -> bool:
    return app.status == MiniApp.Status.PUBLISHED and app.merchant.is_active


def _primary_apps(apps: list[MiniApp]) -> dict[int, MiniApp]:
    """Each merchant's app its products are shown in: its oldest live app, else its oldest."""
    primary: dict[int, MiniApp] = {}
    for app in sorted(apps, key=lambda a: (not _app_live(a), a.created_at, a.pk)):
        primary.setdefault(app.merchant_id, app)
    return primary


def _shown(obj, summary_of) -> dict | None:
    """The doc's title and summary in the merchant's other languages (None when none)."""
    out = {}
    for language, given in (obj.translations or {}).items():
        title, summary = given.get("name", ""), summary_of(language)
        if title or summary:
            out[language] = {"title": (title or obj.name)[:200], "summary": summary[:300]}
    return out or None


def _names(obj) -> list[str]:
    return texts.each([obj], "name")


def _title_terms(names: list[str]) -> str:
    dictionary.learn(names)
    terms = index_terms(" ".join(names))
    dictionary.learn_terms([terms])
    return terms


def _app_fields(app: MiniApp, popularity: float, categories: list[str]) -> dict:
    store = app.store
    names = _names(app)
    body = _text(
        *texts.each([app], "description"), app.merchant.name, store.address, " ".join(categories)
    )
    return {
        "ref_public_id": app.public_id,
        "app_id": app.pk,
        "merchant_id": app.merchant_id,
        "title": app.name[:200],
        "summary": app.description[:300],
        "translations": _shown(app, lambda language: texts.of(app, "description", language)),
        "title_terms": _title_terms(names),
        "body_terms": index_terms(body[:MAX_BODY_CHARS]),
        "live": _app_live(app),
        "popularity": popularity,
        "latitude": _float(store.latitude),
        "longitude": _float(store.longitude),
    }


def _product_fields(product: Product, app: MiniApp, popularity: float) -> dict:
    names = _names(product)
    category = product.category
    body = _text(
        *texts.each([product], "description"),
        *texts.each([category], "name"),
        *texts.each([app], "name"),
    )

    def summary(language: str | None) -> str:
        return texts.of(product, "description", language) or texts.of(category, "name", language)

    return {
        "ref_public_id": product.public_id,
        "app_id": app.pk,
        "merchant_id": product.merchant_id,
        "title": product.name[:200],
        "summary": (product.description or category.name)[:300],
        "translations": _shown(product, summary),
        "title_terms": _title_terms(names),
        "body_terms": index_terms(body[:MAX_BODY_CHARS]),
        "live": _app_live(app),
        "popularity": popularity,
        "latitude": _float(app.store.latitude),
        "longitude": _float(app.store.longitude),
    }


def article_text(html: str) -> str:
    return unescape(strip_tags(html or ""))


def _article_fields(article: Article, app: MiniApp, popularity: float) -> dict:
    body = _text(article.summary, article_text(article.body)[:MAX_BODY_CHARS], app.name)
    summary = article.summary or " ".join(article_text(article.body).split())[:140]
    return {
        "ref_public_id": article.public_id,
        "app_id": app.pk,
        "merchant_id": article.merchant_id,
        "title": article.title[:200],
        "summary": summary[:300],
        "title_terms": index_terms(article.title),
        "body_terms": index_terms(body, limit=MAX_BODY_CHARS),
        "live": _app_live(app),
        "popularity": popularity,
        "latitude": _float(app.store.latitude),
        "longitude": _float(app.store.longitude),
    }


def _apply(scope, desired: dict[tuple[str, int], dict]) -> int:
    """Make the docs in `scope` exactly `desired` ((kind, ref_id) → fields); rows changed."""
    now = timezone.now()
    changed = 0
    with transaction.atomic():
        existing = {(d.kind, d.ref_id): d for d in scope}
        stale = [d.pk for key, d in existing.items() if key not in desired]
        if stale:
            SearchDoc.objects.filter(pk__in=stale).delete()
            changed += len(stale)
        for (kind, ref_id), fields in desired.items():
            doc = existing.get((kind, ref_id))
            if doc is None:
                _insert(kind, ref_id, fields, now)
                changed += 1
            elif any(getattr(doc, name) != value for name, value in fields.items()):
                SearchDoc.objects.filter(pk=doc.pk).update(updated_at=now, **fields)
                changed += 1
    return changed


def _insert(kind: str, ref_id: int, fields: dict, now) -> None:
    try:
        with transaction.atomic():
            SearchDoc.objects.create(kind=kind, ref_id=ref_id, updated_at=now, **fields)
    except IntegrityError:  # indexed meanwhile by another process: bring it up to date
        SearchDoc.objects.filter(kind=kind, ref_id=ref_id).update(updated_at=now, **fields)


def _merchant_docs(merchant_ids) -> dict[tuple[str, int], dict]:
    """What the index should hold for these merchants: their apps, products and articles."""
    apps = list(
        MiniApp.objects.filter(merchant_id__in=merchant_ids).select_related("merchant", "store")
    )
    if not apps:
        return {}
    by_pk = {a.pk: a for a in apps}
    popularity = popularity_of(list(by_pk))
    primary = _primary_apps(apps)
    categories: dict[int, list[str]] = {}
    for category in Category.objects.filter(merchant_id__in=merchant_ids).order_by(
        "position", "id"
    ):
        categories.setdefault(category.merchant_id, []).extend(texts.each([category], "name"))
    desired: dict[tuple[str, int], dict] = {}
    for app in apps:
        desired[(Kind.APP, app.pk)] = _app_fields(
            app, popularity.get(app.pk, 0.0), categories.get(app.merchant_id, [])
        )
    products = Product.objects.filter(merchant_id__in=merchant_ids, available=True)
    for product in products.select_related("category"):
        app = primary[product.merchant_id]
        desired[(Kind.PRODUCT, product.pk)] = _product_fields(
            product, app, popularity.get(app.pk, 0.0)
        )
    articles = Article.objects.filter(
        merchant_id__in=merchant_ids, status=Article.Status.PUBLISHED, app_id__in=list(by_pk)
    )
    for article in articles:
        app = by_pk[article.app_id]
        desired[(Kind.ARTICLE, article.pk)] = _article_fields(
            article, app, popularity.get(app.pk, 0.0)
        )
    return desired


def index_merchant(merchant_id: int) -> int:
    """Bring every doc of one merchant up to date (its apps' live flags, location, names)."""
    return _apply(SearchDoc.objects.filter(merchant_id=merchant_id), _merchant_docs([merchant_id]))


def index_app(app_id: int) -> int:
    """An app changed (name, description, published): its merchant's docs all show it."""
    merchant_id = MiniApp.objects.filter(pk=app_id).values_list("merchant_id", flat=True).first()
    if merchant_id is None:
        return remove_app(app_id)
    return index_merchant(merchant_id)


def _one(kind: str, ref_id: int, fields: dict | None) -> int:
    scope = SearchDoc.objects.filter(kind=kind, ref_id=ref_id)
    return _apply(scope, {} if fields is None else {(kind, ref_id): fields})


def _app_of_merchant(merchant_id: int) -> MiniApp | None:
    apps = list(MiniApp.objects.filter(merchant_id=merchant_id).select_related("merchant", "store"))
    return _primary_apps(apps).get(merchant_id)


def index_product(product_id: int) -> int:
    product = (
        Product.objects.select_related("category").filter(pk=product_id, available=True).first()
    )
    app = _app_of_merchant(product.merchant_id) if product is not None else None
    if product is None or app is None:
        return remove_product(product_id)
    fields = _product_fields(product, app, popularity_of([app.pk]).get(app.pk, 0.0))
    return _one(Kind.PRODUCT, product_id, fields)


def index_category(category_id: int) -> int:
    """A category was renamed: its products' docs and its merchant's app docs carry it."""
    merchant_id = (
        Category.objects.filter(pk=category_id).values_list("merchant_id", flat=True).first()
    )
    return 0 if merchant_id is None else index_merchant(merchant_id)


def index_article(article_id: int) -> int:
    article = Article.objects.filter(pk=article_id, status=Article.Status.PUBLISHED).first()
    if article is None:
        return remove_article(article_id)
    app = MiniApp.objects.select_related("merchant", "store").get(pk=article.app_id)
    fields = _article_fields(article, app, popularity_of([app.pk]).get(app.pk, 0.0))
    return _one(Kind.ARTICLE, article_id, fields)


def remove_product(product_id: int) -> int:
    return SearchDoc.objects.filter(kind=Kind.PRODUCT, ref_id=product_id).delete()[0]


def remove_article(article_id: int) -> int:
    return SearchDoc.objects.filter(kind=Kind.ARTICLE, ref_id=article_id).delete()[0]


def remove_app(app_id: int) -> int:
    """Every doc shown in this app (its own, its products', its articles')."""
    return SearchDoc.objects.filter(app_id=app_id).delete()[0]


def _later(func, ref_id: int) -> None:
    # After the writer's transaction commits (at once outside one); a failure is logged and
    # the write stands: the next change or `tapgo search reindex` brings the doc up to date.
    transaction.on_commit(partial(func, ref_id), robust=True)


def index_merchant_later(merchant_id: int) -> None:
    _later(index_merchant, merchant_id)


def index_app_later(app_id: int) -> None:
    _later(index_app, app_id)


def index_product_later(product_id: int) -> None:
    _later(index_product, product_id)


def index_category_later(category_id: int) -> None:
    _later(index_category, category_id)


def index_article_later(article_id: int) -> None:
    _later(index_article, article_id)


def remove_product_later(product_id: int) -> None:
    _later(remove_product, product_id)


def remove_article_later(article_id: int) -> None:
    _later(remove_article, article_id)


def reindex(*, batch: int = 200) -> dict:
    """Rebuild the whole index from the catalogue, a batch of merchants at a time, then
    drop docs whose merchant has no app left and refresh popularity."""
    merchant_ids = sorted(set(MiniApp.objects.values_list("merchant_id", flat=True)))
    changed = 0
    for start in range(0, len(merchant_ids), batch):
        ids = merchant_ids[start : start + batch]
        changed += _apply(SearchDoc.objects.filter(merchant_id__in=ids), _merchant_docs(ids))
    orphans = SearchDoc.objects.exclude(merchant_id__in=merchant_ids).delete()[0]
    popularity_refresh()
    return {
        "merchants": len(merchant_ids),
        "changed": changed + orphans,
        "docs": SearchDoc.objects.count(),
    }
