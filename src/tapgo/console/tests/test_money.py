"""The console's money pages through the test client: refunds on the order page, the card
(bonus tiers, members, counter top-ups), payment providers, settlement reports."""

import csv
import io
import re
import uuid
from datetime import timedelta

import pytest
from django.db.models import F
from django.urls import reverse

from tapgo.catalog.models import Product
from tapgo.flows.checks import verify_books
from tapgo.identity.models import Customer
from tapgo.ordering.models import OrderLine
from tapgo.payments import credentials, providers, reports, stored_value
from tapgo.payments import services as payments
from tapgo.payments.models import (
    BonusTier,
    LedgerTransaction,
    PaymentIntent,
    ProviderAccount,
    Purpose,
    Refund,
    TopUp,
    TxKind,
)
from tapgo.payments.tests.sandbox_helpers import pay_by_sandbox


@pytest.fixture(autouse=True)
def books_balance(db):
    yield
    assert [str(b) for b in verify_books()] == []


@pytest.fixture
def staff_client(client, staff_member):
    client.force_login(staff_member)
    return client


@pytest.fixture
def member(db):
    return Customer.objects.create(email="ann@example.com")


def url(name, merchant, *args):
    return reverse(f"console:{name}", args=[merchant.public_id, *args])


def body(response) -> str:
    return response.content.decode()


def stock(product) -> int:
    return Product.objects.values_list("stock", flat=True).get(pk=product.pk)


def sandbox_paid_order(app, product):
    """A guest orders and pays by card through the sandbox (the ledger sees the payment)."""
    from tapgo.identity.services import customer_create_guest
    from tapgo.ordering import services as ordering

    customer = customer_create_guest()
    ordering.cart_add(customer=customer, app=app, product_public_id=product.public_id)
    order = ordering.order_place(
        customer=customer,
        app=app,
        checkout_key=uuid.uuid4().hex,
        fulfilment="pickup",
        pickup_name="Bo",
    )
    pay_by_sandbox(order)
    order.refresh_from_db()
    return order


@pytest.fixture
def card_paid(order):
    """Two lattes (52.00), paid by card through the sandbox."""
    pay_by_sandbox(order)
    order.refresh_from_db()
    return order


# --- refunds ------------------------------------------------------------------------------


def refund(client, merchant, order, **data):
    return client.post(url("order_refund", merchant, order.public_id), data, follow=True)


def test_the_order_page_shows_the_payment_and_the_refund_form(owner_client, merchant, card_paid):
    page = body(owner_client.get(url("order", merchant, card_paid.public_id)))
    assert "Sandbox (test payments)" in page and "Succeeded" in page
    assert "Up to" in page and "52.00" in page
    line = card_paid.lines.get()
    assert f'name="line_{line.pk}"' in page and 'max="2"' in page
    assert "Put the items back in stock" in page
    assert 'style="' not in page


def test_owner_refunds_items_back_into_stock(owner_client, merchant, card_paid, product):
    line = card_paid.lines.get()
    page = body(
        refund(
            owner_client,
            merchant,
            card_paid,
            mode="items",
            **{f"line_{line.pk}": "1"},
            restock="on",
            reason="Spilled",
        )
    )
    assert "Refunded" in page and "26.00" in page
    assert OrderLine.objects.get(pk=line.pk).refunded_quantity == 1
    assert stock(product) == 19
    made = Refund.objects.get()
    assert (made.amount, made.reason, made.restock) == (2600, "Spilled", True)
    assert made.created_by.email == "owner@cafe.test"
    # The order page now lists the refund with its status, and one latte left to refund.
    assert "Spilled" in page and "Pending" in page
    assert 'max="1"' in page


