"""Cart, checkout and the order state machine."""

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.db.models.functions import Least
from django.http import Http404
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from tapgo.catalog import services as catalog
from tapgo.catalog.models import Product
from tapgo.core.ids import is_public_id
from tapgo.identity.models import Customer
from tapgo.miniapps import services as miniapps
from tapgo.miniapps.models import MiniApp
from tapgo.ordering.models import (
    MAX_LINE_QUANTITY,
    Cart,
    CartLine,
    Fulfilment,
    Order,
    OrderEvent,
    OrderLine,
    OrderStatus,
    PickupCounter,
)

log = logging.getLogger(__name__)

S = OrderStatus
TRANSITIONS: dict[str, set[str]] = {
    S.PENDING_PAYMENT: {S.PAID, S.EXPIRED, S.CANCELLED},
    S.PAID: {S.ACCEPTED, S.REJECTED, S.CANCELLED},
    S.ACCEPTED: {S.READY, S.CANCELLED},
    S.READY: {S.COMPLETED, S.CANCELLED},
    S.COMPLETED: set(),
    S.EXPIRED: set(),
    S.REJECTED: set(),
    S.CANCELLED: set(),
}
ACTIVE = [S.PAID, S.ACCEPTED, S.READY]  # what the live board shows
RELEASES_STOCK = {S.EXPIRED, S.CANCELLED, S.REJECTED}


ORDER_ID_LENGTH = Order._meta.get_field("public_id").id_length


class OrderingError(ValueError):
    pass


class TransitionError(OrderingError):
    pass


# --- cart ---------------------------------------------------------------------------------


def _cart(customer: Customer, app: MiniApp) -> Cart:
    cart = Cart.objects.filter(customer=customer, app=app).first()
    if cart is not None:
        return cart
    try:
        with transaction.atomic():
            return Cart.objects.create(customer=customer, app=app, merchant_id=app.merchant_id)
    except IntegrityError:  # another tab made it first
        return Cart.objects.get(customer=customer, app=app)


def _check_quantity(quantity: int, *, allow_zero: bool = False) -> int:
    low = 0 if allow_zero else 1
    if not isinstance(quantity, int) or not low <= quantity <= MAX_LINE_QUANTITY:
        raise OrderingError(
            _("Choose a quantity from %(low)d to %(high)d.")
            % {"low": low, "high": MAX_LINE_QUANTITY}
        )
    return quantity


def _sellable(app: MiniApp, product_public_id: str, variant_public_id: str | None):
    if not is_public_id(product_public_id):
        raise OrderingError(_("This item is no longer on the menu."))
    product = (
        Product.objects.for_merchant(app.merchant_id)
        .filter(public_id=product_public_id)
        .prefetch_related("variants")
        .first()
    )
    if product is None:
        raise OrderingError(_("This item is no longer on the menu."))
    if not product.available:
        raise OrderingError(_("%(name)s is sold out.") % {"name": product.name})
    variants = list(product.variants.all())
    variant = None
    if variants:
        variant = next((v for v in variants if v.public_id == variant_public_id), None)
        if variant is None:
            raise OrderingError(_("Choose an option for %(name)s.") % {"name": product.name})
    elif variant_public_id:
        raise OrderingError(_("This option is no longer on the menu."))
    return product, variant


