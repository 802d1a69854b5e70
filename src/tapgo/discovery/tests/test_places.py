"""Nearby, recently used and favourites: the discovery services behind the shell's home."""

import math
import random
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tapgo.core.scenes import Scene
from tapgo.discovery import services
from tapgo.discovery.models import Favourite, RecentRemoval
from tapgo.discovery.services import DiscoveryError
from tapgo.flows import listings
from tapgo.flows.customers import customer_merge
from tapgo.identity.services import customer_create_guest, staff_user_create
from tapgo.merchants.models import Merchant, Store
from tapgo.merchants.services import merchant_create
from tapgo.miniapps import services as miniapps
from tapgo.miniapps.models import MiniApp, Visit

# Harbour Café's corner of Shanghai (the demo's coordinates).
HOME = (31.230416, 121.473701)
M_PER_DEG_LAT = math.pi * services.EARTH_RADIUS_M / 180


@pytest.fixture
def owner_user(db):
    return staff_user_create(email="places@test.test", password="correct horse battery")


@pytest.fixture
def place(owner_user):
    count = iter(range(10_000))

    def make(name: str, lat: float | None, lng: float | None, *, published=True) -> MiniApp:
        n = next(count)
        merchant = merchant_create(
            owner=owner_user,
            name=name,
            latitude=None if lat is None else Decimal(f"{lat:.6f}"),
            longitude=None if lng is None else Decimal(f"{lng:.6f}"),
        )
        app = listings.app_create(merchant=merchant, name=name, slug=f"place-{n}")
        if published:
            listings.app_set_published(app=app, published=True)
        return app

    return make


def north(metres: float) -> float:
    return HOME[0] + metres / M_PER_DEG_LAT


def east(metres: float) -> float:
    return HOME[1] + metres / (M_PER_DEG_LAT * math.cos(math.radians(HOME[0])))


def near(radius_m, point=HOME, **kwargs):
    return services.nearby(latitude=point[0], longitude=point[1], radius_m=radius_m, **kwargs)


def brute_force(point, radius_m) -> list[tuple[str, float]]:
    """Every live app within the radius by the formula alone, over all stores: the answer."""
    found = []
    for app in MiniApp.objects.live().select_related("store"):
        if app.store.latitude is None:
            continue
        d = services.great_circle_m(
            point[0], point[1], float(app.store.latitude), float(app.store.longitude)
        )
        if d <= radius_m:
            found.append((app.name, d))
    return sorted(found, key=lambda x: x[1])


# --- nearby ----------------------------------------------------------------------------------


def test_nearby_lists_live_apps_nearest_first_with_the_distance(place):
    place("Far", north(2_500), HOME[1])
    place("Near", north(350), HOME[1])
    place("East", HOME[0], east(800))
    place("Twenty km", HOME[0], east(20_000))
    place("Draft", north(100), HOME[1], published=False)
    place("Nowhere", None, None)
    closed = place("Closed", north(200), HOME[1])
    Merchant.objects.filter(pk=closed.merchant_id).update(is_active=False)

    found = near(1_000)
    assert [f.app.name for f in found] == ["Near", "East"]
    assert found[0].distance_m == pytest.approx(350, abs=0.5)
    assert found[1].distance_m == pytest.approx(800, abs=0.5)
    assert [f.app.name for f in near(3_000)] == ["Near", "East", "Far"]
    assert [f.app.name for f in near(10_000)] == ["Near", "East", "Far"]
    assert [f.app.name for f in near(30_000)][-1] == "Twenty km"
    assert near(30_000)[-1].distance_m == pytest.approx(20_000, rel=1e-4)


def test_the_radius_is_exact_at_its_edge(place):
    # The bounding box is a square around the circle: a store in its corner is outside.
    corner = 0.8 * 1_000
    place("Corner", north(corner), east(corner))  # ~1131 m away, inside the box
    place("Just inside", north(998), HOME[1])
    place("Just outside", HOME[0], east(1_002))
    assert [f.app.name for f in near(1_000)] == ["Just inside"]
    assert {f.app.name for f in near(3_000)} == {"Corner", "Just inside", "Just outside"}


def test_nearby_keeps_to_the_limit_and_breaks_ties_by_age(place):
    for i in range(5):
        place(f"Same spot {i}", north(100), HOME[1])
    found = near(1_000, limit=3)
    assert [f.app.name for f in found] == ["Same spot 0", "Same spot 1", "Same spot 2"]
    assert len(near(1_000, limit=10_000)) == 5
    assert len(near(1_000, limit=0)) == 1


