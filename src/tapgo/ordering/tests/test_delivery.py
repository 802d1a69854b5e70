"""Delivery: zones matched by great-circle distance (the edge included) or by a named area,
no coordinates, the fee in the total, the minimum order, what the customer types (bad input
changes nothing), the fee refunded, the "out for delivery" step with its message and what
staff are offered next."""

import math
from decimal import Decimal

import pytest
from django.utils import translation

from tapgo.catalog.models import Product
from tapgo.core.actors import SYSTEM
from tapgo.flows import orders as order_flows
from tapgo.flows import refunds as refund_flows
from tapgo.flows.checks import verify_books
from tapgo.merchants.models import Store
from tapgo.merchants.services import merchant_store
from tapgo.messaging.keys import TemplateKey
from tapgo.messaging.models import Message
from tapgo.ordering import services as ordering
from tapgo.ordering.models import Cart, CartLine, DeliveryZone, Fulfilment, Order, OrderStatus
from tapgo.ordering.services import DeliveryRequest, OrderingError, delivery
from tapgo.payments.models import PaymentIntent, Purpose
from tapgo.payments.tests.sandbox_helpers import pay_by_sandbox

S = OrderStatus
HOME = (31.230400, 121.473700)  # the store, in Shanghai


def north_of(point, metres: float):
    """A position `metres` due north of `point` along the great circle."""
    return point[0] + math.degrees(metres / delivery.EARTH_RADIUS_M), point[1]


@pytest.fixture
def store(merchant, app):
    store = app.store  # the app's own copy, which checkout reads
    assert store == merchant_store(merchant)
    store.latitude, store.longitude = Decimal(f"{HOME[0]:.6f}"), Decimal(f"{HOME[1]:.6f}")
    store.save(update_fields=["latitude", "longitude"])
    return store


def add_zone(merchant, store, kind="radius", name="Near", radius_m=1000, **kw):
    values = {"fee": 500, "minimum": 0, "eta_minutes": 30} | kw
    return ordering.zone_add(
        merchant=merchant,
        store=store,
        kind=kind,
        name=name,
        radius_m=radius_m if kind == "radius" else None,
        **values,
    )


@pytest.fixture
def zones(merchant, store):
    return {
        "near": add_zone(merchant, store, name="Within 1 km", radius_m=1000, fee=500),
        "far": add_zone(merchant, store, name="Within 3 km", radius_m=3000, fee=1200, minimum=6000),
        "tower": add_zone(
            merchant, store, kind="area", name="Harbour Tower", fee=300, eta_minutes=20
        ),
    }


# --- distance and matching -------------------------------------------------------------------


def test_distance_is_the_great_circle():
    assert delivery.distance_m(*HOME, *HOME) == 0
    # One degree of latitude on a sphere of the Earth's mean radius: 111.195 km.
    assert delivery.distance_m(0, 0, 1, 0) == pytest.approx(111_195, abs=1)
    # Shanghai to Beijing, about 1,067 km by air.
    assert delivery.distance_m(31.2304, 121.4737, 39.9042, 116.4074) == pytest.approx(
        1_067_000, rel=0.005
    )


def test_the_edge_of_a_radius_is_inside(merchant, store):
    point = north_of(HOME, 1234.4)
    metres = delivery.distance_m(*HOME, *point)
    assert 1234 < metres < 1235
    inside = add_zone(merchant, store, name="Edge", radius_m=math.ceil(metres))
    quote = ordering.delivery_quote(store=store, subtotal=5000, position=point)
    assert quote.zone == inside and quote.distance_m == 1234

    DeliveryZone.objects.filter(pk=inside.pk).update(radius_m=math.floor(metres))
    with pytest.raises(OrderingError, match="outside our delivery area"):
        ordering.delivery_quote(store=store, subtotal=5000, position=point)


def test_the_smallest_ring_holding_the_position_wins(merchant, store, zones):
    assert ordering.delivery_quote(store=store, subtotal=0, position=HOME).zone == zones["near"]
    quote = ordering.delivery_quote(store=store, subtotal=0, position=north_of(HOME, 2000))
    assert (quote.zone, quote.fee, quote.eta_minutes) == (zones["far"], 1200, 30)
    assert quote.missing == 6000  # the minimum, before the fee


