"""Cart and checkout: totals, stock, expiry, pickup numbers, refusals, idempotency, merging."""

import re
from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest
from django.utils import timezone, translation

from tapgo.catalog.models import Product, Variant
from tapgo.core.actors import SYSTEM
from tapgo.flows import orders as order_flows
from tapgo.flows.customers import sign_in
from tapgo.flows.listings import product_set_available, product_update
from tapgo.identity.services import customer_create_guest, login_code_send
from tapgo.merchants.services import merchant_store, ordering_pause
from tapgo.miniapps.services import live_app
from tapgo.ordering import services
from tapgo.ordering.models import Cart, CartLine, Order, OrderLine, OrderStatus
from tapgo.ordering.services import OrderingError


def add(customer, app, product, quantity=1, variant=None):
    return services.cart_add(
        customer=customer,
        app=app,
        product_public_id=product.public_id,
        variant_public_id=variant.public_id if variant else None,
        quantity=quantity,
    )


def place(customer, app, key="key-1", fulfilment="pickup", pickup_name="Ann", **kwargs):
    return services.order_place(
        customer=customer,
        app=app,
        checkout_key=key,
        fulfilment=fulfilment,
        pickup_name=pickup_name,
        **kwargs,
    )


def stock(obj):
    return type(obj).objects.values_list("stock", flat=True).get(pk=obj.pk)


def state():
    """Everything a refused order must leave as it was."""
    return (
        list(Order.objects.values_list("pk", flat=True)),
        list(Product.objects.order_by("pk").values_list("stock", flat=True)),
        list(Variant.objects.order_by("pk").values_list("stock", flat=True)),
        list(CartLine.objects.order_by("pk").values_list("pk", "quantity")),
    )


# --- totals and stock ---------------------------------------------------------------------


def test_total_adds_variants_and_quantities_in_minor_units(customer, app, product, sized_product):
    regular, large = sized_product.variants.order_by("position")
    add(customer, app, product, 3)  # 3 × 26.00
    add(customer, app, sized_product, 2, regular)  # 2 × 18.00
    add(customer, app, sized_product, 1, large)  # 1 × 22.00
    add(customer, app, sized_product, 1, regular)  # the same line again: now 3 × 18.00

    view = services.cart_view(customer=customer, app=app)
    assert view.total == 3 * 2600 + 3 * 1800 + 2200
    assert view.count == 7

    order = place(customer, app)

    assert order.total == 3 * 2600 + 3 * 1800 + 2200 == 15400
    assert isinstance(order.total, int)
    assert order.currency == "CNY"
    lines = {(ln.name, ln.unit_price, ln.quantity) for ln in order.lines.all()}
    assert lines == {
        ("Latte", 2600, 3),
        ("Americano (Regular)", 1800, 3),
        ("Americano (Large)", 2200, 1),
    }
    assert sum(ln.subtotal for ln in order.lines.all()) == order.total
    # Stock is taken at placement, from the variant when there is one.
    assert stock(product) == 17
    assert (stock(regular), stock(large)) == (2, 4)
    # The cart is empty afterwards.
    assert services.cart_view(customer=customer, app=app).count == 0


def test_the_order_keeps_the_price_it_was_placed_at(customer, app, product, category):
    add(customer, app, product, 2)
    order = place(customer, app)
    product_update(
        product=product, category=category, name="Latte", price=3000, description="", stock=20
    )
    assert OrderLine.objects.get(order=order).unit_price == 2600
    assert Order.objects.get(pk=order.pk).total == 5200


def test_uncounted_stock_never_runs_out(customer, app, merchant, category):
    from tapgo.flows.listings import product_create

    tea = product_create(merchant=merchant, category=category, name="Tea", price=900)
    add(customer, app, tea, 99)
    place(customer, app)
    assert stock(tea) is None


def test_not_enough_stock_refuses_says_how_many_and_changes_nothing(customer, app, product):
    add(customer, app, product, 5)
    Product.objects.filter(pk=product.pk).update(stock=3)  # others bought the rest meanwhile
    before = state()
    with pytest.raises(OrderingError, match=r"^Sorry, only 3 left of Latte\.$"):
        place(customer, app)
    assert state() == before
    Product.objects.filter(pk=product.pk).update(stock=0)
    with pytest.raises(OrderingError, match=r"^Sorry, Latte is sold out\.$"):
        place(customer, app)


