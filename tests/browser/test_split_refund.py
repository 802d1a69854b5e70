"""Money that never goes missing, in a real browser: a split payment and a refund by item.

The merchant sets up Stripe (localstripe) on the console's Payments page and points a webhook
registration at the URL that page shows. A customer on a phone signs in by an emailed code;
the merchant, at the counter, tops up the customer's card with the member code the customer's
card page shows. The customer orders two items costing more than the card holds, uses the
card balance, pays the rest on Stripe's card page, and the order page turns paid live when
localstripe's signed webhook arrives. The merchant opens the order from the live board and
refunds one item (put back in stock): the refund is split back over the payments, Stripe's
part first, and the customer's order page shows each part and where the money goes.

The books must balance at the end, and no page may log an error, throw, break its
Content-Security-Policy or get a 4xx/5xx answer.
"""

import re
import secrets
import time

import pytest
import stripe
from django.urls import reverse
from playwright.sync_api import Page, expect
from tests.browser.helpers import console_sign_in
from tests.browser.watch import Watch
from tests.localstripe_server import flush, register_webhook

EMAIL = "ann@example.com"
CARD = "4242424242424242"
LIVE = 15_000  # ms: localstripe's webhook comes about a second after the payment
TOPUP, LATTE, CROISSANT = 3000, 2600, 1800  # in fen: the card holds less than the order


def enter_card(page: Page, number: str) -> None:
    # localstripe's stand-in for Stripe.js: plain inputs named by their placeholders.
    for field, value in (
        ("number", number),
        ("exp_month", "12"),
        ("exp_year", "30"),
        ("cvc", "123"),
        ("postal_code", "10001"),
    ):
        page.locator(f"#card-element input[placeholder={field}]").fill(value)


def open_card(page: Page) -> None:
    """The card page, from the app bar's menu (as a customer finds it)."""
    page.locator("header.app-bar details.menu summary").tap()
    page.get_by_test_id("card-link").tap()


def money(amount: int) -> str:
    """How an amount appears on the pages, without the currency sign (CNY: 44.00)."""
    return f"{amount // 100}.{amount % 100:02d}"


@pytest.fixture
def live(settings, transactional_db, live, localstripe):
    """The live server (conftest), with a fake Stripe."""
    settings.STRIPE_API_BASE = localstripe
    settings.STRIPE_JS_URL = localstripe + "/js.stripe.com/v3/"
    flush(localstripe)
    yield live
    # No more deliveries to this server (localstripe cannot delete a registration).
    register_webhook(localstripe, url="http://127.0.0.1:9/", secret="whsec_gone")


