"""The home page's doors in a real browser: mini apps near me (the browser's geolocation,
nearest first with distances, widening the search, scene `nearby`), and switching between
two mini apps through the recently used lists: back to the cart page left, with the item in
it, each switch recorded with scene `recent`; an app removed from the list is gone.

No page may log an error, throw, break its Content-Security-Policy or answer 4xx/5xx.
"""

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect
from tests.browser.watch import Watch

# Where the customer stands: a few steps from Harbour Café (the demo's corner of Shanghai).
HERE = {"latitude": 31.231, "longitude": 121.474}


def phone(browser, playwright, **extra):
    pixel_7 = dict(playwright.devices["Pixel 7"])
    pixel_7.pop("default_browser_type")
    return browser.new_context(**pixel_7, locale="en-US", **extra)


@pytest.fixture
def town(owner):
    """Demo-like businesses with stores: the café and the bakery round the corner (the demo's
    coordinates), a tea house 2 km away, and one across the city."""
    from tapgo.catalog.services import category_create
    from tapgo.flows import listings
    from tapgo.flows.listings import product_create
    from tapgo.merchants.services import merchant_create
    from tapgo.miniapps import services as miniapps

    apps = {}
    for slug, name, lat, lng in [
        ("harbour-cafe", "Harbour Café", "31.230416", "121.473701"),
        ("corner-bakery", "Corner Bakery", "31.228000", "121.470000"),
        ("riverside-tea", "Riverside Tea", "31.245000", "121.490000"),
        ("airport-noodles", "Airport Noodles", "31.150000", "121.800000"),
    ]:
        merchant = merchant_create(
            owner=owner, name=name, latitude=Decimal(lat), longitude=Decimal(lng)
        )
        app = listings.app_create(merchant=merchant, name=name, slug=slug)
        listings.app_set_published(app=app, published=True)
        miniapps.table_codes_create(app=app, labels=["1", "2"])
        category = category_create(merchant=merchant, name="Menu")
        product_create(merchant=merchant, category=category, name=f"{name} special", price=1800)
        apps[slug] = app
    return apps


def expected_labels(town, slugs):
    from tapgo.discovery.services import great_circle_m
    from tapgo.shell.views.home import distance_label

    labels = []
    for slug in slugs:
        store = town[slug].store
        metres = great_circle_m(
            HERE["latitude"], HERE["longitude"], float(store.latitude), float(store.longitude)
        )
        labels.append(distance_label(metres))
    return labels


@pytest.mark.django_db(transaction=True)
def test_mini_apps_near_me(live_server, browser, playwright, town):
    from tapgo.miniapps.models import Visit

    watch = Watch()
    context = phone(browser, playwright, geolocation=HERE, permissions=["geolocation"])
    c = watch.page(context)
    c.goto(live_server.url + "/")
    c.get_by_test_id("near-me").click()
    expect(c).to_have_url(re.compile(r"/nearby/\?lat=31\.231000&lng=121\.474000$"))
    rows = c.get_by_test_id("nearby-app")
    expect(rows).to_have_count(2)
    expect(rows.locator("strong")).to_have_text(["Harbour Café", "Corner Bakery"])
    expect(rows.get_by_test_id("distance")).to_have_text(
        expected_labels(town, ["harbour-cafe", "corner-bakery"])
    )
    assert re.fullmatch(r"\d+ m", rows.get_by_test_id("distance").first.inner_text())
    expect(c.get_by_test_id("nearby-radius")).to_contain_text("1 km")

    # Widening the search adds the tea house, 2 km away, in its place.
    c.get_by_test_id("widen").click()
    expect(c).to_have_url(re.compile(r"&r=3$"))
    expect(rows.locator("strong")).to_have_text(["Harbour Café", "Corner Bakery", "Riverside Tea"])
    expect(rows.get_by_test_id("distance").nth(2)).to_have_text(
        expected_labels(town, ["riverside-tea"])[0]
    )
    assert re.fullmatch(r"\d\.\d km", rows.get_by_test_id("distance").nth(2).inner_text())

    # Opening one records the door it came through.
    rows.filter(has_text="Corner Bakery").click()
    expect(c.locator("h1")).to_have_text("Corner Bakery")
    visit = Visit.objects.get()
    assert (visit.app.slug, visit.scene) == ("corner-bakery", "nearby")
    context.close()
    assert watch.problems == []


