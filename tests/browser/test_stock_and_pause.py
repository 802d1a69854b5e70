"""Stock, pause and the order page in a real browser, in English and in Simplified Chinese
(issue 12).

- A paused app greys out its buttons live: the customer has the menu open on a phone when
  the merchant pauses ordering on the console's board; without a reload the + buttons turn
  disabled and the merchant's reason shows; the cart's "Place order" is disabled too. The
  merchant resumes, and the buttons come back on, live, and adding works again.
- The notification offer appears without a reload after paying: the sandbox's webhook is
  held back until the order page is open ("Confirming your payment…"), as a worker that
  delivers a moment later would; when it arrives, the status turns paid and the offer ("We'll
  tell you when it's ready", "Also on this phone") appears in the same page.
- Low stock shows and the cart caps: a latte with 3 left says so on the menu; a fourth tap
  on + says only 3 are left and the cart holds 3, its + disabled.

No page may log an error, throw, break its Content-Security-Policy or get a 4xx/5xx answer
(the refused add while paused is a redirect with a message, not an error).
"""

import re
from dataclasses import dataclass

import pytest
from playwright.sync_api import BrowserContext, Page, expect
from tests.browser.helpers import console_sign_in
from tests.browser.watch import Watch

LIVE = 10_000  # ms: how long a live change may take to show
REASON = "Back at 3pm"


@dataclass(frozen=True)
class Lang:
    code: str
    locale: str
    accept: str
    paused: str  # what the customer's page says while paused (the reason after it)
    left: str  # "3 left"
    only_left: str  # the cart's cap, said after adding
    offer: str  # the order page's offer after paying


LANGS = [
    Lang(
        "en",
        "en-US",
        "en-US,en;q=0.9",
        "Ordering is paused: " + REASON,
        "3 left",
        "Only 3 left: your cart has 3.",
        "We'll tell you when it's ready.",
    ),
    Lang(
        "zh-hans",
        "zh-CN",
        "zh-Hans,zh;q=0.9",
        "暂停接单: " + REASON,
        "剩 3 份",
        "仅剩 3 份：您的购物车里已有 3 份。",
        "",  # filled from the catalogue below
    ),
]


@pytest.fixture(autouse=True)
def _fresh_process_caches():
    from tapgo.shell import front, page

    page._unread.clear()
    page._recent.clear()
    front._headers.clear()
    front._app_states.clear()


@pytest.fixture
def live(settings, transactional_db, live):
    """The live server (conftest); pages ask for the app's state often."""
    settings.SHELL_LIVE_STATE_SECONDS = 0.5
    return live


def phone_context(browser, playwright, lang: Lang) -> BrowserContext:
    pixel_7 = dict(playwright.devices["Pixel 7"])
    pixel_7.pop("default_browser_type")
    return browser.new_context(
        **pixel_7, locale=lang.locale, extra_http_headers={"Accept-Language": lang.accept}
    )


def scan_table(c: Page, url: str, app) -> None:
    from tapgo.miniapps.models import EntryCode

    code = EntryCode.objects.get(app=app, kind="table", table_label="1")
    c.goto(f"{url}/s/{code.code}")


def offer_text(lang: Lang) -> str:
    if lang.offer:
        return lang.offer
    from django.utils import translation

    with translation.override(lang.code):
        return str(translation.gettext("We'll tell you when it's ready."))


@pytest.mark.parametrize("lang", LANGS, ids=[lang.code for lang in LANGS])
def test_a_paused_app_greys_out_its_buttons_live(
    live, browser, playwright, merchant, owner, app, product, lang
):
    from tapgo.merchants.models import Merchant

    url = live.url
    watch = Watch()
    desktop = browser.new_context(viewport={"width": 1280, "height": 900})
    phone = phone_context(browser, playwright, lang)
    try:
        # The customer opens the menu at table 1 and puts a latte in the cart.
        c = watch.page(phone, "customer")
        scan_table(c, url, app)
        expect(c.locator("html")).to_have_attribute("lang", lang.code)
        add = c.locator(f"#p-{product.public_id} button.add")
        expect(add).to_be_enabled()
        add.tap()
        expect(c.locator("#cart-count")).to_have_text("1")
        c.evaluate("() => { window.__same_page = true; }")  # gone if the page reloads

        # The merchant pauses ordering on the board, with a reason.
        m = watch.page(desktop, "merchant")
        console_sign_in(m, url, owner.email, next_path=f"/console/{merchant.public_id}/board/")
        expect(m).to_have_url(re.compile(r"/board/$"))
        m.locator("section.pause summary").click()
        m.fill("#pause-reason", REASON)
        m.locator("section.pause button.danger").click()
        expect(m.locator("section.pause.paused")).to_be_visible()
        assert Merchant.objects.get(pk=merchant.pk).ordering_paused

        # The customer's open menu greys out its buttons and says why, without a reload.
        expect(add).to_be_disabled(timeout=LIVE)
        expect(c.get_by_test_id("paused")).to_have_text(lang.paused)
        expect(add).to_have_attribute("title", lang.paused)
        assert c.evaluate("() => window.__same_page") is True
        # The cart page opened now is paused too: "Place order" is disabled.
        c.get_by_test_id("cart-link").tap()
        place = c.get_by_test_id("place-order")
        expect(place).to_be_disabled()
        expect(c.get_by_test_id("paused")).to_have_text(lang.paused)
        c.evaluate("() => { window.__same_page = true; }")

        # The merchant resumes: the cart's button comes back on, live.
        m.locator("section.pause button.primary").click()
        expect(m.locator("section.pause.paused")).to_have_count(0)
        expect(place).to_be_enabled(timeout=LIVE)
        expect(c.get_by_test_id("paused")).to_be_hidden()
        assert c.evaluate("() => window.__same_page") is True
        c.go_back()
        expect(add).to_be_enabled(timeout=LIVE)
        add.tap()
        expect(c.locator("#cart-count")).to_have_text("2")
        assert watch.problems == []
    finally:
        desktop.close()
        phone.close()


