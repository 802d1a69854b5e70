"""The customer's money in the shell: paying from the card (alone or split with a provider),
topping the card up online, the card pages and refunds, through Django's test client and the
sandbox provider's signed webhooks."""

import copy
import re
from urllib.parse import urlencode

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tapgo.flows.checks import verify_books
from tapgo.identity.models import Customer
from tapgo.miniapps.models import EntryCode
from tapgo.ordering.models import Order, OrderStatus
from tapgo.payments import services, stored_value
from tapgo.payments.models import IntentStatus, PaymentIntent, Purpose, SandboxOutbox, TopUp
from tapgo.payments.providers import sandbox


@pytest.fixture(autouse=True)
def books_balance(db):
    """Whatever a test does, every invariant of `tapgo ledger verify` still holds after it."""
    yield
    assert [str(b) for b in verify_books()] == []


def deliver_webhooks(client) -> None:
    """Play the sandbox provider: POST each queued webhook, signed, to the endpoint."""
    url = reverse("payments:webhook", args=["sandbox"])
    for item in SandboxOutbox.objects.filter(delivered_at__isnull=True).order_by("id"):
        body = item.body.encode()
        response = client.post(
            url,
            data=body,
            content_type="application/json",
            headers={sandbox.HEADER: sandbox.sign(body)},
        )
        assert response.status_code == 200, response.content
        SandboxOutbox.objects.filter(pk=item.pk).update(delivered_at=timezone.now())


def visit(client, app) -> Customer:
    """Open the app from a table's code; the browser gets a guest customer."""
    entry = EntryCode.objects.get(app=app, kind="table", table_label="1")
    client.get(reverse("shell:scan", args=[entry.code]))
    return Customer.objects.order_by("-id").first()


def member(client, app, email="ann@example.com") -> Customer:
    """A customer signed in with an email (as after the sign-in flow)."""
    customer = visit(client, app)
    Customer.objects.filter(pk=customer.pk).update(email=email)
    customer.refresh_from_db()
    return customer


def place_order(client, app, product):
    """Order one latte (26.00); returns the order and where checkout sent the customer."""
    client.post(reverse("shell:cart_add", args=[app.slug]), {"item": product.public_id})
    response = client.post(
        reverse("shell:checkout", args=[app.slug]),
        {"checkout_key": "key-" + str(Order.objects.count()), "fulfilment": "dine_in"},
    )
    order = Order.objects.order_by("-id").first()
    return order, client.get(response.url)


def counter_topup(merchant, customer, amount, key="counter-1"):
    stored_value.topup_counter(
        merchant=merchant, customer=customer, amount=amount, key=key, by=None
    )


def order_url(app, order):
    return reverse("shell:order", args=[app.slug, order.public_id])


def pay_url(app, order):
    return reverse("shell:order_pay", args=[app.slug, order.public_id])


def card_url(app):
    return reverse("shell:card", args=[app.slug])


def topup_key(client, app) -> str:
    page = client.get(card_url(app)).content.decode()
    return re.search(r'name="key" value="([^"]+)"', page)[1]


def text(response) -> str:
    return response.content.decode()


# --- paying an order -----------------------------------------------------------------------


def test_an_order_is_paid_in_full_from_the_card(client, app, product, merchant):
    customer = member(client, app)
    counter_topup(merchant, customer, 10000)
    order, response = place_order(client, app, product)
    # With a balance there is a choice: checkout shows the order page, not a provider's.
    assert response.status_code == 302 and response.url == order_url(app, order)
    page = text(client.get(order_url(app, order)))
    assert "Use card balance (CN¥100.00 available)" in page
    assert 'data-method="sandbox"' in page and "Pay with Sandbox" in page

    response = client.post(pay_url(app, order), {"method": "wallet"}, follow=True)
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert response.redirect_chain[-1][0] == order_url(app, order)
    page = text(response)
    assert 'data-status="paid"' in page and "Paid from your card." in page
    assert stored_value.balance(merchant, customer) == 10000 - 2600
    assert not PaymentIntent.objects.exclude(provider="wallet").exists()
    # Paying again changes nothing.
    response = client.post(pay_url(app, order), {"method": "wallet"}, follow=True)
    assert "not waiting for payment" in text(response)
    assert stored_value.balance(merchant, customer) == 7400


