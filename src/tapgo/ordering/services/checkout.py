"""Checkout: the cart becomes an order, taking stock in the same transaction, with its
pickup number, the door that brought the customer and a time to pay."""

from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from tapgo.catalog import services as catalog
from tapgo.core.actors import CUSTOMER
from tapgo.identity.models import Customer
from tapgo.miniapps import services as miniapps
from tapgo.miniapps.models import MiniApp
from tapgo.ordering.models import Cart, CartLine, Fulfilment, Order, OrderLine, PickupCounter
from tapgo.ordering.services.base import OrderingError, check_text, record, request_language
from tapgo.ordering.services.cart import cart_view


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
) -> Order:
    """Turn the cart into an order, taking stock in the same transaction.

    The checkout form's key makes this idempotent: a double-click or a refresh returns the
    order the first request made.
    """
    if not checkout_key or len(checkout_key) > 64 or "\x00" in checkout_key:
        raise OrderingError(_("This checkout form has expired. Please try again."))
    check_text(pickup_name, note or "")
    existing = Order.objects.filter(customer=customer, checkout_key=checkout_key).first()
    if existing is not None:
        return existing
    try:
        return _order_place(customer, app, checkout_key, fulfilment, pickup_name, note)
    except (IntegrityError, OrderingError):
        # A second click racing the first: it waited for the first one's locks, so by now the
        # first has committed and this one found the cart empty, the stock taken or the key
        # used. Either way the customer gets the order the first click made.
        existing = Order.objects.filter(customer=customer, checkout_key=checkout_key).first()
        if existing is None:
            raise
        return existing


def _order_place(customer, app, checkout_key, fulfilment, pickup_name, note) -> Order:
    merchant = app.merchant
    if merchant.ordering_paused:
        raise OrderingError(
            merchant.pause_reason or _("The kitchen is not taking orders right now.")
        )
    if fulfilment not in Fulfilment.values:
        raise OrderingError(_("Choose dine-in or pickup."))
    pickup_name = pickup_name.strip()
    if len(pickup_name) > 40:
        raise OrderingError(_("The name has at most 40 characters."))
    with transaction.atomic():
        view = cart_view(customer=customer, app=app)
        cart = view.cart
        if cart is None or not view.lines:
            raise OrderingError(_("Your cart is empty."))
        if fulfilment == Fulfilment.DINE_IN and not cart.table_label:
            raise OrderingError(_("Scan the code on your table to order dine-in."))
        if fulfilment == Fulfilment.PICKUP and not pickup_name:
            raise OrderingError(_("Give a name for pickup."))
        for line in view.lines:
            if not line.product.available:
                raise OrderingError(_("%(name)s is sold out.") % {"name": line.product.name})
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
            merchant=merchant,
            app=app,
            store=store,
            customer=customer,
            fulfilment=fulfilment,
            table_label=cart.table_label if fulfilment == Fulfilment.DINE_IN else "",
            pickup_name=pickup_name if fulfilment == Fulfilment.PICKUP else "",
            note=(cart.note if note is None else note.strip())[:200],
            currency=merchant.currency,
            total=view.total,
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
        CartLine.objects.filter(cart=cart).delete()
        Cart.objects.filter(pk=cart.pk).update(note="")
        record(order=order, status=order.status, actor=CUSTOMER)
    return order
