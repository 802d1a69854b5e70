"""Popularity, one of ranking's factors (query.py): ln(1 + visits + ORDER_WEIGHT × paid
orders) of an app over the last POPULARITY_DAYS days. Every doc of an app carries its app's
value, written when the doc is built (index.py) and brought up to date by
`popularity_refresh`, which the worker's sweep runs every POPULARITY_SECONDS and reindex
runs at its end."""

import math
import time
from datetime import timedelta

from django.db.models import Count
from django.utils import timezone

from tapgo.discovery.models import SearchDoc
from tapgo.miniapps.models import Visit
from tapgo.ordering.models import PAID_STATUSES, Order

POPULARITY_DAYS = 30
ORDER_WEIGHT = 5
POPULARITY_SECONDS = 300


def popularity_of(app_ids: list[int] | None = None) -> dict[int, float]:
    """ln(1 + visits + ORDER_WEIGHT × paid orders) per app, over the last POPULARITY_DAYS."""
    since = timezone.now() - timedelta(days=POPULARITY_DAYS)
    visits = Visit.objects.filter(created_at__gte=since)
    orders = Order.objects.filter(created_at__gte=since, status__in=PAID_STATUSES)
    if app_ids is not None:
        if not app_ids:
            return {}
        visits, orders = visits.filter(app_id__in=app_ids), orders.filter(app_id__in=app_ids)
    counts: dict[int, int] = {}
    for app_id, n in visits.values("app_id").annotate(n=Count("id")).values_list("app_id", "n"):
        counts[app_id] = counts.get(app_id, 0) + n
    for app_id, n in orders.values("app_id").annotate(n=Count("id")).values_list("app_id", "n"):
        counts[app_id] = counts.get(app_id, 0) + ORDER_WEIGHT * n
    return {app_id: round(math.log1p(n), 4) for app_id, n in counts.items()}


def popularity_refresh() -> int:
    """Write each app's popularity to its docs where it changed; the number of apps."""
    fresh = popularity_of()
    stale: dict[int, float] = {}
    for app_id, value in SearchDoc.objects.values_list("app_id", "popularity").distinct():
        if value != fresh.get(app_id, 0.0):
            stale[app_id] = fresh.get(app_id, 0.0)
    for app_id, value in stale.items():
        SearchDoc.objects.filter(app_id=app_id).update(popularity=value)
    return len(stale)


_last_popularity = -math.inf


def popularity_sweep() -> int:
    """The worker's sweep: popularity_refresh() every POPULARITY_SECONDS."""
    global _last_popularity
    now = time.monotonic()
    if now - _last_popularity < POPULARITY_SECONDS:
        return 0
    _last_popularity = now
    return popularity_refresh()
