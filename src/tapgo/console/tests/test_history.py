"""The console's order history (/console/<m>/orders/): every order newest first, its filters
and search, the keyset pages, today's summary, the CSV export, tenancy and roles, bad query
strings, and the queries a page costs."""

import csv
import io
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from tapgo.core.actors import SYSTEM
from tapgo.flows import history, paying
from tapgo.flows import orders as order_flows
from tapgo.flows import refunds as refund_flows
from tapgo.flows.checks import verify_books
from tapgo.identity.models import Customer
from tapgo.identity.services import customer_create_guest
from tapgo.ordering import services as ordering
from tapgo.ordering.models import Order, PickupCounter
from tapgo.payments import stored_value
from tapgo.payments.models import Refund
from tapgo.payments.tests.sandbox_helpers import pay_by_sandbox

SHANGHAI = ZoneInfo("Asia/Shanghai")  # the `merchant` fixture's store


@pytest.fixture(autouse=True)
def books_balance(db):
    yield
    assert [str(b) for b in verify_books()] == []


@pytest.fixture
def staff_client(client, staff_member):
    client.force_login(staff_member)
    return client


def url(merchant, name="orders", *args):
    return reverse(f"console:{name}", args=[merchant.public_id, *args])


def placed(app, product, *, quantity=1, table="", pickup_name="Ann", customer=None):
    """An order placed and left waiting for payment."""
    customer = customer or customer_create_guest()
    ordering.cart_add(
        customer=customer, app=app, product_public_id=product.public_id, quantity=quantity
    )
    if table:
        ordering.cart_set_table(customer=customer, app=app, table_label=table)
    return ordering.order_place(
        customer=customer,
        app=app,
        checkout_key=uuid.uuid4().hex,
        fulfilment="dine_in" if table else "pickup",
        pickup_name="" if table else pickup_name,
    )


def paid_order(app, product, *, quantity=1, table="", pickup_name="Ann", customer=None):
    """An order placed and paid through the sandbox (the books see the payment)."""
    order = placed(
        app, product, quantity=quantity, table=table, pickup_name=pickup_name, customer=customer
    )
    pay_by_sandbox(order)
    order.refresh_from_db()
    return order


def at(order, when: datetime) -> Order:
    """Move an order to another moment (and that moment's business day)."""
    Order.objects.filter(pk=order.pk).update(
        created_at=when, business_date=timezone.localtime(when, SHANGHAI).date()
    )
    order.refresh_from_db()
    return order


def rows(response) -> list[str]:
    """The public ids of the orders listed, in the page's order."""
    page = response.context["page"]
    return [order.public_id for order in page.orders]


def csv_rows(response) -> list[list[str]]:
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


# --- the list -------------------------------------------------------------------------------


def test_every_order_is_listed_newest_first_with_a_link_to_its_page(
    owner_client, merchant, app, product
):
    first = paid_order(app, product)
    waiting = placed(app, product, quantity=2)
    done = paid_order(app, product, table="2")
    for step in (order_flows.order_accept, order_flows.order_mark_ready):
        step(order=done, actor=SYSTEM)
    order_flows.order_complete(order=done, actor=SYSTEM)

    response = owner_client.get(url(merchant))
    assert response.status_code == 200
    assert rows(response) == [done.public_id, waiting.public_id, first.public_id]
    body = response.content.decode()
    assert url(merchant, "order", done.public_id) in body
    assert "2× Latte" in body and "Completed" in body and "Waiting for payment" in body
    assert 'aria-current="page">Orders</a>' in body  # the console's navigation


def test_an_empty_history_says_so(owner_client, merchant, app):
    response = owner_client.get(url(merchant))
    assert response.status_code == 200
    assert 'data-testid="history-empty"' in response.content.decode()


