"""The catalogue: categories, products, variants and stock."""

from dataclasses import dataclass

from django.db import transaction
from django.db.models import F, Prefetch, ProtectedError
from django.http import Http404
from django.utils.translation import gettext as _

from tapgo.catalog.locks import lock_categories
from tapgo.catalog.models import Category, Product, Variant
from tapgo.core import translations as texts
from tapgo.core.ids import is_public_id
from tapgo.core.money import MAX_AMOUNT
from tapgo.merchants.models import Merchant

MAX_STOCK = 1_000_000
# At or below this many left, customers see how many ("3 left"); at 0, "Sold out".
LOW_STOCK = 5


class CatalogError(ValueError):
    pass


class OutOfStock(CatalogError):
    """Too little left: `left` is how many there were (0: sold out)."""

    def __init__(self, message: str, *, left: int = 0):
        super().__init__(message)
        self.left = left


def _bump(merchant: Merchant) -> None:
    Merchant.objects.filter(pk=merchant.pk).update(catalog_version=F("catalog_version") + 1)


def _check_name(name: str, limit: int) -> str:
    name = name.strip()
    if not name:
        raise CatalogError(_("The name cannot be empty."))
    if len(name) > limit:
        raise CatalogError(_("The name is too long (at most %(n)d characters).") % {"n": limit})
    return name


def _check_price(price: int) -> int:
    if not isinstance(price, int) or isinstance(price, bool):
        raise CatalogError(_("The price must be a whole number of minor units."))
    if price <= 0:
        raise CatalogError(_("The price must be more than zero."))
    if price > MAX_AMOUNT:
        raise CatalogError(_("That price is too high."))
    return price


def _check_stock(stock: int | None) -> int | None:
    if stock is not None and not 0 <= stock <= MAX_STOCK:
        raise CatalogError(_("Stock must be between 0 and %(n)d.") % {"n": MAX_STOCK})
    return stock


Translations = dict[str, dict[str, str]]  # {language: {"name": …, "description": …}}


def _check_translations(
    merchant: Merchant, given: Translations | None, name_limit: int, description_limit: int = 0
) -> Translations:
    """The names (and descriptions) in the merchant's other languages, checked like the
    default ones; those left empty are simply not given (the default is shown)."""
    fields = {"name": name_limit}
    if description_limit:
        fields["description"] = description_limit

    def check(field: str, value: str, limit: int) -> str:
        return _check_name(value, limit) if field == "name" else value[:limit]

    return texts.clean(given, default_language=merchant.language, fields=fields, check=check)


# --- categories ---------------------------------------------------------------------------


def categories_of(merchant: Merchant):
    return Category.objects.for_merchant(merchant)


def access_category(*, merchant: Merchant, public_id: str) -> Category:
    if not is_public_id(public_id):
        raise Http404
    category = Category.objects.for_merchant(merchant).filter(public_id=public_id).first()
    if category is None:
        raise Http404
    return category


@transaction.atomic
def category_create(
    *, merchant: Merchant, name: str, translations: Translations | None = None
) -> Category:
    name = _check_name(name, 60)
    last = Category.objects.for_merchant(merchant).order_by("-position").first()
    category = Category.objects.create(
        merchant=merchant,
        name=name,
        translations=_check_translations(merchant, translations, 60),
        position=(last.position + 1) if last else 0,
    )
    _bump(merchant)
    return category


@transaction.atomic
def category_rename(
    *, category: Category, name: str, translations: Translations | None = None
) -> None:
    """Rename a category; `translations` None keeps its other languages' names as they are."""
    fields: dict = {"name": _check_name(name, 60)}
    if translations is not None:
        fields["translations"] = _check_translations(category.merchant, translations, 60)
    Category.objects.filter(pk=category.pk).update(**fields)
    _bump(category.merchant)


@transaction.atomic
def category_move(*, category: Category, direction: int) -> None:
    """Swap a category with its neighbour above (-1) or below (+1)."""
    siblings = lock_categories(category.merchant)
    index = next(i for i, c in enumerate(siblings) if c.pk == category.pk)
    other = index + (1 if direction > 0 else -1)
    if not 0 <= other < len(siblings):
        return
    siblings[index], siblings[other] = siblings[other], siblings[index]
    for position, item in enumerate(siblings):
        if item.position != position:
            Category.objects.filter(pk=item.pk).update(position=position)
    _bump(category.merchant)