def test_outside_every_zone_says_so_with_the_distance(store, zones):
    with pytest.raises(OrderingError) as caught:
        ordering.delivery_quote(store=store, subtotal=0, position=north_of(HOME, 4500))
    assert "outside our delivery area (4.5 km from the shop)" in str(caught.value)
    assert "Choose your area from the list" in str(caught.value)  # there are named areas


def test_a_named_area_is_picked_not_matched(store, zones, other_merchant):
    far_away = north_of(HOME, 50_000)
    quote = ordering.delivery_quote(
        store=store, subtotal=0, position=far_away, area=zones["tower"].public_id
    )
    assert (quote.zone, quote.fee, quote.eta_minutes, quote.distance_m) == (
        zones["tower"],
        300,
        20,
        None,
    )
    # Another shop's area, a radius zone's id, or a made-up id: refused, nothing told.
    theirs = add_zone(other_merchant, merchant_store(other_merchant), kind="area", name="Mall")
    for area in (theirs.public_id, zones["near"].public_id, "x" * 12, "'; drop"):
        with pytest.raises(OrderingError, match="Choose your area from the list"):
            ordering.delivery_quote(store=store, subtotal=0, position=None, area=area)


def test_no_coordinates(merchant, zones, store):
    # The customer shared nothing: what to do depends on the zones there are.
    with pytest.raises(OrderingError, match="Share your location or choose your area"):
        ordering.delivery_quote(store=store, subtotal=0, position=None)
    DeliveryZone.objects.filter(kind="area").delete()
    with pytest.raises(OrderingError, match="Share your location so we can see"):
        ordering.delivery_quote(store=store, subtotal=0, position=None)
    # The store has no location: radius zones cannot be matched.
    Store.objects.filter(pk=store.pk).update(latitude=None, longitude=None)
    store.refresh_from_db()
    with pytest.raises(OrderingError, match="has not set its location"):
        ordering.delivery_quote(store=store, subtotal=0, position=HOME)


def test_a_store_without_zones_does_not_deliver(store):
    with pytest.raises(OrderingError, match="does not deliver"):
        ordering.delivery_quote(store=store, subtotal=0, position=HOME)


@pytest.mark.parametrize(
    ("lat", "lng"),
    [
        ("abc", "121"),
        ("NaN", "121"),
        ("inf", "121"),
        ("1e400", "121"),
        ("91", "121"),
        ("31", "-181"),
        ("31.2", ""),
        ("", "121.4"),
        ("3" * 40, "121"),
        ("31\x00", "121"),
    ],
)
def test_a_bad_position_is_refused(lat, lng):
    with pytest.raises(OrderingError, match="could not be read"):
        ordering.delivery_position(latitude=lat, longitude=lng)


def test_a_position_is_read():
    assert ordering.delivery_position(latitude=" 31.230400", longitude="121.4737 ") == HOME
    assert ordering.delivery_position(latitude="", longitude="") is None


def test_address_and_phone_are_checked_and_cleaned():
    assert ordering.delivery_address("  Room 1201,\n Harbour\x1b[31m Tower\u202e ") == (
        "Room 1201, Harbour[31m Tower"
    )
    assert ordering.delivery_phone(" +86 138-0013 8000\x07") == "+86 138-0013 8000"
    assert ordering.delivery_phone("(021) 6123 4567") == "(021) 6123 4567"
    for bad in ("", "  ", "\x00\x01", "ab", "x" * 201):
        with pytest.raises(OrderingError):
            ordering.delivery_address(bad)
    for bad in (
        "",
        "call me",
        "123",
        "+86 138 0013 8000 0000 1",
        "12345; drop",
        "1234567890123456",
    ):
        with pytest.raises(OrderingError):
            ordering.delivery_phone(bad)


# --- zones in the console's service ---------------------------------------------------------