def test_one_short_line_refuses_the_whole_order(customer, app, product, sized_product):
    regular = sized_product.variants.get(name="Regular")
    add(customer, app, product, 2)
    add(customer, app, sized_product, 5, regular)  # all 5 in stock
    Variant.objects.filter(pk=regular.pk).update(stock=4)  # one sold meanwhile
    before = state()
    with pytest.raises(OrderingError):
        place(customer, app)
    assert state() == before  # the lattes taken first were given back too


@pytest.mark.parametrize("how", ["expire", "cancel", "reject"])
def test_stock_comes_back(order, product, how):
    assert stock(product) == 18
    if how == "expire":
        Order.objects.filter(pk=order.pk).update(expires_at=timezone.now())
        order.refresh_from_db()
        assert order_flows.order_expire(order=order)
    elif how == "cancel":
        order_flows.order_cancel_unpaid(order=order)
    else:
        assert order_flows.order_mark_paid(order=order, amount=order.total, currency="CNY")
        order_flows.order_reject(actor=SYSTEM, order=order, reason="Out of milk")
    assert stock(product) == 20


def test_variant_stock_comes_back(customer, app, sized_product):
    large = sized_product.variants.get(name="Large")
    add(customer, app, sized_product, 2, large)
    order = place(customer, app)
    assert stock(large) == 3
    order_flows.order_cancel_unpaid(order=order)
    assert stock(large) == 5


# --- expiry -------------------------------------------------------------------------------


def test_an_unpaid_order_expires_only_after_its_time(order, product, settings):
    assert order.expires_at == order.created_at + timedelta(seconds=settings.ORDER_PAYMENT_SECONDS)

    assert order_flows.order_expire(order=order) is False
    assert order_flows.orders_expire_due() == 0
    assert Order.objects.get(pk=order.pk).status == OrderStatus.PENDING_PAYMENT
    assert stock(product) == 18

    later = order.expires_at + timedelta(seconds=1)
    with mock.patch("django.utils.timezone.now", return_value=later):
        assert order_flows.order_expire(order=order) is True
        # Twice is harmless: nothing moves, no stock comes back a second time.
        assert order_flows.order_expire(order=order) is False
        stale = Order.objects.get(pk=order.pk)
        stale.status = OrderStatus.PENDING_PAYMENT
        assert order_flows.order_expire(order=stale) is False
        assert order_flows.orders_expire_due() == 0

    assert Order.objects.get(pk=order.pk).status == OrderStatus.EXPIRED
    assert stock(product) == 20


