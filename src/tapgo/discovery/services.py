"""How customers find mini apps again: nearby, recently used and pinned favourites.

(Search lives in discovery/search/.)

Nearby, without a spatial extension: a bounding box on the indexed store latitude/longitude
columns narrows the stores to the few near the point, then the exact great-circle distance
(the haversine formula, on a sphere of the Earth's mean radius) is computed by the database
for those few only, which filters by the radius, orders nearest first and cuts at the limit.
Ordering by the haversine term itself (it grows with the distance) keeps that one query with
no trigonometry left to Python but one arcsine per row returned. Only the nearest `limit`
are wanted, so a wide radius is searched from the smaller steps out (see nearby()).

The box is the circle's exact bounding box on the sphere (J. Matuschek, "Finding Points
Within a Distance of a Latitude/Longitude Using Bounding Coordinates"): ± r/R in latitude;
in longitude ± asin(sin(r/R) / cos φ). Across the antimeridian it is two longitude ranges;
when the circle reaches a pole every longitude is in it. The distance formula itself has no
edge there: sin² of half the longitude difference is the same for λ and λ ± 360°.
"""

import math
import re
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from functools import lru_cache

from django.db import connections, router, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from tapgo.discovery.models import Favourite, RecentRemoval
from tapgo.merchants.models import Merchant, Store
from tapgo.miniapps.models import MiniApp, Visit

EARTH_RADIUS_M = 6_371_008.8  # mean radius (IUGG)
RADIUS_STEPS_M = (1_000, 3_000, 10_000, 30_000)  # what the customer can widen through
NEARBY_LIMIT = 20
NEARBY_MAX_LIMIT = 100
RECENT_SCANNED = 200  # distinct apps looked at for the recently used list, at most
MAX_FAVOURITES = 50
_COORDINATE = re.compile(r"[-+]?[0-9]{1,3}(?:\.[0-9]{1,15})?")
_STEP = Decimal("0.000001")  # the columns' precision (decimal_places=6)


class DiscoveryError(ValueError):
    """Input a customer can correct; the message says how."""


# --- nearby ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class NearbyApp:
    app: MiniApp
    distance_m: float


def parse_position(latitude, longitude) -> tuple[float, float]:
    """A position from text (a query string): decimal degrees, in range, or DiscoveryError."""
    values = []
    for text in (latitude, longitude):
        text = text.strip() if isinstance(text, str) else ""
        if not _COORDINATE.fullmatch(text):
            raise DiscoveryError(
                _("The position must be a latitude and a longitude in decimal degrees.")
            )
        values.append(float(text))
    check_position(*values)
    return values[0], values[1]


def check_position(latitude: float, longitude: float) -> None:
    for value in (latitude, longitude):
        if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
            raise DiscoveryError(
                _("The position must be a latitude and a longitude in decimal degrees.")
            )
        if not math.isfinite(value):
            raise DiscoveryError(
                _("The position must be a latitude and a longitude in decimal degrees.")
            )
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        raise DiscoveryError(_("Latitude must be between -90 and 90, longitude -180 and 180."))