def test_days_are_the_stores(owner_client, merchant, app, product):
    # 23:30 in Shanghai on the 6th is 15:30 UTC on the 6th; 00:30 on the 7th is 16:30 UTC.
    late = at(paid_order(app, product), datetime(2026, 12, 6, 15, 30, tzinfo=ZoneInfo("UTC")))
    early = at(paid_order(app, product), datetime(2026, 12, 6, 16, 30, tzinfo=ZoneInfo("UTC")))
    on_6th = owner_client.get(url(merchant), {"from": "2026-12-06", "to": "2026-12-06"})
    assert rows(on_6th) == [late.public_id]
    on_7th = owner_client.get(url(merchant), {"from": "2026-12-07"})
    assert rows(on_7th) == [early.public_id]
    until_7th = owner_client.get(url(merchant), {"to": "2026-12-07"})
    assert rows(until_7th) == [early.public_id, late.public_id]
    assert "2026-12-07 00:30" in on_7th.content.decode()  # shown in the store's time


def test_filters_by_status_fulfilment_and_table(owner_client, merchant, app, product):
    waiting = placed(app, product)
    at_table_2 = paid_order(app, product, table="2")
    at_table_3 = paid_order(app, product, table="3")
    pickup = paid_order(app, product, pickup_name="Bo")
    order_flows.order_accept(order=at_table_3, actor=SYSTEM)

    def listed(**query):
        return set(rows(owner_client.get(url(merchant), query)))

    assert listed(status="pending_payment") == {waiting.public_id}
    assert listed(status="paid") == {at_table_2.public_id, pickup.public_id}
    assert listed(fulfilment="dine_in") == {at_table_2.public_id, at_table_3.public_id}
    assert listed(fulfilment="pickup") == {waiting.public_id, pickup.public_id}
    assert listed(table="3") == {at_table_3.public_id}
    assert listed(table="3", status="paid") == set()


def test_the_fulfilment_filter_offers_every_fulfilment_choice(owner_client, merchant, monkeypatch):
    from tapgo.ordering.models import Fulfilment

    form = owner_client.get(url(merchant)).context["form"]
    offered = [value for value, _label in form.fields["fulfilment"].choices]
    assert offered == ["", *Fulfilment.values]


def test_filters_by_the_way_it_was_paid(owner_client, merchant, app, product):
    by_sandbox = placed(app, product)
    pay_by_sandbox(by_sandbox)
    member = Customer.objects.create(email="ann@example.com")
    stored_value.topup_counter(
        merchant=merchant, customer=member, amount=10000, key="counter-k1", by=None
    )
    by_card = placed(app, product, customer=member)
    paying.pay_from_card(order=by_card, customer=member)
    split = placed(app, product, quantity=3, customer=member)  # 78.00: 74.00 left on the card
    paying.pay_from_card(order=split, customer=member)
    pay_by_sandbox(split)
    unpaid = placed(app, product)

    def listed(method):
        return set(rows(owner_client.get(url(merchant), {"method": method})))

    assert listed("sandbox") == {by_sandbox.public_id, split.public_id}
    assert listed("wallet") == {by_card.public_id, split.public_id}
    assert listed("stripe") == set()
    everything = owner_client.get(url(merchant))
    assert unpaid.public_id in rows(everything)
    methods = {o.public_id: o.methods for o in everything.context["page"].orders}
    assert methods[split.public_id] == ["Stored value", "Sandbox (test payments)"]
    assert methods[unpaid.public_id] == []


def test_search_by_pickup_number_email_or_product(owner_client, merchant, app, product, category):
    from tapgo.flows.listings import product_create

    americano = product_create(merchant=merchant, category=category, name="Americano", price=1800)
    first = placed(app, product)  # A001
    second = placed(app, americano)  # A002
    member = Customer.objects.create(email="ann@example.com")
    third = placed(app, product, customer=member)  # A003
    assert (first.number, second.number, third.number) == ("A001", "A002", "A003")

    def found(q):
        return rows(owner_client.get(url(merchant), {"q": q}))

    assert found("A002") == [second.public_id]
    assert found("a2") == [second.public_id]
    assert found(" 2 ") == [second.public_id]  # digits alone: a number (or a product's name)
    assert found("ANN@example.com") == [third.public_id]
    assert found("ann@") == []  # a whole address, not a part of one
    assert found("americ") == [second.public_id]
    assert found("LATTE") == [third.public_id, first.public_id]
    assert found("A009") == []