@pytest.mark.django_db(transaction=True)
def test_split_payment_then_refund_one_item(
    live, localstripe, browser, playwright, merchant, owner, app, category, product, mailoutbox
):
    from tapgo.catalog.models import Product
    from tapgo.flows.checks import verify_books
    from tapgo.flows.listings import product_create
    from tapgo.identity.models import Customer
    from tapgo.ordering.models import Order, OrderStatus
    from tapgo.payments.models import (
        IntentStatus,
        PaymentIntent,
        ProviderAccount,
        Purpose,
        Refund,
        RefundStatus,
    )

    url = live.url
    m_id = merchant.public_id
    croissant = product_create(
        merchant=merchant, category=category, name="Croissant", price=CROISSANT, stock=10
    )
    latte = product
    stock_before = {latte.pk: latte.stock, croissant.pk: croissant.stock}
    total = LATTE + CROISSANT
    assert total > TOPUP
    by_stripe = total - TOPUP

    watch = Watch()
    desktop = browser.new_context(viewport={"width": 1280, "height": 900})
    pixel_7 = dict(playwright.devices["Pixel 7"])  # a phone: viewport, touch, mobile UA
    pixel_7.pop("default_browser_type")
    phone = browser.new_context(**pixel_7)
    try:
        # --- 1. the merchant logs in and sets up Stripe on the Payments page -----------------
        m = watch.page(desktop, "merchant")
        console_sign_in(m, url, owner.email, next_path=f"/console/{m_id}/payments/")
        expect(m).to_have_url(re.compile(rf"/console/{m_id}/payments/$"))

        webhook_secret = "whsec_" + secrets.token_hex(16)
        stripe_form = m.locator("#provider-stripe")
        stripe_form.locator("input[name=stripe-config_publishable_key]").fill("pk_test_split")
        stripe_form.locator("input[name=stripe-secret_secret_key]").fill("sk_test_split")
        stripe_form.locator("input[name=stripe-secret_webhook_secret]").fill(webhook_secret)
        # A provider is switched on once a connection test with these settings worked.
        stripe_form.get_by_role("button", name="Test connection").click()
        expect(m.locator("#messages")).to_contain_text("works")
        stripe_form = m.locator("#provider-stripe")
        stripe_form.locator("input[name=stripe-enabled]").check()
        stripe_form.get_by_role("button", name="Save").click()
        expect(m.locator("#messages")).to_contain_text("saved")
        account = ProviderAccount.objects.get(merchant=merchant, provider="stripe")
        webhook_url = url + reverse("payments:account_webhook", args=["stripe", account.public_id])
        expect(m.locator("#provider-stripe .mono")).to_have_text(webhook_url)
        # What the merchant would paste into Stripe's dashboard, pasted into localstripe's.
        register_webhook(localstripe, url=webhook_url, secret=webhook_secret)

        # --- 2. the customer signs in; the merchant tops up the card at the counter ---------
        c = watch.page(phone, "customer")
        c.goto(f"{url}/m/{app.slug}/")
        open_card(c)
        expect(c).to_have_url(re.compile(rf"/m/{app.slug}/card/$"))
        c.get_by_test_id("card-signin").tap()
        sent = len(mailoutbox)
        c.fill("input[name=email]", EMAIL)
        c.get_by_role("button", name="Send me a code").tap()
        expect(c.locator("input[name=code]")).to_be_visible()
        assert len(mailoutbox) == sent + 1
        code = re.search(r"\b(\d{6})\b", mailoutbox[-1].body)[1]
        c.fill("input[name=code]", code)
        c.get_by_role("button", name="Sign in").tap()
        expect(c).to_have_url(re.compile(rf"/m/{app.slug}/card/$"))
        expect(c.get_by_test_id("card-balance")).to_contain_text(money(0))
        member_code = c.get_by_test_id("member-code").inner_text().strip()
        account_customer = Customer.objects.get(email=EMAIL)
        assert member_code == account_customer.public_id

        m.get_by_role("link", name="Card", exact=True).click()
        expect(m).to_have_url(re.compile(rf"/console/{m_id}/members/$"))
        topup_form = m.locator("#topup-form")
        topup_form.locator("input[name=code]").fill(member_code)
        topup_form.locator("input[name=amount]").fill(money(TOPUP))
        topup_form.get_by_role("button", name="Add to the card").click()
        expect(m.locator("#messages")).to_contain_text(f"{money(TOPUP)} to {EMAIL}'s card")
        expect(m.locator("table.members")).to_contain_text(EMAIL)

        c.reload()
        expect(c.get_by_test_id("card-balance")).to_contain_text(money(TOPUP))

        # --- 3. two items above the balance: the card first, then Stripe for the rest -------
        c.goto(f"{url}/m/{app.slug}/")
        for item in (latte, croissant):
            count = int(c.locator("#cart-count").inner_text() or 0)
            c.locator(f"#p-{item.public_id} button.add").tap()
            expect(c.locator("#cart-count")).to_have_text(str(count + 1))
        c.get_by_test_id("cart-link").tap()
        expect(c.get_by_test_id("cart-line")).to_have_count(2)
        expect(c.get_by_test_id("cart-total")).to_contain_text(money(total))
        expect(c.locator("input[name=fulfilment][value=pickup]")).to_be_checked()
        c.fill("input[name=pickup_name]", "Ann")
        c.get_by_test_id("place-order").tap()

        # With a card balance the customer chooses on the order page.
        expect(c).to_have_url(re.compile(rf"/m/{app.slug}/orders/[^/]+/$"))
        order_url = c.url
        order = Order.objects.get(customer=account_customer)
        assert order.total == total and order.public_id in order_url
        status = c.get_by_test_id("order-status")
        expect(status).to_have_attribute("data-status", "pending_payment")
        use_card = c.get_by_test_id("pay-card")
        expect(use_card).to_contain_text(money(TOPUP))
        use_card.tap()

        expect(c).to_have_url(order_url)
        expect(c.get_by_test_id("paid-from-card")).to_contain_text(money(TOPUP))
        expect(c.get_by_test_id("left-to-pay")).to_contain_text(money(by_stripe))
        expect(status).to_have_attribute("data-status", "pending_payment")
        pay_rest = c.locator("[data-testid=pay][data-method=stripe]")
        expect(pay_rest).to_contain_text(money(by_stripe))
        pay_rest.tap()

        expect(c).to_have_url(re.compile(r"/payments/stripe/[^/]+/$"))
        expect(c.get_by_test_id("pay-amount")).to_contain_text(money(by_stripe))
        expect(c.get_by_test_id("pay-card")).to_be_enabled()
        enter_card(c, CARD)
        c.get_by_test_id("pay-card").tap()

        # Back on the order page, which turns paid by itself when the webhook lands.
        expect(c).to_have_url(order_url)
        c.evaluate("() => { window.__sameOrderPage = 'still here'; }")
        order_loads: list[str] = []
        c.on(
            "framenavigated", lambda frame: frame == c.main_frame and order_loads.append(frame.url)
        )
        expect(status).to_have_attribute("data-status", "paid", timeout=LIVE)
        assert c.evaluate("() => window.__sameOrderPage") == "still here"
        assert order_loads == []

        # --- 4. the merchant refunds one item from the order page, back in stock ------------
        m.get_by_role("link", name="Live orders", exact=True).click()
        card = m.locator(f"#order-{order.public_id}")
        expect(card).to_be_visible()
        card.locator("a.number").click()
        expect(m).to_have_url(re.compile(rf"/console/{m_id}/orders/{order.public_id}/$"))
        paid_with = m.locator("#money table").first.locator("tbody tr")
        expect(paid_with).to_have_count(2)
        for row, (label, amount) in enumerate(
            [("Stored value", TOPUP), ("Stripe (cards)", by_stripe)]
        ):
            expect(paid_with.nth(row).locator("td")).to_have_text(
                [label, "Succeeded", re.compile(money(amount)), "–"]
            )
        latte_line = order.lines.get(product=latte)
        refund_form = m.locator("#refund-items")
        refund_form.locator(f"input[name=line_{latte_line.pk}]").fill("1")
        refund_form.get_by_label("Put the items back in stock").check()
        refund_form.locator("input[name=reason]").fill("The latte was cold")
        refund_form.get_by_role("button", name="Refund the chosen items").click()

        expect(m.locator("#messages")).to_contain_text(re.compile(rf"Refunded \D*{money(LATTE)}"))
        listed = m.locator("ul.refunds li")
        expect(listed).to_have_count(2)  # Stripe's part first, then the card's
        expect(listed.nth(0)).to_contain_text(money(by_stripe))
        expect(listed.nth(0)).to_contain_text("Stripe")
        expect(listed.nth(1)).to_contain_text(money(LATTE - by_stripe))
        expect(listed.nth(1)).to_contain_text("Stored value")
        expect(listed.first).to_contain_text("The latte was cold")
        expect(listed.first).to_contain_text("back in stock")
        expect(m.locator("ul.refunds .badge.refund-succeeded")).to_have_count(2)

        c.reload()
        refunds = c.get_by_test_id("refund")
        expect(refunds).to_have_count(2)
        to_stripe = refunds.filter(has_text="to the way you paid")
        expect(to_stripe).to_contain_text("Stripe")
        expect(to_stripe).to_contain_text(money(by_stripe))
        expect(to_stripe).to_have_attribute("data-status", "succeeded")
        to_card = refunds.filter(has_text="to your card balance")
        expect(to_card).to_contain_text(money(LATTE - by_stripe))
        expect(to_card).to_have_attribute("data-status", "succeeded")
        expect(status).to_have_attribute("data-status", "paid")

        open_card(c)
        expect(c.get_by_test_id("card-balance")).to_contain_text(money(LATTE - by_stripe))

        # --- 5. the books -------------------------------------------------------------------
        order.refresh_from_db()
        assert order.status == OrderStatus.PAID and order.paid_at is not None
        counted = list(
            PaymentIntent.objects.filter(
                purpose=Purpose.ORDER,
                purpose_id=order.pk,
                status=IntentStatus.SUCCEEDED,
                counted=True,
            ).order_by("id")
        )
        assert [(i.provider, i.amount) for i in counted] == [
            ("wallet", TOPUP),
            ("stripe", by_stripe),
        ]
        assert sum(i.amount for i in counted) == order.total
        made = list(
            Refund.objects.filter(
                intent__purpose=Purpose.ORDER, intent__purpose_id=order.pk
            ).order_by("id")
        )
        assert [(r.intent.provider, r.amount, r.status) for r in made] == [
            ("stripe", by_stripe, RefundStatus.SUCCEEDED),
            ("wallet", LATTE - by_stripe, RefundStatus.SUCCEEDED),
        ]
        assert sum(r.amount for r in made) == LATTE == latte_line.unit_price
        assert made[0].lines == {str(latte_line.pk): 1} and made[0].restock
        assert Product.objects.get(pk=latte.pk).stock == stock_before[latte.pk]
        assert Product.objects.get(pk=croissant.pk).stock == stock_before[croissant.pk] - 1
        assert verify_books() == []

        # Stripe (localstripe) holds the same story: paid, and that part refunded.
        stripe_intent = counted[1]
        api = stripe.StripeClient("sk_test_split", base_addresses={"api": localstripe})
        pi = api.v1.payment_intents.retrieve(stripe_intent.provider_ref)
        assert (pi.status, pi.amount) == ("succeeded", by_stripe)
        at_stripe = api.v1.refunds.list(params={"payment_intent": pi.id})
        assert [(r.amount, r.status) for r in at_stripe.data] == [(by_stripe, "succeeded")]
        assert at_stripe.data[0].id == made[0].provider_ref

        # --- 6. no errors, no CSP violations, no failed requests anywhere --------------------
        time.sleep(0.5)  # a late console message still counts
        assert watch.problems == []
    finally:
        desktop.close()
        phone.close()
