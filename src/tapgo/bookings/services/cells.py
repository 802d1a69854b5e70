"""What decides a booking in the database: its occupancy cells (one row per GRID_MINUTES
cell of its span with buffers, unique per resource) and its day's count (one row per
resource and store day, moved by a conditional UPDATE under the resource's limit).

A booking in an occupying status (models.OCCUPYING) has exactly its cells, and counts once on
its day; any other has none and does not count. Every change of status that crosses that line
takes or frees both in its own transaction (verify_occupancy() checks it)."""

from datetime import UTC, date, datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Count, F

from tapgo.bookings.models import (
    GRID_MINUTES,
    OCCUPYING,
    Booking,
    BookingEvent,
    BookingStatus,
    DayCount,
    Occupancy,
)
from tapgo.core.actors import SYSTEM, Actor

GRID = timedelta(minutes=GRID_MINUTES)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def cells_of(since: datetime, until: datetime) -> list[datetime]:
    """The grid cells (their UTC starts) that the span [since, until) touches."""
    first = _EPOCH + ((since - _EPOCH) // GRID) * GRID
    cells = []
    cell = first
    while cell < until:
        cells.append(cell)
        cell += GRID
    return cells


def take_cells(*, booking: Booking, resource_id: int, since: datetime, until: datetime) -> bool:
    """Take the cells of [since, until) for the booking (one bulk insert in a savepoint);
    False, with nothing written, when any is taken by another booking."""
    rows = [
        Occupancy(resource_id=resource_id, cell=cell, booking=booking)
        for cell in cells_of(since, until)
    ]
    try:
        with transaction.atomic():
            Occupancy.objects.bulk_create(rows)
    except IntegrityError:
        return False
    return True


def free_cells(*, booking_id: int) -> None:
    Occupancy.objects.filter(booking_id=booking_id).delete()


def count_take(*, resource_id: int, day: date, limit: int | None) -> bool:
    """Count one more booking of the resource on its day, under its limit; False at the
    limit. Two first bookings of a day racing: the unique constraint lets one insert, the
    other counts on the row it made (decision 0003)."""
    rows = DayCount.objects.filter(resource_id=resource_id, day=day)
    under = rows if limit is None else rows.filter(count__lt=limit)
    if under.update(count=F("count") + 1):
        return True
    if limit is not None and limit < 1:
        return False
    try:
        with transaction.atomic():
            DayCount.objects.create(resource_id=resource_id, day=day, count=1)
            return True
    except IntegrityError:
        return bool(under.update(count=F("count") + 1))


def count_release(*, resource_id: int, day: date) -> None:
    DayCount.objects.filter(resource_id=resource_id, day=day, count__gt=0).update(
        count=F("count") - 1
    )


def record(*, booking_id: int, kind: str, actor: Actor, at: datetime, **detail) -> None:
    BookingEvent.objects.create(
        booking_id=booking_id, kind=kind, at=at, detail=detail, **actor.columns()
    )


def expire_hold(*, booking_id: int, now: datetime) -> bool:
    """Expire one hold whose time ran out (one conditional UPDATE: of two sweeps, or a sweep
    and a booking taking its cells, one expires it), freeing its cells and its day's count.
    False when it is not (or no longer) an expired hold."""
    if not Booking.objects.filter(
        pk=booking_id, status=BookingStatus.HOLD, hold_expires_at__lte=now
    ).update(status=BookingStatus.EXPIRED):
        return False
    resource_id, day = Booking.objects.filter(pk=booking_id).values_list("resource_id", "day")[0]
    free_cells(booking_id=booking_id)
    count_release(resource_id=resource_id, day=day)
    record(booking_id=booking_id, kind=BookingStatus.EXPIRED, actor=SYSTEM, at=now)
    return True


def expire_holds_on(*, resource_id: int, since: datetime, until: datetime, now: datetime) -> None:
    """Expire the run-out holds whose cells lie in [since, until) of the resource, so a new
    booking can take them before the sweep gets there (the slot engine shows them free)."""
    stale = (
        Occupancy.objects.filter(
            resource_id=resource_id,
            cell__gte=cells_of(since, until)[0],
            cell__lt=until,
            booking__status=BookingStatus.HOLD,
            booking__hold_expires_at__lte=now,
        )
        .values_list("booking_id", flat=True)
        .distinct()
    )
    for booking_id in sorted(set(stale)):
        expire_hold(booking_id=booking_id, now=now)


def expire_holds_of_day(*, resource_id: int, day: date, now: datetime) -> None:
    """Expire the run-out holds of a resource's day (its count is full of them, maybe)."""
    due = Booking.objects.filter(
        resource_id=resource_id, day=day, status=BookingStatus.HOLD, hold_expires_at__lte=now
    ).values_list("pk", flat=True)
    for booking_id in sorted(due):
        expire_hold(booking_id=booking_id, now=now)


def verify_occupancy() -> list[str]:
    """What breaks the rule above, as sentences (none: sound): a booking whose cells are not
    exactly its span's, cells of a booking that holds none, a day count that is not its
    bookings' number."""
    problems = []
    cells = dict(
        Occupancy.objects.values("booking_id")
        .annotate(n=Count("id"))
        .values_list("booking_id", "n")
    )
    for pk, status, since, until in Booking.objects.values_list(
        "pk", "status", "occupied_from", "occupied_until"
    ):
        want = len(cells_of(since, until)) if status in OCCUPYING else 0
        if cells.get(pk, 0) != want:
            problems.append(f"booking {pk} ({status}) has {cells.get(pk, 0)} cells, not {want}")
    counted = {
        (rid, day): n
        for rid, day, n in Booking.objects.filter(status__in=OCCUPYING)
        .values("resource_id", "day")
        .annotate(n=Count("id"))
        .values_list("resource_id", "day", "n")
    }
    for rid, day, count in DayCount.objects.values_list("resource_id", "day", "count"):
        want = counted.pop((rid, day), 0)
        if want != count:
            problems.append(f"resource {rid} on {day} counts {count}, not {want}")
    for (rid, day), n in counted.items():
        problems.append(f"resource {rid} on {day} counts nothing, not {n}")
    return problems
