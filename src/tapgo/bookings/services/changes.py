"""A booking after it is made: moved to another time (or resource), cancelled, marked arrived,
completed or a no-show. Each is one transaction under the booking's lock with a conditional
UPDATE of its status; moving takes the new cells and frees the old in that transaction, so a
booking is never in two places nor in none.

What the policy says of the deposit (a late cancellation or a no-show: refunded or kept) is
read from the copy the booking keeps (`deposit_kept`); giving it back is the flows'."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import transaction
from django.utils.translation import gettext as _

from tapgo.bookings.locks import lock_booking
from tapgo.bookings.models import (
    Booking,
    BookingItem,
    BookingStatus,
    DepositRule,
    Resource,
    Service,
)
from tapgo.bookings.services import cells
from tapgo.bookings.services.errors import BookingError
from tapgo.bookings.services.holding import check_time, staff_earliest, staff_rules
from tapgo.bookings.services.setup import policy_of
from tapgo.bookings.services.slots import Visit, free_starts, qualified_resources, store_tz, utc_now
from tapgo.core.actors import Actor, ActorKind

LIVE = (BookingStatus.HOLD, BookingStatus.CONFIRMED)


def _hours_before(booking: Booking, now: datetime) -> float:
    return (booking.starts_at - now) / timedelta(hours=1)


def cancel_is_late(booking: Booking, now: datetime | None = None) -> bool:
    """Whether cancelling now is inside the booking's cancellation window (its policy copy)."""
    now = utc_now(now)
    return _hours_before(booking, now) < booking.policy.get("cancel_window_hours", 0)


def can_reschedule(booking: Booking, now: datetime | None = None) -> bool:
    """Whether the customer may still move the booking themselves (before its window)."""
    now = utc_now(now)
    return booking.status in LIVE and _hours_before(booking, now) >= booking.policy.get(
        "reschedule_window_hours", 0
    )


def deposit_kept(booking: Booking, *, late_cancel: bool = False) -> bool:
    """Whether the merchant keeps the deposit of a booking cancelled late (`late_cancel`) or
    marked a no-show, as its policy copy says; any other cancellation gives it back."""
    if not booking.deposit:
        return False
    if booking.status == BookingStatus.NO_SHOW:
        return booking.policy.get("no_show_deposit") == DepositRule.KEEP
    if late_cancel:
        return booking.policy.get("late_cancel_deposit") == DepositRule.KEEP
    return False


@dataclass(frozen=True)
class Cancellation:
    booking: Booking
    late: bool  # inside the cancellation window
    deposit_kept: bool  # what the policy says of its deposit (the flow refunds the rest)


def booking_cancel(
    *, booking: Booking, actor: Actor, reason: str = "", now: datetime | None = None
) -> Cancellation:
    """Cancel a held or confirmed booking, freeing its cells and its day's count. A customer
    can cancel until the booking starts (late inside the window: the deposit as the policy
    says); staff at any time."""
    now = utc_now(now)
    with transaction.atomic():
        current = lock_booking(booking.pk)
        if current.status not in LIVE:
            raise BookingError(_("This booking cannot be cancelled any more."))
        if actor.kind == ActorKind.CUSTOMER and current.starts_at <= now:
            raise BookingError(_("This booking has started; please ask the shop."))
        late = current.status == BookingStatus.CONFIRMED and cancel_is_late(current, now)
        Booking.objects.filter(pk=current.pk, status=current.status).update(
            status=BookingStatus.CANCELLED, cancelled_at=now, hold_expires_at=None
        )
        cells.free_cells(booking_id=current.pk)
        cells.count_release(resource_id=current.resource_id, day=current.day)
        cells.record(
            booking_id=current.pk,
            kind=BookingStatus.CANCELLED,
            actor=actor,
            at=now,
            late=late,
            reason=reason[:200],
        )
        current.refresh_from_db()
    return Cancellation(
        booking=current, late=late, deposit_kept=deposit_kept(current, late_cancel=late)
    )


