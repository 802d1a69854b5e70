"""What staff record for a member at the counter: one CounterSale row per form (its key is
unique per merchant, so a double submit is one sale), with who recorded it. What the sale
does to the money, a coupon or the points is decided in flows/counter.py."""

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from tapgo.core.actors import Actor
from tapgo.membership.models import CounterSale, Member
from tapgo.membership.services.errors import MembershipError


def counter_key(key: str) -> str:
    """A form's one-time key, checked: printable ASCII of 1 to 64 characters."""
    key = (key or "").strip()
    if not 1 <= len(key) <= 64 or not key.isascii() or not key.isprintable():
        raise MembershipError(_("This form has expired. Please try again."))
    return key


def counter_sale_of_key(*, member: Member, key: str) -> CounterSale | None:
    """The sale a form recorded already (a double submit), if any. A key of the merchant's
    used for another member is refused: a form belongs to the member it was shown for."""
    sale = CounterSale.objects.filter(merchant_id=member.merchant_id, key=key).first()
    if sale is not None and sale.member_id != member.pk:
        raise MembershipError(_("This form has expired. Please try again."))
    return sale


def counter_sale_create(
    *,
    member: Member,
    kind: str,
    amount: int,
    key: str,
    actor: Actor,
    discount: int = 0,
    card: int = 0,
    coupon: str = "",
    code_step: int | None = None,
) -> CounterSale | None:
    """Write the sale of a form; None when the form's key was written meanwhile (the other
    submit of a double click: the caller returns that one and does nothing more)."""
    try:
        with transaction.atomic():
            return CounterSale.objects.create(
                merchant_id=member.merchant_id,
                member=member,
                kind=kind,
                amount=amount,
                discount=discount,
                card=card,
                coupon=coupon,
                code_step=code_step,
                key=key,
                **actor.columns(),
            )
    except IntegrityError:
        if CounterSale.objects.filter(merchant_id=member.merchant_id, key=key).exists():
            return None
        raise


def counter_sales_of(member: Member, *, limit: int = 100) -> list[CounterSale]:
    """The member's counter sales, newest first (the console's member page)."""
    return list(CounterSale.objects.filter(member=member).order_by("-created_at", "-id")[:limit])
