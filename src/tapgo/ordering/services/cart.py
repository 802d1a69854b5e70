"""The cart: one per customer per mini app, kept on the server; adding to it is decided by
the database (concurrent adds from two tabs each count). A line never asks for more than is
left of a counted item: adding or raising it caps it there and says so (checkout still
decides by the stock itself). Nothing is added while the merchant has paused ordering."""

from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from tapgo.catalog.models import Product, Variant
from tapgo.core.ids import is_public_id
from tapgo.identity.models import Customer
from tapgo.merchants.models import Merchant
from tapgo.miniapps.models import MiniApp
from tapgo.ordering.models import MAX_LINE_QUANTITY, Cart, CartLine
from tapgo.ordering.services.base import OrderingError, check_text


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
    cart = _cart(customer, app)
    key = variant.pk if variant else 0
    for _attempt in range(3):
        with transaction.atomic():
            lines = CartLine.objects.filter(cart=cart, product=product, variant_key=key)
            if lines.filter(quantity__lte=limit - quantity).update(
                quantity=F("quantity") + quantity
            ):
                Cart.objects.filter(pk=cart.pk).update(updated_at=timezone.now())
                return CartAdded(cart, quantity)
            if limit < MAX_LINE_QUANTITY:
                # Too few left for all of it: the line gets what is left (one UPDATE decides
                # against another tab; a line above it, with stock sold since, comes down).
                had = lines.values_list("quantity", flat=True).first()
                if had is not None:
                    lines.update(quantity=limit)
                    Cart.objects.filter(pk=cart.pk).update(updated_at=timezone.now())
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
                if quantity > limit:
                    return CartAdded(cart, limit, left=limit)
                return CartAdded(cart, quantity)
            except IntegrityError:
                continue  # the other tab created the line: add to it on the next pass
    raise OrderingError(_("The cart is busy. Try again."))


def cart_set_quantity(
    *, customer: Customer, app: MiniApp, line_id: int, quantity: int
) -> int | None:
    """Set a line's quantity (0 removes it). A counted item is capped at what is left: then
    the quantity set is returned (None when it is the one asked for)."""
    _check_quantity(quantity, allow_zero=True)
    lines = CartLine.objects.filter(pk=line_id, cart__customer=customer, cart__app=app)
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
    Cart.objects.filter(pk=_cart(customer, app).pk).update(note=note.strip())


def cart_set_table(*, customer: Customer, app: MiniApp, table_label: str) -> None:
    Cart.objects.filter(pk=_cart(customer, app).pk).update(table_label=table_label)


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


def cart_view(*, customer: Customer | None, app: MiniApp) -> CartView:
    """The cart with current prices: two queries."""
    currency = app.merchant.currency
    if customer is None or not getattr(customer, "pk", None):
        return CartView(None, [], 0, 0, currency)
    cart = Cart.objects.filter(customer=customer, app=app).first()
    if cart is None:
        return CartView(None, [], 0, 0, currency)
    lines = []
    for line in CartLine.objects.filter(cart=cart).select_related("product", "variant"):
        unit_price = line.variant.price if line.variant else line.product.price
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
                name=(
                    _("%(product)s (%(variant)s)")
                    % {"product": line.product.name, "variant": line.variant.name}
                    if line.variant
                    else line.product.name
                ),
                at_most=_stock_of(line.product, line.variant),
            )
        )
    total = sum(line.subtotal for line in lines)
    return CartView(cart, lines, total, sum(line.quantity for line in lines), currency)