def test_owner_refunds_an_amount(owner_client, merchant, card_paid, product):
    page = body(
        refund(owner_client, merchant, card_paid, mode="amount", amount="12.50", reason="Late")
    )
    assert "Refunded" in page
    assert Refund.objects.get().amount == 1250
    assert (
        PaymentIntent.objects.get(purpose=Purpose.ORDER, purpose_id=card_paid.pk).refunded_amount
        == 1250
    )
    assert stock(product) == 18


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"mode": "amount", "amount": "abc", "reason": "x"}, "Enter an amount such as"),
        ({"mode": "amount", "amount": "1e3", "reason": "x"}, "Enter an amount such as"),
        ({"mode": "amount", "amount": "0", "reason": "x"}, "above zero"),
        ({"mode": "amount", "amount": "-3", "reason": "x"}, "above zero"),
        ({"mode": "amount", "amount": "1.234", "reason": "x"}, "digits after the decimal"),
        ({"mode": "amount", "amount": "52.01", "reason": "x"}, "total"),
        ({"mode": "amount", "amount": "5", "reason": ""}, "This field is required"),
        ({"mode": "items", "reason": "x"}, "at least one item"),
        ({"mode": "items", "LINE": "3", "reason": "x"}, "Only 2 of Latte left"),
        ({"mode": "items", "LINE": "-1", "reason": "x"}, "Latte:"),
        ({"mode": "items", "LINE": "many", "reason": "x"}, "Latte:"),
        ({"mode": "steal", "amount": "5", "reason": "x"}, "Select a valid choice"),
    ],
)
def test_bad_refunds_get_a_message_and_change_nothing(
    owner_client, merchant, card_paid, product, data, message
):
    line = card_paid.lines.get()
    if "LINE" in data:
        data[f"line_{line.pk}"] = data.pop("LINE")
    response = refund(owner_client, merchant, card_paid, **data)
    assert response.status_code == 200
    assert message in body(response)
    assert not Refund.objects.exists()
    assert OrderLine.objects.get(pk=line.pk).refunded_quantity == 0
    assert (
        PaymentIntent.objects.get(purpose=Purpose.ORDER, purpose_id=card_paid.pk).refunded_amount
        == 0
    )
    assert stock(product) == 18


def test_more_than_is_left_is_refused(owner_client, merchant, card_paid):
    refund(owner_client, merchant, card_paid, mode="amount", amount="50", reason="Late")
    page = body(refund(owner_client, merchant, card_paid, mode="amount", amount="2.01", reason="x"))
    assert "more than is left" in page
    assert Refund.objects.count() == 1


def test_an_unpaid_order_has_no_refund_form_and_refuses_a_refund(owner_client, merchant, order):
    page = body(owner_client.get(url("order", merchant, order.public_id)))
    assert "Refund items" not in page
    page = body(refund(owner_client, merchant, order, mode="amount", amount="5", reason="x"))
    assert "Only a paid order" in page
    assert not Refund.objects.exists()


def test_staff_cannot_refund(staff_client, merchant, card_paid):
    page = body(staff_client.get(url("order", merchant, card_paid.public_id)))
    assert "Refund items" not in page
    response = staff_client.post(
        url("order_refund", merchant, card_paid.public_id),
        {"mode": "amount", "amount": "5", "reason": "x"},
    )
    assert response.status_code == 404
    assert not Refund.objects.exists()


def test_another_merchants_order_is_404(owner_client, merchant, other_merchant):
    from tapgo.catalog import services as catalog
    from tapgo.miniapps import services as miniapps

    theirs = sandbox_paid_order(
        miniapps.apps_of(other_merchant).get(), catalog.products_of(other_merchant).get()
    )
    response = owner_client.post(
        url("order_refund", merchant, theirs.public_id),
        {"mode": "amount", "amount": "5", "reason": "x"},
    )
    assert response.status_code == 404
    assert not Refund.objects.exists()


# --- the card: bonus tiers ----------------------------------------------------------------


def test_owner_adds_edits_and_deletes_a_tier(owner_client, merchant):
    page = body(
        owner_client.post(
            url("card_settings", merchant), {"pay": "500", "bonus": "50"}, follow=True
        )
    )
    assert "Bonus tier saved." in page
    tier = BonusTier.objects.get()
    assert (tier.pay, tier.bonus, tier.currency) == (50000, 5000, "CNY")
    assert "500.00" in page and "50.00 more" in page

    owner_client.post(url("card_settings", merchant), {"tier": str(tier.pk), "bonus": "80.50"})
    tier.refresh_from_db()
    assert (tier.pay, tier.bonus) == (50000, 8050)

    page = body(
        owner_client.post(url("tier_delete", merchant), {"tier": str(tier.pk)}, follow=True)
    )
    assert "Bonus tier deleted." in page
    assert not BonusTier.objects.exists()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"pay": "abc", "bonus": "5"}, "Enter an amount such as"),
        ({"pay": "100", "bonus": "200"}, "a bonus no larger"),
        ({"pay": "0", "bonus": "0"}, "above zero"),
        ({"pay": "100", "bonus": "-1"}, "a bonus no larger"),
        ({"pay": "", "bonus": "5"}, "This field is required"),
    ],
)
def test_bad_tiers_get_a_message_and_change_nothing(owner_client, merchant, data, message):
    response = owner_client.post(url("card_settings", merchant), data)
    assert response.status_code == 200
    assert message in body(response)
    assert not BonusTier.objects.exists()


