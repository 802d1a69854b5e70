"""The free-slot engine: the start times a visit (one or more services back to back) can be
booked at on one day of the store, with one resource or with anyone qualified.

A day is read in a fixed number of queries whatever the number of resources, bookings or
slots: the policy, the store and the qualified resources, then the day's hours (weekly rows
and the day's other hours, one query) and what is busy (live bookings with their buffers and
time off, one query), and the day's counts when a resource has a daily limit.

Times are the store's wall clock (docs/decisions/0019-bookings.md):

- a slot start is a wall time, stepping by the policy's slot step from each span of hours'
  start, converted with zoneinfo; a wall time that does not exist (the hour skipped when
  clocks go forward) offers no slot, and one that happens twice (clocks going back) is its
  first occurrence;
- a visit lasts its real duration (a 60-minute service starting 01:30 on the night clocks go
  forward ends at 03:30 on the wall);
- a span's bound that falls in a skipped hour is the moment the clocks jump; an ambiguous
  bound is its first occurrence;
- the service time lies within the resource's hours; its buffers need only be free (they may
  reach outside the hours);
- minimum notice is counted in real time from now; how far ahead in the store's days.
"""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Count, IntegerField, Q, Value
from django.utils import timezone

from tapgo.bookings.models import (
    GRID_MINUTES,
    MAX_VISIT_MINUTES,
    Booking,
    BookingStatus,
    DayCount,
    DayHours,
    Policy,
    Resource,
    Service,
    TimeOff,
    WeeklyHours,
)
from tapgo.merchants.models import Merchant
from tapgo.merchants.services import merchant_store
from tapgo.miniapps.models import MiniApp

MINUTE = timedelta(minutes=1)


@dataclass(frozen=True)
class Visit:
    """One or more services back to back: how long the resource works, and the buffers
    around the whole (the first service's before, the last one's after)."""

    services: tuple[Service, ...]
    duration: timedelta
    before: timedelta
    after: timedelta

    @classmethod
    def of(cls, services: Sequence[Service]) -> "Visit":
        services = tuple(services)
        return cls(
            services=services,
            duration=timedelta(minutes=sum(s.duration_minutes for s in services)),
            before=timedelta(minutes=services[0].buffer_before_minutes),
            after=timedelta(minutes=services[-1].buffer_after_minutes),
        )

    def occupies(self, start: datetime) -> tuple[datetime, datetime]:
        """The span the resource is taken for a visit starting at `start`."""
        return start - self.before, start + self.duration + self.after


def utc_now(now: datetime | None) -> datetime:
    """Now (or the moment given) in UTC: arithmetic on an aware local time is wall-clock
    arithmetic in Python (22:00 + 6 h is 04:00 on the wall even when the clocks jump in
    between), so every service counts from a UTC moment."""
    return (now or timezone.now()).astimezone(UTC)


def store_tz(merchant: Merchant) -> ZoneInfo:
    return merchant_store(merchant).tz


def policy_for_reading(app: MiniApp) -> Policy:
    """The app's policy, or the defaults (unsaved) before it has one."""
    return Policy.objects.filter(app=app).first() or Policy(merchant_id=app.merchant_id, app=app)


# --- the wall clock -------------------------------------------------------------------------


def _exists(local: datetime) -> bool:
    back = local.astimezone(UTC).astimezone(local.tzinfo)
    return back.replace(tzinfo=None) == local.replace(tzinfo=None)


def wall_start(day: date, moment: time, tz: ZoneInfo) -> datetime | None:
    """The UTC moment a wall time starts on `day`: None when it does not exist that day, its
    first occurrence when it happens twice."""
    local = datetime.combine(day, moment, tzinfo=tz)  # fold=0: the first occurrence
    return local.astimezone(UTC) if _exists(local) else None


def wall_bound(day: date, moment: time, tz: ZoneInfo) -> datetime:
    """The UTC moment of a span's bound: a wall time in a skipped hour is the moment the
    clocks jump (the first wall minute that exists after it)."""
    local = datetime.combine(day, moment, tzinfo=tz)
    if _exists(local):
        return local.astimezone(UTC)
    naive = local.replace(tzinfo=None)
    for _step in range(24 * 60):
        naive += MINUTE
        candidate = naive.replace(tzinfo=tz)
        if _exists(candidate):
            return candidate.astimezone(UTC)
    raise ValueError("no wall time exists after a skipped one")  # pragma: no cover


