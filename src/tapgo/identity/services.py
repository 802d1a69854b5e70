"""Customers (guest and signed-in) and their one-time email sign-in codes."""

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from tapgo.core.ids import is_public_id
from tapgo.identity.models import Customer, LoginCode, User

CODE_MINUTES = 10
CODE_ATTEMPTS = 5
CODES_PER_HOUR = 5


class SignInError(ValueError):
    pass


def customer_create_guest() -> Customer:
    return Customer.objects.create()


def customer_from_public_id(public_id: str | None) -> Customer | None:
    if not is_public_id(public_id):
        return None
    customer = Customer.objects.filter(public_id=public_id).select_related("merged_into").first()
    if customer is not None and customer.merged_into_id:
        return customer.merged_into
    return customer


def _hash_code(email: str, code: str) -> str:
    key = settings.SECRET_KEY.encode()
    return hmac.new(key, f"{email}:{code}".encode(), hashlib.sha256).hexdigest()


def login_code_send(*, email: str) -> None:
    """Email a six-digit code. Rate limited per address; the code itself is never stored."""
    email = email.strip().lower()
    now = timezone.now()
    recent = LoginCode.objects.filter(email=email, created_at__gte=now - timedelta(hours=1))
    if recent.count() >= CODES_PER_HOUR:
        raise SignInError(_("Too many codes were sent to this address. Try again in an hour."))
    code = f"{secrets.randbelow(1_000_000):06d}"
    LoginCode.objects.create(
        email=email,
        code_hash=_hash_code(email, code),
        expires_at=now + timedelta(minutes=CODE_MINUTES),
    )
    send_mail(
        _("Your Tapgo sign-in code: %(code)s") % {"code": code},
        _("Your sign-in code is %(code)s. It expires in %(minutes)d minutes.")
        % {"code": code, "minutes": CODE_MINUTES},
        None,
        [email],
    )


def login_code_verify(*, email: str, code: str, guest: Customer | None) -> Customer:
    """Check a code; on success return the account, with the guest's cart and orders moved in."""
    email = email.strip().lower()
    code = code.strip()
    now = timezone.now()
    candidate = (
        LoginCode.objects.filter(email=email, used_at__isnull=True, expires_at__gt=now)
        .order_by("-created_at")
        .first()
    )
    # Every attempt is counted before the comparison, by one conditional UPDATE (outside any
    # transaction, so it sticks although we may raise): parallel guesses cannot all read a
    # low count and get past the limit together.
    if candidate is None or not LoginCode.objects.filter(
        pk=candidate.pk, attempts__lt=CODE_ATTEMPTS
    ).update(attempts=F("attempts") + 1):
        raise SignInError(_("This code has expired. Ask for a new one."))
    if not hmac.compare_digest(candidate.code_hash, _hash_code(email, code)):
        raise SignInError(_("That code is not right. Check the email and try again."))
    with transaction.atomic():
        # Conditional update: two tabs submitting one code sign in once.
        used = LoginCode.objects.filter(pk=candidate.pk, used_at__isnull=True).update(used_at=now)
        if not used:
            raise SignInError(_("This code has already been used."))
        account, _created = Customer.objects.get_or_create(email=email)
        if guest is not None and guest.pk and guest.pk != account.pk and guest.is_guest:
            customer_merge(source=guest, target=account)
    return account


def customer_merge(*, source: Customer, target: Customer) -> None:
    """Move a guest's carts, orders, visits, share links, card balances and notifications to
    an account (called inside a transaction)."""
    from tapgo.discovery.services import places_move
    from tapgo.messaging.services import customers_move
    from tapgo.miniapps.services import share_links_move, visits_move
    from tapgo.ordering.services import carts_move, orders_move
    from tapgo.payments.stored_value import cards_move

    carts_move(source=source, target=target)
    orders_move(source=source, target=target)
    visits_move(source=source, target=target)
    share_links_move(source=source, target=target)
    cards_move(source=source, target=target)
    places_move(source=source, target=target)  # favourites, recently-used removals
    customers_move(source=source, target=target)  # consents, inbox, push devices
    Customer.objects.filter(pk=source.pk).update(merged_into=target)


def staff_user_create(*, email: str, password: str, name: str = "") -> User:
    return User.objects.create_user(email=email, password=password, name=name)