def test_another_merchants_tier_is_404(owner_client, merchant, other_merchant):
    theirs = stored_value.tier_set(merchant=other_merchant, pay=10000, bonus=1000)
    for name, data in [
        ("card_settings", {"tier": str(theirs.pk), "bonus": "99"}),
        ("tier_delete", {"tier": str(theirs.pk)}),
        ("tier_delete", {"tier": "not-a-number"}),
        ("tier_delete", {"tier": "9" * 30}),
    ]:
        assert owner_client.post(url(name, merchant), data).status_code == 404
    theirs.refresh_from_db()
    assert theirs.bonus == 1000


def test_staff_cannot_change_the_card(staff_client, merchant):
    tier = stored_value.tier_set(merchant=merchant, pay=10000, bonus=1000)
    assert staff_client.get(url("card_settings", merchant)).status_code == 404
    assert (
        staff_client.post(url("card_settings", merchant), {"pay": "1", "bonus": "1"}).status_code
        == 404
    )
    assert staff_client.post(url("tier_delete", merchant), {"tier": tier.pk}).status_code == 404
    assert BonusTier.objects.count() == 1


# --- the card: members and counter top-ups ------------------------------------------------


def topup(client, merchant, code, amount, key=None):
    return client.post(
        url("members", merchant),
        {"code": code, "amount": amount, "key": key or uuid.uuid4().hex},
        follow=True,
    )


def test_staff_tops_up_a_card_at_the_counter(staff_client, merchant, member, staff_member):
    stored_value.tier_set(merchant=merchant, pay=20000, bonus=2000)
    form = body(staff_client.get(url("members", merchant)))
    assert 'name="key"' in form and 'type="hidden"' in form
    # Typed from the customer's phone: capitals and spaces are forgiven.
    code = " ".join([member.public_id[:6].upper(), member.public_id[6:]])
    page = body(topup(staff_client, merchant, code, "200"))
    assert "Added" in page and "ann@example.com" in page
    made = TopUp.objects.get()
    assert (made.amount, made.bonus, made.method, made.recorded_by) == (
        20000,
        2000,
        "counter",
        staff_member,
    )
    assert stored_value.balance(merchant, member) == 22000
    # The members list and the total owed.
    assert "ann@example.com" in page and "220.00" in page
    assert "you owe" in page


def test_a_double_submitted_top_up_is_one_top_up(staff_client, merchant, member):
    key = uuid.uuid4().hex
    topup(staff_client, merchant, member.public_id, "50", key)
    topup(staff_client, merchant, member.public_id, "50", key)
    assert TopUp.objects.count() == 1
    assert stored_value.balance(merchant, member) == 5000


@pytest.mark.parametrize(
    ("code", "amount", "key", "message"),
    [
        ("MEMBER", "abc", None, "Enter an amount such as"),
        ("MEMBER", "0", None, "above zero"),
        ("MEMBER", "100001", None, "at most 10,000"),
        ("MEMBER", "5", "short", "expired"),
        ("zzzzzzzzzzzz", "5", None, "No customer has this code"),
        ("nonsense!", "5", None, "No customer has this code"),
        ("GUEST", "5", None, "has not signed in"),
        ("", "5", None, "This field is required"),
    ],
)
def test_bad_top_ups_get_a_message_and_change_nothing(
    staff_client, merchant, member, customer, code, amount, key, message
):
    code = {"MEMBER": member.public_id, "GUEST": customer.public_id}.get(code, code)
    response = topup(staff_client, merchant, code, amount, key)
    assert response.status_code == 200
    assert message in body(response)
    assert not TopUp.objects.exists()
    assert stored_value.liability(merchant) == 0