@pytest.mark.parametrize("lang", LANGS, ids=[lang.code for lang in LANGS])
def test_the_offer_appears_without_a_reload_after_paying(
    live, settings, browser, playwright, app, product, lang
):
    from tapgo.ordering.models import Order
    from tapgo.payments.models import SandboxOutbox
    from tapgo.payments.tasks import deliver_sandbox_webhook

    url = live.url
    # The sandbox's webhook cannot get through for now: the worker would send it a moment later.
    settings.SANDBOX_WEBHOOK_BASE_URL = "http://127.0.0.1:9"
    watch = Watch()
    phone = phone_context(browser, playwright, lang)
    try:
        c = watch.page(phone, "customer")
        scan_table(c, url, app)
        c.locator(f"#p-{product.public_id} button.add").tap()
        expect(c.locator("#cart-count")).to_have_text("1")
        c.get_by_test_id("cart-link").tap()
        c.get_by_test_id("place-order").tap()  # dine in at table 1
        expect(c).to_have_url(re.compile(r"/payments/sandbox/[^/]+/$"))
        c.locator("button[name=decision][value=approve]").tap()
        expect(c).to_have_url(re.compile(rf"/m/{app.slug}/orders/[^/]+/$"))
        status = c.get_by_test_id("order-status")
        expect(status).to_have_attribute("data-status", "pending_payment")  # confirming
        expect(c.get_by_test_id("notify-card")).to_have_count(0)
        c.evaluate("() => { window.__same_page = true; }")

        settings.SANDBOX_WEBHOOK_BASE_URL = url  # the worker's next try gets through
        item = SandboxOutbox.objects.get(delivered_at__isnull=True)
        deliver_sandbox_webhook.enqueue(item.pk)
        assert Order.objects.get().status == "paid"

        expect(status).to_have_attribute("data-status", "paid", timeout=LIVE)
        expect(c.get_by_test_id("notify-covered")).to_contain_text(offer_text(lang), timeout=LIVE)
        assert c.evaluate("() => window.__same_page") is True
        assert watch.problems == []
    finally:
        phone.close()


@pytest.mark.parametrize("lang", LANGS, ids=[lang.code for lang in LANGS])
def test_low_stock_shows_and_the_cart_caps(live, browser, playwright, app, product, lang):
    from tapgo.catalog.models import Product
    from tapgo.flows.listings import product_update

    product_update(
        product=product,
        category=product.category,
        name=product.name,
        price=product.price,
        description="",
        stock=3,
    )
    assert Product.objects.get(pk=product.pk).stock == 3
    url = live.url
    watch = Watch()
    phone = phone_context(browser, playwright, lang)
    try:
        c = watch.page(phone, "customer")
        scan_table(c, url, app)
        item = c.locator(f"#p-{product.public_id}")
        expect(item.get_by_test_id("left")).to_have_text(lang.left)
        add = item.locator("button.add")
        for count in ("1", "2", "3"):
            add.tap()
            expect(c.locator("#cart-count")).to_have_text(count)
        add.tap()
        expect(c.locator(".msg.warning")).to_have_text(lang.only_left)
        expect(c.locator("#cart-count")).to_have_text("3")
        c.get_by_test_id("cart-link").tap()
        line = c.get_by_test_id("cart-line")
        expect(line.locator(".q")).to_have_text("3")
        expect(line.get_by_test_id("only-left")).to_be_visible()
        expect(line.locator("button[name=quantity]").last).to_be_disabled()
        assert watch.problems == []
    finally:
        phone.close()
