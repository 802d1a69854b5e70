"""A booking made: a slot held (status hold, for HOLD_MINUTES, with its cells and its day's
count), confirmed (when the deposit is paid, or at once without one), and holds whose time
ran out expired by the sweep or by the booking that takes their cells.

The slot engine's answer is checked again when holding (minimum notice, how far ahead, the
hours, the day's limit), but the database decides the race: the cells' unique constraint lets
one booking have a cell, the day's count moves by a conditional UPDATE. A refused hold writes
nothing."""

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tapgo.bookings.locks import lock_booking
from tapgo.bookings.models import (
    GRID_MINUTES,
    HOLD_MINUTES,
    MAX_VISIT_MINUTES,
    Booking,
    BookingItem,
    BookingStatus,
    PersonChoice,
    Policy,
    Resource,
    Service,
)
from tapgo.bookings.services import cells
from tapgo.bookings.services.errors import BookingError
from tapgo.bookings.services.setup import policy_of
from tapgo.bookings.services.slots import Visit, free_starts, qualified_resources, store_tz, utc_now
from tapgo.core.actors import CUSTOMER, SYSTEM, Actor, ActorKind
from tapgo.identity.models import Customer
from tapgo.miniapps.models import MiniApp

MAX_SERVICES = 5


class _Refused(Exception):
    """This resource cannot take the booking (its cells or its day are taken): with
    "anyone", the next one may."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def check_services(app: MiniApp, services: Sequence[Service]) -> list[Service]:
    services = list(services)
    if not services:
        raise BookingError(_("Choose a service."))
    if len(services) > MAX_SERVICES:
        raise BookingError(_("At most %(n)d services in one visit.") % {"n": MAX_SERVICES})
    if any(s.merchant_id != app.merchant_id or not s.active for s in services):
        raise BookingError(_("That service cannot be booked."))
    visit = Visit.of(services)
    if visit.before + visit.duration + visit.after > timedelta(minutes=MAX_VISIT_MINUTES):
        raise BookingError(_("A visit can last at most 24 hours."))
    return services


def staff_rules(policy: Policy) -> Policy:
    """The policy staff book under: any grid time of the hours, up to a year ahead."""
    return Policy(
        merchant_id=policy.merchant_id,
        max_days_ahead=366,
        min_notice_minutes=0,
        slot_step_minutes=GRID_MINUTES,
    )


def check_time(*, policy: Policy, starts_at: datetime, now: datetime, tz, staff: bool) -> None:
    """Minimum notice and how far ahead, as of now (a page left open an hour is asked again);
    staff book at any time from the start of the day."""
    if timezone.is_naive(starts_at):
        raise BookingError(_("Choose a time."))
    if staff:
        return
    if starts_at < now + timedelta(minutes=policy.min_notice_minutes):
        raise BookingError(_("This time is too soon to book now. Please choose a later one."))
    last_day = now.astimezone(tz).date() + timedelta(days=policy.max_days_ahead)
    if starts_at.astimezone(tz).date() > last_day:
        raise BookingError(_("That day is too far ahead to book."))


def staff_earliest(now: datetime, tz) -> datetime:
    return datetime.combine(now.astimezone(tz).date(), datetime.min.time(), tzinfo=tz)


def _hold_with(
    *,
    app: MiniApp,
    resource: Resource,
    visit: Visit,
    start: datetime,
    day,
    policy_copy: dict,
    customer: Customer | None,
    contact: dict,
    actor: Actor,
    now: datetime,
) -> Booking:
    occupied_from, occupied_until = visit.occupies(start)
    with transaction.atomic():
        booking = Booking.objects.create(
            merchant_id=app.merchant_id,
            app=app,
            customer=customer,
            resource=resource,
            status=BookingStatus.HOLD,
            hold_expires_at=now + timedelta(minutes=HOLD_MINUTES),
            starts_at=start,
            ends_at=start + visit.duration,
            occupied_from=occupied_from,
            occupied_until=occupied_until,
            day=day,
            currency=app.merchant.currency,
            price=sum(s.price for s in visit.services),
            deposit=sum(s.deposit() for s in visit.services),
            policy=policy_copy,
            created_at=now,
            **contact,
            **actor.columns(),
        )
        items, at = [], start
        for position, service in enumerate(visit.services):
            ends = at + timedelta(minutes=service.duration_minutes)
            items.append(
                BookingItem(
                    booking=booking,
                    service=service,
                    position=position,
                    name=service.name,
                    starts_at=at,
                    ends_at=ends,
                    price=service.price,
                    deposit=service.deposit(),
                )
            )
            at = ends
        BookingItem.objects.bulk_create(items)
        cells.expire_holds_on(
            resource_id=resource.pk, since=occupied_from, until=occupied_until, now=now
        )
        if not cells.take_cells(
            booking=booking, resource_id=resource.pk, since=occupied_from, until=occupied_until
        ):
            raise _Refused(_("This time has just been taken. Please choose another."))
        if not cells.count_take(resource_id=resource.pk, day=day, limit=resource.daily_limit):
            cells.expire_holds_of_day(resource_id=resource.pk, day=day, now=now)
            if not cells.count_take(resource_id=resource.pk, day=day, limit=resource.daily_limit):
                raise _Refused(
                    _("%(name)s has no more bookings free that day.") % {"name": resource.name}
                )
        cells.record(booking_id=booking.pk, kind=BookingStatus.HOLD, actor=actor, at=now)
    return booking


def booking_hold(
    *,
    app: MiniApp,
    services: Sequence[Service],
    starts_at: datetime,
    resource: Resource | None = None,
    customer: Customer | None = None,
    contact_name: str = "",
    contact_phone: str = "",
    note: str = "",
    actor: Actor = CUSTOMER,
    now: datetime | None = None,
) -> Booking:
    """Hold a visit (the services back to back) at `starts_at` with `resource`, or with the
    first qualified resource free then (None: anyone), for HOLD_MINUTES; or raise
    BookingError saying why not, having written nothing. Staff (`actor`) book any time of the
    hours from the start of today, without the policy's notice, step or horizon."""
    now = utc_now(now)
    merchant = app.merchant
    services = check_services(app, services)
    staff = actor.kind == ActorKind.STAFF
    policy = policy_of(app=app)
    if resource is not None:
        if resource.merchant_id != merchant.pk or not resource.active:
            raise BookingError(_("That person or resource cannot be booked."))
        if policy.person_choice == PersonChoice.ANYONE and not staff:
            resource = None  # the shop assigns whoever is free
    tz = store_tz(merchant)
    check_time(policy=policy, starts_at=starts_at, now=now, tz=tz, staff=staff)
    start = starts_at.astimezone(UTC)
    day = starts_at.astimezone(tz).date()
    visit = Visit.of(services)
    candidates = qualified_resources(merchant=merchant, services=services, resource=resource)
    if resource is not None and not candidates:
        raise BookingError(_("%(name)s does not do that service.") % {"name": resource.name})
    found = free_starts(
        merchant=merchant,
        visit=visit,
        resources=candidates,
        day=day,
        tz=tz,
        policy=staff_rules(policy) if staff else policy,
        now=now,
        earliest=staff_earliest(now, tz) if staff else None,
    )
    free = [r for r in candidates if start in found.get(r.pk, ())]
    if not free:
        raise BookingError(_("This time is not free. Please choose another."))
    contact = {
        "contact_name": (contact_name or "").strip()[:80],
        "contact_phone": (contact_phone or "").strip()[:40],
        "note": (note or "").strip()[:300],
    }
    refusal = ""
    for candidate in free:
        try:
            return _hold_with(
                app=app,
                resource=candidate,
                visit=visit,
                start=start,
                day=day,
                policy_copy=policy.copy(time_zone=tz.key),
                customer=customer,
                contact=contact,
                actor=actor,
                now=now,
            )
        except _Refused as refused:
            refusal = refused.message
    raise BookingError(refusal)