def test_a_refused_top_up_comes_back_with_a_fresh_key(staff_client, merchant, member):
    response = topup(staff_client, merchant, member.public_id, "5", "bad key!\x01")
    assert "expired" in body(response)
    assert "bad key" not in body(response)
    key = response.context["form"]["key"].value()
    assert len(key) == 32
    topup(staff_client, merchant, member.public_id, "5", key)
    assert TopUp.objects.get().key == key


def test_members_page_lists_cards_without_a_query_per_member(
    owner_client, merchant, django_assert_max_num_queries
):
    for n in range(12):
        customer = Customer.objects.create(email=f"m{n}@example.com")
        stored_value.topup_counter(
            merchant=merchant, customer=customer, amount=100 * (n + 1), key=f"key-{n:04d}", by=None
        )
    with django_assert_max_num_queries(12):
        page = body(owner_client.get(url("members", merchant)))
    assert "m11@example.com" in page and "m0@example.com" in page
    assert "12 card holders" in page
    assert "Card settings" in page  # the owner's link


# --- payment providers --------------------------------------------------------------------


class FakeProvider:
    """Stripe's settings; its connection test takes the secret keys that start with sk_ok
    (as a real provider takes only real keys), and is in test mode."""

    name = "stripe"
    label = "Stripe"
    pays_with = "by card through Stripe"
    config_fields = (("publishable_key", "Publishable key"),)
    secret_fields = (("secret_key", "Secret key"), ("webhook_secret", "Webhook signing secret"))

    currencies = ()
    tests: list = []

    def check_credentials(self, config, secrets):
        return None

    def test_connection(self, config, secrets):
        FakeProvider.tests.append(secrets["secret_key"])
        if secrets["secret_key"] == "sk_down":
            raise providers.ProviderError("no answer")
        if not secrets["secret_key"].startswith("sk_ok"):
            raise credentials.CredentialsError("Stripe refused the secret key: Invalid API Key")
        return providers.Connection(live=False)


@pytest.fixture
def fake_stripe(monkeypatch):
    real = providers.get
    monkeypatch.setattr(
        providers,
        "get",
        lambda name: (
            FakeProvider() if name == "stripe" else (None if name == "wechatpay" else real(name))
        ),
    )


def save_provider(client, merchant, action="save", **data):
    fields = {
        "provider": "stripe",
        "action": action,
        **{f"stripe-{k}": v for k, v in data.items()},
    }
    return client.post(url("payment_providers", merchant), fields, follow=True)


def test_owner_sets_up_a_provider_and_secrets_are_never_shown(owner_client, merchant, fake_stripe):
    page = body(owner_client.get(url("payment_providers", merchant)))
    assert "Stripe" in page and 'type="password"' in page
    assert "Customers pay with the test sandbox" in page  # nothing on yet: the sandbox stands in

    page = body(
        save_provider(
            owner_client,
            merchant,
            action="test",
            config_publishable_key="pk_test_123",
            secret_secret_key="sk_ok_supersecret_9876",
            secret_webhook_secret="whsec_abcdefgh4321",
        )
    )
    assert "The connection to Stripe works." in page
    page = body(
        save_provider(owner_client, merchant, config_publishable_key="pk_test_123", enabled="on")
    )
    assert "Stripe saved." in page
    account = ProviderAccount.objects.get(merchant=merchant)
    assert account.enabled
    assert credentials.secrets_of(account) == {
        "secret_key": "sk_ok_supersecret_9876",
        "webhook_secret": "whsec_abcdefgh4321",
    }
    assert "sk_ok_supersecret" not in page and "whsec_abcd" not in page
    assert "••••9876" in page and "••••4321" in page
    assert 'value="pk_test_123"' in page
    webhook = reverse("payments:account_webhook", args=["stripe", account.public_id])
    assert webhook in page
    assert "test sandbox" not in page
    assert "Customers pay by card through Stripe (test mode: no real money moves)." in page

    # Blank secrets keep the stored ones; the public setting is replaced (and tested).
    save_provider(
        owner_client,
        merchant,
        action="test",
        config_publishable_key="pk_test_456",
        secret_secret_key="",
        secret_webhook_secret="",
    )
    account.refresh_from_db()
    assert account.config == {"publishable_key": "pk_test_456"} and account.enabled
    assert credentials.secrets_of(account)["secret_key"] == "sk_ok_supersecret_9876"

    # Disabled: customers no longer pay with it.
    save_provider(owner_client, merchant, config_publishable_key="pk_test_456")
    account.refresh_from_db()
    assert not account.enabled


