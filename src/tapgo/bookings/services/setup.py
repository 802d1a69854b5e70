"""What a merchant sets up to take bookings: services (and their categories), resources (the
people, chairs and rooms that perform them), working hours, a day's other hours, time off, and
each app's policy. Every length of time is checked to be a whole number of grid cells
(models.GRID_MINUTES), so a booking's occupancy cells cover exactly its time."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tapgo.bookings.models import (
    GRID_MINUTES,
    DayHours,
    DepositKind,
    DepositRule,
    PersonChoice,
    Policy,
    Resource,
    ResourceKind,
    Service,
    ServiceCategory,
    TimeOff,
    WeeklyHours,
)
from tapgo.bookings.services.errors import BookingError
from tapgo.core.ids import is_public_id
from tapgo.core.money import MAX_AMOUNT
from tapgo.merchants.models import Merchant
from tapgo.miniapps.models import MiniApp

MAX_MINUTES = 24 * 60


def _name(name: str, limit: int) -> str:
    name = (name or "").strip()
    if not name:
        raise BookingError(_("The name cannot be empty."))
    if len(name) > limit:
        raise BookingError(_("The name is too long (at most %(n)d characters).") % {"n": limit})
    return name


def _minutes(value: int, *, allow_zero: bool) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise BookingError(_("A time must be a whole number of minutes."))
    if value < 0 or (value == 0 and not allow_zero) or value > MAX_MINUTES:
        raise BookingError(_("A time must be between 0 and 24 hours."))
    if value % GRID_MINUTES:
        raise BookingError(_("Times are in steps of %(n)d minutes.") % {"n": GRID_MINUTES})
    return value


def _on_grid(moment: time) -> time:
    if moment.second or moment.microsecond or moment.minute % GRID_MINUTES:
        raise BookingError(_("Times are in steps of %(n)d minutes.") % {"n": GRID_MINUTES})
    return moment


@dataclass(frozen=True)
class ServiceTerms:
    name: str
    duration_minutes: int
    price: int = 0
    description: str = ""
    deposit_kind: str = DepositKind.NONE
    deposit_value: int = 0
    buffer_before_minutes: int = 0
    buffer_after_minutes: int = 0
    category: ServiceCategory | None = None
    active: bool = True


def _check_terms(merchant: Merchant, terms: ServiceTerms) -> dict:
    if not isinstance(terms.price, int) or not 0 <= terms.price <= MAX_AMOUNT:
        raise BookingError(_("That price is not possible."))
    if terms.deposit_kind not in DepositKind.values:
        raise BookingError(_("Choose a kind of deposit."))
    value = terms.deposit_value if terms.deposit_kind != DepositKind.NONE else 0
    if not isinstance(value, int) or value < 0:
        raise BookingError(_("The deposit must be a whole number."))
    if terms.deposit_kind == DepositKind.PERCENT and not 1 <= value <= 100:
        raise BookingError(_("A deposit percentage is between 1 and 100."))
    if terms.deposit_kind == DepositKind.FIXED and not 1 <= value <= terms.price:
        raise BookingError(_("A fixed deposit is more than zero and at most the price."))
    if terms.category is not None and terms.category.merchant_id != merchant.pk:
        raise BookingError(_("Choose one of your categories."))
    return {
        "name": _name(terms.name, 80),
        "description": (terms.description or "").strip()[:500],
        "duration_minutes": _minutes(terms.duration_minutes, allow_zero=False),
        "price": terms.price,
        "deposit_kind": terms.deposit_kind,
        "deposit_value": value,
        "buffer_before_minutes": _minutes(terms.buffer_before_minutes, allow_zero=True),
        "buffer_after_minutes": _minutes(terms.buffer_after_minutes, allow_zero=True),
        "category": terms.category,
        "active": bool(terms.active),
    }


def category_create(*, merchant: Merchant, name: str) -> ServiceCategory:
    return ServiceCategory.objects.create(merchant=merchant, name=_name(name, 60))


def service_create(*, merchant: Merchant, terms: ServiceTerms) -> Service:
    return Service.objects.create(merchant=merchant, **_check_terms(merchant, terms))


def service_update(*, service: Service, terms: ServiceTerms) -> Service:
    """New terms for a service. Bookings already made keep their times, prices and deposit."""
    fields = _check_terms(service.merchant, terms)
    Service.objects.filter(pk=service.pk).update(**fields)
    service.refresh_from_db()
    return service


def resource_create(
    *,
    merchant: Merchant,
    name: str,
    kind: str = ResourceKind.PERSON,
    services: Iterable[Service] = (),
    daily_limit: int | None = None,
) -> Resource:
    if kind not in ResourceKind.values:
        raise BookingError(_("Choose a person, a chair or a room."))
    if daily_limit is not None and (not isinstance(daily_limit, int) or daily_limit < 1):
        raise BookingError(_("A daily limit is at least one booking."))
    services = list(services)
    if any(s.merchant_id != merchant.pk for s in services):
        raise BookingError(_("Choose one of your services."))
    with transaction.atomic():
        resource = Resource.objects.create(
            merchant=merchant, name=_name(name, 80), kind=kind, daily_limit=daily_limit
        )
        resource.services.set(services)
    return resource


def resource_set_services(*, resource: Resource, services: Iterable[Service]) -> None:
    services = list(services)
    if any(s.merchant_id != resource.merchant_id for s in services):
        raise BookingError(_("Choose one of your services."))
    resource.services.set(services)


def resource_set_active(*, resource: Resource, active: bool) -> None:
    """A resource switched off offers no more slots; its bookings stay as they are."""
    Resource.objects.filter(pk=resource.pk).update(active=active)
    resource.active = active


def _spans(spans: Sequence[tuple[time, time]]) -> list[tuple[time, time]]:
    spans = sorted((_on_grid(start), _on_grid(end)) for start, end in spans)
    for start, end in spans:
        if start >= end:
            raise BookingError(_("A span of hours must end after it starts."))
    for (_s1, end1), (start2, _e2) in zip(spans, spans[1:], strict=False):
        if start2 < end1:
            raise BookingError(_("Spans of hours on one day cannot overlap."))
    return spans


def weekly_hours_set(
    *, resource: Resource, weekday: int, spans: Sequence[tuple[time, time]]
) -> None:
    """A resource's hours on one weekday, on the store's wall clock: the spans replace the
    day's rows (no spans: it does not work that weekday). Breaks are the gaps between."""
    if weekday not in range(7):
        raise BookingError(_("Choose a day of the week."))
    spans = _spans(spans)
    with transaction.atomic():
        WeeklyHours.objects.filter(resource=resource, weekday=weekday).delete()
        WeeklyHours.objects.bulk_create(
            WeeklyHours(
                merchant_id=resource.merchant_id,
                resource=resource,
                weekday=weekday,
                start=start,
                end=end,
            )
            for start, end in spans
        )