@pytest.mark.parametrize(
    "changes",
    [
        {"kind": "circle"},
        {"name": "  "},
        {"name": "x" * 81},
        {"radius_m": 0},
        {"radius_m": None},
        {"radius_m": 100_001},
        {"radius_m": True},
        {"fee": -1},
        {"fee": 10**10},
        {"fee": 1.5},
        {"minimum": -5},
        {"eta_minutes": 0},
        {"eta_minutes": 24 * 60 + 1},
    ],
)
def test_a_bad_zone_is_refused_and_nothing_is_added(merchant, store, changes):
    values = {
        "kind": "radius",
        "name": "Near",
        "radius_m": 1000,
        "fee": 500,
        "minimum": 0,
        "eta_minutes": 30,
    } | changes
    with pytest.raises(OrderingError):
        ordering.zone_add(merchant=merchant, store=store, **values)
    assert not DeliveryZone.objects.exists()


def test_an_area_keeps_no_radius_and_its_name_is_cleaned(merchant, store):
    zone = ordering.zone_add(
        merchant=merchant,
        store=store,
        kind="area",
        name=" Harbour\tTower\x1b ",
        radius_m=500,
        fee=0,
        minimum=0,
        eta_minutes=15,
    )
    assert (zone.name, zone.radius_m, zone.fee) == ("Harbour Tower", None, 0)


def test_zones_are_reached_through_their_merchant(merchant, store, other_merchant):
    theirs = add_zone(other_merchant, merchant_store(other_merchant), name="Theirs")
    from django.http import Http404

    with pytest.raises(Http404):
        ordering.access_zone_for_merchant(merchant=merchant, public_id=theirs.public_id)
    with pytest.raises(Http404):
        ordering.zone_delete(merchant=merchant, public_id=theirs.public_id)
    with pytest.raises(Http404):  # a zone for another merchant's store
        add_zone(merchant, merchant_store(other_merchant))
    assert DeliveryZone.objects.filter(pk=theirs.pk).exists()


# --- checkout ------------------------------------------------------------------------------


def request(**kw):
    values = {"address": "Room 1201, Harbour Tower", "phone": "+86 138 0013 8000"} | kw
    return DeliveryRequest(**values)


def place(customer, app, key="k-delivery", **kw):
    return ordering.order_place(
        customer=customer,
        app=app,
        checkout_key=key,
        fulfilment=Fulfilment.DELIVERY,
        delivery_request=request(**kw),
    )


def snapshot(customer, product):
    return (
        Order.objects.count(),
        list(CartLine.objects.filter(cart__customer=customer).values_list("quantity", flat=True)),
        Product.objects.values_list("stock", flat=True).get(pk=product.pk),
    )


def test_a_delivery_order_carries_its_fee_in_the_total(customer, app, product, zones):
    ordering.cart_add(customer=customer, app=app, product_public_id=product.public_id, quantity=2)
    lat, lng = north_of(HOME, 800)
    order = place(customer, app, latitude=f"{lat:.6f}", longitude=f"{lng:.6f}", fee_seen="500")

    assert order.fulfilment == Fulfilment.DELIVERY
    assert (order.total, order.delivery_fee, order.items_total) == (5700, 500, 5200)
    assert order.delivery_zone == zones["near"]
    assert (order.delivery_zone_name, order.delivery_eta_minutes) == ("Within 1 km", 30)
    assert 790 <= order.delivery_distance_m <= 810
    assert order.delivery_address == "Room 1201, Harbour Tower"
    assert order.delivery_phone == "+86 138 0013 8000"
    assert (order.table_label, order.pickup_name) == ("", "")
    assert sum(line.subtotal for line in order.lines.all()) == 5200  # the fee is not a line


def test_a_named_area_order(customer, app, product, zones):
    ordering.cart_add(customer=customer, app=app, product_public_id=product.public_id)
    order = place(customer, app, area=zones["tower"].public_id, fee_seen="300")
    assert (order.total, order.delivery_zone_name, order.delivery_distance_m) == (
        2900,
        "Harbour Tower",
        None,
    )


