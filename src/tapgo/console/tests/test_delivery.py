"""Delivery in the console: the owner's zones page (adding, removing, bad input changes
nothing, staff and other merchants kept out), the board's delivery cards with the address,
phone, zone and time and the "Out for delivery" step recorded with its actor, and refunding
the delivery fee."""

import secrets
from decimal import Decimal

import pytest
from django.urls import reverse

from tapgo.core.actors import SYSTEM, ActorKind
from tapgo.flows import orders as order_flows
from tapgo.identity.services import customer_create_guest
from tapgo.merchants.services import merchant_store
from tapgo.ordering import services as ordering
from tapgo.ordering.models import DeliveryZone, Order, OrderStatus
from tapgo.payments.models import PaymentIntent, Purpose
from tapgo.payments.tests.sandbox_helpers import pay_by_sandbox

S = OrderStatus


def zones_url(merchant):
    return reverse("console:delivery", args=[merchant.public_id])


def add_form(**changes):
    return {
        "kind": "radius",
        "name": "Within 2 km",
        "radius_m": "2000",
        "fee": "5",
        "minimum": "30",
        "eta_minutes": "30",
    } | changes


@pytest.fixture
def tower(merchant):
    return ordering.zone_add(
        merchant=merchant,
        store=merchant_store(merchant),
        kind="area",
        name="Harbour Tower",
        radius_m=None,
        fee=300,
        minimum=0,
        eta_minutes=20,
    )


def test_the_owner_adds_and_removes_zones(owner_client, merchant):
    page = owner_client.get(zones_url(merchant)).content.decode()
    assert "No zones: customers are not offered delivery." in page

    response = owner_client.post(zones_url(merchant), add_form())
    assert response.status_code == 302
    zone = DeliveryZone.objects.get()
    assert (zone.kind, zone.name, zone.radius_m, zone.fee, zone.minimum, zone.eta_minutes) == (
        "radius",
        "Within 2 km",
        2000,
        500,
        3000,
        30,
    )
    assert zone.store == merchant_store(merchant) and zone.merchant == merchant
    page = owner_client.get(zones_url(merchant)).content.decode()
    assert "within 2 km · fee CN¥5.00" in page and "minimum CN¥30.00" in page
    # The store has no location yet: radius zones cannot be matched, and the page says so.
    assert 'data-testid="no-location"' in page

    response = owner_client.post(
        zones_url(merchant),
        add_form(kind="area", name="Harbour Tower", radius_m="", fee="0", minimum=""),
    )
    assert response.status_code == 302
    area = DeliveryZone.objects.get(kind="area")
    assert (area.radius_m, area.fee, area.minimum) == (None, 0, 0)

    url = reverse("console:delivery_zone_delete", args=[merchant.public_id, zone.public_id])
    assert owner_client.post(url).status_code == 302
    assert list(DeliveryZone.objects.values_list("name", flat=True)) == ["Harbour Tower"]


@pytest.mark.parametrize(
    "changes",
    [
        {"kind": "circle"},
        {"name": ""},
        {"name": "x" * 81},
        {"radius_m": ""},
        {"radius_m": "0"},
        {"radius_m": "-5"},
        {"radius_m": "1e9"},
        {"fee": ""},
        {"fee": "-1"},
        {"fee": "abc"},
        {"fee": "1.234"},
        {"fee": "9" * 30},
        {"minimum": "-3"},
        {"eta_minutes": "0"},
        {"eta_minutes": "abc"},
        {"eta_minutes": "99999"},
        {"name": "\x00"},
    ],
)
def test_bad_zone_input_is_refused_and_nothing_changes(owner_client, merchant, changes):
    response = owner_client.post(zones_url(merchant), add_form(**changes))
    assert response.status_code == 400
    assert 'class="errorlist' in response.content.decode()
    assert not DeliveryZone.objects.exists()


def test_staff_and_other_merchants_are_kept_out(
    client, merchant, staff_member, other_merchant, tower
):
    client.force_login(staff_member)
    assert client.get(zones_url(merchant)).status_code == 404  # owners only
    assert client.post(zones_url(merchant), add_form()).status_code == 404
    url = reverse("console:delivery_zone_delete", args=[merchant.public_id, tower.public_id])
    assert client.post(url).status_code == 404
    # Another merchant's owner, with this merchant's zone id under their own merchant: 404.
    client.force_login(other_merchant_owner(other_merchant))
    url = reverse("console:delivery_zone_delete", args=[other_merchant.public_id, tower.public_id])
    assert client.post(url).status_code == 404
    assert DeliveryZone.objects.filter(pk=tower.pk).exists()


def other_merchant_owner(other_merchant):
    from tapgo.merchants.services import staff_list

    return staff_list(other_merchant).first().user


# --- the board -------------------------------------------------------------------------------


def paid_delivery_order(app, zone):
    customer = customer_create_guest()
    ordering.cart_add(customer=customer, app=app, product_public_id=product_of(app).public_id)
    order = ordering.order_place(
        customer=customer,
        app=app,
        checkout_key=secrets.token_hex(8),
        fulfilment="delivery",
        delivery_request=ordering.DeliveryRequest(
            address="Room 1201, Harbour Tower",
            phone="+86 138 0013 8000",
            area=zone.public_id,
            fee_seen=str(zone.fee),
        ),
    )
    pay_by_sandbox(order)
    order.refresh_from_db()
    return order


