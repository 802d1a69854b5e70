"""The cart: one per customer per mini app, kept on the server; adding to it is decided by
the database (concurrent adds from two tabs each count). A line never asks for more than is
left of a counted item: adding or raising it caps it there and says so (checkout still
decides by the stock itself). Nothing is added while the merchant has paused ordering. At a
table, the customer's cart is a seat in the table's group (tables.py), and the cart they see
is the group's: every seat's lines, each with who added it."""

from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from tapgo.catalog.models import Product, Variant
from tapgo.core import translations as texts
from tapgo.core.ids import is_public_id
from tapgo.identity.models import Customer
from tapgo.merchants.models import Merchant
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


def check_open(merchant: Merchant) -> None:
    """OrderingError with the merchant's reason while ordering is paused."""
    if merchant.ordering_paused:
        raise OrderingError(
            merchant.pause_reason or _("The kitchen is not taking orders right now.")
        )


def only_left(left: int) -> str:
    """What a customer is told when a line is capped at what is left."""
    return _("Only %(n)d left: your cart has %(n)d.") % {"n": left}


@dataclass(frozen=True)
class CartAdded:
    """What cart_add did. `added`: how much the line's quantity grew. `left`: None when all
    that was asked for was added; else how many are left, where the line was capped (then
    `added` is less than asked, below 0 for a line that held more than is left now)."""

    cart: Cart
    added: int
    left: int | None = None


def _stock_of(product: Product, variant: Variant | None) -> int | None:
    return variant.stock if variant is not None else product.stock


def cart_add(
    *,
    customer: Customer,
    app: MiniApp,
    product_public_id: str,
    variant_public_id: str | None = None,
    quantity: int = 1,
) -> CartAdded:
    """Add to the cart. Concurrent adds (two tabs) each count: the UPDATE adds in the database.
    A counted item is capped at what is left (CartAdded says how many were added)."""
    _check_quantity(quantity)
    check_open(app.merchant)
    product, variant = _sellable(app, product_public_id, variant_public_id)
    stock = _stock_of(product, variant)
    if stock == 0:
        raise OrderingError(_("%(name)s is sold out.") % {"name": product.name})
    limit = MAX_LINE_QUANTITY if stock is None else min(stock, MAX_LINE_QUANTITY)
    cart = customer_cart(customer=customer, app=app)
    key = variant.pk if variant else 0
    for _attempt in range(3):
        with transaction.atomic():
            lines = CartLine.objects.filter(cart=cart, product=product, variant_key=key)
            if lines.filter(quantity__lte=limit - quantity).update(
                quantity=F("quantity") + quantity
            ):
                Cart.objects.filter(pk=cart.pk).update(updated_at=timezone.now())
                _bump(cart)
                return CartAdded(cart, quantity)
            if limit < MAX_LINE_QUANTITY:
                # Too few left for all of it: the line gets what is left (one UPDATE decides
                # against another tab; a line above it, with stock sold since, comes down).
                had = lines.values_list("quantity", flat=True).first()
                if had is not None:
                    lines.update(quantity=limit)
                    Cart.objects.filter(pk=cart.pk).update(updated_at=timezone.now())
                    _bump(cart)
                    return CartAdded(cart, limit - had, left=limit)
            elif lines.filter(quantity__gt=MAX_LINE_QUANTITY - quantity).exists():
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
                        quantity=min(quantity, limit),
                    )
                Cart.objects.filter(pk=cart.pk).update(updated_at=timezone.now())
                _bump(cart)
                if quantity > limit:
                    return CartAdded(cart, limit, left=limit)
                return CartAdded(cart, quantity)
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


def cart_set_quantity(
    *, customer: Customer, app: MiniApp, line_id: int, quantity: int
) -> int | None:
    """Set a line's quantity (0 removes it). A counted item is capped at what is left: then
    the quantity set is returned (None when it is the one asked for)."""
    _check_quantity(quantity, allow_zero=True)
    cart = customer_cart(customer=customer, app=app)
    mine = Q(cart=cart)
    if cart.group_id:
        mine |= Q(cart__group_id=cart.group_id, cart__group__status=TableGroupStatus.OPEN)
    lines = CartLine.objects.filter(mine, pk=line_id, cart__app=app)
    _bump(cart)
    if quantity == 0:
        lines.delete()
        return None
    line = lines.select_related("product", "variant").first()
    if line is None:
        raise OrderingError(_("That item is no longer in your cart."))
    if quantity > line.quantity:
        check_open(app.merchant)  # fewer is always allowed
    stock = _stock_of(line.product, line.variant)
    if stock is not None and quantity > stock:
        if stock == 0:
            raise OrderingError(_("%(name)s is sold out.") % {"name": line.product.name})
        quantity = stock
        capped: int | None = stock
    else:
        capped = None
    if not lines.update(quantity=quantity):
        raise OrderingError(_("That item is no longer in your cart."))
    return capped


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
    at_most: int | None = None  # how many are left of a counted item

    @property
    def capped(self) -> bool:
        """The line holds all that is left (or more: it sold since)."""
        return self.at_most is not None and self.quantity >= self.at_most


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
                at_most=_stock_of(line.product, line.variant),
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