def test_the_minimum_says_how_much_is_missing(customer, app, product, zones):
    ordering.cart_add(customer=customer, app=app, product_public_id=product.public_id, quantity=2)
    before = snapshot(customer, product)
    lat, lng = north_of(HOME, 2000)
    with pytest.raises(OrderingError) as caught:
        place(customer, app, latitude=f"{lat:.6f}", longitude=f"{lng:.6f}", fee_seen="1200")
    assert "at least CN¥60.00 before the fee: add CN¥8.00 more." in str(caught.value)
    assert snapshot(customer, product) == before

    ordering.cart_add(customer=customer, app=app, product_public_id=product.public_id)
    order = place(customer, app, latitude=f"{lat:.6f}", longitude=f"{lng:.6f}", fee_seen="1200")
    assert (order.total, order.delivery_fee) == (3 * 2600 + 1200, 1200)


def test_an_order_is_placed_only_at_the_fee_the_customer_saw(customer, app, product, zones):
    ordering.cart_add(customer=customer, app=app, product_public_id=product.public_id)
    before = snapshot(customer, product)
    for seen in ("", "0", "499", "abc"):
        with pytest.raises(ordering.DeliveryFeeUnconfirmed) as caught:
            place(customer, app, area=zones["tower"].public_id, fee_seen=seen)
        assert caught.value.quote.fee == 300
    assert snapshot(customer, product) == before


@pytest.mark.parametrize(
    "bad",
    [
        {"address": ""},
        {"address": "\x00\x1b"},
        {"phone": "not a phone"},
        {"phone": ""},
        {"latitude": "999", "longitude": "0"},
        {"latitude": "31.2"},
        {"area": "nope"},
        {},  # no position, no area
    ],
)
def test_bad_delivery_input_changes_nothing(customer, app, product, zones, bad):
    ordering.cart_add(customer=customer, app=app, product_public_id=product.public_id)
    before = snapshot(customer, product)
    with pytest.raises(OrderingError):
        place(customer, app, fee_seen="500", **bad)
    assert snapshot(customer, product) == before


def test_delivery_needs_its_request_and_the_store_to_deliver(customer, app, product, store):
    ordering.cart_add(customer=customer, app=app, product_public_id=product.public_id)
    with pytest.raises(OrderingError, match="Give the address"):
        ordering.order_place(
            customer=customer, app=app, checkout_key="k", fulfilment=Fulfilment.DELIVERY
        )
    with pytest.raises(OrderingError, match="does not deliver"):
        place(customer, app, latitude="31.2304", longitude="121.4737", fee_seen="0")
    assert not Order.objects.exists()
    assert Cart.objects.get(customer=customer).lines.count() == 1


# --- after checkout: the step, the message, staff's actions, refunds -------------------------


@pytest.fixture
def delivery_order(customer, app, product, zones):
    ordering.cart_add(customer=customer, app=app, product_public_id=product.public_id, quantity=2)
    with translation.override("zh-hans"):
        order = place(customer, app, area=zones["tower"].public_id, fee_seen="300")
    pay_by_sandbox(order)
    order.refresh_from_db()
    assert order.status == S.PAID and order.total == 5500
    return order


def test_out_for_delivery_tells_the_customer_in_their_language(
    delivery_order, customer, django_capture_on_commit_callbacks
):
    order = delivery_order
    order_flows.order_accept(order=order, actor=SYSTEM)
    with django_capture_on_commit_callbacks(execute=True):
        order_flows.order_mark_ready(order=order, actor=SYSTEM)
    # "Ready for pickup" is not news for a delivery order: the grant is kept for the trip.
    assert not Message.objects.filter(customer=customer).exists()

    with django_capture_on_commit_callbacks(execute=True):
        order_flows.order_out_for_delivery(order=order, actor=SYSTEM)
    message = Message.objects.get(customer=customer)
    assert message.template.key == TemplateKey.ORDER_OUT_FOR_DELIVERY
    assert message.language == "zh-hans"
    assert message.values == {"order": order.number, "app": "Test Café", "eta": 20}
    assert order.events.order_by("-pk").first().status == S.OUT_FOR_DELIVERY

    order_flows.order_complete(order=order, actor=SYSTEM)
    assert Order.objects.get(pk=order.pk).status == S.COMPLETED


