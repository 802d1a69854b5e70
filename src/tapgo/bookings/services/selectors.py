"""Reads the interfaces and flows show: a booking found by its public id for its customer or
its merchant (anyone else's: None, so a page answers 404), a customer's bookings, a day's
bookings of a merchant for the calendar."""

from datetime import date

from django.db.models import QuerySet

from tapgo.bookings.models import OCCUPYING, Booking
from tapgo.bookings.services.slots import day_bounds, store_tz
from tapgo.core.ids import is_public_id
from tapgo.identity.models import Customer
from tapgo.merchants.models import Merchant


def booking_of_customer(*, customer: Customer, public_id: str) -> Booking | None:
    if not is_public_id(public_id):
        return None
    return Booking.objects.filter(customer=customer, public_id=public_id).first()


def booking_of_merchant(*, merchant: Merchant, public_id: str) -> Booking | None:
    if not is_public_id(public_id):
        return None
    return Booking.objects.for_merchant(merchant).filter(public_id=public_id).first()


def bookings_of_customer(customer: Customer) -> QuerySet[Booking]:
    return (
        Booking.objects.filter(customer=customer)
        .select_related("resource", "app")
        .order_by("-starts_at", "-id")
    )


def bookings_of_day(*, merchant: Merchant, day: date) -> QuerySet[Booking]:
    """The merchant's bookings that hold time on the store's `day` (holds included), by
    resource and time: a calendar's day."""
    since, until = day_bounds(day, store_tz(merchant))
    return (
        Booking.objects.for_merchant(merchant)
        .filter(status__in=OCCUPYING, occupied_until__gt=since, occupied_from__lt=until)
        .select_related("resource")
        .order_by("resource__position", "resource_id", "starts_at", "id")
    )
