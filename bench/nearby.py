"""Nearby benchmark: one command, figures written to bench/results.json under "nearby".

    uv run python bench/nearby.py                   # SQLite and PostgreSQL (about 2 minutes)
    uv run python bench/nearby.py --db sqlite       # or postgres; both is the default
    uv run python bench/nearby.py --stores 5000 --queries 500     # a quick look

For each database, a fresh one (a temporary TAPGO_VAR_DIR; for PostgreSQL a database of its
own, dropped afterwards), migrated, then:

  1. a generator bulk-inserts N stores (50,000) with a merchant and a mini app each, spread
     over five cities the way shops are: most near a centre, fewer further out (a normal
     spread of 5 km around it plus a sparse ring out to 40 km); 4% of the apps are drafts
     and 2% of the merchants inactive (neither may be listed); then ANALYZE, as autovacuum
     would after such a load.
  2. `discovery.services.nearby()` timed as the shell calls it (the service's ORM query,
     compiled per call, and the app objects built), at random customers' positions in the
     cities, for each radius step (1, 3, 10, 30 km; the customer starts at 1 km and widens),
     and for a mix of them weighted as customers widen (60/25/10/5%). Warm-up calls are not
     counted. Reported: p50, p99, mean and the average number of apps found, and the plan the
     database chose for the query (whether the bounding box used the store index).

See bench/README.md ("Nearby"). A benchmark, not a test: it never fails on a slow figure; it
exits non-zero only when something did not work (a wrong answer against brute force).
"""

import argparse
import json
import math
import random
import statistics
import sys
import time

import common

POSTGRES_DB = "tapgo_bench_nearby"
TARGETS = {"nearby_p50_ms": 10.0}

CITIES = [  # name, latitude, longitude
    ("Shanghai", 31.2304, 121.4737),
    ("Beijing", 39.9042, 116.4074),
    ("Shenzhen", 22.5431, 114.0579),
    ("Chengdu", 30.5728, 104.0668),
    ("Hangzhou", 30.2741, 120.1551),
]
MIX = {1_000: 0.60, 3_000: 0.25, 10_000: 0.10, 30_000: 0.05}
M_PER_DEG = math.pi * 6_371_008.8 / 180


# --- the parent: one child process per database ----------------------------------------------


def main(argv=None) -> int:
    parser = common.arguments(__doc__)
    parser.add_argument("--stores", type=int, default=50_000)
    parser.add_argument("--queries", type=int, default=2_000, help="timed calls per radius")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    opts = parser.parse_args(argv)
    if opts.child:
        print(json.dumps(child(opts)))
        return 0

    figures = common.start_figures("nearby.py", argv)
    figures["settings"] = {"stores": opts.stores, "queries_per_radius": opts.queries, "mix": MIX}
    figures["targets"], figures["databases"] = TARGETS, {}
    for db in common.databases(opts):
        print(f"nearby: {db}, {opts.stores:,} stores …", flush=True)
        with common.fresh_database(db, opts, POSTGRES_DB) as env:
            result = common.child(
                __file__, env, "--child", "--stores", str(opts.stores),
                "--queries", str(opts.queries), "--seed", str(opts.seed),
            )  # fmt: skip
        result["targets"] = {
            "nearby_p50_ms": {
                "value": result["mix"]["p50_ms"],
                "target": TARGETS["nearby_p50_ms"],
                "met": result["mix"]["p50_ms"] < TARGETS["nearby_p50_ms"],
            }
        }
        figures["databases"][db] = result
    common.end_figures(figures)
    print_summary(figures)
    common.save(opts.out, "nearby", figures)
    return 0


def print_summary(figures: dict) -> None:
    print("=" * 78)
    print(f"Nearby on {figures['settings']['stores']:,} stores (ms; p50 / p99 / mean; apps found)")
    for db, result in figures["databases"].items():
        print(f"  {db}: generated in {result['generate_seconds']} s; index used: "
              f"{result['plan']['uses_store_index']}")  # fmt: skip
        for name, row in [*result["by_radius"].items(), ("mix", result["mix"])]:
            label = f"{int(name) // 1000} km" if name != "mix" else "mix"
            print(
                f"    {label:>6}: {row['p50_ms']:6.2f} / {row['p99_ms']:6.2f} / "
                f"{row['mean_ms']:6.2f}   found {row['found_mean']:.1f}"
            )
        verdict = result["targets"]["nearby_p50_ms"]
        print(f"    target p50 < {verdict['target']} ms: {'met' if verdict['met'] else 'NOT met'}")
    print("=" * 78)


# --- the child: generate, then time --------------------------------------------------------


def child(opts) -> dict:
    common.setup_django(migrate=True)
    rng = random.Random(opts.seed)
    began = time.perf_counter()
    generate(opts.stores, rng)
    generate_seconds = round(time.perf_counter() - began, 1)
    analyze()
    check_answers(rng)
    by_radius = {}
    from tapgo.discovery.services import RADIUS_STEPS_M

    timings = {}
    for radius in RADIUS_STEPS_M:
        times, found = time_queries(radius, opts.queries, rng)
        timings[radius] = times
        by_radius[str(radius)] = summary(times) | {"found_mean": round(statistics.mean(found), 1)}
    # The mix: as many calls again, each radius drawn by its weight from its own timings.
    mixed, found_mix = [], []
    for _ in range(opts.queries):
        radius = rng.choices(list(MIX), weights=list(MIX.values()))[0]
        i = rng.randrange(len(timings[radius]))
        mixed.append(timings[radius][i])
        found_mix.append(by_radius[str(radius)]["found_mean"])
    return {
        "generate_seconds": generate_seconds,
        "by_radius": by_radius,
        "mix": summary(mixed) | {"found_mean": round(statistics.mean(found_mix), 1)},
        "plan": plan(),
    }