def product_of(app):
    from tapgo.catalog.models import Product

    return Product.objects.for_merchant(app.merchant_id).first()


def act(client, merchant, order, action):
    url = reverse("console:order_action", args=[merchant.public_id, order.public_id, action])
    return client.post(url, follow=True)


def test_the_board_shows_a_delivery_order_and_its_trip(
    owner_client, owner, merchant, app, product, tower
):
    order = paid_delivery_order(app, tower)
    html = owner_client.get(reverse("console:board", args=[merchant.public_id])).content.decode()
    card = html.split(f'id="order-{order.public_id}"')[1].split("</article>")[0]
    assert "Delivery" in card and "Pickup" not in card
    assert "Room 1201, Harbour Tower" in card
    assert 'href="tel:+8613800138000"' in card and "+86 138 0013 8000" in card
    assert "Harbour Tower · ETA 20 min" in card
    assert "fee CN¥3.00" in card and "CN¥29.00" in card
    assert 'data-status="out_for_delivery"' in html  # the board's fourth column

    act(owner_client, merchant, order, "accept")
    html = owner_client.get(reverse("console:board", args=[merchant.public_id])).content.decode()
    card = html.split(f'id="order-{order.public_id}"')[1].split("</article>")[0]
    deliver = reverse("console:order_action", args=[merchant.public_id, order.public_id, "deliver"])
    assert deliver in card and "Out for delivery" in card

    response = act(owner_client, merchant, order, "deliver")
    assert response.status_code == 200
    order.refresh_from_db()
    assert order.status == S.OUT_FOR_DELIVERY
    event = order.events.order_by("-pk").first()
    assert (event.status, event.actor_kind, event.actor_user_id) == (
        S.OUT_FOR_DELIVERY,
        ActorKind.STAFF,
        owner.pk,
    )
    page = owner_client.get(
        reverse("console:order", args=[merchant.public_id, order.public_id])
    ).content.decode()
    assert "Delivered" in page and "Delivery fee (Harbour Tower)" in page

    act(owner_client, merchant, order, "complete")
    assert Order.objects.get(pk=order.pk).status == S.COMPLETED


def test_a_pickup_order_is_never_offered_the_trip(owner_client, merchant, app, product):
    from tapgo.console.tests.conftest import paid_order

    order = paid_order(app, product, pickup_name="Mei")
    act(owner_client, merchant, order, "accept")
    response = act(owner_client, merchant, order, "deliver")
    assert response.status_code == 200
    assert Order.objects.get(pk=order.pk).status == S.ACCEPTED
    html = owner_client.get(reverse("console:board", args=[merchant.public_id])).content.decode()
    # No zones and nobody out: the board keeps its three columns.
    assert 'data-status="out_for_delivery"' not in html


def test_a_board_order_json_action_answers_the_card(owner_client, merchant, app, product, tower):
    order = paid_delivery_order(app, tower)
    order_flows.order_accept(order=order, actor=SYSTEM)
    url = reverse("console:order_action", args=[merchant.public_id, order.public_id, "deliver"])
    response = owner_client.post(url, headers={"Accept": "application/json"})
    data = response.json()
    assert data["ok"] and data["status"] == "out_for_delivery"
    assert "Room 1201, Harbour Tower" in data["html"]
    again = owner_client.post(url, headers={"Accept": "application/json"})
    assert again.status_code == 409 and not again.json()["ok"]


def test_the_owner_refunds_the_delivery_fee(owner_client, merchant, app, product, tower):
    order = paid_delivery_order(app, tower)
    page_url = reverse("console:order", args=[merchant.public_id, order.public_id])
    assert 'data-testid="refund-fee"' in owner_client.get(page_url).content.decode()
    url = reverse("console:order_refund", args=[merchant.public_id, order.public_id])
    response = owner_client.post(
        url, {"mode": "items", "fee": "on", "reason": "Late", f"line_{order.lines.get().pk}": "0"}
    )
    assert response.status_code == 302
    intent = PaymentIntent.objects.get(purpose=Purpose.ORDER, purpose_id=order.pk)
    assert intent.refunded_amount == 300
    page = owner_client.get(page_url).content.decode()
    assert 'data-testid="refund-fee"' not in page and "refunded" in page
    # Asked again (a stale form): refused with a message, nothing more refunded.
    owner_client.post(url, {"mode": "items", "fee": "on", "reason": "Late"})
    assert PaymentIntent.objects.get(pk=intent.pk).refunded_amount == 300


def test_the_store_location_warning_goes_once_it_is_set(owner_client, merchant):
    owner_client.post(zones_url(merchant), add_form())
    store = merchant_store(merchant)
    store.latitude, store.longitude = Decimal("31.2304"), Decimal("121.4737")
    store.save()
    assert 'data-testid="no-location"' not in owner_client.get(zones_url(merchant)).content.decode()


def test_order_flows_out_for_delivery_is_the_boards(merchant, app, product, tower):
    """The board's "deliver" is flows.orders.order_out_for_delivery (and nothing else)."""
    from tapgo.console.views.board import ORDER_ACTIONS

    assert set(ORDER_ACTIONS) >= {"deliver"}
    order = paid_delivery_order(app, tower)
    order_flows.order_accept(order=order, actor=SYSTEM)
    ORDER_ACTIONS["deliver"](order, "", SYSTEM)
    assert Order.objects.get(pk=order.pk).status == S.OUT_FOR_DELIVERY