@transaction.atomic
def category_delete(*, category: Category) -> None:
    if Product.objects.filter(category=category).exists():
        raise CatalogError(_("Move or delete the products of this category first."))
    Category.objects.filter(pk=category.pk).delete()
    _bump(category.merchant)


# --- products -----------------------------------------------------------------------------


@dataclass(frozen=True)
class VariantInput:
    name: str
    price: int
    stock: int | None = None
    translations: Translations | None = None  # {language: {"name": …}}


def access_product(*, merchant: Merchant, public_id: str) -> Product:
    if not is_public_id(public_id):
        raise Http404
    product = (
        Product.objects.for_merchant(merchant)
        .select_related("category")
        .filter(public_id=public_id)
        .first()
    )
    if product is None:
        raise Http404
    return product


def products_of(merchant: Merchant):
    return (
        Product.objects.for_merchant(merchant)
        .select_related("category")
        .prefetch_related("variants")
        .order_by("category__position", "position", "id")
    )


def _save_variants(product: Product, variants: list[VariantInput]) -> None:
    merchant = product.merchant
    names = [_check_name(v.name, 40) for v in variants]
    if len(set(names)) != len(names):
        raise CatalogError(_("Each variant needs a different name."))
    existing = {v.name: v for v in Variant.objects.filter(product=product)}
    keep = []
    for position, (name, item) in enumerate(zip(names, variants, strict=True)):
        fields: dict[str, object] = {
            "price": _check_price(item.price),
            "stock": _check_stock(item.stock),
            "position": position,
        }
        if item.translations is not None or name not in existing:
            fields["translations"] = _check_translations(merchant, item.translations, 40)
        if name in existing:
            Variant.objects.filter(pk=existing[name].pk).update(**fields)
            keep.append(existing[name].pk)
        else:
            keep.append(
                Variant.objects.create(
                    merchant_id=product.merchant_id, product=product, name=name, **fields
                ).pk
            )
    Variant.objects.filter(product=product).exclude(pk__in=keep).delete()


@transaction.atomic
def product_create(
    *,
    merchant: Merchant,
    category: Category,
    name: str,
    price: int,
    description: str = "",
    stock: int | None = None,
    image: str = "",
    variants: list[VariantInput] | None = None,
    translations: Translations | None = None,
) -> Product:
    if category.merchant_id != merchant.pk:
        raise Http404
    last = Product.objects.filter(category=category).order_by("-position").first()
    product = Product.objects.create(
        merchant=merchant,
        category=category,
        name=_check_name(name, 80),
        description=description.strip()[:500],
        price=_check_price(price),
        stock=_check_stock(stock),
        image=image,
        translations=_check_translations(merchant, translations, 80, 500),
        position=(last.position + 1) if last else 0,
    )
    if variants:
        _save_variants(product, variants)
    _bump(merchant)
    return product


@transaction.atomic
def product_update(
    *,
    product: Product,
    category: Category,
    name: str,
    price: int,
    description: str,
    stock: int | None,
    image: str | None = None,
    variants: list[VariantInput] | None = None,
    translations: Translations | None = None,
) -> Product:
    """Edit a product; `translations` None keeps its other languages' texts as they are."""
    if category.merchant_id != product.merchant_id:
        raise Http404
    fields: dict = {
        "category": category,
        "name": _check_name(name, 80),
        "price": _check_price(price),
        "description": description.strip()[:500],
        "stock": _check_stock(stock),
    }
    if image is not None:
        fields["image"] = image
    if translations is not None:
        fields["translations"] = _check_translations(product.merchant, translations, 80, 500)
    Product.objects.filter(pk=product.pk).update(**fields)
    _save_variants(product, variants or [])
    _bump(product.merchant)
    product.refresh_from_db()
    return product


@transaction.atomic
def product_set_available(*, product: Product, available: bool) -> None:
    Product.objects.filter(pk=product.pk).update(available=available)
    _bump(product.merchant)


@transaction.atomic
def product_delete(*, product: Product) -> bool:
    """Delete a product; True if deleted, False if it was only hidden (something that must
    keep pointing at it does: an order line records what was sold)."""
    try:
        with transaction.atomic():
            Product.objects.filter(pk=product.pk).delete()
        deleted = True
    except ProtectedError:
        Product.objects.filter(pk=product.pk).update(available=False)
        deleted = False
    _bump(product.merchant)
    return deleted