def test_nearby_is_one_query(place, django_assert_max_num_queries):
    for i in range(4):
        place(f"Shop {i}", north(100 * i), HOME[1])
    with django_assert_max_num_queries(1):
        found = near(1_000)
        assert [f.app.name for f in found] == [f"Shop {i}" for i in range(4)]


def test_a_wide_radius_is_searched_from_the_small_steps_out(place, django_assert_num_queries):
    for i in range(6):
        place(f"Close {i}", north(100 + 100 * i), HOME[1])  # 100–600 m
    for i in range(3):
        place(f"Far {i}", HOME[0], east(5_000 + 1_000 * i))  # 5–7 km
    with django_assert_num_queries(1):  # four within 1 km: no need to look further
        assert [f.app.name for f in near(30_000, limit=4)] == [f"Close {i}" for i in range(4)]
    with django_assert_num_queries(3):  # 1 km: 6, 3 km: 6, 10 km: the 8 wanted
        found = near(30_000, limit=8)
    assert [f.app.name for f in found] == [n for n, _d in brute_force(HOME, 30_000)][:8]
    with django_assert_num_queries(4):  # fewer than the limit in all: every step looked at
        assert len(near(30_000)) == 9


def test_the_bounding_box_narrows_on_the_indexed_columns(place):
    place("Here", north(10), HOME[1])
    with CaptureQueriesContext(connection) as queries:
        near(1_000)
    sql = queries.captured_queries[0]["sql"].lower()
    assert 's."latitude" between' in sql and 's."longitude" between' in sql


def test_across_the_antimeridian(place):
    point = (-17.7134, 179.9990)  # Fiji, a step west of the 180th meridian
    place("West of the line", -17.7134, 179.9900)  # ~954 m west
    place("East of the line", -17.7134, -179.9950)  # ~636 m east, across the line
    place("Far east", -17.7134, -179.9000)
    place("Greenwich", -17.7134, 0.0)
    found = near(1_000, point)
    assert [f.app.name for f in found] == ["East of the line", "West of the line"]
    assert [(f.app.name, round(f.distance_m)) for f in found] == [
        (n, round(d)) for n, d in brute_force(point, 1_000)
    ]
    # The same from the other side of the line.
    other_side = (-17.7134, -179.9995)
    assert [f.app.name for f in near(1_000, other_side)] == [
        n for n, _d in brute_force(other_side, 1_000)
    ]


@pytest.mark.parametrize("pole", [90, -90])
def test_around_the_poles(place, pole):
    sign = 1 if pole > 0 else -1
    point = (sign * 89.995, 0.0)
    place("Same meridian", sign * 89.989, 0.0)  # ~667 m
    place("Over the pole", sign * 89.995, 180.0)  # ~1112 m, through the pole
    place("Quarter round", sign * 89.998, -90.0)  # ~597 m
    place("At the pole", float(pole), 45.0)  # ~556 m
    place("Lower", sign * 89.9, 0.0)  # ~10.6 km
    for radius in services.RADIUS_STEPS_M:
        expected = brute_force(point, radius)
        found = near(radius, point)
        assert [(f.app.name, round(f.distance_m)) for f in found] == [
            (n, round(d)) for n, d in expected
        ]
    assert {f.app.name for f in near(3_000, point)} == {
        "Same meridian", "Over the pole", "Quarter round", "At the pole"
    }  # fmt: skip
    # Standing on the pole itself.
    assert len(near(3_000, (float(pole), 0.0))) == 4


def test_nearby_agrees_with_the_formula_over_all_stores(place):
    """Random stores around awkward points (a city, the antimeridian, high latitudes, the
    equator): for every point and radius step, the answer is the brute-force one."""
    rng = random.Random(4)
    points = [HOME, (0.0, 179.99), (78.22, 15.65), (-77.85, 166.67), (0.0, 0.0), (66.0, -180.0)]
    for i, (lat, lng) in enumerate(points):
        for j in range(12):
            d = rng.uniform(0, 35_000)
            bearing = rng.uniform(0, 2 * math.pi)
            dlat = d * math.cos(bearing) / M_PER_DEG_LAT
            dlng = d * math.sin(bearing) / (M_PER_DEG_LAT * math.cos(math.radians(lat)))
            plat = max(-90.0, min(90.0, lat + dlat))
            plng = (lng + dlng + 180) % 360 - 180
            place(f"p{i}-{j}", plat, plng)
    for point in points:
        for radius in services.RADIUS_STEPS_M:
            expected = brute_force(point, radius)
            found = near(radius, point, limit=100)
            assert [f.app.name for f in found] == [n for n, _d in expected]
            for f, (_n, d) in zip(found, expected, strict=True):
                assert f.distance_m == pytest.approx(d, abs=0.01)