def test_enabling_without_its_secrets_is_refused_with_a_message(
    owner_client, merchant, fake_stripe
):
    response = save_provider(
        owner_client,
        merchant,
        action="test",
        config_publishable_key="pk",
        secret_secret_key="sk_ok_only_this_one",
    )
    assert response.status_code == 200
    assert "Enter Webhook signing secret." in body(response)
    assert not ProviderAccount.objects.exists()


STRIPE_KEYS = {
    "config_publishable_key": "pk_test_1",
    "secret_secret_key": "sk_ok_first_key_1111",
    "secret_webhook_secret": "whsec_abcdefgh4321",
}


def test_fake_keys_are_refused_by_the_connection_test_and_change_nothing(
    owner_client, merchant, fake_stripe
):
    page = body(
        save_provider(
            owner_client,
            merchant,
            action="test",
            **STRIPE_KEYS | {"secret_secret_key": "sk_test_123"},
        )
    )
    assert "Stripe refused the secret key: Invalid API Key" in page
    assert not ProviderAccount.objects.exists()
    assert "Customers pay with the test sandbox" in page

    down = body(
        save_provider(
            owner_client, merchant, action="test", **STRIPE_KEYS | {"secret_secret_key": "sk_down"}
        )
    )
    assert "Stripe did not answer, so nothing was changed." in down
    assert not ProviderAccount.objects.exists()


def test_take_payments_waits_for_a_connection_test_with_the_current_keys(
    owner_client, merchant, fake_stripe
):
    page = body(owner_client.get(url("payment_providers", merchant)))
    assert re.search(r'<input type="checkbox" name="stripe-enabled"[^>]* disabled', page)
    # Ticked anyway (a hand-made request): saved, but not switched on.
    save_provider(owner_client, merchant, **STRIPE_KEYS, enabled="on")
    account = ProviderAccount.objects.get()
    assert not account.enabled and account.tested_at is None
    with pytest.raises(credentials.CredentialsError, match="Test the connection first"):
        credentials.save(
            merchant=merchant, provider="stripe", config=account.config, secrets={}, enabled=True
        )

    page = body(save_provider(owner_client, merchant, action="test", **STRIPE_KEYS))
    assert "The connection to Stripe works. Tick" in page
    assert "Connection tested" in page and "Test mode: no real money moves." in page
    account.refresh_from_db()
    assert account.tested_at is not None and account.tested_live is False and not account.enabled
    save_provider(owner_client, merchant, config_publishable_key="pk_test_1", enabled="on")
    account.refresh_from_db()
    assert account.enabled

    # A new key, saved with the box ticked: refused (it was never tested), nothing changes.
    page = body(
        save_provider(
            owner_client,
            merchant,
            **STRIPE_KEYS | {"secret_secret_key": "sk_ok_second_2222"},
            enabled="on",
        )
    )
    assert "Test the connection first" in page
    account.refresh_from_db()
    assert account.enabled and account.tested_at is not None
    assert credentials.secrets_of(account)["secret_key"] == "sk_ok_first_key_1111"
    # Saved switched off, the new key clears the test: the box waits for another.
    page = body(
        save_provider(
            owner_client, merchant, **STRIPE_KEYS | {"secret_secret_key": "sk_ok_second_2222"}
        )
    )
    account.refresh_from_db()
    assert not account.enabled and account.tested_at is None
    assert "Connection not tested with these settings." in page
    assert re.search(r'<input type="checkbox" name="stripe-enabled"[^>]* disabled', page)


