"""The merchant gives names and descriptions in each shipped language: the default one is
required, the others optional, each beside it in the catalogue's forms."""

from django.urls import reverse

from tapgo.catalog.models import Category, Product
from tapgo.console.tests.test_catalog import _formset, _product_data
from tapgo.merchants.models import Merchant


def test_the_product_form_has_a_field_per_other_language(owner_client, merchant, category):
    html = owner_client.get(reverse("console:product_new", args=[merchant.public_id])).text
    assert 'name="name__zh-hans"' in html and 'name="description__zh-hans"' in html
    assert 'name="variants-0-name__zh-hans"' in html
    assert 'name="name__en"' not in html  # English is this merchant's default: the plain field
    assert 'lang="zh-hans"' in html


def test_a_product_saved_with_chinese_texts(owner_client, merchant, category):
    data = _product_data(
        category,
        **{"name__zh-hans": " 摩卡 ", "description__zh-hans": "巧克力和浓缩咖啡"},
    ) | _formset([("Large", "30", "")])
    data["variants-0-name__zh-hans"] = "大杯"
    response = owner_client.post(reverse("console:product_new", args=[merchant.public_id]), data)
    assert response.status_code == 302
    product = Product.objects.get(name="Mocha")
    assert product.translations == {"zh-hans": {"name": "摩卡", "description": "巧克力和浓缩咖啡"}}
    assert product.variants.get().translations == {"zh-hans": {"name": "大杯"}}
    # The edit form shows them again, and clearing one removes it.
    url = reverse("console:product", args=[merchant.public_id, product.public_id])
    html = owner_client.get(url).text
    assert 'value="摩卡"' in html and 'value="大杯"' in html
    data["description__zh-hans"] = ""
    data["variants-0-name__zh-hans"] = ""
    assert owner_client.post(url, data).status_code == 302
    product.refresh_from_db()
    assert product.translations == {"zh-hans": {"name": "摩卡"}}
    assert product.variants.get().translations == {}


def test_the_default_language_name_stays_required(owner_client, merchant, category):
    data = _product_data(category, name="", **{"name__zh-hans": "摩卡"})
    response = owner_client.post(reverse("console:product_new", args=[merchant.public_id]), data)
    assert response.status_code == 200
    assert not Product.objects.exists()


def test_a_too_long_translation_is_refused(owner_client, merchant, category):
    data = _product_data(category, **{"name__zh-hans": "长" * 81})
    response = owner_client.post(reverse("console:product_new", args=[merchant.public_id]), data)
    assert response.status_code == 200
    assert not Product.objects.exists()


def test_categories_get_their_chinese_names(owner_client, merchant):
    url = reverse("console:category_new", args=[merchant.public_id])
    owner_client.post(url, {"name": "Coffee", "name__zh-hans": "咖啡"})
    category = Category.objects.get()
    assert category.translations == {"zh-hans": {"name": "咖啡"}}
    rename = reverse(
        "console:category_action", args=[merchant.public_id, category.public_id, "rename"]
    )
    owner_client.post(rename, {"name": "Coffees", "name__zh-hans": "咖啡类"})
    category.refresh_from_db()
    assert (category.name, category.translations) == ("Coffees", {"zh-hans": {"name": "咖啡类"}})
    html = owner_client.get(reverse("console:menu", args=[merchant.public_id])).text
    assert 'value="咖啡类"' in html


def test_the_app_form_takes_chinese_texts(owner_client, merchant, app):
    url = reverse("console:app", args=[merchant.public_id, app.public_id])
    data = {
        "name": app.name,
        "slug": app.slug,
        "description": "Coffee",
        "brand_color": "#0f766e",
        "name__zh-hans": "测试咖啡",
        "description__zh-hans": "咖啡",
    }
    assert owner_client.post(url, data).status_code == 302
    app.refresh_from_db()
    assert app.translations == {"zh-hans": {"name": "测试咖啡", "description": "咖啡"}}


def test_a_new_merchant_chooses_its_default_language(client, owner):
    client.force_login(owner)
    data = {"name": "茶语", "time_zone": "Asia/Shanghai", "currency": "CNY", "language": "zh-hans"}
    client.post(reverse("console:merchant_new"), data)
    assert Merchant.objects.get(name="茶语").language == "zh-hans"
    html = client.get(reverse("console:merchant_new")).text
    assert 'name="language"' in html


def test_a_chinese_default_merchant_gets_english_fields(client, owner):
    from tapgo.catalog.services import category_create
    from tapgo.merchants.services import merchant_create

    merchant = merchant_create(owner=owner, name="茶语", language="zh-hans")
    category_create(merchant=merchant, name="奶茶")
    client.force_login(owner)
    html = client.get(reverse("console:product_new", args=[merchant.public_id])).text
    assert 'name="name__en"' in html and 'name="name__zh-hans"' not in html