def day_hours_set(*, resource: Resource, day: date, spans: Sequence[tuple[time, time]]) -> None:
    """Other hours on one day (a late opening, a short day): they replace the week's hours on
    that day; no spans gives the day back to the week. A day off is time off."""
    spans = _spans(spans)
    with transaction.atomic():
        DayHours.objects.filter(resource=resource, day=day).delete()
        DayHours.objects.bulk_create(
            DayHours(merchant_id=resource.merchant_id, resource=resource, day=day, start=s, end=e)
            for s, e in spans
        )


def time_off_add(
    *,
    merchant: Merchant,
    starts_at: datetime,
    ends_at: datetime,
    resource: Resource | None = None,
    reason: str = "",
) -> TimeOff:
    """Time off for one resource, or for every resource of the store (a holiday). Bookings
    already made in it stay; staff move or cancel them."""
    if timezone.is_naive(starts_at) or timezone.is_naive(ends_at) or starts_at >= ends_at:
        raise BookingError(_("Time off must end after it starts."))
    if resource is not None and resource.merchant_id != merchant.pk:
        raise BookingError(_("Choose one of your people or resources."))
    return TimeOff.objects.create(
        merchant=merchant,
        resource=resource,
        starts_at=starts_at,
        ends_at=ends_at,
        reason=(reason or "").strip()[:120],
    )


def time_off_remove(*, merchant: Merchant, time_off_id: int) -> None:
    TimeOff.objects.for_merchant(merchant).filter(pk=time_off_id).delete()


def policy_of(*, app: MiniApp) -> Policy:
    """The app's booking policy, made with the defaults on first use (two first uses at once:
    the one-to-one's unique constraint keeps one)."""
    policy = Policy.objects.filter(app=app).first()
    if policy is not None:
        return policy
    try:
        with transaction.atomic():
            return Policy.objects.create(merchant_id=app.merchant_id, app=app)
    except IntegrityError:
        return Policy.objects.get(app=app)


POLICY_FIELDS = {
    "max_days_ahead",
    "min_notice_minutes",
    "slot_step_minutes",
    "person_choice",
    "cancel_window_hours",
    "reschedule_window_hours",
    "late_cancel_deposit",
    "no_show_deposit",
}


def policy_update(*, app: MiniApp, **changes) -> Policy:
    """Change some of an app's rules; bookings already made keep the copy they were made
    under."""
    unknown = set(changes) - POLICY_FIELDS
    if unknown:
        raise TypeError(f"unknown policy fields: {sorted(unknown)}")
    numbers = {
        k: v for k, v in changes.items() if k not in {"person_choice"} and "deposit" not in k
    }
    for value in numbers.values():
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise BookingError(_("Each rule is a whole number, zero or more."))
    if "max_days_ahead" in changes and not 1 <= changes["max_days_ahead"] <= 366:
        raise BookingError(_("Bookings can be made from 1 to 366 days ahead."))
    if "slot_step_minutes" in changes:
        _minutes(changes["slot_step_minutes"], allow_zero=False)
    if changes.get("person_choice", PersonChoice.CHOOSE) not in PersonChoice.values:
        raise BookingError(_("Choose how a person is chosen."))
    for key in ("late_cancel_deposit", "no_show_deposit"):
        if changes.get(key, DepositRule.KEEP) not in DepositRule.values:
            raise BookingError(_("Choose whether the deposit is refunded or kept."))
    policy = policy_of(app=app)
    Policy.objects.filter(pk=policy.pk).update(**changes, updated_at=timezone.now())
    policy.refresh_from_db()
    return policy


def service_of(*, merchant: Merchant, public_id: str) -> Service | None:
    """One of the merchant's bookable services by its public id (None: no such service)."""
    if not is_public_id(public_id):
        return None
    return Service.objects.for_merchant(merchant).filter(public_id=public_id, active=True).first()


def resource_of(*, merchant: Merchant, public_id: str) -> Resource | None:
    if not is_public_id(public_id):
        return None
    return Resource.objects.for_merchant(merchant).filter(public_id=public_id, active=True).first()