def parse_radius(text) -> int:
    """One of the radius steps, in metres, from its text in km ("" or None: the first)."""
    if text is None or text == "":
        return RADIUS_STEPS_M[0]
    for step in RADIUS_STEPS_M:
        if text == str(step // 1000):
            return step
    raise DiscoveryError(
        _("Choose a distance of %(steps)s km.")
        % {"steps": ", ".join(str(s // 1000) for s in RADIUS_STEPS_M)}
    )


def wider_radius(radius_m: int) -> int | None:
    """The next radius step, or None at the widest."""
    wider = [s for s in RADIUS_STEPS_M if s > radius_m]
    return wider[0] if wider else None


def _floor(value: float) -> Decimal:
    return Decimal(repr(value)).quantize(_STEP, rounding=ROUND_FLOOR)


def _ceil(value: float) -> Decimal:
    return Decimal(repr(value)).quantize(_STEP, rounding=ROUND_CEILING)


@dataclass(frozen=True)
class Box:
    """The circle's bounding box in degrees, rounded outwards to the columns' precision:
    a superset of the circle, never a subset. `longitudes` is empty when every longitude is
    in it (the circle reaches a pole), else one range, or two across the antimeridian."""

    south: Decimal
    north: Decimal
    longitudes: tuple[tuple[Decimal, Decimal], ...]


def bounding_box(latitude: float, longitude: float, radius_m: float) -> Box:
    angle = radius_m / EARTH_RADIUS_M  # the radius as an angle at the Earth's centre
    margin = 1e-6  # a rounding's worth of degrees, so no store on the edge is cut off
    dlat = math.degrees(angle) + margin
    low, high = latitude - dlat, latitude + dlat
    south, north = _floor(max(low, -90.0)), _ceil(min(high, 90.0))
    if low <= -90 or high >= 90 or angle >= math.pi / 2:
        return Box(south, north, ())  # the circle reaches a pole: every longitude
    ratio = math.sin(angle) / math.cos(math.radians(latitude))
    if ratio >= 1:
        return Box(south, north, ())
    dlng = math.degrees(math.asin(ratio)) + margin
    west, east = longitude - dlng, longitude + dlng
    ranges: tuple[tuple[Decimal, Decimal], ...]
    if west < -180:  # across the antimeridian: two ranges
        ranges = ((_floor(west + 360), Decimal(180)), (Decimal(-180), _ceil(east)))
    elif east > 180:
        ranges = ((_floor(west), Decimal(180)), (Decimal(-180), _ceil(east - 360)))
    else:
        ranges = ((_floor(west), _ceil(east)),)
    return Box(south, north, ranges)


@lru_cache(maxsize=8)
def _sql(alias: str, ranges: int) -> str:
    """The nearby query for a box with this many longitude ranges (0: every longitude).

    Plain SQL, not the ORM: compiling the ORM's query cost several times what the database
    takes to answer it. The same on SQLite and PostgreSQL (on an SQLite built without its
    math functions Django registers SIN, COS and POWER itself). What "live" means is
    MiniApp.objects.live()'s: published, merchant active.
    """
    q = connections[alias].ops.quote_name
    app, store, merchant = MiniApp._meta, Store._meta, Merchant._meta
    # A concrete field is one with a column; the stubs type every field's column Optional.
    columns = ", ".join(f"a.{q(f.column)}" for f in app.concrete_fields)  # type: ignore[arg-type]
    lat = f"CAST(s.{q('latitude')} AS DOUBLE PRECISION)"
    lng = f"CAST(s.{q('longitude')} AS DOUBLE PRECISION)"
    # hav(d/R) = sin²(Δφ/2) + cos φ0 · cos φ · sin²(Δλ/2), in degrees times π/360 (half, in
    # radians) and π/180: grows with the distance, so it filters and orders by it.
    hav = (
        f"POWER(SIN(({lat} - %s) * %s), 2)"
        f" + %s * COS({lat} * %s) * POWER(SIN(({lng} - %s) * %s), 2)"
    )
    longitude = " OR ".join([f"s.{q('longitude')} BETWEEN %s AND %s"] * ranges)
    tables = (
        f"{q(app.db_table)} a"
        f" JOIN {q(store.db_table)} s ON s.{q('id')} = a.{q(app.get_field('store').column)}"
        f" JOIN {q(merchant.db_table)} m ON m.{q('id')} = a.{q(app.get_field('merchant').column)}"
    )
    where = [
        f"a.{q('status')} = %s",
        f"m.{q('is_active')} = %s",
        f"s.{q('latitude')} BETWEEN %s AND %s",
        *([f"({longitude})"] if ranges else []),
        f"{hav} <= %s",
    ]
    order = f"hav, a.{q('created_at')}, a.{q('id')}"
    # Only our own table and column names go into the text; every value is a parameter.
    return " ".join(
        ["SELECT", f"{columns}, {hav} AS hav", "FROM", tables, "WHERE", " AND ".join(where),
         "ORDER BY", order, "LIMIT %s"]
    )  # fmt: skip


def nearby_query(
    latitude: float, longitude: float, radius_m: float, limit: int
) -> tuple[str, list]:
    """The SQL and parameters of one nearby query (the bench explains it too)."""
    box = bounding_box(latitude, longitude, radius_m)
    half, whole = math.pi / 360, math.pi / 180
    term = [latitude, half, math.cos(math.radians(latitude)), whole, longitude, half]
    params = [*term, MiniApp.Status.PUBLISHED, True, box.south, box.north]
    for west, east in box.longitudes:
        params += [west, east]
    params += [*term, math.sin(radius_m / EARTH_RADIUS_M / 2) ** 2, limit]
    return _sql(router.db_for_read(MiniApp), len(box.longitudes)), params


def distance_m(haversine_term: float) -> float:
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(min(1.0, max(0.0, haversine_term))))


def great_circle_m(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """The great-circle distance between two points, in metres (the same formula as nearby)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    term = (
        math.sin((p2 - p1) / 2) ** 2
        + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lng2 - lng1) / 2) ** 2
    )
    return distance_m(term)


def nearby(
    *, latitude: float, longitude: float, radius_m: int, limit: int = NEARBY_LIMIT
) -> list[NearbyApp]:
    """Live mini apps (published, merchant active) of stores within radius_m of the point,
    nearest first (ties: the older app first), at most `limit`, each with its distance.

    Nearest first needs only the nearest `limit`, so the search looks in the smaller radius
    steps first: when `limit` apps are found within a smaller radius, none further out can
    come before them, and in a city centre the wide box (thousands of shops) is never read.
    """
    check_position(latitude, longitude)
    if radius_m not in RADIUS_STEPS_M:
        raise DiscoveryError(
            _("Choose a distance of %(steps)s km.")
            % {"steps": ", ".join(str(s // 1000) for s in RADIUS_STEPS_M)}
        )
    limit = max(1, min(int(limit), NEARBY_MAX_LIMIT))
    for probe in [s for s in RADIUS_STEPS_M if s <= radius_m]:
        found = list(MiniApp.objects.raw(*nearby_query(latitude, longitude, probe, limit)))
        if len(found) == limit or probe == radius_m:
            # `hav` is a column of the raw query (_sql), not a field the stubs know.
            return [NearbyApp(app=app, distance_m=distance_m(app.hav)) for app in found]  # type: ignore[attr-defined]
    raise AssertionError("unreachable: the last probe is the radius")


# --- recently used ---------------------------------------------------------------------------


def _customer_id(customer) -> int | None:
    return getattr(customer, "pk", None) if customer is not None else None


def recently_used(customer, *, limit: int = 10) -> list[MiniApp]:
    """The customer's live mini apps, most recently visited first; an app the customer took
    off the list stays off until a visit after that."""
    customer_id = _customer_id(customer)
    if not customer_id or limit <= 0:
        return []
    removed = dict(
        RecentRemoval.objects.filter(customer_id=customer_id).values_list("app_id", "removed_at")
    )
    last_visits = (
        Visit.objects.filter(customer_id=customer_id)
        .values("app_id")
        .annotate(last=Max("created_at"))
        .order_by("-last", "-app_id")
        .values_list("app_id", "last")[:RECENT_SCANNED]
    )
    order = [
        app_id for app_id, last in last_visits if app_id not in removed or last > removed[app_id]
    ]
    apps = MiniApp.objects.live().in_bulk(order)
    return [apps[pk] for pk in order if pk in apps][:limit]


@transaction.atomic
def recent_remove(*, customer, app: MiniApp) -> None:
    """Take the app off the customer's recently used list (a later visit puts it back)."""
    RecentRemoval.objects.update_or_create(
        customer_id=customer.pk, app=app, defaults={"removed_at": timezone.now()}
    )


# --- favourites ------------------------------------------------------------------------------


def favourites(customer, *, limit: int = MAX_FAVOURITES) -> list[MiniApp]:
    """The live mini apps the customer pinned, in the order they were pinned."""
    customer_id = _customer_id(customer)
    if not customer_id:
        return []
    order = list(
        Favourite.objects.filter(customer_id=customer_id)
        .order_by("created_at", "pk")
        .values_list("app_id", flat=True)[:MAX_FAVOURITES]
    )
    apps = MiniApp.objects.live().in_bulk(order)
    return [apps[pk] for pk in order if pk in apps][:limit]


def favourite_ids(customer) -> set[int]:
    """Row ids of the apps the customer pinned (live or not)."""
    customer_id = _customer_id(customer)
    if not customer_id:
        return set()
    return set(Favourite.objects.filter(customer_id=customer_id).values_list("app_id", flat=True))


def is_favourite(customer, app: MiniApp) -> bool:
    customer_id = _customer_id(customer)
    if not customer_id:
        return False
    return Favourite.objects.filter(customer_id=customer_id, app=app).exists()


@transaction.atomic
def favourite_add(*, customer, app: MiniApp) -> bool:
    """Pin the app to the customer's home; False if it was pinned already."""
    if Favourite.objects.filter(customer_id=customer.pk, app=app).exists():
        return False
    if Favourite.objects.filter(customer_id=customer.pk).count() >= MAX_FAVOURITES:
        raise DiscoveryError(
            _("You can pin up to %(n)d mini apps. Unpin one first.") % {"n": MAX_FAVOURITES}
        )
    # The unique constraint decides a race between two pins of the same app.
    _favourite, created = Favourite.objects.get_or_create(customer_id=customer.pk, app=app)
    return created


def favourite_remove(*, customer, app: MiniApp) -> bool:
    """Unpin the app; False if it was not pinned."""
    deleted, _rows = Favourite.objects.filter(customer_id=customer.pk, app=app).delete()
    return bool(deleted)


# --- a guest becoming an account -------------------------------------------------------------


def places_move(*, source, target) -> None:
    """Move a guest's favourites and recently-used removals to an account (inside the merge's
    transaction). Where both pinned an app, one pin stays; where both removed an app from the
    list, the later removal stands (the visits move too, so a later visit still wins)."""
    target_pins = Favourite.objects.filter(customer_id=target.pk).values("app_id")
    Favourite.objects.filter(customer_id=source.pk, app_id__in=target_pins).delete()
    Favourite.objects.filter(customer_id=source.pk).update(customer_id=target.pk)

    both = RecentRemoval.objects.filter(
        customer_id=source.pk,
        app_id__in=RecentRemoval.objects.filter(customer_id=target.pk).values("app_id"),
    )
    for app_id, removed_at in both.values_list("app_id", "removed_at"):
        RecentRemoval.objects.filter(
            customer_id=target.pk, app_id=app_id, removed_at__lt=removed_at
        ).update(removed_at=removed_at)
    both.delete()
    RecentRemoval.objects.filter(customer_id=source.pk).update(customer_id=target.pk)