def test_the_sweep_expires_only_due_orders(customer, app, product):
    add(customer, app, product, 1)
    first = place(customer, app, key="a")
    add(customer, app, product, 1)
    second = place(customer, app, key="b")
    Order.objects.filter(pk=first.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    assert order_flows.orders_expire_due() == 1
    assert order_flows.orders_expire_due() == 0

    assert Order.objects.get(pk=first.pk).status == OrderStatus.EXPIRED
    assert Order.objects.get(pk=second.pk).status == OrderStatus.PENDING_PAYMENT
    assert stock(product) == 19


def test_the_expiry_task_expires_a_due_order(order, product):
    from tapgo.flows.tasks import expire_order

    assert expire_order.call(order.pk) is False
    Order.objects.filter(pk=order.pk).update(expires_at=timezone.now())
    assert expire_order.call(order.pk) is True
    assert expire_order.call(order.pk) is False  # once
    assert stock(product) == 20


def test_a_paid_order_never_expires(order):
    order_flows.order_mark_paid(order=order, amount=order.total, currency="CNY")
    Order.objects.filter(pk=order.pk).update(expires_at=timezone.now() - timedelta(hours=1))
    assert order_flows.orders_expire_due() == 0
    assert Order.objects.get(pk=order.pk).status == OrderStatus.PAID


# --- pickup numbers -----------------------------------------------------------------------


def _at(moment: datetime):
    return mock.patch("django.utils.timezone.now", return_value=moment)


def test_pickup_numbers_count_up_and_restart_on_the_stores_new_day(customer, app, product):
    # The store is in Asia/Shanghai (UTC+8): its day ends at 16:00 UTC.
    numbers = []
    for key, moment in [
        ("a", datetime(2026, 3, 1, 15, 58, tzinfo=UTC)),
        ("b", datetime(2026, 3, 1, 15, 59, tzinfo=UTC)),
        ("c", datetime(2026, 3, 1, 16, 0, 1, tzinfo=UTC)),  # 00:00:01 the next day there
        ("d", datetime(2026, 3, 1, 16, 5, tzinfo=UTC)),
    ]:
        add(customer, app, product, 1)
        with _at(moment):
            order = place(customer, app, key=key)
        numbers.append((order.business_date.isoformat(), order.number))
    assert numbers == [
        ("2026-03-01", "A001"),
        ("2026-03-01", "A002"),
        ("2026-03-02", "A001"),
        ("2026-03-02", "A002"),
    ]


def test_pickup_numbers_are_per_store(customer, app, product, other_merchant):
    from tapgo.miniapps.models import MiniApp

    bakery = MiniApp.objects.get(slug="bakery")
    bread = Product.objects.for_merchant(other_merchant).get()
    add(customer, app, product, 1)
    assert place(customer, app, key="a").number == "A001"
    add(customer, app, product, 1)
    assert place(customer, app, key="b").number == "A002"
    add(customer, bakery, bread, 1)
    bakery_order = place(customer, bakery, key="c")
    assert bakery_order.number == "A001"
    assert bakery_order.store == merchant_store(other_merchant)


# --- refusals -----------------------------------------------------------------------------


@pytest.mark.parametrize("quantity", [0, -1, 100, 10_000, 2.5, "3", None])
def test_a_bad_quantity_is_refused_and_changes_nothing(customer, app, product, quantity):
    before = state()
    with pytest.raises(OrderingError):
        add(customer, app, product, quantity)
    assert state() == before


def test_a_line_stops_at_99(customer, app, product):
    Product.objects.filter(pk=product.pk).update(stock=None)  # uncounted: no stock caps it
    add(customer, app, product, 98)
    with pytest.raises(OrderingError, match="At most 99"):
        add(customer, app, product, 2)
    add(customer, app, product, 1)
    assert CartLine.objects.get().quantity == 99


@pytest.mark.parametrize("quantity", [-1, 100, 10_000])
def test_setting_a_bad_quantity_is_refused(customer, app, product, quantity):
    add(customer, app, product, 2)
    line = CartLine.objects.get()
    with pytest.raises(OrderingError):
        services.cart_set_quantity(customer=customer, app=app, line_id=line.pk, quantity=quantity)
    assert CartLine.objects.get().quantity == 2


def test_setting_quantity_zero_removes_the_line(customer, app, product):
    add(customer, app, product, 2)
    line = CartLine.objects.get()
    services.cart_set_quantity(customer=customer, app=app, line_id=line.pk, quantity=5)
    assert CartLine.objects.get().quantity == 5
    services.cart_set_quantity(customer=customer, app=app, line_id=line.pk, quantity=0)
    assert not CartLine.objects.exists()


def test_another_customers_cart_line_cannot_be_changed(customer, app, product):
    add(customer, app, product, 2)
    line = CartLine.objects.get()
    stranger = customer_create_guest()
    with pytest.raises(OrderingError):
        services.cart_set_quantity(customer=stranger, app=app, line_id=line.pk, quantity=9)
    services.cart_set_quantity(customer=stranger, app=app, line_id=line.pk, quantity=0)
    assert CartLine.objects.get().quantity == 2


def test_an_unavailable_product_cannot_be_added(customer, app, product):
    product_set_available(product=product, available=False)
    before = state()
    with pytest.raises(OrderingError, match="sold out"):
        add(customer, app, product)
    assert state() == before


def test_a_product_disabled_after_adding_cannot_be_ordered(customer, app, product):
    add(customer, app, product, 2)
    product_set_available(product=product, available=False)
    before = state()
    with pytest.raises(OrderingError, match="sold out"):
        place(customer, app)
    assert state() == before
    assert not Order.objects.exists()


def test_a_variant_is_required_when_the_product_has_them(customer, app, sized_product, product):
    with pytest.raises(OrderingError):
        add(customer, app, sized_product)
    with pytest.raises(OrderingError):
        services.cart_add(
            customer=customer, app=app, product_public_id=product.public_id, variant_public_id="x"
        )
    assert not CartLine.objects.exists()


def test_another_merchants_product_cannot_be_added(customer, app, other_merchant):
    bread = Product.objects.for_merchant(other_merchant).get()
    with pytest.raises(OrderingError, match="no longer on the menu"):
        add(customer, app, bread)
    assert not CartLine.objects.exists()


def test_paused_ordering_refuses(customer, app, product, merchant):
    add(customer, app, product, 2)
    ordering_pause(merchant=merchant, paused=True, reason="Back at 2 pm")
    fresh = live_app(app.slug)  # as the next request loads it
    before = state()
    with pytest.raises(OrderingError, match="Back at 2 pm"):
        place(customer, fresh)
    assert state() == before

    ordering_pause(merchant=merchant, paused=False)
    assert place(customer, live_app(app.slug)).status == OrderStatus.PENDING_PAYMENT


def test_an_empty_cart_cannot_be_ordered(customer, app):
    with pytest.raises(OrderingError, match="empty"):
        place(customer, app)


def test_dine_in_needs_a_table(customer, app, product):
    add(customer, app, product, 1)
    before = state()
    with pytest.raises(OrderingError, match="table"):
        place(customer, app, fulfilment="dine_in", pickup_name="")
    assert state() == before

    services.cart_set_table(customer=customer, app=app, table_label="3")
    order = place(customer, app, fulfilment="dine_in", pickup_name="")
    assert (order.fulfilment, order.table_label, order.pickup_name) == ("dine_in", "3", "")


@pytest.mark.parametrize("name", ["", "   ", "x" * 41])
def test_pickup_needs_a_name(customer, app, product, name):
    add(customer, app, product, 1)
    before = state()
    with pytest.raises(OrderingError):
        place(customer, app, pickup_name=name)
    assert state() == before


@pytest.mark.parametrize("fulfilment", ["delivery", "", "PICKUP"])
def test_an_unknown_fulfilment_is_refused(customer, app, product, fulfilment):
    add(customer, app, product, 1)
    before = state()
    with pytest.raises(OrderingError):
        place(customer, app, fulfilment=fulfilment)
    assert state() == before


@pytest.mark.parametrize("key", ["", "k" * 65])
def test_a_bad_checkout_key_is_refused(customer, app, product, key):
    add(customer, app, product, 1)
    with pytest.raises(OrderingError):
        place(customer, app, key=key)
    assert not Order.objects.exists()


def test_note_is_kept_and_cleared_from_the_cart(customer, app, product):
    add(customer, app, product, 1)
    services.cart_set_note(customer=customer, app=app, note="  no sugar ")
    order = place(customer, app)
    assert order.note == "no sugar"
    assert Cart.objects.get().note == ""
    with pytest.raises(OrderingError):
        services.cart_set_note(customer=customer, app=app, note="x" * 201)


# --- idempotency --------------------------------------------------------------------------


def test_the_same_checkout_key_returns_the_same_order(customer, app, product):
    add(customer, app, product, 2)
    first = place(customer, app, key="same")
    again = place(customer, app, key="same")  # the refresh: the cart is empty by now
    assert again.pk == first.pk
    add(customer, app, product, 1)
    assert place(customer, app, key="same").pk == first.pk  # a new cart needs a new form
    assert Order.objects.count() == 1
    assert stock(product) == 18
    assert CartLine.objects.get().quantity == 1


def test_checkout_keys_are_per_customer(customer, app, product):
    other = customer_create_guest()
    add(customer, app, product, 1)
    add(other, app, product, 1)
    mine, theirs = place(customer, app, key="same"), place(other, app, key="same")
    assert mine.pk != theirs.pk
    assert (mine.customer_id, theirs.customer_id) == (customer.pk, other.pk)


# --- the customer's language ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "kept"),
    [("zh-hans", "zh-hans"), ("zh-Hans", "zh-hans"), ("en", "en"), ("en-gb", "en"), ("fr", "")],
)
def test_the_order_keeps_the_language_it_was_placed_in(customer, app, product, language, kept):
    add(customer, app, product)
    with translation.override(language):
        order = place(customer, app)
    assert order.language == kept
    order.refresh_from_db()
    assert order.language == kept