def test_the_radius_steps_widen():
    assert services.parse_radius("") == services.RADIUS_STEPS_M[0]
    assert services.parse_radius(None) == 1_000
    assert [services.parse_radius(t) for t in ("1", "3", "10", "30")] == [
        1_000, 3_000, 10_000, 30_000
    ]  # fmt: skip
    assert services.wider_radius(1_000) == 3_000
    assert services.wider_radius(10_000) == 30_000
    assert services.wider_radius(30_000) is None


@pytest.mark.parametrize(
    "lat,lng",
    [
        ("", ""),
        ("abc", "121.4"),
        ("31.2", None),
        ("nan", "0"),
        ("inf", "0"),
        ("1e1", "0"),
        ("91", "0"),
        ("-90.0001", "0"),
        ("0", "180.5"),
        ("0", "-181"),
        ("31.2;DROP TABLE x", "0"),
        ("3_1", "0"),
        ("0x1f", "0"),
        ("٣١", "0"),  # Arabic-Indic digits: float() takes them, we do not
        ("1" * 10_000, "0"),
        ("31.2\x00", "121"),
        (["31"], "121"),
    ],
)
def test_a_bad_position_gets_a_clear_message(lat, lng):
    with pytest.raises(DiscoveryError, match="(decimal degrees|between)"):
        services.parse_position(lat, lng)


def test_good_positions_parse():
    assert services.parse_position(" 31.230416 ", "121.473701") == (31.230416, 121.473701)
    assert services.parse_position("-90", "+180") == (-90.0, 180.0)
    assert services.parse_position("0", "-0.5") == (0.0, -0.5)


@pytest.mark.parametrize("text", ["2", "0", "-1", "1000", "1.0", "abc", " 1", "1e1", "30km"])
def test_a_bad_radius_gets_a_clear_message(text):
    with pytest.raises(DiscoveryError, match="Choose a distance of 1, 3, 10, 30 km"):
        services.parse_radius(text)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"latitude": 95.0, "longitude": 0.0, "radius_m": 1_000},
        {"latitude": float("nan"), "longitude": 0.0, "radius_m": 1_000},
        {"latitude": 0.0, "longitude": float("inf"), "radius_m": 1_000},
        {"latitude": 0.0, "longitude": 0.0, "radius_m": 2_000},
        {"latitude": 0.0, "longitude": 0.0, "radius_m": -1},
        {"latitude": True, "longitude": 0.0, "radius_m": 1_000},
    ],
)
def test_the_service_refuses_bad_input_itself(db, kwargs):
    with pytest.raises(DiscoveryError):
        services.nearby(**kwargs)


# --- recently used ---------------------------------------------------------------------------


@pytest.fixture
def three(place):
    return place("Alpha", 1.0, 1.0), place("Beta", 1.0, 1.0), place("Gamma", 1.0, 1.0)


def visit(app, customer, *, at=None):
    v = miniapps.visit_record(app=app, customer=customer, scene=Scene.DIRECT)
    if at is not None:
        Visit.objects.filter(pk=v.pk).update(created_at=at)
    return v


def test_recently_used_most_recent_first(three, customer):
    a, b, c = three
    now = timezone.now()
    visit(a, customer, at=now - timedelta(minutes=30))
    visit(b, customer, at=now - timedelta(minutes=20))
    visit(c, customer, at=now - timedelta(minutes=10))
    visit(a, customer, at=now - timedelta(minutes=5))
    assert services.recently_used(customer) == [a, c, b]
    assert services.recently_used(customer, limit=2) == [a, c]
    assert services.recently_used(None) == []
    assert services.recently_used(customer_create_guest()) == []
    listings.app_set_published(app=c, published=False)
    assert services.recently_used(customer) == [a, b]


def test_recently_used_sees_past_many_visits_to_one_app(three, customer):
    a, b, _c = three
    visit(b, customer, at=timezone.now() - timedelta(days=1))
    for _ in range(services.RECENT_SCANNED + 5):
        visit(a, customer)
    assert services.recently_used(customer) == [a, b]


