"""A customer pays by card on the Stripe page in a real browser, against localstripe.

localstripe serves its stand-in for Stripe.js (a plain card form, a 3-D Secure dialog with
"Complete authentication" / "Fail authentication") from the URL the page loads Stripe.js
from. The page makes a payment method in the browser, our server confirms it with
localstripe, and localstripe's signed webhook to the live server marks the order paid. The
page must not log an error, throw or break its Content-Security-Policy.
"""

import re
import secrets
import time

import pytest
from django.http import HttpResponse
from django.urls import reverse
from playwright.sync_api import Page, expect
from tests.browser.watch import CSP_REPORTER
from tests.localstripe_server import flush, register_webhook

from tapgo.flows import paying
from tapgo.identity.middleware import COOKIE, SALT
from tapgo.ordering.models import Order, OrderStatus
from tapgo.payments import services
from tapgo.payments.models import IntentStatus, PaymentIntent
from tapgo.payments.tests.accounts import switched_on
from tapgo.shell.views import pay as shell_pay


@pytest.fixture
def stripe_live(settings, transactional_db, live_server, localstripe, merchant):
    settings.STRIPE_API_BASE = localstripe
    settings.STRIPE_JS_URL = localstripe + "/js.stripe.com/v3/"
    settings.PUBLIC_URL = live_server.url
    flush(localstripe)
    secret = "whsec_" + secrets.token_hex(16)
    account = switched_on(
        merchant=merchant,
        provider="stripe",
        config={"publishable_key": "pk_test_browser"},
        secrets={"secret_key": "sk_test_browser", "webhook_secret": secret},
    )
    path = reverse("payments:account_webhook", args=["stripe", account.public_id])
    register_webhook(localstripe, url=live_server.url + path, secret=secret)
    return live_server


@pytest.fixture
def customer_page(browser, stripe_live, customer):
    """A phone-sized page that is this customer (their signed guest cookie). Closed after
    the test, so its live stream lets go of the server's database connection."""
    context = browser.new_context(viewport={"width": 412, "height": 915})
    yield _customer_page(context, stripe_live, customer)
    context.close()


def _customer_page(context, live_server, customer) -> tuple[Page, list[str]]:
    signed = HttpResponse()
    signed.set_signed_cookie(COOKIE, customer.public_id, salt=SALT)  # as the shell signs it
    value = signed.cookies[COOKIE].value
    context.add_cookies([{"name": COOKIE, "value": value, "url": live_server.url}])
    context.add_init_script(CSP_REPORTER)
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda msg: msg.type == "error" and problems.append(msg.text))
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    return page, problems


def enter_card(page: Page, number: str) -> None:
    # localstripe's card field: plain inputs named by their placeholders.
    for field, value in (
        ("number", number),
        ("exp_month", "12"),
        ("exp_year", "30"),
        ("cvc", "123"),
        ("postal_code", "10001"),
    ):
        page.locator(f"#card-element input[placeholder={field}]").fill(value)


def wait_order(order, wanted: str) -> None:
    deadline = time.monotonic() + 15
    while Order.objects.values_list("status", flat=True).get(pk=order.pk) != wanted:
        assert time.monotonic() < deadline, f"the order never became {wanted}"
        time.sleep(0.1)


@pytest.mark.parametrize(
    "card,bank",
    [("4242424242424242", None), ("4000002500003155", "Complete authentication")],
    ids=["card", "3-D Secure"],
)
def test_a_customer_pays_by_card(stripe_live, customer_page, order, card, bank):
    intent = paying.intent_for_order(order=order, provider="stripe")
    intent = services.intent_start(intent=intent, return_url=shell_pay.return_url(intent))
    page, problems = customer_page

    page.goto(stripe_live.url + intent.client_data["url"])
    expect(page.get_by_test_id("pay-card")).to_be_enabled()
    enter_card(page, card)
    page.get_by_test_id("pay-card").click()
    if bank:
        page.get_by_role("button", name=bank).click()

    order_path = reverse("shell:order", args=[order.app.slug, order.public_id])
    page.wait_for_url(re.compile(re.escape(order_path) + "$"))
    wait_order(order, OrderStatus.PAID)  # by localstripe's webhook, a second later
    page.reload()
    expect(page.get_by_test_id("order-status")).to_have_attribute("data-status", "paid")
    assert problems == []


def test_a_declined_card_leaves_the_order_payable(stripe_live, customer_page, order):
    intent = paying.intent_for_order(order=order, provider="stripe")
    intent = services.intent_start(intent=intent, return_url=shell_pay.return_url(intent))
    page, problems = customer_page

    page.goto(stripe_live.url + intent.client_data["url"])
    expect(page.get_by_test_id("pay-card")).to_be_enabled()
    enter_card(page, "4000000000000341")
    page.get_by_test_id("pay-card").click()

    page.wait_for_url(re.compile(re.escape(shell_pay.return_url(intent)) + "$"))
    expect(page.get_by_text("Your card was declined.")).to_be_visible()
    expect(page.get_by_test_id("pay")).to_be_visible()  # the customer can try again
    assert PaymentIntent.objects.get(pk=intent.pk).status == IntentStatus.FAILED
    assert Order.objects.get(pk=order.pk).status == OrderStatus.PENDING_PAYMENT
    assert problems == []