def test_the_grant_of_paying_speaks_the_order_s_language_not_the_webhook_s(customer, app, product):
    """Paying is confirmed by a provider's webhook, which has no customer's language."""
    from tapgo.messaging.models import Consent

    add(customer, app, product)
    with translation.override("zh-hans"):
        order = place(customer, app)
    with translation.override("en"):
        assert order_flows.order_mark_paid(order=order, amount=order.total, currency=order.currency)
    grant = Consent.objects.get(kind=Consent.Kind.GRANT, customer=customer)
    assert grant.language == "zh-hans"


def test_checkout_in_the_shell_keeps_the_customer_s_language(client, app, product):
    from django.urls import reverse

    from tapgo.miniapps.models import EntryCode

    client.cookies["django_language"] = "zh-hans"
    entry = EntryCode.objects.get(app=app, kind="table", table_label="1")
    with translation.override("en"):  # the middleware's zh-hans ends with the block
        client.get(reverse("shell:scan", args=[entry.code]))
        client.post(reverse("shell:cart_add", args=[app.slug]), {"item": product.public_id})
        client.post(
            reverse("shell:checkout", args=[app.slug]),
            {"checkout_key": "zh-1", "fulfilment": "dine_in"},
        )
    assert Order.objects.get().language == "zh-hans"


