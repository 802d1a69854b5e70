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


def login_code_check(*, email: str, code: str) -> LoginCode:
    """The unused code this email was sent, if `code` is it; raises SignInError otherwise.

    Every attempt is counted before the comparison, by one conditional UPDATE that commits at
    once: call this outside any transaction, so the count sticks although it raises, and
    parallel guesses cannot all read a low count and get past the limit together."""
    email = email.strip().lower()
    code = code.strip()
    candidate = (
        LoginCode.objects.filter(email=email, used_at__isnull=True, expires_at__gt=timezone.now())
        .order_by("-created_at")
        .first()
    )
    if candidate is None or not LoginCode.objects.filter(
        pk=candidate.pk, attempts__lt=CODE_ATTEMPTS
    ).update(attempts=F("attempts") + 1):
        raise SignInError(_("This code has expired. Ask for a new one."))
    if not hmac.compare_digest(candidate.code_hash, _hash_code(email, code)):
        raise SignInError(_("That code is not right. Check the email and try again."))
    return candidate


def login_code_redeem(*, login_code: LoginCode) -> Customer:
    """Use a checked code (once: two tabs submitting one code sign in once) and return the
    account of its email, made on first sign-in."""
    with transaction.atomic():
        used = LoginCode.objects.filter(pk=login_code.pk, used_at__isnull=True).update(
            used_at=timezone.now()
        )
        if not used:
            raise SignInError(_("This code has already been used."))
        account, _created = Customer.objects.get_or_create(email=login_code.email)
    return account


def customer_mark_merged(*, source: Customer, target: Customer) -> None:
    """The guest `source` is now the account `target`: its cookie finds the account."""
    Customer.objects.filter(pk=source.pk).update(merged_into=target)


def staff_user_create(*, email: str, password: str, name: str = "") -> User:
    return User.objects.create_user(email=email, password=password, name=name)
