"""Delivery: a store's zones (a radius around the store, or a named area the customer picks),
each with a fee, a minimum order before the fee and an estimated time; matching a customer to
a zone by great-circle distance from the store's coordinates (no map service: it works
offline); and checking what a customer typed (address, phone, position)."""

import math
import re
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.http import Http404
from django.utils.translation import gettext as _

from tapgo.core.ids import is_public_id
from tapgo.core.money import format_money
from tapgo.core.text import format_distance, printable
from tapgo.merchants.models import Merchant, Store
from tapgo.ordering.models import DeliveryZone
from tapgo.ordering.services.base import OrderingError

K = DeliveryZone.Kind
# The mean radius of the Earth (IUGG), in metres: the great-circle distance is within 0.5% of
# the distance on the ellipsoid, far closer than a phone's position or a zone's edge.
EARTH_RADIUS_M = 6_371_008.8
MAX_RADIUS_M = 100_000
MAX_ETA_MINUTES = 24 * 60
MAX_AMOUNT = 10**9
ZONE_ID_LENGTH = DeliveryZone._meta.get_field("public_id").id_length
PHONE_RE = re.compile(r"^\+?[0-9(][0-9 ()\-]*$")


def distance_m(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """The great-circle distance between two positions in degrees, in metres (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


# --- the merchant's zones ------------------------------------------------------------------


def zones_of_store(store: Store) -> list[DeliveryZone]:
    """The store's zones: radius zones nearest first, then named areas by name."""
    return list(DeliveryZone.objects.filter(store=store))


def access_zone_for_merchant(*, merchant: Merchant, public_id: str) -> DeliveryZone:
    """One of the merchant's zones, or 404 (another merchant's id shows nothing)."""
    if not is_public_id(public_id, ZONE_ID_LENGTH):
        raise Http404
    zone = DeliveryZone.objects.for_merchant(merchant).filter(public_id=public_id).first()
    if zone is None:
        raise Http404
    return zone


def _amount(value, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_AMOUNT:
        raise OrderingError(_("Enter a valid %(what)s.") % {"what": what})
    return value


def zone_add(
    *,
    merchant: Merchant,
    store: Store,
    kind: str,
    name: str,
    radius_m: int | None,
    fee: int,
    minimum: int,
    eta_minutes: int,
) -> DeliveryZone:
    """Add a delivery zone to the merchant's store. OrderingError says what is wrong."""
    if store.merchant_id != merchant.pk:
        raise Http404
    if kind not in K.values:
        raise OrderingError(_("Choose a radius or a named area."))
    name = " ".join(printable(name or "").split())
    if not name:
        raise OrderingError(_("Give the zone a name."))
    if len(name) > 80:
        raise OrderingError(_("The zone's name has at most 80 characters."))
    if kind == K.RADIUS:
        if (
            not isinstance(radius_m, int)
            or isinstance(radius_m, bool)
            or not 1 <= radius_m <= MAX_RADIUS_M
        ):
            raise OrderingError(
                _("Give a radius from 1 to %(max)d metres.") % {"max": MAX_RADIUS_M}
            )
    else:
        radius_m = None
    fee = _amount(fee, _("fee"))
    minimum = _amount(minimum, _("minimum order"))
    if (
        not isinstance(eta_minutes, int)
        or isinstance(eta_minutes, bool)
        or not 1 <= eta_minutes <= MAX_ETA_MINUTES
    ):
        raise OrderingError(
            _("Give an estimated time from 1 to %(max)d minutes.") % {"max": MAX_ETA_MINUTES}
        )
    with transaction.atomic():
        return DeliveryZone.objects.create(
            merchant=merchant,
            store=store,
            kind=kind,
            name=name,
            radius_m=radius_m,
            fee=fee,
            minimum=minimum,
            eta_minutes=eta_minutes,
        )


def zone_delete(*, merchant: Merchant, public_id: str) -> None:
    """Remove one of the merchant's zones (404 for anyone else's). Orders delivered to it
    keep its name, fee and time as they were."""
    zone = access_zone_for_merchant(merchant=merchant, public_id=public_id)
    DeliveryZone.objects.filter(pk=zone.pk).delete()


# --- what the customer gives ---------------------------------------------------------------


def _coordinate(text: str, limit: int) -> float | None:
    text = (text or "").strip()
    if not text:
        return None
    if len(text) > 20:
        raise OrderingError(_("That location could not be read. Share it again."))
    try:
        value = float(Decimal(text))
    except (ArithmeticError, ValueError):
        raise OrderingError(_("That location could not be read. Share it again.")) from None
    if not math.isfinite(value) or not -limit <= value <= limit:
        raise OrderingError(_("That location could not be read. Share it again."))
    return value


def delivery_position(*, latitude: str, longitude: str) -> tuple[float, float] | None:
    """A position the customer's browser shared (decimal degrees), or None if none was."""
    lat, lng = _coordinate(latitude, 90), _coordinate(longitude, 180)
    if (lat is None) != (lng is None):
        raise OrderingError(_("That location could not be read. Share it again."))
    return None if lat is None or lng is None else (lat, lng)


def delivery_address(address: str) -> str:
    """The delivery address as typed, fit to store: control characters removed, spaces
    collapsed. OrderingError when it is missing or too long."""
    address = " ".join(printable(address or "").split())
    if not address:
        raise OrderingError(_("Give the address to deliver to."))
    if len(address) > 200:
        raise OrderingError(_("The address has at most 200 characters."))
    if len(address) < 4:
        raise OrderingError(_("Give the full address to deliver to."))
    return address


def delivery_phone(phone: str) -> str:
    """A phone number the courier can call: digits with an optional +, spaces, dashes or
    brackets; 5 to 15 digits."""
    phone = " ".join(printable(phone or "").split())
    if not phone:
        raise OrderingError(_("Give a phone number the courier can call."))
    digits = sum(ch.isdigit() for ch in phone)
    if len(phone) > 20 or not PHONE_RE.match(phone) or not 5 <= digits <= 15:
        raise OrderingError(
            _("Enter a phone number of digits, e.g. +86 138 0013 8000 or 021-6123 4567.")
        )
    return phone


# --- matching ------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeliveryQuote:
    """The zone a customer is in, and what delivery there costs and takes."""

    zone: DeliveryZone
    fee: int
    minimum: int
    eta_minutes: int
    distance_m: int | None  # by air from the store, when the customer shared a position
    missing: int  # how much more the items must cost to reach the minimum (0: reached)

    @property
    def name(self) -> str:
        return self.zone.name


def delivery_quote(
    *,
    store: Store,
    subtotal: int,
    position: tuple[float, float] | None,
    area: str = "",
    zones: list[DeliveryZone] | None = None,
) -> DeliveryQuote:
    """The zone the customer is in: the named area they chose, else the smallest radius zone
    whose circle around the store holds their position (its edge included). OrderingError
    with a message the customer can act on when there is none."""
    zones = zones_of_store(store) if zones is None else zones
    if not zones:
        raise OrderingError(_("This shop does not deliver."))
    areas = [z for z in zones if z.kind == K.AREA]
    rings = [z for z in zones if z.kind == K.RADIUS]
    area = (area or "").strip()
    if area:
        zone = next((z for z in areas if z.public_id == area), None)
        if zone is None:  # not one of this store's areas (another shop's, or made up)
            raise OrderingError(_("Choose your area from the list."))
        return _quote(zone, subtotal, None)
    if position is not None and rings:
        if store.latitude is None or store.longitude is None:
            raise OrderingError(
                _("The shop has not set its location, so it cannot deliver by distance.")
                + (" " + _("Choose your area from the list.") if areas else "")
            )
        metres = distance_m(float(store.latitude), float(store.longitude), *position)
        inside = [z for z in rings if z.radius_m is not None and metres <= z.radius_m]
        if not inside:
            raise OrderingError(
                _("Sorry, you are outside our delivery area (%(distance)s from the shop).")
                % {"distance": format_distance(metres)}
                + (" " + _("Choose your area from the list if it is there.") if areas else "")
            )
        zone = min(inside, key=lambda z: (z.radius_m, z.fee, z.pk))
        return _quote(zone, subtotal, metres)
    if rings and areas:
        raise OrderingError(_("Share your location or choose your area to see if we deliver."))
    if rings:
        raise OrderingError(_("Share your location so we can see if we deliver to you."))
    raise OrderingError(_("Choose your area from the list."))


def _quote(zone: DeliveryZone, subtotal: int, metres: float | None) -> DeliveryQuote:
    return DeliveryQuote(
        zone=zone,
        fee=zone.fee,
        minimum=zone.minimum,
        eta_minutes=zone.eta_minutes,
        distance_m=None if metres is None else round(metres),
        missing=max(0, zone.minimum - subtotal),
    )


def delivery_minimum_check(quote: DeliveryQuote, currency: str) -> None:
    """OrderingError saying how much is missing when the items do not reach the minimum."""
    if quote.missing:
        raise OrderingError(
            _(
                "Delivery to %(zone)s needs an order of at least %(minimum)s before the fee: "
                "add %(missing)s more."
            )
            % {
                "zone": quote.name,
                "minimum": format_money(quote.minimum, currency),
                "missing": format_money(quote.missing, currency),
            }
        )