# --- reads and tenancy --------------------------------------------------------------------


def test_orders_are_reached_only_by_their_owner(order, merchant, other_merchant, customer):
    from django.http import Http404

    assert services.access_order_for_customer(customer=customer, public_id=order.public_id) == order
    assert services.access_order_for_merchant(merchant=merchant, public_id=order.public_id) == order
    with pytest.raises(Http404):
        services.access_order_for_merchant(merchant=other_merchant, public_id=order.public_id)
    with pytest.raises(Http404):
        services.access_order_for_customer(
            customer=customer_create_guest(), public_id=order.public_id
        )
    with pytest.raises(Http404):
        services.access_order_for_customer(customer=None, public_id=order.public_id)
    assert list(services.orders_of_customer(customer)) == [order]
    assert list(services.orders_of_customer(None)) == []


def test_the_board_shows_paid_orders_only(order, merchant, other_merchant):
    assert list(services.board_orders(merchant)) == []
    order_flows.order_mark_paid(order=order, amount=order.total, currency="CNY")
    assert list(services.board_orders(merchant)) == [order]
    assert list(services.board_orders(other_merchant)) == []


def test_events_feed_each_status(order, merchant, other_merchant):
    first = services.last_event_id(merchant=merchant)
    order_flows.order_mark_paid(order=order, amount=order.total, currency="CNY")
    order_flows.order_accept(actor=SYSTEM, order=order)
    events = services.events_after(merchant=merchant, after=first)
    assert [e.status for e in events] == ["paid", "accepted"]
    assert services.events_after(merchant=other_merchant) == []
    assert services.last_event_id(order=order) == events[-1].pk


# --- signing in merges the guest's cart and orders ----------------------------------------


def _sign_in(mailoutbox, email, guest):
    login_code_send(email=email)
    code = re.search(r"\b(\d{6})\b", mailoutbox[-1].subject)[1]
    return sign_in(email=email, code=code, guest=guest)


def test_signing_in_moves_the_guests_cart_and_orders(mailoutbox, customer, app, product, order):
    add(customer, app, product, 3)

    account = _sign_in(mailoutbox, "Ann@Example.test", customer)

    assert account.pk != customer.pk
    assert account.email == "ann@example.test"
    view = services.cart_view(customer=account, app=app)
    assert [(ln.product_id, ln.quantity) for ln in view.lines] == [(product.pk, 3)]
    assert services.cart_view(customer=customer, app=app).count == 0
    assert Order.objects.get(pk=order.pk).customer_id == account.pk
    customer.refresh_from_db()
    assert customer.merged_into_id == account.pk
    from tapgo.identity.services import customer_from_public_id

    assert customer_from_public_id(customer.public_id) == account  # the old cookie


def test_signing_in_adds_to_the_accounts_own_cart(mailoutbox, app, product, sized_product):
    regular = sized_product.variants.get(name="Regular")
    Variant.objects.filter(pk=regular.pk).update(stock=None)  # uncounted: no stock caps it
    phone = customer_create_guest()
    account = _sign_in(mailoutbox, "bo@example.test", phone)
    add(account, app, product, 2)
    add(account, app, sized_product, 60, regular)

    laptop = customer_create_guest()
    add(laptop, app, product, 1)
    add(laptop, app, sized_product, 50, regular)  # 60 + 50 is more than a line may hold
    add(laptop, app, sized_product, 1, sized_product.variants.get(name="Large"))

    assert _sign_in(mailoutbox, "bo@example.test", laptop) == account

    view = services.cart_view(customer=account, app=app)
    assert sorted((ln.name, ln.quantity) for ln in view.lines) == [
        ("Americano (Large)", 1),
        ("Americano (Regular)", 99),
        ("Latte", 3),
    ]
    assert Cart.objects.count() == 1
