"""Concurrent writers against a real database: many threads, each with its own connection.

The threads wait at a barrier so they really start together; the database, not Python,
must decide every race.
"""

import pytest

from tapgo.catalog.models import Product
from tapgo.identity.services import customer_create_guest
from tapgo.miniapps.models import MiniApp
from tapgo.ordering import services
from tapgo.ordering.models import CartLine, Order, OrderLine
from tapgo.ordering.services import OrderingError

pytestmark = [pytest.mark.race, pytest.mark.django_db(transaction=True)]


def _app(app):
    """A fresh copy per thread, as each request would load its own."""
    return MiniApp.objects.select_related("merchant", "store").get(pk=app.pk)


def _unexpected(results, *allowed):
    return [r for r in results if isinstance(r, BaseException) and not isinstance(r, allowed)]


def test_fifty_buyers_for_the_last_ten(concurrently, app, product):
    Product.objects.filter(pk=product.pk).update(stock=10)
    buyers = [customer_create_guest() for _ in range(50)]
    for buyer in buyers:
        services.cart_add(customer=buyer, app=app, product_public_id=product.public_id)

    def buy(i):
        return services.order_place(
            customer=buyers[i],
            app=_app(app),
            checkout_key=f"key-{i}",
            fulfilment="pickup",
            pickup_name=f"Buyer {i}",
        )

    results = concurrently(buy, 50)

    assert _unexpected(results, OrderingError) == []
    orders = [r for r in results if isinstance(r, Order)]
    refused = [r for r in results if isinstance(r, OrderingError)]
    assert (len(orders), len(refused)) == (10, 40)
    assert all("sold out" in str(r) for r in refused)
    assert Product.objects.get(pk=product.pk).stock == 0
    assert Order.objects.count() == 10
    assert sum(OrderLine.objects.values_list("quantity", flat=True)) == 10
    # Every sold order got its own pickup number, A001 to A010.
    assert sorted(Order.objects.values_list("number", flat=True)) == [
        f"A{n:03d}" for n in range(1, 11)
    ]
    # The 40 who lost keep their carts.
    assert CartLine.objects.count() == 40


@pytest.mark.parametrize("stock", [20, 3, None], ids=["plenty", "the-last-three", "uncounted"])
def test_a_double_clicked_place_order_makes_one_order(concurrently, customer, app, product, stock):
    Product.objects.filter(pk=product.pk).update(stock=stock)
    services.cart_add(customer=customer, app=app, product_public_id=product.public_id, quantity=3)

    def click(_i):
        return services.order_place(
            customer=customer,
            app=_app(app),
            checkout_key="one-form",
            fulfilment="pickup",
            pickup_name="Ann",
        )

    results = concurrently(click, 2)

    assert _unexpected(results) == []
    assert results[0].pk == results[1].pk
    assert Order.objects.count() == 1
    # Stock was taken once.
    assert Product.objects.get(pk=product.pk).stock == (None if stock is None else stock - 3)


@pytest.mark.parametrize("start_with_line", [False, True])
def test_two_tabs_adding_the_same_item(concurrently, customer, app, product, start_with_line):
    Product.objects.filter(pk=product.pk).update(stock=None)  # uncounted: no cap
    adds_per_tab = 10

    def tab(_i):
        done = 0
        for _ in range(adds_per_tab):
            try:
                services.cart_add(
                    customer=customer, app=_app(app), product_public_id=product.public_id
                )
            except OrderingError:  # refused, so not counted (none should be)
                continue
            done += 1
        return done

    # Several rounds: the narrowest window is when both tabs make the line at once.
    for _round in range(3):
        CartLine.objects.all().delete()
        if start_with_line:
            services.cart_add(customer=customer, app=app, product_public_id=product.public_id)
        results = concurrently(tab, 2)

        assert _unexpected(results) == []
        assert sum(results) == 2 * adds_per_tab  # none was refused
        # ... and none was lost.
        assert CartLine.objects.get().quantity == sum(results) + int(start_with_line)


def test_two_tabs_adding_past_what_is_left_stop_at_it(concurrently, customer, app, product):
    """The cart caps a line at what is left: two tabs adding at once never take it past."""
    Product.objects.filter(pk=product.pk).update(stock=15)

    def tab(_i):
        said = []
        for _ in range(10):
            added = services.cart_add(
                customer=customer, app=_app(app), product_public_id=product.public_id
            )
            said.append(added.left)
        return said

    for _round in range(3):
        CartLine.objects.all().delete()
        results = concurrently(tab, 2)
        assert _unexpected(results) == []
        assert CartLine.objects.get().quantity == 15
        assert sum(said.count(15) for said in results) >= 5  # the last adds were told
