import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from tapgo.catalog import services as catalog
from tapgo.catalog.models import Product
from tapgo.console.tests.conftest import paid_order, png_bytes


def _formset(rows=(), total=3):
    data = {
        "variants-TOTAL_FORMS": str(total),
        "variants-INITIAL_FORMS": "0",
        "variants-MIN_NUM_FORMS": "0",
        "variants-MAX_NUM_FORMS": "20",
    }
    for i, (name, price, stock) in enumerate(rows):
        data |= {
            f"variants-{i}-name": name,
            f"variants-{i}-price": price,
            f"variants-{i}-stock": stock,
        }
    return data


def _product_data(category, **extra):
    return (
        {
            "name": "Mocha",
            "category": category.public_id,
            "price": "26.50",
            "description": "Chocolate and espresso",
            "stock": "",
        }
        | _formset()
        | extra
    )


def test_menu_page(owner_client, merchant, product, sized_product):
    page = owner_client.get(reverse("console:menu", args=[merchant.public_id])).content.decode()
    assert "Coffee" in page and "Latte" in page and "Americano" in page
    assert "¥26.00" in page or "CN¥26.00" in page
    assert "Large" in page


def test_category_create_rename_move_delete(owner_client, merchant, category, product):
    m = merchant.public_id
    owner_client.post(reverse("console:category_new", args=[m]), {"name": "Tea"})
    tea = catalog.categories_of(merchant).get(name="Tea")
    owner_client.post(
        reverse("console:category_action", args=[m, tea.public_id, "rename"]), {"name": "Teas"}
    )
    owner_client.post(reverse("console:category_action", args=[m, tea.public_id, "up"]))
    assert [c.name for c in catalog.categories_of(merchant)] == ["Teas", "Coffee"]
    owner_client.post(reverse("console:category_action", args=[m, tea.public_id, "down"]))
    assert [c.name for c in catalog.categories_of(merchant)] == ["Coffee", "Teas"]
    # a category with products is not deleted: the service's rule, shown as a message
    response = owner_client.post(
        reverse("console:category_action", args=[m, category.public_id, "delete"]), follow=True
    )
    assert "Move or delete the products" in response.content.decode()
    assert catalog.categories_of(merchant).filter(pk=category.pk).exists()
    owner_client.post(reverse("console:category_action", args=[m, tea.public_id, "delete"]))
    assert not catalog.categories_of(merchant).filter(name="Teas").exists()
    # empty names change nothing
    response = owner_client.post(reverse("console:category_new", args=[m]), {"name": " "})
    assert catalog.categories_of(merchant).count() == 1
    unknown = reverse("console:category_action", args=[m, category.public_id, "explode"])
    assert owner_client.post(unknown).status_code == 404


def test_create_product_with_variants_and_image(owner_client, merchant, category):
    url = reverse("console:product_new", args=[merchant.public_id])
    page = owner_client.get(url)
    assert page.status_code == 200
    data = _product_data(
        category,
        image=SimpleUploadedFile("mocha.png", png_bytes((800, 600)), "image/png"),
        **_formset([("Regular", "26", "10"), ("Large", "30.5", "")]),
    )
    response = owner_client.post(url, data)
    assert response.status_code == 302, response.content.decode()
    product = Product.objects.get(name="Mocha")
    assert product.price == 2650
    assert product.stock is None
    assert product.image.endswith(".webp")
    variants = [(v.name, v.price, v.stock) for v in product.variants.order_by("position")]
    assert variants == [("Regular", 2600, 10), ("Large", 3050, None)]


def test_edit_product_keeps_and_removes_variants(owner_client, merchant, sized_product):
    url = reverse("console:product", args=[merchant.public_id, sized_product.public_id])
    page = owner_client.get(url).content.decode()
    assert 'value="18.00"' in page and 'value="22.00"' in page
    data = _product_data(
        sized_product.category, name="Americano", price="18", stock="5"
    ) | _formset([("Regular", "19", "5"), ("", "", "")])
    response = owner_client.post(url, data)
    assert response.status_code == 302
    sized_product.refresh_from_db()
    assert sized_product.stock == 5
    assert [(v.name, v.price) for v in sized_product.variants.all()] == [("Regular", 1900)]


