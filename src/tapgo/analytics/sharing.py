"""Reads about share links for the console: who shared a merchant's mini apps, and what their
links brought (visits, new customers, paid orders and their revenue) over a period.

Three queries whatever the number of sharers: visits through shared links grouped by link,
paid orders that came through them grouped by link, and the labels of the top sharers.
Nothing names a customer: a sharer is shown by a label derived from the link's token
(miniapps.services.share_label) and whether they are signed in.
"""

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import BooleanField, Count, ExpressionWrapper, Q, Sum

from tapgo.core.scenes import Scene
from tapgo.miniapps.models import ShareLink, Visit
from tapgo.miniapps.services import share_label
from tapgo.ordering.models import PAID_STATUSES, Order


@dataclass
class Brought:
    visits: int = 0
    new_customers: int = 0
    orders: int = 0
    revenue: int = 0  # minor units, the merchant's currency


@dataclass
class Sharer(Brought):
    label: str = ""
    signed_in: bool = False
    app_name: str = ""


@dataclass
class ShareReport:
    sharers: list[Sharer] = field(default_factory=list)  # the top ones, best first
    sharer_count: int = 0  # every sharer whose link brought something
    credited: Brought = field(default_factory=Brought)  # what all sharers' links brought
    total: Brought = field(default_factory=Brought)  # scene `share`, credited or not


def share_report(*, merchant, since: datetime, limit: int = 50) -> ShareReport:
    """What shared links brought this merchant since `since`, and its top sharers (by paid
    revenue, then orders, new customers and visits)."""
    by_link: dict[int | None, Brought] = {}
    visits = (
        Visit.objects.for_merchant(merchant)
        .filter(scene=Scene.SHARE, created_at__gte=since)
        .values("share_id")
        .annotate(visits=Count("pk"), new_customers=Count("pk", filter=Q(first=True)))
        .order_by()
    )
    for row in visits:
        found = by_link.setdefault(row["share_id"], Brought())
        found.visits, found.new_customers = row["visits"], row["new_customers"]
    orders = (
        Order.objects.for_merchant(merchant)
        .filter(scene=Scene.SHARE, created_at__gte=since, status__in=PAID_STATUSES)
        .values("share_id")
        .annotate(orders=Count("pk"), revenue=Sum("total"))
        .order_by()
    )
    for row in orders:
        found = by_link.setdefault(row["share_id"], Brought())
        found.orders, found.revenue = row["orders"], row["revenue"] or 0

    report = ShareReport()
    for link_id, brought in by_link.items():
        for total in (report.total, report.credited) if link_id is not None else (report.total,):
            total.visits += brought.visits
            total.new_customers += brought.new_customers
            total.orders += brought.orders
            total.revenue += brought.revenue
    ranked = sorted(
        (pk for pk in by_link if pk is not None),
        key=lambda pk: (
            -by_link[pk].revenue,
            -by_link[pk].orders,
            -by_link[pk].new_customers,
            -by_link[pk].visits,
            pk,
        ),
    )
    report.sharer_count = len(ranked)
    top = ranked[:limit]
    links = {
        row["pk"]: row
        for row in ShareLink.objects.for_merchant(merchant)
        .filter(pk__in=top)
        .annotate(
            signed_in=ExpressionWrapper(Q(sharer__email__isnull=False), output_field=BooleanField())
        )
        .values("pk", "token", "signed_in", "app__name")
    }
    for pk in top:
        link = links.get(pk)
        if link is None:  # deleted meanwhile (a merge): its figures stay in the totals
            continue
        brought = by_link[pk]
        report.sharers.append(
            Sharer(
                visits=brought.visits,
                new_customers=brought.new_customers,
                orders=brought.orders,
                revenue=brought.revenue,
                label=share_label(link["token"]),
                signed_in=bool(link["signed_in"]),
                app_name=link["app__name"],
            )
        )
    return report