def cart_add(
    *,
    customer: Customer,
    app: MiniApp,
    product_public_id: str,
    variant_public_id: str | None = None,
    quantity: int = 1,
) -> Cart:
    """Add to the cart. Concurrent adds (two tabs) each count: the UPDATE adds in the database."""
    _check_quantity(quantity)
    product, variant = _sellable(app, product_public_id, variant_public_id)
    cart = _cart(customer, app)
    key = variant.pk if variant else 0
    for _attempt in range(3):
        with transaction.atomic():
            lines = CartLine.objects.filter(cart=cart, product=product, variant_key=key)
            if lines.filter(quantity__lte=MAX_LINE_QUANTITY - quantity).update(
                quantity=F("quantity") + quantity
            ):
                Cart.objects.filter(pk=cart.pk).update(updated_at=timezone.now())
                return cart
            if lines.filter(quantity__gt=MAX_LINE_QUANTITY - quantity).exists():
                raise OrderingError(
                    _("At most %(n)d of one item per order.") % {"n": MAX_LINE_QUANTITY}
                )
            if lines.exists():
                # The other tab's line committed between our UPDATE and now (PostgreSQL reads
                # each statement afresh): add to it on the next pass.
                continue
            try:
                with transaction.atomic():
                    CartLine.objects.create(
                        cart=cart,
                        product=product,
                        variant=variant,
                        variant_key=key,
                        quantity=quantity,
                    )
                Cart.objects.filter(pk=cart.pk).update(updated_at=timezone.now())
                return cart
            except IntegrityError:
                continue  # the other tab created the line: add to it on the next pass
    raise OrderingError(_("The cart is busy. Try again."))


def cart_set_quantity(*, customer: Customer, app: MiniApp, line_id: int, quantity: int) -> None:
    _check_quantity(quantity, allow_zero=True)
    lines = CartLine.objects.filter(pk=line_id, cart__customer=customer, cart__app=app)
    if quantity == 0:
        lines.delete()
    elif not lines.update(quantity=quantity):
        raise OrderingError(_("That item is no longer in your cart."))


def _check_text(*values: str) -> None:
    """Free text a customer typed: no NUL (PostgreSQL cannot store it; nobody types it)."""
    if any("\x00" in value for value in values if value):
        raise OrderingError(_("That text contains a character we cannot store."))


def cart_set_note(*, customer: Customer, app: MiniApp, note: str) -> None:
    _check_text(note)
    if len(note) > 200:
        raise OrderingError(_("The note has at most 200 characters."))
    Cart.objects.filter(pk=_cart(customer, app).pk).update(note=note.strip())


def cart_set_table(*, customer: Customer, app: MiniApp, table_label: str) -> None:
    Cart.objects.filter(pk=_cart(customer, app).pk).update(table_label=table_label)


@dataclass
class CartView:
    cart: Cart | None
    lines: list[CartLine]
    total: int
    count: int
    currency: str


def cart_view(*, customer: Customer | None, app: MiniApp) -> CartView:
    """The cart with current prices: two queries."""
    currency = app.merchant.currency
    if customer is None or not getattr(customer, "pk", None):
        return CartView(None, [], 0, 0, currency)
    cart = Cart.objects.filter(customer=customer, app=app).first()
    if cart is None:
        return CartView(None, [], 0, 0, currency)
    lines = list(CartLine.objects.filter(cart=cart).select_related("product", "variant"))
    for line in lines:
        line.unit_price = line.variant.price if line.variant else line.product.price
        line.subtotal = line.unit_price * line.quantity
        line.name = (
            _("%(product)s (%(variant)s)")
            % {"product": line.product.name, "variant": line.variant.name}
            if line.variant
            else line.product.name
        )
    total = sum(line.subtotal for line in lines)
    return CartView(cart, lines, total, sum(line.quantity for line in lines), currency)


def carts_move(*, source: Customer, target: Customer) -> None:
    for cart in Cart.objects.filter(customer=source).prefetch_related("lines"):
        existing = Cart.objects.filter(customer=target, app_id=cart.app_id).first()
        if existing is None:
            Cart.objects.filter(pk=cart.pk).update(customer=target)
            continue
        for line in cart.lines.all():
            # Capped in the same UPDATE: the sum may not pass the line's CHECK constraint.
            merged = CartLine.objects.filter(
                cart=existing, product_id=line.product_id, variant_key=line.variant_key
            ).update(quantity=Least(F("quantity") + line.quantity, MAX_LINE_QUANTITY))
            if not merged:
                CartLine.objects.filter(pk=line.pk).update(cart=existing)
        Cart.objects.filter(pk=cart.pk).delete()