def test_yesterdays_number_is_found_beside_todays(owner_client, merchant, app, product):
    yesterday = at(paid_order(app, product), timezone.now() - timedelta(days=1))
    PickupCounter.objects.update(business_date=yesterday.business_date)  # its day's counter
    today = paid_order(app, product)
    assert yesterday.number == today.number == "A001"
    assert rows(owner_client.get(url(merchant), {"q": "A001"})) == [
        today.public_id,
        yesterday.public_id,
    ]


# --- pages ------------------------------------------------------------------------------------


def test_pages_follow_the_keyset_through_equal_times(
    owner_client, merchant, app, product, monkeypatch
):
    monkeypatch.setattr(ordering, "PAGE_SIZE", 3)
    same = timezone.now() - timedelta(hours=1)
    orders = [at(placed(app, product), same) for _ in range(7)]
    newer = placed(app, product)
    expected = [newer.public_id] + [o.public_id for o in sorted(orders, key=lambda o: -o.pk)]

    seen, query, pages = [], {}, 0
    while True:
        response = owner_client.get(url(merchant), query)
        assert response.status_code == 200
        seen += rows(response)
        pages += 1
        after = response.context["page"].after
        if not after:
            break
        assert response.context["older_url"].endswith(f"after={after}")
        query = {"after": after}
    assert seen == expected
    assert pages == 3


def test_the_next_page_keeps_the_filters(owner_client, merchant, app, product, monkeypatch):
    monkeypatch.setattr(ordering, "PAGE_SIZE", 2)
    for _ in range(3):
        paid_order(app, product, table="2")
    placed(app, product)
    response = owner_client.get(url(merchant), {"status": "paid", "table": "2"})
    older = response.context["older_url"]
    assert "status=paid" in older and "table=2" in older
    second = owner_client.get(older)
    assert len(rows(second)) == 1
    assert second.context["page"].after == ""
    assert second.context["newest_url"].endswith("?status=paid&table=2")


def test_a_page_after_an_unknown_order_starts_again_and_says_so(
    owner_client, merchant, app, product, other_merchant
):
    mine = paid_order(app, product)
    theirs = placed(
        other_merchant_app(other_merchant), other_merchant_product(other_merchant), pickup_name="X"
    )
    for after in (theirs.public_id, "x" * len(mine.public_id)):
        response = owner_client.get(url(merchant), {"after": after})
        assert response.status_code == 200
        assert rows(response) == [mine.public_id]
        assert "out of date" in response.content.decode()


def other_merchant_app(other):
    from tapgo.miniapps.models import MiniApp

    return MiniApp.objects.get(merchant=other)


def other_merchant_product(other):
    from tapgo.catalog.models import Product

    return Product.objects.get(merchant=other)


# --- bad query strings ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"from": "yesterday"}, "Enter a day such as 2026-12-07."),
        ({"to": "2026-13-45"}, "Enter a day such as 2026-12-07."),
        ({"from": "9999-12-31"}, "Choose a day between 2000-01-01 and 2099-12-31."),
        ({"from": "2026-12-07", "to": "2026-12-01"}, "The last day comes before the first."),
        ({"status": "lost"}, "Select a valid choice."),
        ({"fulfilment": "drone"}, "Select a valid choice."),
        ({"method": "bitcoin"}, "Select a valid choice."),
        ({"after": "../../etc"}, "That page of the list does not exist."),
        ({"q": "x" * 101}, "at most 100 characters"),
        ({"q": "lat\x00te"}, "Null characters are not allowed."),
        ({"table": "t" * 41}, "at most 40 characters"),
    ],
)
def test_a_bad_query_string_is_said_plainly_and_the_rest_still_applies(
    owner_client, merchant, app, product, query, message
):
    paid = paid_order(app, product, table="2")
    placed(app, product)
    response = owner_client.get(url(merchant), {**query, "table": query.get("table", "2")})
    assert response.status_code == 400
    body = response.content.decode()
    assert 'data-testid="filter-errors"' in body
    assert message in body
    if "table" not in query:
        assert rows(response) == [paid.public_id]  # the good filter still applies


