"""A delivery order from a shared location to "out for delivery", in a real browser, in
English and in Simplified Chinese.

The owner adds a 2 km delivery zone on the console's Delivery page and opens the live board.
A customer on a phone (Playwright's context with the geolocation permission and a position
about 800 m from the store) orders two lattes, chooses delivery, gives an address and a phone
number and shares their location: the page shows the zone's fee and the new total before the
order is placed (matched on the server by great-circle distance: no map service). They pay on
the sandbox provider's page. The board shows the order live with the address, phone, zone and
time; the owner accepts it and sends it out for delivery; the customer's order page, still
open, shows "out for delivery" without a reload. No page may log an error, throw, break its
Content-Security-Policy or get a 4xx/5xx answer.
"""

import re
from decimal import Decimal

import pytest
from django.test import Client
from playwright.sync_api import expect
from tests.browser.watch import Watch

LIVE = 8_000  # ms: how long a live update may take to show
STORE = (31.230400, 121.473700)
CUSTOMER = {"latitude": 31.237600, "longitude": 121.473700}  # about 800 m north
CJK = re.compile(r"[\u3400-\u9fff]")
LANGS = {
    "en": {"locale": "en-US", "extra_http_headers": {"Accept-Language": "en-US,en;q=0.9"}},
    "zh-hans": {"locale": "zh-CN", "extra_http_headers": {"Accept-Language": "zh-Hans,zh;q=0.9"}},
}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("lang", list(LANGS))
def test_delivery_from_a_shared_location_to_out_for_delivery(
    live, browser, playwright, owner, merchant, app, product, lang
):
    from tapgo.core.actors import ActorKind
    from tapgo.merchants.services import merchant_store
    from tapgo.ordering.models import DeliveryZone, Order, OrderEvent

    url, m_id = live.url, merchant.public_id
    store = merchant_store(merchant)
    store.latitude, store.longitude = (Decimal(f"{v:.6f}") for v in STORE)
    store.save(update_fields=["latitude", "longitude"])

    staff = Client()
    staff.force_login(owner)
    watch = Watch()
    desktop = browser.new_context(viewport={"width": 1280, "height": 900}, **LANGS[lang])
    desktop.add_cookies(
        [{"name": "sessionid", "value": staff.cookies["sessionid"].value, "url": url}]
    )
    pixel_7 = dict(playwright.devices["Pixel 7"])
    pixel_7.pop("default_browser_type")
    phone = browser.new_context(
        **pixel_7, **LANGS[lang], geolocation=CUSTOMER, permissions=["geolocation"]
    )
    try:
        # --- the owner sets a zone, then watches the board -----------------------------------
        m = watch.page(desktop, "merchant")
        m.goto(f"{url}/console/{m_id}/delivery/")
        expect(m.get_by_test_id("no-zones")).to_be_visible()
        form = m.locator("form.stack").last
        form.locator("input[name=kind][value=radius]").check()
        form.locator("input[name=name]").fill("2 km" if lang == "en" else "两公里内")
        form.locator("input[name=radius_m]").fill("2000")
        form.locator("input[name=fee]").fill("5")
        form.locator("input[name=minimum]").fill("30")
        form.locator("input[name=eta_minutes]").fill("35")
        form.locator("button.primary").click()
        expect(m.get_by_test_id("zone")).to_have_count(1)
        zone = DeliveryZone.objects.get()
        assert (zone.radius_m, zone.fee, zone.minimum, zone.eta_minutes) == (2000, 500, 3000, 35)
        m.goto(f"{url}/console/{m_id}/board/")
        expect(m.locator('#board .column[data-status="out_for_delivery"]')).to_be_visible()

        # --- the customer orders, shares their location, sees the fee, pays -----------------
        c = watch.page(phone, "customer")
        c.goto(f"{url}/m/{app.slug}/")
        item = c.get_by_test_id("product").filter(has_text="Latte").locator("button[name=item]")
        item.tap()
        expect(c.locator("#cart-count")).to_have_text("1")
        c.get_by_test_id("product").filter(has_text="Latte").locator("button[name=item]").tap()
        expect(c.locator("#cart-count")).to_have_text("2")
        c.get_by_test_id("cart-link").tap()
        expect(c).to_have_url(re.compile(rf"/m/{app.slug}/cart/$"))
        expect(c.get_by_test_id("place-order")).to_contain_text("52.00")
        c.get_by_test_id("choose-delivery").check()
        c.get_by_test_id("delivery-address").fill("Room 1201, Harbour Tower, 88 Bund Road")
        c.get_by_test_id("delivery-phone").fill("+86 138 0013 8000")
        c.get_by_test_id("share-location").tap()
        quote = c.get_by_test_id("delivery-quote")
        expect(quote).to_contain_text("5.00", timeout=LIVE)
        expect(quote).to_contain_text("57.00")
        expect(quote).not_to_have_class(re.compile(r"\berror\b"))
        if lang == "zh-hans":
            assert CJK.search(quote.text_content()), quote.text_content()
        expect(c.get_by_test_id("place-order")).to_contain_text("57.00")
        assert not Order.objects.exists()  # seen before anything is placed
        c.get_by_test_id("place-order").tap()

        expect(c).to_have_url(re.compile(r"/payments/sandbox/[^/]+/$"))
        expect(c.get_by_test_id("pay-amount")).to_contain_text("57.00")
        c.locator("button[name=decision][value=approve]").tap()
        expect(c).to_have_url(re.compile(rf"/m/{app.slug}/orders/[^/]+/$"))
        status = c.get_by_test_id("order-status")
        expect(status).to_have_attribute("data-status", "paid")
        expect(c.get_by_test_id("delivery-fee")).to_contain_text("5.00")
        expect(c.get_by_test_id("order-total")).to_contain_text("57.00")
        c.evaluate("() => { window.__sameOrderPage = 'still here'; }")

        order = Order.objects.get()
        assert (order.status, order.fulfilment, order.total, order.delivery_fee) == (
            "paid",
            "delivery",
            5700,
            500,
        )
        assert 780 <= order.delivery_distance_m <= 820
        assert order.delivery_zone_id == zone.pk

        # --- the board shows it live; accepted, then out for delivery ------------------------
        card = m.locator(f'#board .column[data-status="paid"] #order-{order.public_id}')
        expect(card).to_be_visible(timeout=LIVE)
        facts = card.get_by_test_id("delivery-facts")
        expect(facts).to_contain_text("Room 1201, Harbour Tower, 88 Bund Road")
        expect(facts).to_contain_text("+86 138 0013 8000")
        expect(facts).to_contain_text(zone.name)
        expect(facts).to_contain_text("35")
        card.locator('form[action$="/accept"] button').click()
        card = m.locator(f'#board .column[data-status="accepted"] #order-{order.public_id}')
        expect(card).to_be_visible()
        expect(status).to_have_attribute("data-status", "accepted", timeout=LIVE)
        card.locator('form[action$="/deliver"] button').click()
        expect(
            m.locator(f'#board .column[data-status="out_for_delivery"] #order-{order.public_id}')
        ).to_be_visible()

        expect(status).to_have_attribute("data-status", "out_for_delivery", timeout=LIVE)
        expect(c.get_by_test_id("out-for-delivery")).to_be_visible()
        if lang == "zh-hans":
            assert CJK.search(c.get_by_test_id("out-for-delivery").text_content())
        assert c.evaluate("() => window.__sameOrderPage") == "still here"  # no reload

        event = OrderEvent.objects.filter(order=order).order_by("-pk").first()
        assert (event.status, event.actor_kind, event.actor_user_id) == (
            "out_for_delivery",
            ActorKind.STAFF,
            owner.pk,
        )
        assert watch.problems == []
    finally:
        desktop.close()
        phone.close()