def test_a_removed_app_stays_off_until_a_later_visit(three, customer):
    a, b, c = three
    for app in (a, b, c):
        visit(app, customer)
    services.recent_remove(customer=customer, app=b)
    assert services.recently_used(customer) == [c, a]
    services.recent_remove(customer=customer, app=b)  # twice: still one row
    assert RecentRemoval.objects.filter(customer=customer).count() == 1
    # Other customers' lists are their own.
    other = customer_create_guest()
    visit(b, other)
    assert services.recently_used(other) == [b]
    # A later visit brings it back, at the top.
    visit(b, customer)
    assert services.recently_used(customer) == [b, c, a]
    # Removed again after that visit: off again.
    services.recent_remove(customer=customer, app=b)
    assert services.recently_used(customer) == [c, a]


def test_recently_used_is_three_queries(three, customer, django_assert_num_queries):
    for app in three:
        visit(app, customer)
    services.recent_remove(customer=customer, app=three[0])
    with django_assert_num_queries(3):
        assert services.recently_used(customer) == [three[2], three[1]]


# --- favourites ------------------------------------------------------------------------------


def test_favourites_pin_and_unpin(three, customer):
    a, b, c = three
    assert services.favourites(customer) == []
    assert services.favourite_add(customer=customer, app=b) is True
    assert services.favourite_add(customer=customer, app=a) is True
    assert services.favourite_add(customer=customer, app=b) is False  # already pinned
    assert services.favourites(customer) == [b, a]  # the order they were pinned
    assert services.favourite_ids(customer) == {a.pk, b.pk}
    assert services.is_favourite(customer, a) and not services.is_favourite(customer, c)
    assert services.is_favourite(None, a) is False
    assert services.favourites(None) == [] and services.favourite_ids(None) == set()
    listings.app_set_published(app=b, published=False)
    assert services.favourites(customer) == [a]  # kept, but only live apps show
    listings.app_set_published(app=b, published=True)
    assert services.favourite_remove(customer=customer, app=b) is True
    assert services.favourite_remove(customer=customer, app=b) is False
    assert services.favourites(customer) == [a]
    assert Favourite.objects.filter(customer=customer).count() == 1


def test_favourites_are_capped(place, customer, monkeypatch):
    monkeypatch.setattr(services, "MAX_FAVOURITES", 2)
    apps = [place(f"Pin {i}", 1.0, 1.0) for i in range(3)]
    services.favourite_add(customer=customer, app=apps[0])
    services.favourite_add(customer=customer, app=apps[1])
    with pytest.raises(DiscoveryError, match="up to 2"):
        services.favourite_add(customer=customer, app=apps[2])
    assert services.favourite_add(customer=customer, app=apps[1]) is False  # no error
    assert Favourite.objects.filter(customer=customer).count() == 2


# --- merging a guest into an account ---------------------------------------------------------


def test_merge_moves_favourites_and_removals(three, customer):
    a, b, c = three
    account = customer_create_guest()
    now = timezone.now()
    services.favourite_add(customer=customer, app=a)
    services.favourite_add(customer=customer, app=b)
    services.favourite_add(customer=account, app=b)
    for app in three:
        visit(app, customer, at=now - timedelta(hours=2))
    RecentRemoval.objects.create(customer=customer, app=a, removed_at=now - timedelta(hours=1))
    RecentRemoval.objects.create(customer=customer, app=b, removed_at=now - timedelta(hours=1))
    RecentRemoval.objects.create(customer=account, app=b, removed_at=now - timedelta(hours=3))
    RecentRemoval.objects.create(customer=account, app=c, removed_at=now - timedelta(hours=4))

    from django.db import transaction

    with transaction.atomic():
        customer_merge(source=customer, target=account)

    assert sorted(services.favourite_ids(account)) == sorted([a.pk, b.pk])
    assert not Favourite.objects.filter(customer=customer).exists()
    assert not RecentRemoval.objects.filter(customer=customer).exists()
    removals = dict(
        RecentRemoval.objects.filter(customer=account).values_list("app_id", "removed_at")
    )
    # a moved over; b: the later of both; c: the account's own.
    assert removals == {
        a.pk: now - timedelta(hours=1),
        b.pk: now - timedelta(hours=1),
        c.pk: now - timedelta(hours=4),
    }
    # The guest's visits came along: c was visited after the account removed it.
    assert services.recently_used(account) == [c]


def test_store_index_backs_the_box(db):
    assert any(idx.fields == ["latitude", "longitude"] for idx in Store._meta.indexes), (
        "nearby's bounding box relies on this index"
    )