def test_a_delivery_order_cannot_skip_the_trip_and_others_cannot_take_it(delivery_order, order):
    order_flows.order_accept(order=delivery_order, actor=SYSTEM)
    order_flows.order_mark_ready(order=delivery_order, actor=SYSTEM)
    with pytest.raises(ordering.TransitionError):
        order_flows.order_complete(order=delivery_order, actor=SYSTEM)
    pay_by_sandbox(order)
    order.refresh_from_db()
    order_flows.order_accept(order=order, actor=SYSTEM)
    with pytest.raises(ordering.TransitionError):
        order_flows.order_out_for_delivery(order=order, actor=SYSTEM)
    assert Order.objects.get(pk=order.pk).status == S.ACCEPTED


def test_staff_are_offered_the_trip(delivery_order):
    order = delivery_order

    def offered():
        return [(a.name, a.primary) for a in ordering.order_actions(order)]

    assert offered() == [("accept", True), ("reject", False)]
    order_flows.order_accept(order=order, actor=SYSTEM)
    assert offered() == [("ready", True), ("deliver", False), ("cancel", False)]
    order_flows.order_mark_ready(order=order, actor=SYSTEM)
    assert offered() == [("deliver", True), ("cancel", False)]
    order_flows.order_out_for_delivery(order=order, actor=SYSTEM)
    assert offered() == [("complete", True), ("cancel", False)]
    assert str(ordering.order_actions(order)[0].label) == "Delivered"


def test_the_fee_is_refunded_alone_once(delivery_order, owner):
    order = delivery_order
    (refund,) = refund_flows.order_refund(order=order, fee=True, reason="Late", by=owner)
    assert (refund.amount, refund.lines) == (300, {"delivery_fee": 300})
    assert Order.objects.get(pk=order.pk).delivery_fee_refunded
    intent = PaymentIntent.objects.get(purpose=Purpose.ORDER, purpose_id=order.pk)
    assert intent.refunded_amount == 300
    order.refresh_from_db()
    with pytest.raises(OrderingError, match="no delivery fee left"):
        refund_flows.order_refund(order=order, fee=True, reason="Again", by=owner)
    assert PaymentIntent.objects.get(pk=intent.pk).refunded_amount == 300
    assert verify_books() == []


def test_the_fee_is_refunded_with_items(delivery_order, owner):
    line = delivery_order.lines.get()
    (refund,) = refund_flows.order_refund(
        order=delivery_order, lines={line.pk: 1}, fee=True, reason="Cold", by=owner
    )
    assert (refund.amount, refund.lines) == (2900, {str(line.pk): 1, "delivery_fee": 300})
    assert verify_books() == []


def test_a_pickup_order_has_no_fee_to_refund(order, owner):
    pay_by_sandbox(order)
    order.refresh_from_db()
    with pytest.raises(OrderingError, match="no delivery fee"):
        refund_flows.order_refund(order=order, fee=True, reason="x", by=owner)


def test_cancelling_refunds_the_fee_too(delivery_order):
    order = delivery_order
    order_flows.order_accept(order=order, actor=SYSTEM)
    order_flows.order_out_for_delivery(order=order, actor=SYSTEM)
    order_flows.order_cancel(order=order, reason="Courier fell ill", actor=SYSTEM)
    intent = PaymentIntent.objects.get(purpose=Purpose.ORDER, purpose_id=order.pk)
    assert intent.refunded_amount == order.total == 5500
    assert verify_books() == []


@pytest.mark.race
@pytest.mark.django_db(transaction=True)
def test_two_refunds_of_the_fee_at_once_refund_it_once(concurrently, customer, app, product, zones):
    ordering.cart_add(customer=customer, app=app, product_public_id=product.public_id)
    order = place(customer, app, area=zones["tower"].public_id, fee_seen="300")
    pay_by_sandbox(order)

    def refund(i):
        fresh = Order.objects.get(pk=order.pk)  # each request loads its own
        return refund_flows.order_refund(order=fresh, fee=True, reason=f"Late {i}")

    results = concurrently(refund, 4)

    made = [r for r in results if isinstance(r, list)]
    refused = [r for r in results if isinstance(r, OrderingError)]
    assert (len(made), len(refused)) == (1, 3), results
    intent = PaymentIntent.objects.get(purpose=Purpose.ORDER, purpose_id=order.pk)
    assert intent.refunded_amount == 300
    assert verify_books() == []
