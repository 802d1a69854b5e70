"""A table in the shell, through Django's test client: phones scanning one table share the
cart (live), a table that pays after eating sends rounds and pays its bill in parts with
tips on the sandbox provider, staff close a bill at the counter; bad input changes nothing."""

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tapgo.flows.checks import verify_books
from tapgo.merchants.models import Merchant, Store
from tapgo.miniapps.models import EntryCode
from tapgo.ordering.models import Order, OrderStatus, TableGroup, TableShare
from tapgo.payments.models import PaymentIntent, SandboxOutbox
from tapgo.payments.providers import sandbox


@pytest.fixture(autouse=True)
def books_balance(db):
    yield
    assert [str(b) for b in verify_books()] == []


@pytest.fixture
def pay_after(merchant):
    Store.objects.filter(merchant=merchant).update(dine_in_payment="pay_after")
    Merchant.objects.filter(pk=merchant.pk).update(tips_on=True, tip_percentages=[10, 15])


def _phone(app, label="1") -> Client:
    phone = Client()
    entry = EntryCode.objects.get(app=app, kind="table", table_label=label)
    assert phone.get(reverse("shell:scan", args=[entry.code])).status_code == 200
    return phone


def _add(phone, app, product, quantity=1):
    phone.post(
        reverse("shell:cart_add", args=[app.slug]),
        {"item": product.public_id, "quantity": str(quantity)},
    )


def _deliver(client):
    url = reverse("payments:webhook", args=["sandbox"])
    for item in SandboxOutbox.objects.filter(delivered_at__isnull=True).order_by("id"):
        body = item.body.encode()
        response = client.post(
            url, data=body, content_type="application/json",
            headers={sandbox.HEADER: sandbox.sign(body)},
        )  # fmt: skip
        assert response.status_code == 200
        SandboxOutbox.objects.filter(pk=item.pk).update(delivered_at=timezone.now())


def _approve(phone, response):
    """Follow the pay form to the sandbox page and approve."""
    assert response.status_code == 302, response.content
    page = response["Location"]
    assert "/payments/sandbox/" in page
    phone.post(page, {"decision": "approve"})
    _deliver(phone)


def test_the_cart_page_shows_the_tables_shared_cart_with_who_added_what(app, product):
    a, b = _phone(app), _phone(app)
    _add(a, app, product)
    _add(b, app, product, 2)
    page = b.get(reverse("shell:cart", args=[app.slug])).content.decode()
    assert "Table 1&#x27;s cart" in page or "Table 1's cart" in page
    assert "added by Guest 1" in page and "added by Guest 2" in page
    assert 'data-live-block="/m/test-cafe/table/events?part=cart' in page
    # The live feed sends the block re-rendered when anything at the table changes.
    feed = a.get(reverse("shell:table_events", args=[app.slug]) + "?part=cart&after=0")
    first = (
        next(iter(feed.streaming_content)).decode() + next(iter(feed.streaming_content)).decode()
    )
    assert "event: block" in first and "added by Guest 2" in first


def test_a_table_that_pays_after_eating_splits_the_bill_with_a_tip(pay_after, app, product):
    a, b = _phone(app), _phone(app)
    _add(a, app, product, 2)
    cart = a.get(reverse("shell:cart", args=[app.slug])).content.decode()
    assert "Send to the kitchen" in cart
    sent = a.post(
        reverse("shell:checkout", args=[app.slug]),
        {"checkout_key": "round-1", "fulfilment": "dine_in"},
    )
    order = Order.objects.get()
    assert order.status == OrderStatus.PLACED
    assert sent["Location"] == reverse("shell:order", args=[app.slug, order.public_id])
    assert "pays the bill after eating" in a.get(sent["Location"]).content.decode()

    bill = reverse("shell:table", args=[app.slug])
    page = b.get(bill).content.decode()
    assert 'data-testid="bill-left"' in page and "¥52.00" in page
    pay = reverse("shell:table_pay", args=[app.slug])
    _approve(a, a.post(pay, {"kind": "equal", "parts": "2", "tip": "10", "method": "sandbox"}))
    _approve(b, b.post(pay, {"kind": "rest", "tip": "none", "method": "sandbox"}))

    group = TableGroup.objects.get()
    assert group.status == "settled"
    assert sorted(PaymentIntent.objects.values_list("amount", "tip")) == [(2600, 0), (2860, 260)]
    assert "The bill is paid" in b.get(bill).content.decode()


@pytest.mark.parametrize(
    "form",
    [
        {"kind": "amount", "amount": "abc"},
        {"kind": "amount", "amount": "1e99"},
        {"kind": "amount", "amount": "-5"},
        {"kind": "equal", "parts": "x"},
        {"kind": "equal", "parts": "99"},
        {"kind": "items", "line_abc": "1"},
        {"kind": "items", "line_1": "many"},
        {"kind": "rest", "tip": "7"},
        {"kind": "rest", "tip": "custom", "tip_custom": "lots"},
        {"kind": "\x00"},
        {},
    ],
)
def test_bad_pay_forms_are_refused_with_a_message(pay_after, app, product, form):
    a = _phone(app)
    _add(a, app, product)
    a.post(
        reverse("shell:checkout", args=[app.slug]), {"checkout_key": "k", "fulfilment": "dine_in"}
    )
    response = a.post(reverse("shell:table_pay", args=[app.slug]), form)
    assert response.status_code == 302
    assert response["Location"] == reverse("shell:table", args=[app.slug])
    assert not PaymentIntent.objects.exists()
    assert not TableShare.objects.filter(status="paid").exists()


def test_the_table_pages_without_a_table_lead_back_to_the_menu(app):
    phone = Client()
    for name in ("shell:table",):
        assert phone.get(reverse(name, args=[app.slug]))["Location"] == f"/m/{app.slug}/"
    assert (
        phone.post(reverse("shell:table_pay", args=[app.slug]), {"kind": "rest"}).status_code == 302
    )
    assert (
        phone.post(reverse("shell:seat_name", args=[app.slug]), {"name": "Ann"}).status_code == 302
    )


def test_a_tip_on_an_order_paid_first(app, product, merchant):
    Merchant.objects.filter(pk=merchant.pk).update(tips_on=True, tip_percentages=[10])
    phone = Client()
    _add(phone, app, product)
    phone.post(
        reverse("shell:checkout", args=[app.slug]),
        {"checkout_key": "k", "fulfilment": "pickup", "pickup_name": "Ann"},
    )
    order = Order.objects.get()
    page = phone.get(reverse("shell:order", args=[app.slug, order.public_id])).content.decode()
    assert 'data-testid="tip-10"' in page and "¥2.60" in page
    pay = reverse("shell:order_pay", args=[app.slug, order.public_id])
    bad = phone.post(pay, {"method": "sandbox", "tip": "custom", "tip_custom": "1e9"})
    assert bad.status_code == 302 and not PaymentIntent.objects.exists()
    _approve(phone, phone.post(pay, {"method": "sandbox", "tip": "10"}))
    order.refresh_from_db()
    assert order.status == "paid" and order.tip == 260
    page = phone.get(reverse("shell:order", args=[app.slug, order.public_id])).content.decode()
    assert 'data-testid="order-tip"' in page
