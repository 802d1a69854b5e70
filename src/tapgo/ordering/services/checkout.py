"""Checkout: the cart becomes an order, taking stock in the same transaction, with its
pickup number, the door that brought the customer and a time to pay; a delivery order with
its address, phone, zone and fee (part of the total), the minimum order enforced."""

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from tapgo.catalog import services as catalog
from tapgo.core import translations as texts
from tapgo.core.actors import CUSTOMER
from tapgo.identity.models import Customer
from tapgo.miniapps import services as miniapps
from tapgo.miniapps.models import MiniApp
from tapgo.ordering.models import (
    Cart,
    CartLine,
    Fulfilment,
    Order,
    OrderLine,
    OrderStatus,
    PickupCounter,
)
from tapgo.ordering.services import delivery
from tapgo.ordering.services.base import OrderingError, check_text, record, request_language
from tapgo.ordering.services.cart import cart_view, group_bump
from tapgo.ordering.services.tables import group_join


@dataclass(frozen=True)
class DeliveryRequest:
    """What the customer gave for a delivery, as typed: the address and phone, the position
    their browser shared (decimal degrees as text, or blank) or the named area they picked,
    and the fee they were shown (checkout places the order only at the fee they saw)."""

    address: str
    phone: str
    latitude: str = ""
    longitude: str = ""
    area: str = ""
    fee_seen: str = ""


class DeliveryFeeUnconfirmed(OrderingError):
    """The delivery is possible, but the customer has not seen this fee yet: nothing was
    placed; the page shows the quote and asks again."""

    def __init__(self, message: str, quote: delivery.DeliveryQuote):
        super().__init__(message)
        self.quote = quote


def _pickup_number(store, business_date) -> str:
    counters = PickupCounter.objects.filter(store=store, business_date=business_date)
    if not counters.update(last=F("last") + 1):
        try:
            with transaction.atomic():
                PickupCounter.objects.create(store=store, business_date=business_date, last=1)
        except IntegrityError:
            counters.update(last=F("last") + 1)
    return f"A{counters.values_list('last', flat=True).get():03d}"


def order_place(
    *,
    customer: Customer,
    app: MiniApp,
    checkout_key: str,
    fulfilment: str,
    pickup_name: str = "",
    note: str | None = None,
    delivery_request: DeliveryRequest | None = None,
) -> Order:
    """Turn the cart into an order, taking stock in the same transaction.

    The checkout form's key makes this idempotent: a double-click or a refresh returns the
    order the first request made. A delivery order needs `delivery_request`; it is placed
    only in a zone, above its minimum, at the fee the customer saw (DeliveryFeeUnconfirmed
    otherwise, with the quote to show).
    """
    order, _placed = order_place_new(
        customer=customer,
        app=app,
        checkout_key=checkout_key,
        fulfilment=fulfilment,
        pickup_name=pickup_name,
        note=note,
        delivery_request=delivery_request,
    )
    return order


def order_place_new(
    *,
    customer: Customer,
    app: MiniApp,
    checkout_key: str,
    fulfilment: str,
    pickup_name: str = "",
    note: str | None = None,
    delivery_request: DeliveryRequest | None = None,
) -> tuple[Order, bool]:
    """order_place, and whether this call placed the order (False: the form's key had placed
    it already, the order as it is, offers and all)."""
    if not _checkout_key_valid(checkout_key):
        raise OrderingError(_("This checkout form has expired. Please try again."))
    check_text(pickup_name, note or "")
    existing = order_of_checkout(customer=customer, checkout_key=checkout_key)
    if existing is not None:
        return existing, False
    try:
        placed = _order_place(
            customer, app, checkout_key, fulfilment, pickup_name, note, delivery_request
        )
        return placed, True
    except (IntegrityError, OrderingError):
        # A second click racing the first: it waited for the first one's locks, so by now the
        # first has committed and this one found the cart empty, the stock taken or the key
        # used. Either way the customer gets the order the first click made.
        existing = order_of_checkout(customer=customer, checkout_key=checkout_key)
        if existing is None:
            raise
        return existing, False


def _checkout_key_valid(checkout_key: str) -> bool:
    return bool(checkout_key) and len(checkout_key) <= 64 and "\x00" not in checkout_key


def order_of_checkout(*, customer: Customer, checkout_key: str) -> Order | None:
    """The order a checkout form (its key) placed already, if any (None for a key no form
    could have sent: order_place refuses it)."""
    if not _checkout_key_valid(checkout_key):
        return None
    return Order.objects.filter(customer=customer, checkout_key=checkout_key).first()


def _delivery_checked(request: DeliveryRequest | None):
    """The address, phone and position of a delivery, checked before anything is written."""
    if request is None:
        raise OrderingError(_("Give the address to deliver to."))
    return (
        delivery.delivery_address(request.address),
        delivery.delivery_phone(request.phone),
        delivery.delivery_position(latitude=request.latitude, longitude=request.longitude),
    )