def test_a_split_payment_is_paid_only_when_the_provider_confirms_the_rest(
    client, app, product, merchant
):
    customer = member(client, app)
    counter_topup(merchant, customer, 1000)
    order, _response = place_order(client, app, product)

    response = client.post(pay_url(app, order), {"method": "wallet"}, follow=True)
    page = text(response)
    assert "CN¥10.00 paid from your card; pay the remaining CN¥16.00." in page
    assert "Paid from your card: CN¥10.00" in page and "Left to pay: CN¥16.00" in page
    assert "Use card balance" not in page  # nothing left on the card
    assert "Pay the remaining CN¥16.00 with Sandbox" in page
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING_PAYMENT
    assert stored_value.balance(merchant, customer) == 0

    response = client.post(pay_url(app, order), {"method": "sandbox"})
    intent = PaymentIntent.objects.get(
        purpose=Purpose.ORDER, purpose_id=order.pk, provider="sandbox"
    )
    assert response.url == reverse("payments:sandbox_page", args=[intent.public_id])
    assert intent.amount == 1600
    response = client.post(response.url, {"decision": "approve"})
    assert response.url == order_url(app, order)
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING_PAYMENT  # the page's word is not enough
    assert "Confirming your payment" in text(client.get(order_url(app, order)))

    deliver_webhooks(client)
    order.refresh_from_db()
    intent.refresh_from_db()
    assert order.status == OrderStatus.PAID and intent.status == IntentStatus.SUCCEEDED
    assert services.paid_so_far(Purpose.ORDER, order.pk) == 2600
    assert 'data-status="paid"' in text(client.get(order_url(app, order)))


def test_without_a_card_balance_checkout_goes_straight_to_the_provider(client, app, product):
    member(client, app)
    order, response = place_order(client, app, product)
    intent = PaymentIntent.objects.get(purpose=Purpose.ORDER, purpose_id=order.pk)
    assert response.url == reverse("payments:sandbox_page", args=[intent.public_id])
    assert "Use card balance" not in text(client.get(order_url(app, order)))
    # Asking to pay from an empty card is told, and changes nothing.
    response = client.post(pay_url(app, order), {"method": "wallet"}, follow=True)
    assert "Your card has no balance to use." in text(response)
    assert not PaymentIntent.objects.filter(provider="wallet").exists()


def test_an_unknown_way_of_paying_is_refused(client, app, product, merchant):
    customer = member(client, app)
    counter_topup(merchant, customer, 1000)
    order, _response = place_order(client, app, product)
    for method in ("stripe", "nope", "x" * 500, "wallet\x00"):
        response = client.post(pay_url(app, order), {"method": method}, follow=True)
        assert response.status_code == 200
        assert "This way of paying is not available here." in text(response)
    assert not PaymentIntent.objects.exists()
    assert stored_value.balance(merchant, customer) == 1000


def test_someone_elses_order_is_not_found(client, app, product, merchant):
    customer = member(client, app)
    order, _response = place_order(client, app, product)
    other = Client()
    stranger = member(other, app, email="bob@example.com")
    counter_topup(merchant, stranger, 10000)
    for method in ("wallet", "sandbox", ""):
        assert other.post(pay_url(app, order), {"method": method}).status_code == 404
    assert other.get(order_url(app, order)).status_code == 404
    assert other.get(pay_url(app, order)).status_code == 404
    assert stored_value.balance(merchant, stranger) == 10000
    assert not PaymentIntent.objects.filter(customer=stranger).exists()
    assert Order.objects.get(pk=order.pk).customer_id == customer.pk


def test_the_order_page_shows_refunds_and_where_the_money_goes(
    client, app, product, merchant, django_capture_on_commit_callbacks
):
    customer = member(client, app)
    counter_topup(merchant, customer, 1000)
    order, _response = place_order(client, app, product)
    client.post(pay_url(app, order), {"method": "wallet"})
    response = client.post(pay_url(app, order), {"method": "sandbox"})
    client.post(response.url, {"decision": "approve"})
    deliver_webhooks(client)
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID

    # The shop gives back 20.00: the provider's 16.00 first, then 4.00 to the card.
    with django_capture_on_commit_callbacks(execute=False) as sending:
        services.refund_purpose(
            purpose=Purpose.ORDER, purpose_id=order.pk, amount=2000, reason="cold coffee"
        )
    page = text(client.get(order_url(app, order)))
    refunds = re.findall(r'data-testid="refund" data-status="(\w+)"', page)
    assert refunds == ["pending", "succeeded"]
    assert "to the way you paid (Sandbox (test payments))" in page
    assert "to your card balance" in page
    assert "CN¥16.00" in page and "CN¥4.00" in page
    for send in sending:  # the worker asks the sandbox; it confirms with a webhook
        send()
    deliver_webhooks(client)
    page = text(client.get(order_url(app, order)))
    assert re.findall(r'data-testid="refund" data-status="(\w+)"', page) == ["succeeded"] * 2
    assert stored_value.balance(merchant, customer) == 400