def day_bounds(day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The UTC span of one day of the store (23 or 25 hours on the days clocks change)."""
    return wall_bound(day, time(0), tz), wall_bound(day + timedelta(days=1), time(0), tz)


# --- the engine -----------------------------------------------------------------------------


def qualified_resources(
    *, merchant: Merchant, services: Sequence[Service], resource: Resource | None = None
) -> list[Resource]:
    """The active resources that perform every one of the services, in their order (one
    query)."""
    ids = {s.pk for s in services}
    rows = (
        Resource.objects.for_merchant(merchant)
        .filter(active=True, services__in=ids)
        .annotate(performs=Count("services", distinct=True))
        .filter(performs=len(ids))
        .order_by("position", "id")
    )
    if resource is not None:
        rows = rows.filter(pk=resource.pk)
    return list(rows)


def _hours(ids: list[int], day: date) -> dict[int, list[tuple[time, time]]]:
    """Each resource's spans of hours on `day`: the day's other hours where it has some, else
    its week's (one query)."""
    weekly = WeeklyHours.objects.filter(resource_id__in=ids, weekday=day.weekday()).annotate(
        special=Value(0, output_field=IntegerField())
    )
    special = DayHours.objects.filter(resource_id__in=ids, day=day).annotate(
        special=Value(1, output_field=IntegerField())
    )
    # Each side unordered: a union takes no ORDER BY of its parts.
    rows = (
        weekly.order_by()
        .values_list("resource_id", "start", "end", "special")
        .union(special.order_by().values_list("resource_id", "start", "end", "special"), all=True)
        .order_by()
    )
    week: dict[int, list] = defaultdict(list)
    other: dict[int, list] = defaultdict(list)
    for resource_id, start, end, is_special in rows:
        (other if is_special else week)[resource_id].append((start, end))
    return {rid: sorted(other.get(rid) or week.get(rid) or []) for rid in ids}


def _busy(
    merchant: Merchant,
    ids: list[int],
    since: datetime,
    until: datetime,
    now: datetime,
    ignore: int | None,
) -> dict[int | None, list[tuple[datetime, datetime]]]:
    """What is taken between `since` and `until`, by resource (None: time off for everyone):
    bookings that keep their cells and live holds, with their buffers, and time off (one
    query). An expired hold the sweep has not reached yet is free: the booking that takes its
    cells expires it (holding.py)."""
    bookings = (
        Booking.objects.filter(
            resource_id__in=ids,
            occupied_from__gte=since - timedelta(minutes=MAX_VISIT_MINUTES),
            occupied_from__lt=until,
            occupied_until__gt=since,
        )
        .filter(
            Q(status__in=[BookingStatus.CONFIRMED, BookingStatus.COMPLETED, BookingStatus.NO_SHOW])
            | Q(status=BookingStatus.HOLD, hold_expires_at__gt=now)
        )
        .exclude(pk=ignore or 0)
        .order_by()
        .values_list("resource_id", "occupied_from", "occupied_until")
    )
    off = (
        TimeOff.objects.for_merchant(merchant)
        .filter(ends_at__gt=since, starts_at__lt=until)
        .filter(Q(resource_id__in=ids) | Q(resource__isnull=True))
        .order_by()
        .values_list("resource_id", "starts_at", "ends_at")
    )
    busy: dict[int | None, list] = defaultdict(list)
    for resource_id, start, end in bookings.union(off, all=True).order_by():
        busy[resource_id].append((start, end))
    return busy


def _full(resources: list[Resource], day: date, own: tuple[int, date] | None) -> set[int]:
    """The resources whose daily limit is reached on `day` (one query, when any has one);
    `own`: the (resource, day) a booking being moved counts on already."""
    limited = {r.pk: r.daily_limit for r in resources if r.daily_limit is not None}
    if not limited:
        return set()
    counts = DayCount.objects.filter(resource_id__in=list(limited), day=day)
    rows = counts.values_list("resource_id", "count")
    return {rid for rid, count in rows if count - ((rid, day) == own) >= limited[rid]}


def _on_grid(moment: datetime) -> bool:
    return not (moment.second or moment.microsecond or moment.minute % GRID_MINUTES)


def free_starts(
    *,
    merchant: Merchant,
    visit: Visit,
    resources: list[Resource],
    day: date,
    tz: ZoneInfo,
    policy: Policy,
    now: datetime,
    ignore: Booking | None = None,
    earliest: datetime | None = None,
) -> dict[int, list[datetime]]:
    """The UTC start times free on `day` for each resource, in order (`ignore`: a booking
    being moved, whose own time counts as free; `earliest`: staff's earliest start, instead of
    the policy's notice from now)."""
    if not resources:
        return {}
    now = now.astimezone(UTC)
    today = now.astimezone(tz).date()
    if earliest is None:
        if day < today:
            return {}
        earliest = now + timedelta(minutes=policy.min_notice_minutes)
    if day > today + timedelta(days=policy.max_days_ahead):
        return {}
    step = timedelta(minutes=policy.slot_step_minutes)
    ids = [r.pk for r in resources]
    since, until = day_bounds(day, tz)
    if until <= earliest:
        return {}
    hours = _hours(ids, day)
    busy = _busy(
        merchant, ids, since - visit.before, until + visit.after, now, ignore.pk if ignore else None
    )
    full = _full(resources, day, (ignore.resource_id, ignore.day) if ignore else None)
    everyone = busy.get(None, [])
    found: dict[int, list[datetime]] = {}
    for resource in resources:
        if resource.pk in full:
            continue
        taken = sorted(busy.get(resource.pk, []) + everyone)
        starts: list[datetime] = []
        for span_start, span_end in hours[resource.pk]:
            closes = wall_bound(day, span_end, tz)
            wall = datetime.combine(day, span_start)
            last = datetime.combine(day, span_end)
            while wall < last:
                start = wall_start(day, wall.time(), tz)
                wall += step
                if start is None or start < earliest or not _on_grid(start):
                    continue
                if start + visit.duration > closes:
                    continue
                occupied_from, occupied_until = visit.occupies(start)
                if any(b < occupied_until and occupied_from < e for b, e in taken):
                    continue
                starts.append(start)
        if starts:
            found[resource.pk] = sorted(set(starts))
    return found


def slots(
    *,
    app: MiniApp,
    services: Sequence[Service],
    day: date,
    resource: Resource | None = None,
    now: datetime | None = None,
) -> list[datetime]:
    """The start times free on the store's `day` for the visit, with `resource` or with
    anyone qualified, as aware datetimes in the store's time zone."""
    if not services:
        return []
    now = utc_now(now)
    merchant = app.merchant
    tz = store_tz(merchant)
    resources = qualified_resources(merchant=merchant, services=services, resource=resource)
    found = free_starts(
        merchant=merchant,
        visit=Visit.of(services),
        resources=resources,
        day=day,
        tz=tz,
        policy=policy_for_reading(app),
        now=now,
    )
    every = sorted({start for starts in found.values() for start in starts})
    return [start.astimezone(tz) for start in every]
