"""The console's tables: staff see the tables waiting to pay and close a bill at the
counter; only owners set how dine-in is paid and the tips offered."""

import pytest
from django.test import Client
from django.urls import reverse

from tapgo.merchants.models import Merchant, Store
from tapgo.miniapps.models import EntryCode
from tapgo.ordering.models import TableGroup


@pytest.fixture
def pay_after(merchant):
    Store.objects.filter(merchant=merchant).update(dine_in_payment="pay_after")


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


def test_staff_see_the_unpaid_table_and_close_it_at_the_counter(
    pay_after, app, product, client, owner, staff_member
):
    a = _phone(app)
    _add(a, app, product)
    a.post(
        reverse("shell:checkout", args=[app.slug]), {"checkout_key": "k", "fulfilment": "dine_in"}
    )
    group = TableGroup.objects.get()
    client.force_login(staff_member)
    m = app.merchant.public_id
    board = client.get(reverse("console:board", args=[m])).content.decode()
    assert 'data-testid="unpaid-tables"' in board and 'data-testid="unpaid-round"' in board
    tables = client.get(reverse("console:tables", args=[m])).content.decode()
    assert 'data-table="1"' in tables
    close = reverse("console:table_close", args=[m, group.public_id])
    client.post(close, {"method": "cheque"})
    group.refresh_from_db()
    assert group.status == "open"
    client.post(close, {"method": "cash"})
    group.refresh_from_db()
    assert group.status == "settled"
    # Another merchant's staff reach nothing of it.
    assert (
        client.post(
            reverse("console:table_close", args=[m, "x" * 16]), {"method": "cash"}
        ).status_code
        == 404
    )


def test_only_owners_set_dine_in_and_tips(app, client, owner, staff_member):
    m = app.merchant.public_id
    url = reverse("console:ordering_settings", args=[m])
    client.force_login(staff_member)
    assert client.get(url).status_code == 404
    client.force_login(owner)
    bad = client.post(
        url, {"dine_in_payment": "pay_after", "tips_on": "on", "tip_percentages": "10, abc"}
    )
    assert bad.status_code == 200 and not Merchant.objects.get(pk=app.merchant_id).tips_on
    bad = client.post(
        url, {"dine_in_payment": "pay_after", "tips_on": "on", "tip_percentages": "90"}
    )
    assert bad.status_code == 200
    assert Store.objects.get(merchant=app.merchant).dine_in_payment == "pay_first"
    ok = client.post(
        url, {"dine_in_payment": "pay_after", "tips_on": "on", "tip_percentages": "5, 10"}
    )
    assert ok.status_code == 302
    merchant = Merchant.objects.get(pk=app.merchant_id)
    assert merchant.tips_on and merchant.tip_percentages == [5, 10]
    assert Store.objects.get(merchant=app.merchant).dine_in_payment == "pay_after"


def test_a_tip_shows_in_the_history_csv(app, product, client, owner):
    from tapgo.flows import paying
    from tapgo.merchants.models import Merchant
    from tapgo.payments.providers import sandbox
    from tapgo.payments.tests.sandbox_helpers import deliver_outbox

    Merchant.objects.filter(pk=app.merchant_id).update(tips_on=True)
    phone = Client()
    _add(phone, app, product)
    phone.post(
        reverse("shell:checkout", args=[app.slug]),
        {"checkout_key": "k", "fulfilment": "pickup", "pickup_name": "Ann"},
    )
    from tapgo.ordering.models import Order

    order = Order.objects.select_related("merchant").get()
    sandbox.decide(intent=paying.intent_for_order(order=order, tip=390), approve=True)
    deliver_outbox()
    client.force_login(owner)
    response = client.get(reverse("console:orders_csv", args=[app.merchant.public_id]))
    text = b"".join(response.streaming_content).decode()
    header, row = text.lstrip("\ufeff").splitlines()[:2]
    assert "Tip (CNY)" in header
    assert row.split(",")[header.split(",").index("Tip (CNY)")] == "3.90"
