"""Chat sharing in a real browser: customer A shares the mini app from its menu, customer B
opens the link on another phone, orders and pays; the merchant's Sharing page credits A with
B's visit, B as a new customer and B's order.

A's phone has no share sheet, so the link goes to the clipboard ("Link copied"); a third phone
with a share sheet (stubbed: Chromium on Linux has none) hands the link to it, and the page
without JavaScript shows the same link to copy. No page may log an error, throw, break its
Content-Security-Policy or get a 4xx/5xx answer.
"""

import re

import pytest
from playwright.sync_api import expect
from tests.browser.helpers import console_sign_in
from tests.browser.test_order_flow import RECORDER_JS
from tests.browser.watch import Watch

NO_SHARE_SHEET_JS = "delete Navigator.prototype.share; delete navigator.share;"
SHARE_SHEET_JS = """
navigator.share = (data) => { window.__shared = data; return Promise.resolve(); };
"""


def phone_context(browser, playwright, *scripts, **options):
    pixel_7 = dict(playwright.devices["Pixel 7"])
    pixel_7.pop("default_browser_type")
    context = browser.new_context(**pixel_7, locale="en-US", **options)
    for script in (RECORDER_JS, *scripts):
        context.add_init_script(script)
    context.set_default_timeout(15_000)
    return context


@pytest.mark.django_db(transaction=True)
def test_a_shared_link_brings_a_new_customer_and_an_order(
    live, browser, playwright, owner, merchant, app, product
):
    from tapgo.miniapps.models import ShareLink, Visit
    from tapgo.miniapps.services import share_label
    from tapgo.ordering.models import Order

    url = live.url
    watch = Watch(scripts=(), timeout=None)  # the phones get RECORDER_JS in phone_context
    contexts = []
    try:
        # --- A shares the app from its menu: no share sheet, so the clipboard ---------------
        a_phone = phone_context(
            browser,
            playwright,
            NO_SHARE_SHEET_JS,
            permissions=["clipboard-read", "clipboard-write"],
        )
        contexts.append(a_phone)
        a = watch.page(a_phone, "customer A")
        a.goto(f"{url}/m/{app.slug}/")
        expect(a.get_by_test_id("product")).to_have_count(1)
        a.locator("details.menu summary").tap()
        a.get_by_test_id("share").tap()
        expect(a.locator(".toast")).to_have_text("Link copied")
        link = a.evaluate("() => navigator.clipboard.readText()")
        share = ShareLink.objects.get()
        assert link == f"{url}/m/{app.slug}/?sh={share.token}"
        assert a.url == f"{url}/m/{app.slug}/"  # the page stayed where it was

        # --- another phone with a share sheet: the link goes to it --------------------------
        c_phone = phone_context(browser, playwright, SHARE_SHEET_JS)
        contexts.append(c_phone)
        c = watch.page(c_phone, "customer C")
        c.goto(f"{url}/m/{app.slug}/p/{product.public_id}/")
        c.get_by_test_id("share-product").tap()
        c.wait_for_function("() => window.__shared")
        shared = c.evaluate("() => window.__shared")
        c_link = ShareLink.objects.exclude(pk=share.pk).get()
        assert shared == {
            "title": "Latte",
            "url": f"{url}/m/{app.slug}/p/{product.public_id}/?sh={c_link.token}",
        }

        # --- and without JavaScript, the share page shows A's link and its code -------------
        a_cookies = a_phone.cookies()
        no_js = browser.new_context(java_script_enabled=False)
        contexts.append(no_js)
        no_js.add_cookies(a_cookies)
        n = watch.page(no_js, "customer A without JavaScript")
        n.goto(f"{url}/m/{app.slug}/")
        n.locator("details.menu summary").click()
        n.get_by_test_id("share").click()
        expect(n.get_by_test_id("share-url")).to_have_value(link)
        expect(n.get_by_test_id("share-qr").locator("svg")).to_be_visible()

        # --- B opens the link in a fresh browser, orders and pays ---------------------------
        b_phone = phone_context(browser, playwright)
        contexts.append(b_phone)
        b = watch.page(b_phone, "customer B")
        b.goto(link)
        products = b.get_by_test_id("product")
        products.filter(has_text="Latte").locator("button[name=item]").tap()
        expect(b.locator("#cart-count")).to_have_text("1")
        b.get_by_test_id("cart-link").tap()
        expect(b).to_have_url(re.compile(rf"/m/{app.slug}/cart/$"))
        expect(b.locator("input[name=fulfilment][value=pickup]")).to_be_checked()
        b.fill("input[name=pickup_name]", "Bo")
        b.get_by_test_id("place-order").tap()
        expect(b).to_have_url(re.compile(r"/payments/sandbox/[^/]+/$"))
        b.locator("button[name=decision][value=approve]").tap()
        expect(b).to_have_url(re.compile(rf"/m/{app.slug}/orders/[^/]+/$"))
        expect(b.get_by_test_id("order-status")).to_have_attribute("data-status", "paid")

        order = Order.objects.get()
        assert (order.status, order.scene, order.share_id) == ("paid", "share", share.pk)
        credited = Visit.objects.get(share=share)
        assert (credited.scene, credited.first) == ("share", True)
        assert credited.customer_id == order.customer_id != share.sharer_id

        # --- the merchant's Sharing page credits A ------------------------------------------
        desktop = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
        contexts.append(desktop)
        m = watch.page(desktop, "merchant")
        console_sign_in(m, url, owner.email)
        m.goto(f"{url}/console/{merchant.public_id}/board/")
        m.locator(f'nav.tabs a[href="/console/{merchant.public_id}/sharing/"]').click()
        expect(m).to_have_url(re.compile(r"/sharing/$"))
        row = m.locator(f'[data-testid="sharer"][data-label="{share_label(share.token)}"]')
        expect(row).to_have_count(1)
        expect(row.get_by_test_id("visits")).to_have_text("1")
        expect(row.get_by_test_id("new-customers")).to_have_text("1")
        expect(row.get_by_test_id("orders")).to_have_text("1")
        expect(row.get_by_test_id("revenue")).to_have_text("CN¥26.00")
        page_text = m.locator("main").text_content()
        assert share.token not in page_text

        assert watch.problems == []
    finally:
        for context in contexts:
            context.close()