def test_the_csv_of_bad_filters_goes_back_to_the_list(owner_client, merchant):
    response = owner_client.get(url(merchant, "orders_csv"), {"from": "nope"})
    assert response.status_code == 302
    assert response["Location"] == url(merchant) + "?from=nope"


# --- today's summary --------------------------------------------------------------------------


def test_todays_summary_counts_paid_orders_less_refunds(owner_client, merchant, app, product):
    one = placed(app, product)  # 26.00
    pay_by_sandbox(one)
    two = paid_order(app, product, quantity=2)  # 52.00, of which 10.00 refunded
    refund_flows.order_refund(order=two, amount=1000, reason="Cold")
    placed(app, product)  # not paid: not counted
    cancelled = paid_order(app, product)
    order_flows.order_cancel(order=cancelled, reason="Closed", actor=SYSTEM)  # refunded in full
    old = placed(app, product)
    pay_by_sandbox(old)
    at(old, timezone.now() - timedelta(days=1))  # yesterday's

    today = owner_client.get(url(merchant)).context["today"]
    assert (today.orders, today.sales, today.refunded) == (2, 7800, 1000)
    assert today.revenue == 6800 and today.average == 3400
    assert today.day == timezone.localtime(timezone.now(), SHANGHAI).date()


def test_the_average_ticket_rounds_half_up(merchant):
    summary = history.DaySummary(day=None, orders=3, sales=1001, refunded=0, currency="CNY")
    assert summary.average == 334  # 333.67
    summary = history.DaySummary(day=None, orders=2, sales=1001, refunded=0, currency="CNY")
    assert summary.average == 501  # 500.5
    assert history.DaySummary(day=None, orders=0, sales=0, refunded=0, currency="CNY").average == 0


# --- the CSV ----------------------------------------------------------------------------------


def test_the_csv_has_every_matching_order_not_only_a_page(
    owner_client, merchant, app, product, monkeypatch
):
    monkeypatch.setattr(ordering, "PAGE_SIZE", 2)
    monkeypatch.setattr(history, "CSV_BATCH", 2)
    same = timezone.now() - timedelta(hours=2)
    made = [at(paid_order(app, product, table="2"), same) for _ in range(5)]
    placed(app, product)  # pickup: filtered out

    response = owner_client.get(url(merchant, "orders_csv"), {"fulfilment": "dine_in"})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response["Content-Disposition"]
    header, *lines = csv_rows(response)
    assert header == [
        "Number",
        "Placed",
        "Status",
        "Fulfilment",
        "Table",
        "Customer",
        "Items",
        "Total (CNY)",
        "Tip (CNY)",
        "Refunded (CNY)",
        "Paid with",
        "Order id",
    ]
    assert [line[-1] for line in lines] == [o.public_id for o in sorted(made, key=lambda o: -o.pk)]
    local = timezone.localtime(same, SHANGHAI).strftime("%Y-%m-%d %H:%M")
    assert lines[0][1:10] == [
        local,
        "Paid",
        "Dine in",
        "2",
        lines[0][5],
        "1× Latte",
        "26.00",
        "0.00",
        "0.00",
    ]
    assert lines[0][5].startswith("••••")


def test_the_csv_shows_refunds_payment_methods_and_emails(owner_client, merchant, app, product):
    member = Customer.objects.create(email="ann@example.com")
    order = paid_order(app, product, quantity=2, customer=member)
    refund_flows.order_refund(order=order, lines={order.lines.get().pk: 1}, reason="Cold")
    (_header, line) = csv_rows(owner_client.get(url(merchant, "orders_csv")))
    assert line[5] == "ann@example.com"
    assert line[6:11] == ["2× Latte", "52.00", "0.00", "26.00", "Sandbox (test payments)"]