# --- stock (called by ordering inside its transaction) -----------------------------------
#
# The menu shows what is left at or below LOW_STOCK ("3 left", "Sold out"), and the menu is
# cached by the catalogue's version (shell/page.py): a change of stock that changes what the
# menu shows bumps the version, one that does not (plenty left before and after) does not.
# The bump runs once the transaction has committed, on its own: bumping inside it would lock
# the merchant's row between two stock rows of one checkout, and two checkouts could then
# wait on each other in a cycle. A crash in between leaves the menu stale for at most the
# menu cache's lifetime (MENU_CACHE_SECONDS); checkout still decides by the stock itself.


def _bump_after_commit(model, pk: int) -> None:
    merchant_id = model.objects.filter(pk=pk).values("merchant_id")
    transaction.on_commit(
        lambda: Merchant.objects.filter(pk__in=merchant_id).update(
            catalog_version=F("catalog_version") + 1
        ),
        robust=True,
    )


def stock_take(*, product_id: int, variant_id: int | None, quantity: int) -> None:
    """Take stock with one conditional UPDATE so the database, not Python, decides a race.

    Uncounted stock (NULL) always succeeds. Raises OutOfStock (with how many are left) when
    too little is left.
    """
    model, pk = (Variant, variant_id) if variant_id else (Product, product_id)
    rows = model.objects.filter(pk=pk)
    # Most takes leave plenty: one UPDATE, and the menu shows the same as before.
    if rows.filter(stock__gt=LOW_STOCK + quantity - 1).update(stock=F("stock") - quantity):
        return
    row = rows.values_list("stock").first()
    if row is not None and row[0] is None:
        return  # uncounted
    left: int = (row[0] or 0) if row is not None else 0
    if left >= quantity:
        if rows.filter(stock__gte=quantity).update(stock=F("stock") - quantity):
            _bump_after_commit(model, pk)  # now "n left" or "Sold out" on the menu
            return
        row = rows.values_list("stock").first()  # another checkout took it meanwhile
        left = (row[0] or 0) if row is not None else 0
    raise OutOfStock(_("Sorry, not enough left."), left=left)


def stock_release(*, product_id: int, variant_id: int | None, quantity: int) -> None:
    model, pk = (Variant, variant_id) if variant_id else (Product, product_id)
    rows = model.objects.filter(pk=pk, stock__isnull=False)
    if rows.filter(stock__gt=LOW_STOCK).update(stock=F("stock") + quantity):
        return
    if rows.update(stock=F("stock") + quantity):
        _bump_after_commit(model, pk)  # it showed "n left" or "Sold out"


def stock_shown(stock: int | None) -> int | None:
    """How many left a customer is told of: the stock at or below LOW_STOCK, else None
    (uncounted, or plenty)."""
    return stock if stock is not None and stock <= LOW_STOCK else None


def mark_stock(product: Product, variants: list[Variant]) -> None:
    """Set what the customer is told of stock on a product and its variants: `sold_out`
    (the product hidden, or nothing of it left in any option) and `left` (stock_shown) on
    each; a product with options is sold out when every option is."""
    for variant in variants:
        variant.left = stock_shown(variant.stock)
        variant.sold_out = variant.stock == 0
    if variants:
        product.left = None
        product.sold_out = not product.available or all(v.sold_out for v in variants)
    else:
        product.left = stock_shown(product.stock)
        product.sold_out = not product.available or product.stock == 0


# --- reads for the shell -----------------------------------------------------------------


def menu_for(merchant: Merchant) -> list[Category]:
    """Categories with their available products and variants, each marked with what is left
    (mark_stock): three queries in all."""
    products = Product.objects.order_by("position", "id").prefetch_related(
        Prefetch("variants", queryset=Variant.objects.order_by("position", "id"))
    )
    categories = Category.objects.for_merchant(merchant).prefetch_related(
        Prefetch("products", queryset=products, to_attr="menu_products")
    )
    menu = [c for c in categories if c.menu_products]
    for category in menu:
        for product in category.menu_products:
            mark_stock(product, list(product.variants.all()))
    return menu
