"""Codes of every door in a real browser: the merchant makes a campaign code and downloads
its poster, a real decoder reads the poster, and a phone scans it; a product code opens the
product's page at the code's own address; an expired code's friendly page leads to the app.
The Visit rows say how each customer came in, and no page breaks its CSP or logs an error.
"""

import re
from datetime import timedelta

import pytest
import zxingcpp
from django.utils import timezone
from PIL import Image
from playwright.sync_api import expect
from tests.browser.watch import Watch

PASSWORD = "correct horse battery"


def phone_context(browser, playwright):
    pixel_7 = dict(playwright.devices["Pixel 7"])
    pixel_7.pop("default_browser_type")
    return browser.new_context(**pixel_7, locale="en-US")


@pytest.mark.django_db(transaction=True)
def test_codes_of_every_door(live, browser, playwright, app, product, tmp_path):
    from tapgo.miniapps import services as miniapps
    from tapgo.miniapps.models import EntryCode, Visit

    watch = Watch()
    url = live.url

    # --- the merchant makes a campaign code and downloads its A4 poster --------------------
    desktop = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    m = watch.page(desktop)
    m.goto(url + "/console/login/")
    m.fill("input[name=username]", "owner@cafe.test")
    m.fill("input[name=password]", PASSWORD)
    m.get_by_role("button", name="Log in").click()
    expect(m.get_by_role("button", name="Log out")).to_be_visible()
    m.goto(f"{url}/console/{app.merchant.public_id}/apps/{app.public_id}/codes/")
    campaigns = m.locator("#codes-campaign")
    campaigns.locator("summary").click()
    campaigns.locator("input[name=campaign-scene_param]").fill("spring-flyer")
    campaigns.locator("input[name=campaign-name]").fill("Spring flyer")
    m.get_by_test_id("add-campaign").click()
    row = m.locator("#codes-campaign li.code-item", has_text="spring-flyer")
    expect(row).to_have_count(1)
    expect(row.get_by_test_id("state")).to_have_text("Active")
    with m.expect_download() as download_info:
        row.get_by_role("link", name="Poster A4 (PNG)").click()
    download = download_info.value
    assert download.suggested_filename == "test-cafe-campaign-spring-flyer-poster-a4.png"
    poster = tmp_path / download.suggested_filename
    download.save_as(poster)
    found = zxingcpp.read_barcodes(Image.open(poster).convert("L"))
    assert len(found) == 1
    campaign_url = found[0].text
    flyer = EntryCode.objects.get(app=app, kind="campaign", scene_param="spring-flyer")
    assert campaign_url == f"{url}/s/{flyer.code}"

    # --- a customer scans the poster: the app, and a visit with the flyer's parameter ------
    first = phone_context(browser, playwright)
    c = watch.page(first)
    response = c.goto(campaign_url)
    assert response.status == 200 and c.url == campaign_url  # the app itself, no redirect
    expect(c.locator("h1")).to_have_text(app.name)
    visit = Visit.objects.get()
    assert (visit.scene, visit.code_id, visit.scene_param, visit.code_state) == (
        "scan", flyer.pk, "spring-flyer", "",
    )  # fmt: skip
    first.close()

    # --- a product code opens the product's page, and adding comes back to it --------------
    item = miniapps.code_create(
        app=app, kind="product", product_public_id=product.public_id, scene_param="shelf"
    )
    second = phone_context(browser, playwright)
    c = watch.page(second)
    code_url = miniapps.code_url(item)
    response = c.goto(code_url)
    assert response.status == 200 and c.url == code_url
    expect(c.get_by_test_id("product-page").locator("h1")).to_have_text("Latte")
    c.get_by_test_id("add-to-cart").click()
    expect(c).to_have_url(re.compile(rf"/m/{app.slug}/p/{product.public_id}/#p-"))
    expect(c.get_by_text("Added to your cart.")).to_be_visible()
    expect(c.locator("#cart-count")).to_have_text("1")
    c.get_by_test_id("back-to-menu").click()
    expect(c).to_have_url(re.compile(rf"/m/{app.slug}/#p-{product.public_id}$"))
    visits = Visit.objects.exclude(pk=visit.pk)
    assert list(visits.values_list("scene", "code_id", "scene_param", "code_state")) == [
        ("scan", item.pk, "shelf", "")
    ]
    seen = list(Visit.objects.values_list("pk", flat=True))
    second.close()

    # --- an expired code: the friendly page, whose button leads to the app's home -----------
    EntryCode.objects.filter(pk=flyer.pk).update(expires_at=timezone.now() - timedelta(days=1))
    third = phone_context(browser, playwright)
    c = watch.page(third)
    response = c.goto(campaign_url)
    assert response.status == 200
    expect(c.get_by_test_id("code-inactive")).to_contain_text("has expired")
    c.get_by_test_id("open-app").click()
    expect(c).to_have_url(f"{url}/m/{app.slug}/?from=code")
    expect(c.locator("h1")).to_have_text(app.name)
    expect(c.get_by_test_id("product").first).to_be_visible()
    latest = Visit.objects.exclude(pk__in=seen)
    assert list(latest.values_list("scene", "code_id", "scene_param", "code_state")) == [
        ("scan", flyer.pk, "spring-flyer", "expired")
    ]  # one visit: following the button is a move inside the app, no "direct" visit
    third.close()
    desktop.close()

    assert watch.problems == []