def test_the_order_page_with_payment_choices_stays_cheap(
    client, app, product, merchant, django_assert_max_num_queries
):
    customer = member(client, app)
    counter_topup(merchant, customer, 1000)
    order, _response = place_order(client, app, product)
    client.post(pay_url(app, order), {"method": "wallet"})
    with django_assert_max_num_queries(10):
        page = text(client.get(order_url(app, order)))
    assert "Left to pay" in page


# --- the card ------------------------------------------------------------------------------


def test_an_online_top_up_adds_the_bonus_when_the_provider_confirms(client, app, merchant, product):
    stored_value.tier_set(merchant=merchant, pay=10000, bonus=1000)
    stored_value.tier_set(merchant=merchant, pay=50000, bonus=5000)
    customer = member(client, app)
    # The card is in the app's menu.
    assert card_url(app) in text(client.get(reverse("shell:app", args=[app.slug])))
    page = text(client.get(card_url(app)))
    assert "Pay CN¥100.00, get CN¥110.00" in page and "Pay CN¥500.00, get CN¥550.00" in page
    assert customer.public_id in page and "<svg" in page  # the member code, and its QR
    key = re.search(r'name="key" value="([^"]+)"', page)[1]

    response = client.post(card_url(app), {"key": key, "pick": "100.00", "method": "sandbox"})
    intent = PaymentIntent.objects.get(purpose=Purpose.TOPUP)
    assert response.url == reverse("payments:sandbox_page", args=[intent.public_id])
    assert (intent.amount, intent.provider, intent.customer_id) == (10000, "sandbox", customer.pk)
    response = client.post(response.url, {"decision": "approve"})
    assert response.url == reverse("shell:my_cards")
    assert "confirming your payment" in text(client.get(response.url))
    assert stored_value.balance(merchant, customer) == 0  # not before the webhook

    deliver_webhooks(client)
    assert stored_value.balance(merchant, customer) == 11000
    page = text(client.get(card_url(app)))
    assert re.search(r'data-testid="card-balance">CN¥110.00<', page)
    assert "Stored value top-up" in page and "+CN¥110.00" in page
    mine = text(client.get(reverse("shell:my_cards")))
    assert "confirming" not in mine
    assert f'href="{card_url(app)}"' in mine and "CN¥110.00" in mine


def test_a_typed_amount_wins_over_a_chosen_one(client, app, merchant):
    stored_value.tier_set(merchant=merchant, pay=10000, bonus=1000)
    member(client, app)
    key = topup_key(client, app)
    client.post(card_url(app), {"key": key, "pick": "100.00", "amount": " 12.5 "})
    topup = TopUp.objects.get()
    assert (topup.amount, topup.bonus) == (1250, 0)


def test_a_guest_is_sent_to_sign_in_first_and_comes_back(client, app, mailoutbox):
    visit(client, app)
    page = text(client.get(card_url(app)))
    signin = reverse("shell:signin") + "?" + urlencode({"next": card_url(app)})
    assert 'data-testid="topup"' not in page
    assert f'href="{signin.replace("&", "&amp;")}"' in page
    response = client.post(card_url(app), {"key": "k" * 20, "amount": "100"})
    assert response.status_code == 302 and response.url == signin
    assert not TopUp.objects.exists() and not PaymentIntent.objects.exists()

    page = text(client.post(signin, {"step": "email", "email": "ann@example.com"}))
    token = re.search(r'name="token" value="([^"]+)"', page)[1]
    code = re.search(r"\b(\d{6})\b", mailoutbox[-1].body)[1]
    response = client.post(signin, {"step": "code", "token": token, "code": code})
    assert response.url == card_url(app)
    assert 'data-testid="topup"' in text(client.get(card_url(app)))


