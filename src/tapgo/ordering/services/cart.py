"""The cart: one per customer per mini app, kept on the server; adding to it is decided by
the database (concurrent adds from two tabs each count). At a table, the customer's cart is
a seat in the table's group (tables.py), and the cart they see is the group's: every seat's
lines, each with who added it."""

from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from tapgo.catalog.models import Product
from tapgo.core import translations as texts
from tapgo.core.ids import is_public_id
from tapgo.identity.models import Customer
from tapgo.miniapps.models import MiniApp
from tapgo.ordering.models import (
    MAX_LINE_QUANTITY,
    Cart,
    CartLine,
    TableGroup,
    TableGroupStatus,
)
from tapgo.ordering.services.base import OrderingError, check_text


def customer_cart(*, customer: Customer, app: MiniApp) -> Cart:
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
        raise OrderingError(_("%(name)s is sold out.") % {"name": texts.of(product, "name")})
    variants = list(product.variants.all())
    variant = None
    if variants:
        variant = next((v for v in variants if v.public_id == variant_public_id), None)
        if variant is None:
            raise OrderingError(
                _("Choose an option for %(name)s.") % {"name": texts.of(product, "name")}
            )
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
    cart = customer_cart(customer=customer, app=app)
    key = variant.pk if variant else 0
    for _attempt in range(3):
        with transaction.atomic():
            lines = CartLine.objects.filter(cart=cart, product=product, variant_key=key)
            if lines.filter(quantity__lte=MAX_LINE_QUANTITY - quantity).update(
                quantity=F("quantity") + quantity
            ):
                Cart.objects.filter(pk=cart.pk).update(updated_at=timezone.now())
                _bump(cart)
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
                _bump(cart)
                return cart
            except IntegrityError:
                continue  # the other tab created the line: add to it on the next pass
    raise OrderingError(_("The cart is busy. Try again."))


def group_bump(*, group_id: int) -> None:
    """Something at a table changed (its cart, a round, the bill): live pages watching the
    table's group hear it."""
    TableGroup.objects.filter(pk=group_id).update(
        version=F("version") + 1, updated_at=timezone.now()
    )


def _bump(cart: Cart) -> None:
    if cart.group_id:
        group_bump(group_id=cart.group_id)


def cart_set_quantity(*, customer: Customer, app: MiniApp, line_id: int, quantity: int) -> None:
    """Change a line of the cart this customer sees: their own, or at a table any line of
    the table's shared cart."""
    _check_quantity(quantity, allow_zero=True)
    cart = customer_cart(customer=customer, app=app)
    mine = Q(cart=cart)
    if cart.group_id:
        mine |= Q(cart__group_id=cart.group_id, cart__group__status=TableGroupStatus.OPEN)
    lines = CartLine.objects.filter(mine, pk=line_id, cart__app=app)
    _bump(cart)
    if quantity == 0:
        lines.delete()
    elif not lines.update(quantity=quantity):
        raise OrderingError(_("That item is no longer in your cart."))


def cart_set_note(*, customer: Customer, app: MiniApp, note: str) -> None:
    check_text(note)
    if len(note) > 200:
        raise OrderingError(_("The note has at most 200 characters."))
    Cart.objects.filter(pk=customer_cart(customer=customer, app=app).pk).update(note=note.strip())


def cart_set_table(*, customer: Customer, app: MiniApp, table_label: str) -> None:
    Cart.objects.filter(pk=customer_cart(customer=customer, app=app).pk).update(
        table_label=table_label
    )


@dataclass(frozen=True)
class CartViewLine:
    """A cart line at the current price: what the cart page shows and checkout orders."""

    pk: int
    product: Product
    product_id: int
    variant_id: int | None
    variant_key: int
    quantity: int
    unit_price: int
    subtotal: int
    name: str
    added_by: str = ""  # at a table: who added it ("Guest 2", a first name)
    mine: bool = True  # added from this phone


@dataclass
class CartView:
    cart: Cart | None
    lines: list[CartViewLine]
    total: int
    count: int
    currency: str
    group: TableGroup | None = None  # the table's open group the cart is a seat of
    seats: list[str] = field(default_factory=list)  # who sits there, "Guest 1" first


def cart_view(*, customer: Customer | None, app: MiniApp) -> CartView:
    """The cart with current prices: two queries (three at a table: the table's whole cart,
    with who added each line)."""
    currency = app.merchant.currency
    if customer is None or not getattr(customer, "pk", None):
        return CartView(None, [], 0, 0, currency)
    cart = Cart.objects.filter(customer=customer, app=app).select_related("group").first()
    if cart is None:
        return CartView(None, [], 0, 0, currency)
    group = cart.group if cart.group and cart.group.status == TableGroupStatus.OPEN else None
    seats: dict[int, Cart] = {cart.pk: cart}
    if group is not None:
        seats = {c.pk: c for c in Cart.objects.filter(group=group).order_by("seat")}
        found = CartLine.objects.filter(cart__in=list(seats))
    else:
        found = CartLine.objects.filter(cart=cart)
    lines = []
    for line in found.select_related("product", "variant").order_by("id"):
        unit_price = line.variant.price if line.variant else line.product.price
        seat = seats.get(line.cart_id, cart)
        lines.append(
            CartViewLine(
                pk=line.pk,
                product=line.product,
                product_id=line.product_id,
                variant_id=line.variant_id,
                variant_key=line.variant_key,
                quantity=line.quantity,
                unit_price=unit_price,
                subtotal=unit_price * line.quantity,
                # In the customer's language (the merchant's default when it gave none):
                # checkout keeps it as the order line's name.
                name=(
                    _("%(product)s (%(variant)s)")
                    % {
                        "product": texts.of(line.product, "name"),
                        "variant": texts.of(line.variant, "name"),
                    }
                    if line.variant
                    else texts.of(line.product, "name")
                ),
                added_by=seat_label(seat) if group is not None else "",
                mine=line.cart_id == cart.pk,
            )
        )
    total = sum(line.subtotal for line in lines)
    return CartView(
        cart,
        lines,
        total,
        sum(line.quantity for line in lines),
        currency,
        group=group,
        seats=[seat_label(c) for c in seats.values()] if group is not None else [],
    )


def seat_label(cart: Cart) -> str:
    """How the table sees a phone: the first name it gave, else "Guest 2" (never an email)."""
    if cart.seat_name:
        return cart.seat_name
    return _("Guest %(n)d") % {"n": cart.seat or 1}