def booking_move(
    *,
    booking: Booking,
    starts_at: datetime,
    actor: Actor,
    resource: Resource | None = None,
    now: datetime | None = None,
) -> Booking:
    """Move a held or confirmed booking to `starts_at` (with `resource`, or the one it has):
    the new cells are taken and the old freed in one transaction, or nothing changes. A
    customer moves before the reschedule window, to a slot of the policy; staff anywhere
    in the hours. The booking's sequence goes up (a calendar's update, a new reminder)."""
    now = utc_now(now)
    app = booking.app
    merchant = app.merchant
    staff = actor.kind == ActorKind.STAFF
    if not staff and not can_reschedule(booking, now):
        raise BookingError(_("It is too late to reschedule online. Please call the shop."))
    items = list(BookingItem.objects.filter(booking=booking).order_by("position"))
    # The services as they are now (durations and buffers may have changed); one switched
    # off since can still be moved.
    by_id = Service.objects.in_bulk([i.service_id for i in items])
    services = [by_id[i.service_id] for i in items]
    target = resource or booking.resource
    if target.merchant_id != merchant.pk or not target.active:
        raise BookingError(_("That person or resource cannot be booked."))
    policy = policy_of(app=app)
    tz = store_tz(merchant)
    check_time(policy=policy, starts_at=starts_at, now=now, tz=tz, staff=staff)
    start = starts_at.astimezone(UTC)
    day = starts_at.astimezone(tz).date()
    visit = Visit.of(services)
    if not qualified_resources(merchant=merchant, services=services, resource=target):
        raise BookingError(_("%(name)s does not do that service.") % {"name": target.name})
    found = free_starts(
        merchant=merchant,
        visit=visit,
        resources=[target],
        day=day,
        tz=tz,
        policy=staff_rules(policy) if staff else policy,
        now=now,
        ignore=booking,
        earliest=staff_earliest(now, tz) if staff else None,
    )
    if start not in found.get(target.pk, ()):
        raise BookingError(_("This time is not free. Please choose another."))
    occupied_from, occupied_until = visit.occupies(start)
    with transaction.atomic():
        current = lock_booking(booking.pk)
        if current.status not in LIVE or current.sequence != booking.sequence:
            raise BookingError(_("This booking changed meanwhile. Please look at it again."))
        cells.free_cells(booking_id=current.pk)
        moved = Booking.objects.filter(
            pk=current.pk, status=current.status, sequence=current.sequence
        ).update(
            resource=target,
            starts_at=start,
            ends_at=start + visit.duration,
            occupied_from=occupied_from,
            occupied_until=occupied_until,
            day=day,
            sequence=current.sequence + 1,
        )
        assert moved == 1  # under the lock
        shift = start - current.starts_at
        for item in items:
            BookingItem.objects.filter(pk=item.pk).update(
                starts_at=item.starts_at + shift, ends_at=item.ends_at + shift
            )
        cells.expire_holds_on(
            resource_id=target.pk, since=occupied_from, until=occupied_until, now=now
        )
        if not cells.take_cells(
            booking=current, resource_id=target.pk, since=occupied_from, until=occupied_until
        ):
            raise BookingError(_("This time has just been taken. Please choose another."))
        old, new = (current.resource_id, current.day), (target.pk, day)
        if old != new:
            # Both day counts in key order, so two moves the other way round never deadlock.
            for key in sorted([old, new]):
                if key == old:
                    cells.count_release(resource_id=old[0], day=old[1])
                elif not cells.count_take(resource_id=target.pk, day=day, limit=target.daily_limit):
                    raise BookingError(
                        _("%(name)s has no more bookings free that day.") % {"name": target.name}
                    )
        cells.record(
            booking_id=current.pk,
            kind="moved",
            actor=actor,
            at=now,
            starts_at=current.starts_at.isoformat(),
            resource=current.resource_id,
        )
        current.refresh_from_db()
    return current


def _mark(booking: Booking, *, actor: Actor, now: datetime, kind: str, **changes) -> Booking:
    with transaction.atomic():
        if not Booking.objects.filter(pk=booking.pk, status=BookingStatus.CONFIRMED).update(
            **changes
        ):
            raise BookingError(_("Only a confirmed booking can be marked so."))
        cells.record(booking_id=booking.pk, kind=kind, actor=actor, at=now)
    booking.refresh_from_db()
    return booking


def booking_mark_arrived(*, booking: Booking, actor: Actor, now: datetime | None = None) -> Booking:
    """The customer is here (the booking stays confirmed until it is completed)."""
    now = utc_now(now)
    return _mark(booking, actor=actor, now=now, kind="arrived", arrived_at=now)


def booking_mark_completed(
    *, booking: Booking, actor: Actor, now: datetime | None = None
) -> Booking:
    now = utc_now(now)
    return _mark(
        booking,
        actor=actor,
        now=now,
        kind=BookingStatus.COMPLETED,
        status=BookingStatus.COMPLETED,
        finished_at=now,
    )


def booking_mark_no_show(*, booking: Booking, actor: Actor, now: datetime | None = None) -> Booking:
    """The customer did not come: only once the booking's time has begun. Its cells stay (the
    time passed either way); the deposit as the policy says (`deposit_kept`)."""
    now = utc_now(now)
    if booking.starts_at > now:
        raise BookingError(_("A booking can be marked a no-show only once its time has begun."))
    return _mark(
        booking,
        actor=actor,
        now=now,
        kind=BookingStatus.NO_SHOW,
        status=BookingStatus.NO_SHOW,
        finished_at=now,
    )