def summary(times: list[float]) -> dict:
    ordered = sorted(times)
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 3),
        "p99_ms": round(common.p99(ordered) * 1000, 3),
        "mean_ms": round(statistics.mean(ordered) * 1000, 3),
    }


def _spot(rng: random.Random) -> tuple[float, float]:
    """A shop's (or a customer's) position: near a city's centre, sometimes further out."""
    _name, lat, lng = rng.choice(CITIES)
    if rng.random() < 0.85:
        north, east = rng.gauss(0, 5_000), rng.gauss(0, 5_000)
    else:
        distance, bearing = rng.uniform(5_000, 40_000), rng.uniform(0, 2 * math.pi)
        north, east = distance * math.cos(bearing), distance * math.sin(bearing)
    return (
        lat + north / M_PER_DEG,
        lng + east / (M_PER_DEG * math.cos(math.radians(lat))),
    )


def generate(count: int, rng: random.Random, batch: int = 2_000) -> None:
    """`count` merchants, each with a store at a spot and a mini app, in bulk."""
    from decimal import Decimal

    from django.db import transaction

    from tapgo.core.ids import new_public_id
    from tapgo.merchants.models import Merchant, Store
    from tapgo.miniapps.models import MiniApp

    kinds = ["Café", "Bakery", "Noodles", "Tea", "Florist", "Salon", "Books", "Dumplings"]
    for start in range(0, count, batch):
        n = min(batch, count - start)
        with transaction.atomic():
            merchants = Merchant.objects.bulk_create(
                Merchant(
                    public_id=new_public_id(),
                    name=f"{rng.choice(kinds)} {start + i}",
                    is_active=rng.random() >= 0.02,
                )
                for i in range(n)
            )
            stores = []
            for merchant in merchants:
                lat, lng = _spot(rng)
                stores.append(
                    Store(
                        merchant=merchant,
                        public_id=new_public_id(),
                        name=merchant.name,
                        latitude=Decimal(f"{lat:.6f}"),
                        longitude=Decimal(f"{lng:.6f}"),
                    )
                )
            stores = Store.objects.bulk_create(stores)
            MiniApp.objects.bulk_create(
                MiniApp(
                    merchant=store.merchant,
                    store=store,
                    public_id=new_public_id(),
                    slug=f"shop-{start + i}",
                    name=store.name,
                    status=MiniApp.Status.DRAFT
                    if rng.random() < 0.04
                    else MiniApp.Status.PUBLISHED,
                )
                for i, store in enumerate(stores)
            )


def analyze() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def check_answers(rng: random.Random, points: int = 5) -> None:
    """A few answers against brute force over every store: a fast wrong answer is no figure.
    (Distances are compared, not ids: shops at the same spot may come in either order.)"""
    from tapgo.discovery import services
    from tapgo.miniapps.models import MiniApp

    rows = list(MiniApp.objects.live().values_list("store__latitude", "store__longitude"))
    for _ in range(points):
        lat, lng = _spot(rng)
        for radius in services.RADIUS_STEPS_M:
            found = services.nearby(latitude=lat, longitude=lng, radius_m=radius, limit=100)
            every = (services.great_circle_m(lat, lng, float(a), float(b)) for a, b in rows)
            truth = sorted(d for d in every if d <= radius)[:100]
            got = [n.distance_m for n in found]
            if len(got) != len(truth) or any(
                abs(x - y) > 0.01 for x, y in zip(got, truth, strict=True)
            ):
                raise SystemExit(f"nearby disagrees with brute force at {lat}, {lng}, {radius}")


def time_queries(radius: int, count: int, rng: random.Random) -> tuple[list[float], list[int]]:
    from tapgo.discovery.services import nearby

    points = [_spot(rng) for _ in range(count + count // 10)]
    for lat, lng in points[: count // 10]:  # warm-up
        nearby(latitude=lat, longitude=lng, radius_m=radius)
    times, found = [], []
    for lat, lng in points[count // 10 :]:
        started = time.perf_counter()
        apps = nearby(latitude=lat, longitude=lng, radius_m=radius)
        times.append(time.perf_counter() - started)
        found.append(len(apps))
    return times, found


def plan() -> dict:
    """The database's plan for a 1 km query in Shanghai: is the store index used?"""
    from django.db import connection

    from tapgo.discovery import services

    sql, params = services.nearby_query(31.2304, 121.4737, 1_000, services.NEARBY_LIMIT)
    explain = "EXPLAIN QUERY PLAN " if connection.vendor == "sqlite" else "EXPLAIN "
    with connection.cursor() as cursor:
        cursor.execute(explain + sql, params)
        text = "\n".join(" ".join(str(c) for c in row) for row in cursor.fetchall())
    return {"uses_store_index": "merchants_s_latitud" in text, "explain": text.splitlines()[:20]}


if __name__ == "__main__":
    sys.exit(main())