def booking_confirm(
    *, booking: Booking, actor: Actor = SYSTEM, now: datetime | None = None
) -> Booking:
    """A hold becomes a booking (its deposit paid, or none asked). A hold past its time that
    the sweep has not reached still has its cells; one the sweep expired takes its cells
    again if they are free, or is refused (the flow gives the deposit back). Confirming a
    confirmed booking again is a no-op (a payment event delivered twice)."""
    now = utc_now(now)
    with transaction.atomic():
        current = lock_booking(booking.pk)
        if current.status == BookingStatus.CONFIRMED:
            return current
        if current.status == BookingStatus.EXPIRED:
            if current.starts_at <= now:
                raise BookingError(_("The time of this booking has passed."))
            cells.expire_holds_on(
                resource_id=current.resource_id,
                since=current.occupied_from,
                until=current.occupied_until,
                now=now,
            )
            if not cells.take_cells(
                booking=current,
                resource_id=current.resource_id,
                since=current.occupied_from,
                until=current.occupied_until,
            ):
                raise BookingError(
                    _("The time you held was taken after the hold ran out. Please choose another.")
                )
            resource = current.resource
            if not cells.count_take(
                resource_id=resource.pk, day=current.day, limit=resource.daily_limit
            ):
                raise BookingError(
                    _("%(name)s has no more bookings free that day.") % {"name": resource.name}
                )
        elif current.status != BookingStatus.HOLD:
            raise BookingError(_("This booking can no longer be confirmed."))
        Booking.objects.filter(pk=current.pk, status=current.status).update(
            status=BookingStatus.CONFIRMED, confirmed_at=now, hold_expires_at=None
        )
        cells.record(booking_id=current.pk, kind=BookingStatus.CONFIRMED, actor=actor, at=now)
        current.refresh_from_db()
    _copy(current, booking)
    return current


def _copy(source: Booking, target: Booking) -> None:
    """The caller's booking object updated to the row as it now is."""
    for field in Booking._meta.concrete_fields:
        setattr(target, field.attname, getattr(source, field.attname))


def bookings_expire_due(*, now: datetime | None = None, limit: int = 500) -> int:
    """The sweep: expire holds whose time ran out, freeing their cells and day counts, each
    in its own transaction. Returns how many it expired."""
    now = utc_now(now)
    due = Booking.objects.filter(status=BookingStatus.HOLD, hold_expires_at__lte=now).order_by(
        "hold_expires_at", "id"
    )
    expired = 0
    for booking_id in list(due.values_list("pk", flat=True)[:limit]):
        with transaction.atomic():
            expired += cells.expire_hold(booking_id=booking_id, now=now)
    return expired
