"""What customers find: a merchant's edits to itself, its apps, its catalogue and its
articles, each followed by the search index (discovery), and a new app's notification
templates switched on (messaging).

Each is the domain's own service, then the reaction, in the same transaction; the index is
brought up to date after commit (discovery.search `*_later`), so a failure there never
undoes the merchant's edit (the next edit, or `tapgo search reindex`, mends it).
"""

from django.db import transaction

from tapgo.catalog import services as catalog
from tapgo.catalog.models import Category, Product
from tapgo.discovery import search
from tapgo.merchants import services as merchants
from tapgo.merchants.models import Merchant
from tapgo.messaging import services as messaging
from tapgo.miniapps import services as miniapps
from tapgo.miniapps.models import MiniApp
from tapgo.official import services as official
from tapgo.official.models import Article

# --- merchants ------------------------------------------------------------------------------


@transaction.atomic
def merchant_update(*, merchant: Merchant, **fields) -> Merchant:
    merchant = merchants.merchant_update(merchant=merchant, **fields)
    search.index_merchant_later(merchant.pk)
    return merchant


@transaction.atomic
def merchant_set_active(*, merchant: Merchant, active: bool) -> None:
    merchants.merchant_set_active(merchant=merchant, active=active)
    search.index_merchant_later(merchant.pk)


# --- mini apps ------------------------------------------------------------------------------


@transaction.atomic
def app_create(*, merchant: Merchant, **fields) -> MiniApp:
    """A new app, with the notification templates the operator has on for new apps."""
    app = miniapps.app_create(merchant=merchant, **fields)
    messaging.app_templates_defaults(app)
    search.index_app_later(app.pk)
    return app


@transaction.atomic
def app_update(*, app: MiniApp, **fields) -> MiniApp:
    app = miniapps.app_update(app=app, **fields)
    search.index_app_later(app.pk)
    return app


@transaction.atomic
def app_set_published(*, app: MiniApp, published: bool) -> None:
    miniapps.app_set_published(app=app, published=published)
    search.index_app_later(app.pk)


# --- the catalogue --------------------------------------------------------------------------


@transaction.atomic
def category_rename(*, category: Category, name: str, translations: dict | None = None) -> None:
    catalog.category_rename(category=category, name=name, translations=translations)
    search.index_category_later(category.pk)


@transaction.atomic
def product_create(*, merchant: Merchant, **fields) -> Product:
    product = catalog.product_create(merchant=merchant, **fields)
    search.index_product_later(product.pk)
    return product


@transaction.atomic
def product_update(*, product: Product, **fields) -> Product:
    product = catalog.product_update(product=product, **fields)
    search.index_product_later(product.pk)
    return product


@transaction.atomic
def product_set_available(*, product: Product, available: bool) -> None:
    catalog.product_set_available(product=product, available=available)
    search.index_product_later(product.pk)


@transaction.atomic
def product_delete(*, product: Product) -> bool:
    deleted = catalog.product_delete(product=product)
    search.remove_product_later(product.pk)
    return deleted


# --- articles -------------------------------------------------------------------------------


@transaction.atomic
def article_create(*, merchant: Merchant, **fields) -> Article:
    article = official.article_create(merchant=merchant, **fields)
    search.index_article_later(article.pk)
    return article


@transaction.atomic
def article_update(*, article: Article, **fields) -> Article:
    article = official.article_update(article=article, **fields)
    search.index_article_later(article.pk)
    return article


@transaction.atomic
def article_set_published(*, article: Article, published: bool) -> Article:
    article = official.article_set_published(article=article, published=published)
    search.index_article_later(article.pk)
    return article


@transaction.atomic
def article_delete(*, article: Article) -> None:
    official.article_delete(article=article)
    search.remove_article_later(article.pk)
