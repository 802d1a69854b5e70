"""Search through a real browser: the box on the home page, a Chinese query, the results
page, a result opened; the visit it makes records the door `search`. Then "use my location"
(a granted, fixed position) shows the distance. No page may log an error or break its CSP."""

from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect
from tests.browser.watch import CSP_REPORTER

from tapgo.catalog import services as catalog
from tapgo.flows import listings
from tapgo.identity.services import staff_user_create
from tapgo.merchants import services as merchants
from tapgo.miniapps.models import Visit


def shop(n: int, name: str, slug: str, products: list[str], lat: str, lng: str):
    owner = staff_user_create(email=f"owner{n}@search.test", password="correct horse battery")
    merchant = merchants.merchant_create(
        owner=owner, name=name, latitude=Decimal(lat), longitude=Decimal(lng)
    )
    app = listings.app_create(merchant=merchant, name=name, slug=slug)
    listings.app_set_published(app=app, published=True)
    category = catalog.category_create(merchant=merchant, name="咖啡")
    made = [
        listings.product_create(merchant=merchant, category=category, name=p, price=2800)
        for p in products
    ]
    return app, made


@pytest.mark.django_db(transaction=True)
def test_search_from_home_opens_a_result_with_the_search_scene(live_server, page: Page):
    # transaction=True: the services' after-commit index calls run as in production
    cafe, (oat_latte, _) = shop(
        1, "海港咖啡 Harbour Café", "harbour-cafe", ["燕麦拿铁", "美式咖啡"], "31.2304", "121.4737"
    )
    shop(2, "街角面包房", "corner-bakery", ["菠萝包"], "31.2280", "121.4700")
    problems: list[str] = []
    page.on("console", lambda msg: msg.type == "error" and problems.append(msg.text))
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.add_init_script(CSP_REPORTER)

    page.goto(live_server.url + "/")
    box = page.get_by_test_id("search-input")
    box.fill("拿铁")
    page.get_by_test_id("search-submit").click()
    page.wait_for_url("**/search?q=*")
    assert "lat=" not in page.url  # empty location fields are not sent
    hits = page.get_by_test_id("search-hit")
    expect(hits.first).to_contain_text("燕麦拿铁")
    expect(hits.first).to_contain_text("海港咖啡 Harbour Café")
    expect(page.get_by_text("菠萝包")).to_have_count(0)
    assert Visit.objects.count() == 0

    hits.first.click()
    page.wait_for_load_state()
    assert f"/m/harbour-cafe/p/{oat_latte.public_id}/" in page.url or "/m/harbour-cafe/" in page.url
    expect(page.get_by_text("燕麦拿铁").first).to_be_visible()
    visit = Visit.objects.get()
    assert (visit.scene, visit.app_id) == ("search", cafe.pk)

    assert problems == []


@pytest.mark.django_db(transaction=True)
def test_use_my_location_ranks_and_shows_distance(live_server, page: Page, context):
    shop(1, "北店 North", "north-shop", ["青团"], "31.2350", "121.4600")
    shop(2, "南店 South", "south-shop", ["青团"], "31.2100", "121.4700")
    context.grant_permissions(["geolocation"], origin=live_server.url)
    context.set_geolocation({"latitude": 31.2101, "longitude": 121.4701})
    problems: list[str] = []
    page.on("console", lambda msg: msg.type == "error" and problems.append(msg.text))
    page.add_init_script(CSP_REPORTER)

    page.goto(live_server.url + "/")
    page.get_by_test_id("search-input").fill("青团")
    locate = page.locator("[data-locate]")
    expect(locate).to_be_visible()  # shown only where the browser can locate
    locate.click()
    page.wait_for_url("**/search?*lat=31.210*")
    hits = page.get_by_test_id("search-hit")
    expect(hits).to_have_count(2)
    expect(hits.first).to_contain_text("南店 South")
    expect(hits.first.get_by_test_id("hit-distance")).to_have_text("10 m")
    expect(hits.nth(1).get_by_test_id("hit-distance")).to_have_text("2.9 km")
    assert problems == []