@pytest.mark.parametrize(
    "price",
    ["-5", "0", "0.00", "abc", "", "1e9", "NaN", "26.505", "99999999999", "1000001", "12,34,5"],
)
def test_bad_prices_are_refused_and_change_nothing(owner_client, merchant, product, price):
    url = reverse("console:product", args=[merchant.public_id, product.public_id])
    response = owner_client.post(url, _product_data(product.category, name="Changed", price=price))
    assert response.status_code == 200
    assert "errorlist" in response.content.decode()
    product.refresh_from_db()
    assert (product.name, product.price) == ("Latte", 2600)
    new = owner_client.post(
        reverse("console:product_new", args=[merchant.public_id]),
        _product_data(product.category, price=price),
    )
    assert new.status_code == 200
    assert not Product.objects.filter(name="Mocha").exists()


@pytest.mark.parametrize(
    "rows, message",
    [
        ([("Large", "", "")], "Give this option a price"),
        ([("", "12", "")], "Give this option a name"),
        ([("Large", "-1", "")], "more than zero"),
        ([("Large", "12", "-3")], "greater than or equal to 0"),
        ([("Large", "12", ""), ("Large", "13", "")], "different name"),
    ],
)
def test_bad_variants_are_refused(owner_client, merchant, category, rows, message):
    url = reverse("console:product_new", args=[merchant.public_id])
    response = owner_client.post(url, _product_data(category) | _formset(rows))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Product.objects.filter(name="Mocha").exists()


def test_broken_formset_or_foreign_category_is_a_form_error(
    owner_client, merchant, category, other_merchant
):
    url = reverse("console:product_new", args=[merchant.public_id])
    data = _product_data(category)
    del data["variants-TOTAL_FORMS"]
    assert owner_client.post(url, data).status_code == 200
    foreign = catalog.categories_of(other_merchant).get()
    response = owner_client.post(url, _product_data(foreign))
    assert "Select a valid choice" in response.content.decode()
    assert not Product.objects.filter(name="Mocha").exists()


def test_product_image_must_be_an_image(owner_client, merchant, product):
    url = reverse("console:product", args=[merchant.public_id, product.public_id])
    fake = SimpleUploadedFile("x.png", b"GIF89a but not really", "image/png")
    response = owner_client.post(url, _product_data(product.category, name="New", image=fake))
    assert "not an image we can read" in response.content.decode()
    product.refresh_from_db()
    assert product.name == "Latte" and product.image == ""


def test_product_sold_out_toggle_and_delete(owner_client, merchant, app, product, sized_product):
    m = merchant.public_id
    owner_client.post(
        reverse("console:product_action", args=[m, product.public_id, "available"]),
        {"available": "0"},
    )
    product.refresh_from_db()
    assert not product.available
    owner_client.post(
        reverse("console:product_action", args=[m, product.public_id, "available"]),
        {"available": "1"},
    )
    product.refresh_from_db()
    assert product.available
    # ordered before: hidden, not deleted
    paid_order(app, product)
    response = owner_client.post(
        reverse("console:product_action", args=[m, product.public_id, "delete"]), follow=True
    )
    assert "hidden" in response.content.decode()
    product.refresh_from_db()
    assert not product.available
    owner_client.post(
        reverse("console:product_action", args=[m, sized_product.public_id, "delete"])
    )
    assert not Product.objects.filter(pk=sized_product.pk).exists()


def test_new_product_without_categories_redirects_to_menu(owner_client, merchant):
    url = reverse("console:product_new", args=[merchant.public_id])
    response = owner_client.get(url)
    assert response["Location"] == reverse("console:menu", args=[merchant.public_id])