def _order_place(
    customer, app, checkout_key, fulfilment, pickup_name, note, delivery_request
) -> Order:
    merchant = app.merchant
    if merchant.ordering_paused:
        raise OrderingError(
            merchant.pause_reason or _("The kitchen is not taking orders right now.")
        )
    if fulfilment not in Fulfilment.values:
        raise OrderingError(_("Choose dine-in, pickup or delivery."))
    pickup_name = pickup_name.strip()
    if len(pickup_name) > 40:
        raise OrderingError(_("The name has at most 40 characters."))
    if fulfilment == Fulfilment.DINE_IN:
        # At a table, the order is the table's: a phone whose group ended (the bill paid)
        # and that orders again at the same table joins the table's new group.
        cart = Cart.objects.select_related("group").filter(customer=customer, app=app).first()
        if cart and cart.table_label and (cart.group is None or cart.group.status != "open"):
            group_join(customer=customer, app=app, table_label=cart.table_label)
    quote, address, phone = None, "", ""
    if fulfilment == Fulfilment.DELIVERY:
        address, phone, position = _delivery_checked(delivery_request)
        assert delivery_request is not None  # _delivery_checked refused a missing one
    with transaction.atomic():
        view = cart_view(customer=customer, app=app)
        cart = view.cart
        if cart is None or not view.lines:
            raise OrderingError(_("Your cart is empty."))
        if fulfilment == Fulfilment.DINE_IN and not cart.table_label:
            raise OrderingError(_("Scan the code on your table to order dine-in."))
        # A table's cart ordered to take away is an order of its own, paid first.
        group = view.group if fulfilment == Fulfilment.DINE_IN else None
        # A round of a table that pays after eating goes to the kitchen unpaid.
        sent = group is not None and group.pay_after
        if fulfilment == Fulfilment.PICKUP and not pickup_name:
            raise OrderingError(_("Give a name for pickup."))
        if fulfilment == Fulfilment.DELIVERY:
            assert delivery_request is not None  # checked above
            quote = delivery.delivery_quote(
                store=app.store, subtotal=view.total, position=position, area=delivery_request.area
            )
            delivery.delivery_minimum_check(quote, merchant.currency)
            if delivery_request.fee_seen.strip() != str(quote.fee):
                raise DeliveryFeeUnconfirmed(
                    _("Check the delivery fee and the total, then place your order."), quote
                )
        for line in view.lines:
            if not line.product.available:
                raise OrderingError(
                    _("%(name)s is sold out.") % {"name": texts.of(line.product, "name")}
                )
        # Always in key order, so two checkouts never wait on each other in a cycle.
        for line in sorted(view.lines, key=lambda ln: (ln.product_id, ln.variant_key)):
            try:
                catalog.stock_take(
                    product_id=line.product_id, variant_id=line.variant_id, quantity=line.quantity
                )
            except catalog.OutOfStock as exc:
                raise OrderingError(
                    _("Sorry, only %(n)d left of %(name)s.") % {"n": exc.left, "name": line.name}
                    if exc.left
                    else _("Sorry, %(name)s is sold out.") % {"name": line.name}
                ) from None
        store = app.store
        now = timezone.now()
        business_date = timezone.localtime(now, store.tz).date()
        # The door that brought the customer, and the sharer to credit (miniapps).
        scene, share_id = miniapps.entry_door(app=app, customer=customer, now=now)
        order = Order.objects.create(
            status=OrderStatus.PLACED if sent else OrderStatus.PENDING_PAYMENT,
            group=group,
            merchant=merchant,
            app=app,
            store=store,
            customer=customer,
            fulfilment=fulfilment,
            table_label=cart.table_label if fulfilment == Fulfilment.DINE_IN else "",
            pickup_name=pickup_name if fulfilment == Fulfilment.PICKUP else "",
            note=(cart.note if note is None else note.strip())[:200],
            currency=merchant.currency,
            total=view.total + (quote.fee if quote else 0),
            delivery_address=address,
            delivery_phone=phone,
            delivery_zone=quote.zone if quote else None,
            delivery_zone_name=quote.name if quote else "",
            delivery_fee=quote.fee if quote else 0,
            delivery_eta_minutes=quote.eta_minutes if quote else None,
            delivery_distance_m=quote.distance_m if quote else None,
            business_date=business_date,
            number=_pickup_number(store, business_date),
            checkout_key=checkout_key,
            scene=scene,
            share_id=share_id,
            language=request_language(),
            created_at=now,
            updated_at=now,
            expires_at=now + timedelta(seconds=settings.ORDER_PAYMENT_SECONDS),
        )
        OrderLine.objects.bulk_create(
            OrderLine(
                order=order,
                product_id=line.product_id,
                variant_id=line.variant_id,
                name=line.name,
                unit_price=line.unit_price,
                quantity=line.quantity,
            )
            for line in view.lines
        )
        # Exactly the lines (and quantities) ordered leave the cart: at a table another phone
        # may have changed one, or sent the same cart, since it was read; then nothing of
        # this order stays (the database decides which of two phones sends it).
        taken = Q(pk__in=[])
        for line in view.lines:
            taken |= Q(pk=line.pk, quantity=line.quantity)
        if CartLine.objects.filter(taken).delete()[0] != len(view.lines):
            raise OrderingError(_("Your table's cart changed meanwhile. Check it and order again."))
        Cart.objects.filter(pk=cart.pk).update(note="")
        if group is not None:
            group_bump(group_id=group.pk)
        record(order=order, status=order.status, actor=CUSTOMER)
    return order


def cart_delivery_quote(
    *,
    customer: Customer | None,
    app: MiniApp,
    latitude: str = "",
    longitude: str = "",
    area: str = "",
) -> tuple[delivery.DeliveryQuote, int]:
    """What delivering the customer's cart would cost, before anything is placed: the zone's
    quote and the items' total. OrderingError for a bad position or no zone."""
    position = delivery.delivery_position(latitude=latitude, longitude=longitude)
    view = cart_view(customer=customer, app=app)
    quote = delivery.delivery_quote(
        store=app.store, subtotal=view.total, position=position, area=area
    )
    return quote, view.total
