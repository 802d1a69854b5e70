"""Merchants, their stores and their staff."""

import zoneinfo
from decimal import Decimal

from babel.numbers import get_currency_name
from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from tapgo.core.ids import is_public_id
from tapgo.core.urls import absolute_url
from tapgo.identity.models import User
from tapgo.merchants.models import DineInPayment, Invitation, Membership, Merchant, Role, Store


class MerchantError(ValueError):
    pass


def _check_location(latitude: Decimal | None, longitude: Decimal | None) -> None:
    if latitude is None and longitude is None:
        return
    if latitude is None or longitude is None:
        raise MerchantError(_("Give both latitude and longitude, or neither."))
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        raise MerchantError(_("Latitude must be between -90 and 90, longitude -180 and 180."))


def _check_time_zone(name: str) -> None:
    if name not in zoneinfo.available_timezones():
        raise MerchantError(_("Unknown time zone: %(tz)s") % {"tz": name})


def _check_currency(code: str) -> None:
    if len(code) != 3 or not code.isalpha() or get_currency_name(code.upper()) == code.upper():
        raise MerchantError(_("Unknown currency: %(code)s") % {"code": code})


@transaction.atomic
def merchant_create(
    *,
    owner: User,
    name: str,
    address: str = "",
    latitude: Decimal | None = None,
    longitude: Decimal | None = None,
    opening_hours: str = "",
    time_zone: str = "Asia/Shanghai",
    currency: str = "CNY",
    language: str = "",
) -> Merchant:
    """A new merchant with its store; `language` is its texts' default language (the site's
    if not given): what customers read when the merchant gave nothing in theirs."""
    name = name.strip()
    if not name:
        raise MerchantError(_("A merchant needs a name."))
    _check_location(latitude, longitude)
    _check_time_zone(time_zone)
    _check_currency(currency)
    language = language or settings.LANGUAGE_CODE
    if language not in dict(settings.LANGUAGES):
        raise MerchantError(_("Choose one of the languages offered."))
    merchant = Merchant.objects.create(name=name, currency=currency.upper(), language=language)
    Store.objects.create(
        merchant=merchant,
        name=name,
        address=address.strip(),
        latitude=latitude,
        longitude=longitude,
        opening_hours=opening_hours.strip(),
        time_zone=time_zone,
    )
    Membership.objects.create(merchant=merchant, user=owner, role=Role.OWNER)
    return merchant


@transaction.atomic
def merchant_update(
    *,
    merchant: Merchant,
    name: str,
    address: str,
    latitude: Decimal | None,
    longitude: Decimal | None,
    opening_hours: str,
    time_zone: str,
) -> Merchant:
    name = name.strip()
    if not name:
        raise MerchantError(_("A merchant needs a name."))
    _check_location(latitude, longitude)
    _check_time_zone(time_zone)
    Merchant.objects.filter(pk=merchant.pk).update(name=name)
    Store.objects.for_merchant(merchant).update(
        address=address.strip(),
        latitude=latitude,
        longitude=longitude,
        opening_hours=opening_hours.strip(),
        time_zone=time_zone,
    )
    merchant.refresh_from_db()
    return merchant


def merchant_set_active(*, merchant: Merchant, active: bool) -> None:
    """Switch a merchant on or off: an inactive merchant's apps open for no one and are
    found by no search."""
    Merchant.objects.filter(pk=merchant.pk).update(is_active=active)
    merchant.is_active = active


def merchant_store(merchant: Merchant) -> Store:
    return Store.objects.for_merchant(merchant).order_by("id").first()


def merchant_zone(merchant_id: int) -> zoneinfo.ZoneInfo:
    """The time zone of the merchant's first store (its days and years), else UTC."""
    name = (
        Store.objects.filter(merchant_id=merchant_id)
        .order_by("id")
        .values_list("time_zone", flat=True)
        .first()
    )
    return zoneinfo.ZoneInfo(name or "UTC")


def merchants_of(user: User):
    return Merchant.objects.filter(
        pk__in=Membership.objects.filter(user=user).values("merchant")
    ).order_by("name")


def access_merchant(*, user: User, merchant_public_id: str, owner_only: bool = False):
    """The one permission check of the console: the merchant and the role, or 404."""
    if not user.is_authenticated or not is_public_id(merchant_public_id):
        raise Http404
    membership = (
        Membership.objects.select_related("merchant")
        .filter(user=user, merchant__public_id=merchant_public_id)
        .first()
    )
    if membership is None or (owner_only and membership.role != Role.OWNER):
        raise Http404
    return membership.merchant, membership.role