@pytest.mark.django_db(transaction=True)
def test_switching_back_to_the_cart_left_and_removing_from_recents(
    live_server, browser, playwright, town
):
    from tapgo.miniapps.models import EntryCode, Visit

    watch = Watch()
    url = live_server.url
    cafe, bakery = town["harbour-cafe"], town["corner-bakery"]
    context = phone(browser, playwright)
    c = watch.page(context)

    # The bakery was visited earlier (its table code), then the café's table 2 is scanned.
    bakery_code = EntryCode.objects.get(app=bakery, kind="table", table_label="1").code
    c.goto(f"{url}/s/{bakery_code}")
    expect(c.locator("h1")).to_have_text("Corner Bakery")
    cafe_code = EntryCode.objects.get(app=cafe, kind="table", table_label="2").code
    c.goto(f"{url}/s/{cafe_code}")
    expect(c.locator("h1")).to_have_text("Harbour Café")
    c.get_by_role("button", name="Add Harbour Café special").click()
    expect(c.locator("#cart-count")).to_have_text("1")
    c.get_by_test_id("cart-link").click()
    expect(c).to_have_url(f"{url}/m/harbour-cafe/cart/")
    expect(c.get_by_test_id("cart-line")).to_have_count(1)

    # Home, then the bakery from the recently used list.
    c.locator("summary[aria-label=Menu]").click()
    c.get_by_role("link", name="Home", exact=True).click()
    expect(c).to_have_url(f"{url}/")
    recent = c.get_by_test_id("recent-app")
    expect(recent.locator("strong")).to_have_text(["Harbour Café", "Corner Bakery"])
    recent.filter(has_text="Corner Bakery").get_by_role("link").click()
    expect(c.locator("h1")).to_have_text("Corner Bakery")

    # The bakery's menu switches back to the café in one tap: its cart page, item and all.
    c.locator("summary[aria-label=Menu]").click()
    c.get_by_test_id("switch").filter(has_text="Harbour Café").click()
    expect(c).to_have_url(f"{url}/m/harbour-cafe/cart/?scene=recent")
    expect(c.get_by_test_id("cart-line")).to_have_count(1)
    expect(c.get_by_test_id("cart-line")).to_contain_text("Harbour Café special")
    expect(c.get_by_text("Dine in at table 2")).to_be_visible()

    scenes = list(Visit.objects.order_by("id").values_list("app__slug", "scene"))
    assert scenes == [
        ("corner-bakery", "scan"),
        ("harbour-cafe", "scan"),
        ("corner-bakery", "recent"),
        ("harbour-cafe", "recent"),
    ]

    # Pinned from the café's top bar, shown above the recent ones.
    c.locator("summary[aria-label=Menu]").click()
    c.get_by_role("button", name="Pin to home").click()
    expect(c.get_by_text("Harbour Café is pinned to your home.")).to_be_visible()
    c.goto(f"{url}/")
    expect(c.get_by_test_id("pinned-app").locator("strong")).to_have_text(["Harbour Café"])
    expect(recent.locator("strong")).to_have_text(["Corner Bakery"])

    # Removing the bakery from the recently used list: gone, here and in the café's menu.
    recent.filter(has_text="Corner Bakery").get_by_test_id("remove").click()
    expect(c.get_by_text("Corner Bakery is off your recently used list.")).to_be_visible()
    expect(recent).to_have_count(0)
    c.get_by_test_id("pinned-app").get_by_role("link").click()
    expect(c).to_have_url(f"{url}/m/harbour-cafe/cart/?scene=recent")
    c.locator("summary[aria-label=Menu]").click()
    expect(c.get_by_test_id("switch")).to_have_count(0)
    expect(c.get_by_role("button", name="Unpin from home")).to_be_visible()
    context.close()
    assert watch.problems == []