def test_the_page_says_what_customers_meet(owner_client, merchant, fake_stripe, settings):
    def seen():
        page = body(owner_client.get(url("payment_providers", merchant)))
        start = page.index('id="customers-see"')
        return re.sub(r"\s+", " ", page[start : page.index("</section>", start)])

    assert "Customers pay with the test sandbox: no real money moves." in seen()
    # The sandbox stays a visible choice, beside a provider too.
    owner_client.post(
        url("payment_providers", merchant), {"provider": "sandbox", "sandbox-offer": "never"}
    )
    assert (
        "Customers cannot pay: no payment provider is on, and you turned test payments off."
        in seen()
    )
    save_provider(owner_client, merchant, action="test", **STRIPE_KEYS)
    save_provider(owner_client, merchant, config_publishable_key="pk_test_1", enabled="on")
    owner_client.post(
        url("payment_providers", merchant), {"provider": "sandbox", "sandbox-offer": "always"}
    )
    page = seen()
    assert "Customers pay by card through Stripe (test mode: no real money moves)." in page
    assert "Customers pay with the test sandbox" in page
    assert payments.payment_methods(merchant) == ["stripe", "sandbox"]
    owner_client.post(
        url("payment_providers", merchant), {"provider": "sandbox", "sandbox-offer": "auto"}
    )
    assert payments.payment_methods(merchant) == ["stripe"]
    bad = owner_client.post(
        url("payment_providers", merchant), {"provider": "sandbox", "sandbox-offer": "x"}
    )
    assert bad.status_code == 200 and payments.payment_methods(merchant) == ["stripe"]

    # Where the operator allows no test payments, the page offers none and says so.
    settings.SANDBOX_PAYMENTS = False
    save_provider(owner_client, merchant, config_publishable_key="pk_test_1")
    page = body(owner_client.get(url("payment_providers", merchant)))
    assert 'id="provider-sandbox"' not in page
    assert "Customers cannot pay: no payment provider is on. Set one up below." in seen()


def test_a_provider_that_cannot_take_the_currency_is_named(owner_client, merchant, monkeypatch):
    wechat = FakeWeChatPay()
    wechat.currencies = ("USD",)
    monkeypatch.setattr(providers, "get", lambda name: wechat if name == "wechatpay" else None)
    fields = {
        "provider": "wechatpay",
        "action": "test",
        "wechatpay-config_mchid": "1900000109",
        "wechatpay-secret_private_key": PEM,
        "wechatpay-secret_apiv3_key": "0123456789abcdef0123456789abcdef",
    }
    owner_client.post(url("payment_providers", merchant), fields)
    fields |= {"action": "save", "wechatpay-enabled": "on"}
    page = body(owner_client.post(url("payment_providers", merchant), fields, follow=True))
    assert merchant.currency != "USD"
    assert f"WeChat Pay takes USD only, and your prices are in {merchant.currency}." in page


class FakeWeChatPay:
    name = "wechatpay"
    label = "WeChat Pay"
    pays_with = "with WeChat Pay"
    config_fields = (("mchid", "Merchant ID"), ("public_key", "Public key (PEM)"))
    secret_fields = (("private_key", "Private key (PEM)"), ("apiv3_key", "APIv3 key"))

    currencies = ()

    def check_credentials(self, config, secrets):
        return None

    def test_connection(self, config, secrets):
        return providers.Connection(live=True)


PEM = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----"


def test_a_pem_key_keeps_its_lines_and_is_never_shown_back(owner_client, merchant, monkeypatch):
    monkeypatch.setattr(
        providers, "get", lambda name: FakeWeChatPay() if name == "wechatpay" else None
    )
    page = body(owner_client.get(url("payment_providers", merchant)))
    assert 'name="wechatpay-secret_private_key"' in page and "<textarea" in page
    fields = {
        "provider": "wechatpay",
        "wechatpay-config_mchid": "1900000109",
        "wechatpay-secret_private_key": PEM,
        "action": "test",
    }
    # Refused (the APIv3 key is missing): the page comes back without the key typed in.
    response = owner_client.post(url("payment_providers", merchant), fields)
    assert "Enter APIv3 key." in body(response)
    assert "MIIEvQIBADAN" not in body(response) and 'value="1900000109"' in body(response)
    assert not ProviderAccount.objects.exists()
    fields["wechatpay-secret_apiv3_key"] = "0123456789abcdef0123456789abcdef"
    page = body(owner_client.post(url("payment_providers", merchant), fields, follow=True))
    assert "The connection to WeChat Pay works." in page and "MIIEvQIBADAN" not in page
    account = ProviderAccount.objects.get()
    assert credentials.secrets_of(account)["private_key"] == PEM  # line breaks kept


def test_an_unknown_provider_is_refused(owner_client, merchant, fake_stripe):
    page = body(
        owner_client.post(url("payment_providers", merchant), {"provider": "paypal"}, follow=True)
    )
    assert "Unknown payment provider." in page
    assert not ProviderAccount.objects.exists()


