"""A customer whose browser speaks Chinese, at a café whose menu is in English with Chinese
translations: the menu, the search (拿铁 finds the latte), the product page and the cart are
in Chinese. No page may log an error or break its CSP."""

import pytest
from playwright.sync_api import Browser, expect
from tests.browser.watch import CSP_REPORTER

from tapgo.catalog import services as catalog
from tapgo.flows import listings
from tapgo.identity.services import staff_user_create
from tapgo.merchants import services as merchants


def bilingual_cafe():
    owner = staff_user_create(email="owner@lang.test", password="correct horse battery")
    merchant = merchants.merchant_create(owner=owner, name="Harbour Café", language="en")
    app = listings.app_create(
        merchant=merchant,
        name="Harbour Café",
        slug="harbour-cafe",
        translations={"zh-hans": {"name": "港湾咖啡", "description": "海边的咖啡。"}},
    )
    listings.app_set_published(app=app, published=True)
    coffee = catalog.category_create(
        merchant=merchant, name="Coffee", translations={"zh-hans": {"name": "咖啡"}}
    )
    food = catalog.category_create(
        merchant=merchant, name="Food", translations={"zh-hans": {"name": "轻食"}}
    )
    latte = listings.product_create(
        merchant=merchant,
        category=coffee,
        name="Latte",
        price=2600,
        description="Espresso and steamed milk.",
        variants=[
            catalog.VariantInput("Regular", 2600, translations={"zh-hans": {"name": "中杯"}}),
            catalog.VariantInput("Large", 3000, translations={"zh-hans": {"name": "大杯"}}),
        ],
        translations={"zh-hans": {"name": "拿铁", "description": "浓缩咖啡和蒸汽牛奶。"}},
    )
    listings.product_create(
        merchant=merchant,
        category=food,
        name="Croissant",
        price=1500,
        translations={"zh-hans": {"name": "牛角面包"}},
    )
    return app, latte


@pytest.mark.django_db(transaction=True)
def test_a_chinese_customer_reads_chinese_and_finds_the_latte(live_server, browser: Browser):
    # transaction=True: the services' after-commit index calls run as in production
    app, latte = bilingual_cafe()
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda msg: msg.type == "error" and problems.append(msg.text))
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.add_init_script(CSP_REPORTER)

    page.goto(f"{live_server.url}/m/{app.slug}/")
    products = page.get_by_test_id("product")
    expect(products.first).to_contain_text("拿铁")
    expect(products.first).to_contain_text("浓缩咖啡和蒸汽牛奶。")
    expect(products.nth(1)).to_contain_text("牛角面包")
    expect(page.locator("h1").first).to_have_text("港湾咖啡")
    expect(page.get_by_text("Latte", exact=True)).to_have_count(0)

    page.goto(live_server.url + "/")
    page.get_by_test_id("search-input").fill("拿铁")
    page.get_by_test_id("search-submit").click()
    page.wait_for_url("**/search?q=*")
    hits = page.get_by_test_id("search-hit")
    expect(hits).to_have_count(1)
    expect(hits.first).to_contain_text("拿铁")
    expect(hits.first).to_contain_text("港湾咖啡")

    hits.first.click()
    page.wait_for_load_state()
    assert f"/m/{app.slug}/p/{latte.public_id}/" in page.url
    expect(page.locator("h1").last).to_have_text("拿铁")
    page.get_by_text("大杯").click()
    page.get_by_test_id("add-to-cart").click()
    page.wait_for_load_state()
    page.goto(f"{live_server.url}/m/{app.slug}/cart/")
    expect(page.locator(".line-name").first).to_have_text("拿铁（大杯）")

    assert problems == []
    context.close()