# --- checkout -----------------------------------------------------------------------------


def _pickup_number(store, business_date) -> str:
    counters = PickupCounter.objects.filter(store=store, business_date=business_date)
    if not counters.update(last=F("last") + 1):
        try:
            with transaction.atomic():
                PickupCounter.objects.create(store=store, business_date=business_date, last=1)
        except IntegrityError:
            counters.update(last=F("last") + 1)
    return f"A{counters.values_list('last', flat=True).get():03d}"


def _language() -> str:
    """The language the customer is using now, as one of settings.LANGUAGES ("" if none)."""
    try:
        return translation.get_supported_language_variant(translation.get_language() or "")
    except LookupError:
        return ""


def _record(order: Order, status: str) -> None:
    OrderEvent.objects.create(merchant_id=order.merchant_id, order=order, status=status)


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
    _check_text(pickup_name, note or "")
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
        if not view.lines:
            raise OrderingError(_("Your cart is empty."))
        cart = view.cart
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
            except catalog.OutOfStock:
                raise OrderingError(
                    _("Sorry, not enough %(name)s left.") % {"name": line.name}
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
            language=_language(),
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
        _record(order, order.status)
    return order


# --- the state machine --------------------------------------------------------------------


def _transition(order: Order, to: str, *, reason: str = "", **fields) -> Order:
    """Move an order one step with a conditional UPDATE: of two racing writers, one wins."""
    allowed = TRANSITIONS[order.status]
    if to not in allowed:
        raise TransitionError(
            _("An order that is %(status)s cannot become %(to)s.")
            % {"status": OrderStatus(order.status).label, "to": OrderStatus(to).label}
        )
    now = timezone.now()
    with transaction.atomic():
        moved = Order.objects.filter(pk=order.pk, status=order.status).update(
            status=to, reason=reason[:200], updated_at=now, **fields
        )
        if not moved:
            order.refresh_from_db()
            raise TransitionError(_("This order changed meanwhile; reload and try again."))
        order.status, order.reason, order.updated_at = to, reason[:200], now
        for key, value in fields.items():
            setattr(order, key, value)
        if to in RELEASES_STOCK:
            # Refunded items were restocked or written off when they were refunded.
            for line in order.lines.order_by("product_id", "variant_id"):
                if line.quantity > line.refunded_quantity:
                    catalog.stock_release(
                        product_id=line.product_id,
                        variant_id=line.variant_id,
                        quantity=line.quantity - line.refunded_quantity,
                    )
        _record(order, to)
    return order


def order_awaits_payment(order: Order) -> bool:
    """Waiting for its money (past its time too, until the expiry moves it)."""
    return order.status == S.PENDING_PAYMENT


def order_payable(order: Order) -> None:
    """Raise OrderingError unless the order is waiting for payment and in time."""
    if order.status != S.PENDING_PAYMENT:
        raise OrderingError(_("This order is not waiting for payment."))
    if order.expires_at <= timezone.now():
        raise OrderingError(_("This order has expired. Please order again."))


def order_mark_paid(*, order: Order, amount: int, currency: str) -> Order:
    """The money for the order arrived (a verified provider event, or stored value).

    Raises TransitionError when the order cannot be paid now (expired or cancelled, or paid,
    meanwhile), OrderingError when the money is not the order's total.
    """
    if amount != order.total or currency != order.currency:
        log.error("payment for order %s does not match its total", order.public_id)
        raise OrderingError(_("The payment does not match the order's total."))
    return _transition(order, S.PAID, paid_at=timezone.now())


def order_was_paid(order: Order) -> bool:
    """Whether the order has been paid (whatever happened to it since)."""
    return order.status in ACTIVE or order.status == S.COMPLETED


def order_payment_failed(*, order: Order) -> None:
    """A payment attempt failed: the order stays payable; live pages hear about it."""
    _record(order, order.status)


def order_accept(*, order: Order) -> Order:
    return _transition(order, S.ACCEPTED)


def order_awaits_ready(order: Order) -> bool:
    """Paid and not ready yet: "tell me when it's ready" still means something."""
    return order.status in (S.PAID, S.ACCEPTED)


def order_mark_ready(*, order: Order) -> Order:
    return _transition(order, S.READY)


def order_complete(*, order: Order) -> Order:
    return _transition(order, S.COMPLETED)


def _reason(reason: str) -> str:
    reason = reason.strip()
    if not reason:
        raise OrderingError(_("Give the customer a reason."))
    return reason


def order_reject(*, order: Order, reason: str) -> Order:
    return _transition(order, S.REJECTED, reason=_reason(reason))


def order_cancel(*, order: Order, reason: str) -> Order:
    """Cancel by the merchant (with a reason; a paid order is refunded)."""
    return _transition(order, S.CANCELLED, reason=_reason(reason))


def order_cancel_unpaid(*, order: Order) -> Order:
    """The customer gives up before paying."""
    if order.status != S.PENDING_PAYMENT:
        raise TransitionError(_("Only an unpaid order can be cancelled here."))
    return _transition(order, S.CANCELLED, reason="")


def order_expire(*, order: Order) -> bool:
    """Expire an unpaid order whose time is up; gives its stock back. Safe to call twice:
    False when it is not due, or moved meanwhile."""
    if order.status != S.PENDING_PAYMENT or order.expires_at > timezone.now():
        return False
    try:
        _transition(order, S.EXPIRED)
    except TransitionError:
        return False
    return True


def orders_expire_due_ids(*, limit: int = 500) -> list[int]:
    """Unpaid orders past their time, oldest first (the sweep under the per-order task)."""
    return list(
        Order.objects.filter(status=S.PENDING_PAYMENT, expires_at__lte=timezone.now())
        .order_by("id")
        .values_list("pk", flat=True)[:limit]
    )


def orders_move(*, source: Customer, target: Customer) -> None:
    Order.objects.filter(customer=source).update(customer=target)


def orders_share_repoint(*, share_ids, to: int | None, customer_id: int | None = None) -> None:
    """Orders credited to these share links are credited to `to` (None: to no one); only the
    customer's orders when one is given. For merging accounts (miniapps.share_links_move)."""
    orders = Order.objects.filter(share_id__in=share_ids)
    if customer_id is not None:
        orders = orders.filter(customer_id=customer_id)
    orders.update(share_id=to)


# --- reads --------------------------------------------------------------------------------


def access_order_for_merchant(*, merchant, public_id: str) -> Order:
    if not is_public_id(public_id, ORDER_ID_LENGTH):
        raise Http404
    order = Order.objects.for_merchant(merchant).filter(public_id=public_id).first()
    if order is None:
        raise Http404
    return order


def access_order_for_customer(*, customer: Customer | None, public_id: str) -> Order:
    if customer is None or not getattr(customer, "pk", None):
        raise Http404
    if not is_public_id(public_id, ORDER_ID_LENGTH):
        raise Http404
    order = (
        Order.objects.select_related("app", "merchant", "store")
        .filter(customer=customer, public_id=public_id)
        .first()
    )
    if order is None:
        raise Http404
    return order


def board_orders(merchant):
    """The live board: paid and in-progress orders with their lines, in two queries."""
    return (
        Order.objects.for_merchant(merchant)
        .filter(status__in=ACTIVE)
        .prefetch_related("lines")
        .order_by("paid_at", "id")
    )


def orders_of_customer(customer: Customer | None):
    if customer is None or not getattr(customer, "pk", None):
        return Order.objects.none()
    return (
        Order.objects.filter(customer=customer)
        .select_related("app", "store")
        .order_by("-created_at")
    )


def events_after(*, merchant=None, order: Order | None = None, after: int = 0, limit: int = 100):
    """Events newer than `after`, oldest first: what a live page has not seen yet."""
    events = OrderEvent.objects.filter(pk__gt=after).select_related("order").order_by("pk")
    if merchant is not None:
        events = events.for_merchant(merchant)
    if order is not None:
        events = events.filter(order=order)
    return list(events[:limit])


def last_event_id(*, merchant=None, order: Order | None = None) -> int:
    events = OrderEvent.objects.all()
    if merchant is not None:
        events = events.for_merchant(merchant)
    if order is not None:
        events = events.filter(order=order)
    return events.order_by("-pk").values_list("pk", flat=True).first() or 0


# --- refunds ------------------------------------------------------------------------------


def refund_check(
    *, order: Order, lines: dict | None, amount: int | None, reason: str
) -> tuple[dict[int, int] | None, str]:
    """Check a refund asked for by item ({line id: quantity}) or by an amount, changing
    nothing: OrderingError with a message for anything wrong (an unpaid order, bad input).
    Returns the items wanted (None for an amount) and the reason, trimmed."""
    reason = (reason or "").strip()
    _check_text(reason)
    if not reason:
        raise OrderingError(_("Give a reason for the refund."))
    if len(reason) > 200:
        raise OrderingError(_("The reason has at most 200 characters."))
    if order.paid_at is None:
        raise OrderingError(_("Only a paid order can be refunded."))
    if (lines is None) == (amount is None):
        raise OrderingError(_("Refund either items or an amount."))
    if amount is not None:
        if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
            raise OrderingError(_("Enter an amount above zero."))
        if amount > order.total:
            raise OrderingError(_("That is more than the order's total."))
        return None, reason
    return _refund_quantities(lines), reason


def refund_restocks(status: str) -> bool:
    """Whether refunded items may go back into stock: not when the order (cancelled,
    rejected, expired) has put them back already. Read the status under the order's lock
    (ordering/locks.py), so a transition in flight comes first."""
    return status not in RELEASES_STOCK


def refund_items_take(*, order: Order, wanted: dict[int, int], restock: bool) -> int:
    """Mark items refunded (back into stock when `restock`) and return what they cost."""
    return _take_refund_quantities(order, wanted, restock=restock)


def _refund_quantities(lines: dict) -> dict[int, int]:
    wanted = {}
    for line_id, quantity in lines.items():
        try:
            line_id = int(line_id)
        except (TypeError, ValueError):
            line_id = 0
        if not 0 < line_id < 2**63:
            raise OrderingError(_("That item is not on this order."))
        if (
            not isinstance(quantity, int)
            or isinstance(quantity, bool)
            or not 0 <= quantity <= MAX_LINE_QUANTITY
        ):
            raise OrderingError(_("Choose how many of each item to refund."))
        if quantity:
            wanted[line_id] = quantity
    if not wanted:
        raise OrderingError(_("Choose at least one item to refund."))
    return wanted


def _take_refund_quantities(order: Order, wanted: dict[int, int], *, restock: bool) -> int:
    """Mark the quantities refunded (one conditional UPDATE per line, in primary-key order, so
    two refunds of one order never wait on each other); returns what they cost."""
    order_lines = {line.pk: line for line in OrderLine.objects.filter(order=order, pk__in=wanted)}
    if set(order_lines) != set(wanted):
        raise OrderingError(_("That item is not on this order."))
    amount = 0
    for line_id in sorted(wanted):
        line, quantity = order_lines[line_id], wanted[line_id]
        taken = OrderLine.objects.filter(
            pk=line_id, refunded_quantity__lte=F("quantity") - quantity
        ).update(refunded_quantity=F("refunded_quantity") + quantity)
        if not taken:
            total, refunded = (
                OrderLine.objects.filter(pk=line_id)
                .values_list("quantity", "refunded_quantity")
                .get()
            )
            raise OrderingError(
                _("Only %(n)d of %(name)s left to refund.")
                % {"n": total - refunded, "name": line.name}
            )
        amount += line.unit_price * quantity
        if restock:
            catalog.stock_release(
                product_id=line.product_id, variant_id=line.variant_id, quantity=quantity
            )
    return amount
