"""The owner's settings in a real browser, in English and Chinese: Stripe is switched on only
after "Test connection" worked against localstripe (a key it refuses changes nothing), and
the page says what customers meet; the store's location comes from the phone (Playwright
grants geolocation and sets a position), its coordinates only under "Advanced".
"""

import re
from dataclasses import dataclass
from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect
from tests.browser.watch import Watch
from tests.localstripe_server import flush

PASSWORD = "correct horse battery"


@dataclass(frozen=True)
class Words:
    locale: str
    test: str
    save: str
    works: str
    refused: str
    sandbox: str
    stripe: str
    locate: str
    located: str


WORDS = [
    Words(
        locale="en-US",
        test="Test connection",
        save="Save",
        works="The connection to Stripe (cards) works.",
        refused="Stripe refused the secret key",
        sandbox="Customers pay with the test sandbox: no real money moves.",
        stripe="Customers pay by card through Stripe (test mode: no real money moves).",
        locate="Use this phone’s location",
        located="Location set from this phone. (22.285500, 114.157700)",
    ),
    Words(
        locale="zh-CN",
        test="测试连接",
        save="保存",
        works="与 Stripe（银行卡） 的连接正常。",
        refused="Stripe 拒绝了该密钥",
        sandbox="顾客用测试沙箱付款：不涉及真实资金。",
        stripe="顾客通过 Stripe 用银行卡付款（测试模式：不涉及真实资金）。",
        locate="使用这部手机的位置",
        located="已使用这部手机的位置。 (22.285500, 114.157700)",
    ),
]


@pytest.fixture
def live(settings, transactional_db, live_server, localstripe):
    settings.STRIPE_API_BASE = localstripe
    settings.PUBLIC_URL = live_server.url
    flush(localstripe)
    return live_server


def log_in(page: Page, url: str) -> None:
    page.goto(url + "/console/login/")
    page.fill("input[name=username]", "owner@cafe.test")
    page.fill("input[name=password]", PASSWORD)
    page.press("input[name=password]", "Enter")
    expect(page).not_to_have_url(re.compile(r"/login/"))


@pytest.mark.parametrize("words", WORDS, ids=["en", "zh"])
def test_stripe_is_switched_on_after_a_connection_test(live, browser, merchant, words):
    from tapgo.payments.models import ProviderAccount

    watch = Watch()
    context = browser.new_context(viewport={"width": 1100, "height": 900}, locale=words.locale)
    page = watch.page(context)
    log_in(page, live.url)
    page.goto(f"{live.url}/console/{merchant.public_id}/payments/")
    seen = page.locator("#customers-see")
    expect(seen).to_contain_text(words.sandbox)
    stripe = page.locator("#provider-stripe")
    take = stripe.locator("input[name=stripe-enabled]")
    expect(take).to_be_disabled()  # waits for a connection test

    # A key Stripe refuses: said plainly, nothing stored, customers still pay somehow.
    stripe.locator("input[name=stripe-config_publishable_key]").fill("pk_test_browser")
    stripe.locator("input[name=stripe-secret_secret_key]").fill("sk_x")
    stripe.locator("input[name=stripe-secret_webhook_secret]").fill("whsec_browser")
    stripe.get_by_role("button", name=words.test).click()
    expect(page.locator("#provider-stripe .errorlist")).to_contain_text(words.refused)
    assert not ProviderAccount.objects.exists()

    stripe = page.locator("#provider-stripe")
    stripe.locator("input[name=stripe-config_publishable_key]").fill("pk_test_browser")
    stripe.locator("input[name=stripe-secret_secret_key]").fill("sk_test_browser")
    stripe.locator("input[name=stripe-secret_webhook_secret]").fill("whsec_browser")
    stripe.get_by_role("button", name=words.test).click()
    expect(page.locator("#messages")).to_contain_text(words.works)
    take = page.locator("#provider-stripe input[name=stripe-enabled]")
    expect(take).to_be_enabled()
    expect(take).not_to_be_checked()
    take.check()
    page.locator("#provider-stripe").get_by_role("button", name=words.save).click()
    expect(page.locator("#customers-see")).to_contain_text(words.stripe)
    expect(page.locator("#customers-see")).not_to_contain_text(words.sandbox)
    account = ProviderAccount.objects.get(provider="stripe")
    assert account.enabled and account.tested_live is False
    assert watch.problems == []
    context.close()


@pytest.mark.parametrize("words", WORDS, ids=["en", "zh"])
def test_the_store_location_comes_from_the_phone(live, browser, merchant, words):
    from tapgo.merchants import services as merchants

    watch = Watch()
    context = browser.new_context(
        viewport={"width": 412, "height": 900},
        locale=words.locale,
        geolocation={"latitude": 22.2855, "longitude": 114.1577, "accuracy": 20},
        permissions=["geolocation"],
    )
    page = watch.page(context)
    log_in(page, live.url)
    page.goto(f"{live.url}/console/{merchant.public_id}/settings/")
    expect(page.locator("input[name=latitude]")).to_be_hidden()  # under "Advanced"
    page.locator("input[name=address]").fill("1 Harbour Road")
    page.get_by_role("button", name=words.locate).click()
    expect(page.locator("[data-location-status]")).to_have_text(words.located)
    page.get_by_test_id("merchant-save").click()
    expect(page.locator("#messages .msg")).to_have_count(1)
    store = merchants.merchant_store(merchant)
    assert (store.latitude, store.longitude) == (Decimal("22.285500"), Decimal("114.157700"))
    assert store.address == "1 Harbour Road"
    assert watch.problems == []
    context.close()