def test_without_installed_providers_the_page_says_so(owner_client, merchant, monkeypatch):
    real = providers.get
    monkeypatch.setattr(
        providers, "get", lambda name: None if name in ("stripe", "wechatpay") else real(name)
    )
    page = body(owner_client.get(url("payment_providers", merchant)))
    assert "No payment provider is installed" in page


def test_staff_cannot_see_providers(staff_client, merchant, fake_stripe):
    assert staff_client.get(url("payment_providers", merchant)).status_code == 404
    assert save_provider(staff_client, merchant, enabled="on").status_code == 404
    assert not ProviderAccount.objects.exists()


# --- settlement reports -------------------------------------------------------------------


def two_days_ago():
    """Back to a day that has ended, grace period included, at any hour of the run."""
    LedgerTransaction.objects.update(created_at=F("created_at") - timedelta(days=2))


def test_the_report_lists_thirty_days_and_downloads_as_csv(
    owner_client, merchant, member, django_assert_max_num_queries
):
    stored_value.topup_counter(
        merchant=merchant, customer=member, amount=3000, key="counter-key-1", by=None
    )
    with django_assert_max_num_queries(10):
        page = body(owner_client.get(url("report", merchant)))
    assert page.count('<tr id="day-') == 30
    today = reports.today(merchant)
    assert f'id="day-{today.isoformat()}"' in page
    assert "Open" in page  # today cannot be settled yet

    response = owner_client.get(url("report_csv", merchant))
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["Date", "Currency", "Gross sales"]
    assert rows[0][-2:] == ["Net payout", "Settled"]
    assert len(rows) == 31
    last = dict(zip(rows[0], rows[-1], strict=True))
    assert last["Date"] == today.isoformat()
    assert (last["Currency"], last["Stored value sold"], last["Cash taken at the counter"]) == (
        "CNY",
        "30.00",
        "30.00",
    )
    assert last["Net payout"] == "-30.00" and last["Settled"] == ""


def test_owner_settles_a_past_day(owner_client, merchant, card_paid):
    two_days_ago()
    day = reports.today(merchant) - timedelta(days=2)
    (figures,) = reports.days(merchant, first=day, last=day)
    assert figures.net == 5200 - figures.fees > 0
    page = body(owner_client.get(url("report", merchant)))
    assert f'name="day" value="{day.isoformat()}"' in page

    page = body(owner_client.post(url("settle", merchant), {"day": day.isoformat()}, follow=True))
    assert "is settled" in page
    tx = LedgerTransaction.objects.get(kind=TxKind.SETTLEMENT)
    assert -tx.entries.get(account__kind="settled").amount == figures.net
    assert f'name="day" value="{day.isoformat()}"' not in page  # no button once settled
    # A second click changes nothing.
    owner_client.post(url("settle", merchant), {"day": day.isoformat()})
    assert LedgerTransaction.objects.filter(kind=TxKind.SETTLEMENT).count() == 1


@pytest.mark.parametrize("day", ["TODAY", "2024-02-30", "yesterday", ""])
def test_bad_settlements_get_a_message_and_change_nothing(owner_client, merchant, card_paid, day):
    day = reports.today(merchant).isoformat() if day == "TODAY" else day
    page = body(owner_client.post(url("settle", merchant), {"day": day}, follow=True))
    assert "has ended" in page or "Choose a day" in page
    assert not LedgerTransaction.objects.filter(kind=TxKind.SETTLEMENT).exists()


def test_staff_see_the_report_but_cannot_settle(staff_client, merchant, card_paid):
    two_days_ago()
    day = reports.today(merchant) - timedelta(days=2)
    page = body(staff_client.get(url("report", merchant)))
    assert f'id="day-{day.isoformat()}"' in page
    assert 'name="day"' not in page and "Not settled" in page
    assert staff_client.get(url("report_csv", merchant)).status_code == 200
    response = staff_client.post(url("settle", merchant), {"day": day.isoformat()})
    assert response.status_code == 404
    assert not LedgerTransaction.objects.filter(kind=TxKind.SETTLEMENT).exists()


def test_the_nav_links_the_money_pages(client, merchant, staff_member, owner):
    client.force_login(owner)
    page = body(client.get(url("board", merchant)))
    for name in ("members", "report", "payment_providers"):
        assert url(name, merchant) in page
    client.force_login(staff_member)
    page = body(client.get(url("board", merchant)))
    assert url("members", merchant) in page and url("report", merchant) in page
    assert url("payment_providers", merchant) not in page
