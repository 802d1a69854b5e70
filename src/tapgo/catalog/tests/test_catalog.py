"""The catalogue: validation, variants, stock, tenancy."""

import pytest
from django.http import Http404

from tapgo.catalog import services
from tapgo.catalog.models import Category, Product, Variant
from tapgo.catalog.services import CatalogError, OutOfStock, VariantInput
from tapgo.core.money import MAX_AMOUNT
from tapgo.flows import listings
from tapgo.merchants.models import Merchant


def version(merchant):
    return Merchant.objects.values_list("catalog_version", flat=True).get(pk=merchant.pk)


def create(merchant, category, **kwargs):
    return listings.product_create(
        merchant=merchant, category=category, **{"name": "Mocha", "price": 3000, **kwargs}
    )


def test_categories(merchant):
    v = version(merchant)
    first = services.category_create(merchant=merchant, name=" Coffee ")
    second = services.category_create(merchant=merchant, name="Tea")
    assert (first.name, first.position, second.position) == ("Coffee", 0, 1)
    assert version(merchant) == v + 2

    services.category_move(category=second, direction=-1)
    assert list(services.categories_of(merchant)) == [second, first]
    services.category_move(category=second, direction=-1)  # already first: nothing
    assert list(services.categories_of(merchant)) == [second, first]

    listings.category_rename(category=first, name="Hot drinks")
    assert Category.objects.get(pk=first.pk).name == "Hot drinks"
    with pytest.raises(CatalogError):
        listings.category_rename(category=first, name="  ")
    with pytest.raises(CatalogError):
        services.category_create(merchant=merchant, name="x" * 61)


def test_a_category_with_products_is_not_deleted(merchant, category, product):
    with pytest.raises(CatalogError):
        services.category_delete(category=category)
    assert Category.objects.filter(pk=category.pk).exists()
    empty = services.category_create(merchant=merchant, name="Empty")
    services.category_delete(category=empty)
    assert not Category.objects.filter(pk=empty.pk).exists()


@pytest.mark.parametrize(
    "kwargs",
    [
        {"name": ""},
        {"name": "   "},
        {"name": "x" * 81},
        {"price": 0},
        {"price": -1},
        {"price": MAX_AMOUNT + 1},
        {"price": 10**12},
        {"price": 12.5},
        {"price": 30.0},
        {"price": "3000"},
        {"price": None},
        {"price": True},
        {"stock": -1},
        {"stock": services.MAX_STOCK + 1},
        {"variants": [VariantInput("Small", 0)]},
        {"variants": [VariantInput("Small", 100), VariantInput("Small", 200)]},
        {"variants": [VariantInput("", 100)]},
        {"variants": [VariantInput("Small", 100, -5)]},
        {"variants": [VariantInput("Small", 1.5)]},
    ],
)
def test_bad_product_input_is_refused_and_changes_nothing(merchant, category, kwargs):
    v = version(merchant)
    with pytest.raises(CatalogError):
        create(merchant, category, **kwargs)
    assert not Product.objects.exists()
    assert not Variant.objects.exists()
    assert version(merchant) == v


@pytest.mark.parametrize("price", [1, 2600, MAX_AMOUNT])
def test_good_prices(merchant, category, price):
    assert create(merchant, category, price=price).price == price


def test_variants_are_kept_replaced_and_removed(merchant, category):
    product = create(
        merchant,
        category,
        variants=[VariantInput("Small", 2000, 3), VariantInput("Large", 2600)],
    )
    small = product.variants.get(name="Small")
    listings.product_update(
        product=product,
        category=category,
        name="Mocha",
        price=3000,
        description="",
        stock=None,
        variants=[VariantInput("Medium", 2300), VariantInput("Small", 2100, 4)],
    )
    variants = list(Variant.objects.filter(product=product).order_by("position"))
    assert [(v.name, v.price, v.stock) for v in variants] == [
        ("Medium", 2300, None),
        ("Small", 2100, 4),
    ]
    assert variants[1].pk == small.pk  # kept, so its id in carts stays valid
    assert all(v.merchant_id == merchant.pk for v in variants)


def test_product_update_refuses_bad_input(merchant, category, product):
    with pytest.raises(CatalogError):
        listings.product_update(
            product=product, category=category, name="Latte", price=0, description="", stock=1
        )
    assert Product.objects.get(pk=product.pk).price == 2600


def test_stock_take_and_release(product, sized_product):
    services.stock_take(product_id=product.pk, variant_id=None, quantity=20)
    with pytest.raises(OutOfStock):
        services.stock_take(product_id=product.pk, variant_id=None, quantity=1)
    assert Product.objects.get(pk=product.pk).stock == 0
    services.stock_release(product_id=product.pk, variant_id=None, quantity=2)
    assert Product.objects.get(pk=product.pk).stock == 2

    large = sized_product.variants.get(name="Large")
    with pytest.raises(OutOfStock):
        services.stock_take(product_id=sized_product.pk, variant_id=large.pk, quantity=6)
    services.stock_take(product_id=sized_product.pk, variant_id=large.pk, quantity=5)
    assert Variant.objects.get(pk=large.pk).stock == 0


def test_uncounted_stock(merchant, category):
    tea = create(merchant, category, stock=None)
    services.stock_take(product_id=tea.pk, variant_id=None, quantity=99)
    services.stock_release(product_id=tea.pk, variant_id=None, quantity=99)
    assert Product.objects.get(pk=tea.pk).stock is None


def test_delete_hides_a_product_that_was_ordered(merchant, category, order, product):
    listings.product_delete(product=product)
    assert Product.objects.get(pk=product.pk).available is False
    fresh = create(merchant, category)
    listings.product_delete(product=fresh)
    assert not Product.objects.filter(pk=fresh.pk).exists()


def test_menu_lists_categories_with_products(merchant, category, product, sized_product):
    services.category_create(merchant=merchant, name="Empty")
    with_queries = services.menu_for(merchant)
    assert [c.name for c in with_queries] == ["Coffee"]
    assert [p.name for p in with_queries[0].menu_products] == ["Latte", "Americano"]


def test_menu_in_three_queries(merchant, product, sized_product, django_assert_num_queries):
    with django_assert_num_queries(3):
        menu = services.menu_for(merchant)
        for category in menu:
            for item in category.menu_products:
                list(item.variants.all())


# --- tenancy ------------------------------------------------------------------------------


def test_another_merchants_catalogue_answers_404(merchant, category, product, other_merchant):
    bread = Product.objects.for_merchant(other_merchant).get()
    assert services.access_product(merchant=merchant, public_id=product.public_id) == product
    assert services.access_category(merchant=merchant, public_id=category.public_id) == category
    with pytest.raises(Http404):
        services.access_product(merchant=merchant, public_id=bread.public_id)
    with pytest.raises(Http404):
        services.access_category(merchant=merchant, public_id=bread.category.public_id)
    with pytest.raises(Http404):
        services.access_product(merchant=other_merchant, public_id=product.public_id)
    # Filing a product under another merchant's category is refused the same way.
    with pytest.raises(Http404):
        create(merchant, bread.category)
    with pytest.raises(Http404):
        listings.product_update(
            product=product,
            category=bread.category,
            name="Latte",
            price=2600,
            description="",
            stock=20,
        )
    assert list(services.products_of(other_merchant)) == [bread]
    assert product not in services.products_of(other_merchant)
