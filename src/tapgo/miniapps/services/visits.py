"""Visits: every door a customer comes in by (the scene), its code or share link, whether it
brought a new customer, and which door an order is credited to."""

from datetime import timedelta

from django.db import connections, router
from django.utils import timezone

from tapgo.core.scenes import Scene
from tapgo.miniapps.models import EntryCode, MiniApp, ShareLink, Visit

# How long a visit's door is credited with the orders that follow it (docs/decisions).
ATTRIBUTION_WINDOW = timedelta(days=7)


# The table name is the model's own, never input; the values go as parameters.
_FIRST_VISIT_SQL = (
    f"SELECT 1 FROM {Visit._meta.db_table} WHERE merchant_id = %s AND customer_id = %s LIMIT 1"  # noqa: E501, S608
)


def _first_visit(*, merchant_id: int, customer_id: int) -> bool:
    """Whether the customer has never visited this merchant: one lookup on the (merchant,
    customer) index. Plain SQL: on every scan and entry, the ORM's building and compiling of
    this query cost as much as the visit's insert (bench/: scan CPU per request)."""
    with connections[router.db_for_write(Visit)].cursor() as cursor:
        cursor.execute(_FIRST_VISIT_SQL, [merchant_id, customer_id])
        return cursor.fetchone() is None


def visit_record(
    *,
    app: MiniApp,
    customer,
    scene: str,
    code: EntryCode | None = None,
    code_state: str = "",
    share: ShareLink | None = None,
) -> Visit:
    """Record a customer coming into the app through a door.

    `first` marks the customer's first visit to this merchant (through any of its apps): a
    new customer, credited to this door and to the share link that brought them. One query
    on the (merchant, customer) index decides it. A share link counts only for its own app
    and never for its own sharer (the visit stays scene `share`, with no credit).
    """
    if scene not in Scene.values:
        scene = Scene.DIRECT
    if share is not None and (share.app_id != app.pk or share.sharer_id == customer.pk):
        share = None
    first = _first_visit(merchant_id=app.merchant_id, customer_id=customer.pk)
    return Visit.objects.create(
        merchant_id=app.merchant_id,
        app=app,
        customer=customer,
        scene=scene,
        code=code,
        table_label=code.table_label if code else "",
        # The scanned code's parameter and state ("" working, "disabled", "expired").
        scene_param=code.scene_param if code else "",
        code_state=code_state if code else "",
        share=share,
        first=first,
    )


def entry_door(*, app: MiniApp, customer, now=None) -> tuple[str, int | None]:
    """(scene, share link id) of the door the customer last came into this app by, within
    ATTRIBUTION_WINDOW: what an order placed now is credited to. ("", None) when none.

    Last touch: a later visit through another door (a table's code, a search) takes the
    credit from an earlier shared link. Served by the (customer, -created_at) index.
    """
    since = (now or timezone.now()) - ATTRIBUTION_WINDOW
    row = (
        Visit.objects.filter(customer=customer, created_at__gte=since, app_id=app.pk)
        .order_by("-created_at", "-pk")
        .values_list("scene", "share_id")
        .first()
    )
    return row if row is not None else ("", None)


def visits_move(*, source, target) -> None:
    """A guest's visits become the account's. Where both had come to the same merchant, only
    the earlier of the two first visits stays first (one new customer, not two)."""
    Visit.objects.filter(customer=source).update(customer=target)
    kept: dict[int, int] = {}
    extra = []
    for pk, merchant_id in (
        Visit.objects.filter(customer=target, first=True)
        .order_by("created_at", "pk")
        .values_list("pk", "merchant_id")
    ):
        if merchant_id in kept:
            extra.append(pk)
        else:
            kept[merchant_id] = pk
    if extra:
        Visit.objects.filter(pk__in=extra).update(first=False)


# The customer's recently used apps (with removals and favourites): discovery.services.