def ordering_pause(*, merchant: Merchant, paused: bool, reason: str = "") -> None:
    Merchant.objects.filter(pk=merchant.pk).update(
        ordering_paused=paused, pause_reason=reason.strip()[:200] if paused else ""
    )


def invitation_create(*, merchant: Merchant, invited_by: User, email: str, role: str) -> Invitation:
    """Invite by email; the link signs up (or signs in) and joins with the role."""
    email = email.strip().lower()
    if role not in Role.values:
        raise MerchantError(_("Unknown role."))
    if Membership.objects.for_merchant(merchant).filter(user__email=email).exists():
        raise MerchantError(_("%(email)s is already on the team.") % {"email": email})
    invitation = Invitation.objects.create(
        merchant=merchant, email=email, role=role, invited_by=invited_by
    )
    link = absolute_url("console:invitation", invitation.public_id)
    transaction.on_commit(
        lambda: send_mail(
            _("You are invited to %(merchant)s on Tapgo") % {"merchant": merchant.name},
            _("%(who)s invited you to join %(merchant)s. Accept here: %(link)s")
            % {"who": invited_by.email, "merchant": merchant.name, "link": link},
            None,
            [email],
        )
    )
    return invitation


def invitations_pending(merchant: Merchant):
    return (
        Invitation.objects.for_merchant(merchant)
        .filter(accepted_at__isnull=True)
        .order_by("-created_at")
    )


def invitation_get(public_id: str) -> Invitation:
    if not is_public_id(public_id, 24):
        raise Http404
    invitation = (
        Invitation.objects.select_related("merchant")
        .filter(public_id=public_id, accepted_at__isnull=True)
        .first()
    )
    if invitation is None:
        raise Http404
    return invitation


@transaction.atomic
def invitation_accept(*, invitation: Invitation, user: User) -> Merchant:
    if user.email.lower() != invitation.email.lower():
        raise MerchantError(_("This invitation was sent to another email address."))
    if not Invitation.objects.filter(pk=invitation.pk, accepted_at__isnull=True).update(
        accepted_at=timezone.now()
    ):
        raise MerchantError(_("This invitation has already been used."))
    try:
        with transaction.atomic():
            Membership.objects.create(merchant=invitation.merchant, user=user, role=invitation.role)
    except IntegrityError:
        pass  # already a member: accepting again changes nothing
    return invitation.merchant


def staff_list(merchant: Merchant):
    return Membership.objects.for_merchant(merchant).select_related("user").order_by("created_at")


def staff_remove(*, merchant: Merchant, user_public_id: str, acting: User) -> None:
    if not is_public_id(user_public_id):
        raise Http404
    membership = staff_list(merchant).filter(user__public_id=user_public_id).first()
    if membership is None:
        raise Http404
    if membership.user_id == acting.pk:
        raise MerchantError(_("You cannot remove yourself."))
    membership.delete()


def ordering_settings_update(
    *,
    merchant: Merchant,
    store: Store,
    dine_in_payment: str,
    tips_on: bool,
    tip_percentages: list[int],
) -> None:
    """How dine-in is paid at the store (when ordering, or after eating as one bill for the
    table), and the tips customers may add (up to four percentages from 1 to 50)."""
    if dine_in_payment not in DineInPayment.values:
        raise MerchantError(_("Choose how dine-in customers pay."))
    percentages = sorted(set(tip_percentages))
    if len(percentages) > 4 or any(not 1 <= p <= 50 for p in percentages):
        raise MerchantError(_("Give up to four tip percentages from 1 to 50."))
    if tips_on and not percentages:
        raise MerchantError(_("Give at least one tip percentage, or turn tips off."))
    with transaction.atomic():
        Merchant.objects.filter(pk=merchant.pk).update(
            tips_on=tips_on, tip_percentages=percentages or merchant.tip_percentages
        )
        Store.objects.filter(pk=store.pk, merchant=merchant).update(dine_in_payment=dine_in_payment)
    merchant.tips_on = tips_on
    merchant.tip_percentages = percentages or merchant.tip_percentages
    store.dine_in_payment = dine_in_payment