def test_the_csv_cannot_carry_a_formula(owner_client, merchant, app, product, category):
    from tapgo.flows.listings import product_create

    sneaky = product_create(
        merchant=merchant, category=category, name="=HYPERLINK(1)", price=100, stock=5
    )
    order = paid_order(app, product, table="2")
    Order.objects.filter(pk=order.pk).update(table_label="=cmd|' /C calc'!A0")
    member = Customer.objects.create(email="+1@example.com")
    placed(app, sneaky, customer=member)
    table_of = {}
    for line in csv_rows(owner_client.get(url(merchant, "orders_csv")))[1:]:
        table_of[line[-1]] = line
        for cell in line:
            assert not cell.startswith(("=", "+", "-", "@")), cell
    assert table_of[order.public_id][4] == "'=cmd|' /C calc'!A0"
    assert "'+1@example.com" in [line[5] for line in table_of.values()]


def test_the_csv_speaks_the_consoles_language(owner_client, merchant, app, product):
    paid_order(app, product)
    owner_client.cookies["django_language"] = "zh-hans"
    header, line = csv_rows(owner_client.get(url(merchant, "orders_csv")))
    assert header[0] == "编号" and line[2] == "已支付"


# --- tenancy and roles ------------------------------------------------------------------------


def test_another_merchants_history_is_not_found(client, merchant, app, product, other_merchant):
    paid_order(app, product)
    from tapgo.identity.models import User

    client.force_login(User.objects.get(email="owner@bakery.test"))
    for name in ("orders", "orders_csv"):
        assert client.get(url(merchant, name)).status_code == 404
    response = client.get(url(other_merchant))
    assert response.status_code == 200 and rows(response) == []


def test_staff_see_the_history_and_orders_but_cannot_refund(staff_client, merchant, app, product):
    order = placed(app, product)
    pay_by_sandbox(order)
    assert rows(staff_client.get(url(merchant))) == [order.public_id]
    assert staff_client.get(url(merchant, "orders_csv")).status_code == 200
    page = staff_client.get(url(merchant, "order", order.public_id))
    assert page.status_code == 200
    assert 'id="refund-items"' not in page.content.decode()
    refund = staff_client.post(
        url(merchant, "order_refund", order.public_id),
        {"mode": "amount", "amount": "1.00", "reason": "Cold"},
    )
    assert refund.status_code == 404
    assert not Refund.objects.exists()


def test_the_owner_refunds_from_the_order_page(owner_client, merchant, app, product):
    order = placed(app, product, quantity=2)
    pay_by_sandbox(order)
    page = owner_client.get(url(merchant, "order", order.public_id))
    assert 'id="refund-items"' in page.content.decode()
    line = order.lines.get()
    owner_client.post(
        url(merchant, "order_refund", order.public_id),
        {"mode": "items", f"line_{line.pk}": "1", "reason": "Cold"},
    )
    assert Refund.objects.get().amount == 2600
    listed = owner_client.get(url(merchant)).context["page"].orders
    assert [o.refunded for o in listed] == [2600]


# --- what a page costs --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"status": "paid", "fulfilment": "pickup", "method": "sandbox"},
        {"q": "A003"},
        {"q": "latte", "from": "2026-01-01", "to": "2099-12-31"},
        {"q": "ann@example.com", "fulfilment": "pickup"},
        {"after": "?"},  # filled in below
    ],
)
def test_a_page_costs_at_most_six_queries(
    owner_client, merchant, app, product, django_assert_max_num_queries, monkeypatch, query
):
    monkeypatch.setattr(ordering, "PAGE_SIZE", 10)
    member = Customer.objects.create(email="ann@example.com")
    stored_value.topup_counter(
        merchant=merchant, customer=member, amount=100000, key="counter-k2", by=None
    )
    for i in range(14):
        order = placed(app, product, customer=member if i % 3 == 0 else None)
        if i % 2:
            pay_by_sandbox(order)
        elif i % 3 == 0:
            paying.pay_from_card(order=order, customer=member)
    owner_client.get(url(merchant))  # the session and the language settle
    if "after" in query:
        query = {"after": Order.objects.order_by("-created_at", "-id")[5].public_id}
    with django_assert_max_num_queries(6):
        response = owner_client.get(url(merchant), query)
    assert response.status_code == 200
    assert response.context["page"].orders