@pytest.mark.parametrize(
    "amount", ["abc", "-5", "0", "99999999", "1.234", "", "  ", "NaN", "1" * 30, "1\x00"]
)
def test_a_bad_amount_is_told_and_changes_nothing(client, app, merchant, amount):
    customer = member(client, app)
    key = topup_key(client, app)
    response = client.post(card_url(app), {"key": key, "amount": amount}, follow=True)
    assert response.status_code == 200
    assert response.redirect_chain == [(card_url(app), 302)]
    assert 'class="msg error"' in text(response)
    assert not TopUp.objects.exists() and not PaymentIntent.objects.exists()
    assert stored_value.balance(merchant, customer) == 0


@pytest.mark.parametrize(
    "data",
    [
        {"key": "short", "amount": "10"},
        {"amount": "10"},
        {"key": "k" * 20, "amount": "10", "method": "wallet"},
        {"key": "k" * 20, "amount": "10", "method": "nope"},
        {"key": "k" * 19 + "\x00", "amount": "10"},
    ],
)
def test_a_bad_top_up_form_is_told_and_changes_nothing(client, app, data):
    member(client, app)
    response = client.post(card_url(app), data, follow=True)
    assert response.status_code == 200
    assert 'class="msg error"' in text(response)
    assert not TopUp.objects.exists() and not PaymentIntent.objects.exists()


def test_two_tabs_sending_one_top_up_form_make_one_top_up(client, app):
    member(client, app)
    key = topup_key(client, app)
    first = client.post(card_url(app), {"key": key, "amount": "50"})
    second = client.post(card_url(app), {"key": key, "amount": "80"})
    assert first.url == second.url
    topup = TopUp.objects.get()
    assert topup.amount == 5000
    assert PaymentIntent.objects.get().purpose_id == topup.pk
    # Back on the finished form after paying: nothing new either.
    client.post(first.url, {"decision": "approve"})
    deliver_webhooks(client)
    response = client.post(card_url(app), {"key": key, "amount": "50"}, follow=True)
    assert "already on your card" in text(response)
    assert TopUp.objects.count() == 1


@pytest.mark.race
@pytest.mark.django_db(transaction=True)
def test_two_tabs_sending_at_once_make_one_top_up(concurrently, app):
    first = Client()
    member(first, app)
    key = topup_key(first, app)
    tabs = [Client(), Client()]
    for tab in tabs:
        tab.cookies = copy.deepcopy(first.cookies)

    results = concurrently(
        lambda i: tabs[i].post(card_url(app), {"key": key, "amount": "50"}).url, 2
    )

    intent = PaymentIntent.objects.get()
    assert results == [reverse("payments:sandbox_page", args=[intent.public_id])] * 2, results
    assert TopUp.objects.count() == 1


def test_another_customer_cannot_reuse_a_top_up_key(client, app):
    member(client, app)
    key = topup_key(client, app)
    client.post(card_url(app), {"key": key, "amount": "50"})
    other = Client()
    member(other, app, email="bob@example.com")
    response = other.post(card_url(app), {"key": key, "amount": "50"}, follow=True)
    assert "This form has expired" in text(response)
    assert TopUp.objects.count() == 1


def test_my_cards_lists_every_card_with_its_balance(client, app, merchant, other_merchant):
    customer = member(client, app)
    counter_topup(merchant, customer, 3000)
    counter_topup(other_merchant, customer, 500, key="counter-2")
    page = text(client.get(reverse("shell:my_cards")))
    assert page.count('data-testid="my-card"') == 2
    assert page.index("CN¥30.00") < page.index("CN¥5.00")  # largest first
    assert f'href="{card_url(app)}"' in page
    assert 'href="/m/bakery/card/"' in page
    # A first-time visitor has no cards, and no error.
    assert "No cards yet" in text(Client().get(reverse("shell:my_cards")))


def test_the_card_of_an_unknown_or_unpublished_app_is_not_found(client, app):
    from tapgo.flows.listings import app_set_published

    assert client.get(reverse("shell:card", args=["nope"])).status_code == 404
    app_set_published(app=app, published=False)
    assert client.get(card_url(app)).status_code == 404
    assert client.post(card_url(app), {"key": "k" * 20, "amount": "10"}).status_code == 404
