"""No double booking under concurrency, decided by the database: real threads, SQLite and
PostgreSQL (decision 0003). The conftest checks every booking's cells and day counts after."""

from datetime import timedelta

import pytest
from django.db import connection

from tapgo.bookings import services as bookings
from tapgo.bookings.models import Booking, BookingStatus, DayCount, Occupancy
from tapgo.identity.services import customer_create_guest

pytestmark = [pytest.mark.race, pytest.mark.django_db(transaction=True)]


def _threads(wanted: int) -> int:
    """PostgreSQL's test server allows 100 connections."""
    return wanted if connection.vendor == "sqlite" else min(wanted, 50)


def _attempt(fn):
    try:
        return fn()
    except bookings.BookingError as exc:
        return exc


def test_twenty_customers_for_one_slot_get_one_hold(
    concurrently, app, service, person, policy, now, shanghai
):
    people = [customer_create_guest() for _ in range(20)]
    slot = shanghai(2027, 3, 2, 10, 0)

    def book(i):
        return _attempt(
            lambda: bookings.booking_hold(
                app=app,
                services=[service],
                resource=person,
                starts_at=slot,
                customer=people[i],
                now=now,
            )
        )

    results = concurrently(book, 20)

    held = [r for r in results if isinstance(r, Booking)]
    refused = [r for r in results if isinstance(r, bookings.BookingError)]
    assert len(held) == 1 and len(refused) == 19, results
    assert Booking.objects.count() == 1
    assert Occupancy.objects.count() == 12
    assert DayCount.objects.get(resource=person).count == 1


def test_twenty_customers_for_overlapping_times_with_anyone_of_three(
    concurrently, app, service, make_person, policy, now, shanghai
):
    """Three people, twenty customers each choosing 10:00 or 10:30 with "anyone": at most
    three bookings cover any moment of any person, and nobody is booked twice at once."""
    for name in ("Ann", "Bob", "Cy"):
        make_person(name, services=[service])
    people = [customer_create_guest() for _ in range(20)]

    def book(i):
        start = shanghai(2027, 3, 2, 10, 30 if i % 2 else 0)
        return _attempt(
            lambda: bookings.booking_hold(
                app=app, services=[service], starts_at=start, customer=people[i], now=now
            )
        )

    results = concurrently(book, 20)

    held = [r for r in results if isinstance(r, Booking)]
    assert 2 <= len(held) <= 3, results
    by_person: dict = {}
    for booking in Booking.objects.all():
        for other in by_person.get(booking.resource_id, []):
            assert not (
                booking.occupied_from < other.occupied_until
                and other.occupied_from < booking.occupied_until
            )
        by_person.setdefault(booking.resource_id, []).append(booking)


def test_a_daily_limit_under_a_race(concurrently, app, service, make_person, policy, now, shanghai):
    """Nine customers for nine different times of one person limited to three a day."""
    limited = make_person("Ann", services=[service], daily_limit=3)
    people = [customer_create_guest() for _ in range(9)]

    def book(i):
        start = shanghai(2027, 3, 2, 9, 0) + timedelta(hours=i)
        return _attempt(
            lambda: bookings.booking_hold(
                app=app,
                services=[service],
                resource=limited,
                starts_at=start,
                customer=people[i],
                now=now,
            )
        )

    results = concurrently(book, 9)

    held = [r for r in results if isinstance(r, Booking)]
    assert len(held) == 3, results
    assert all(
        "no more bookings" in str(r) or "not free" in str(r) for r in results if r not in held
    )
    assert DayCount.objects.get(resource=limited).count == 3


def test_a_late_payment_and_a_new_customer_race_for_an_expired_hold(
    concurrently, app, service, person, policy, now, shanghai
):
    """The hold ran out; its deposit lands while another customer books the same time: one
    of them has the slot, never both."""
    slot = shanghai(2027, 3, 2, 10, 0)
    first = bookings.booking_hold(
        app=app, services=[service], starts_at=slot, customer=customer_create_guest(), now=now
    )
    later = now + timedelta(minutes=7)
    newcomer = customer_create_guest()

    def act(i):
        if i == 0:
            return _attempt(lambda: bookings.booking_confirm(booking=first, now=later))
        return _attempt(
            lambda: bookings.booking_hold(
                app=app, services=[service], starts_at=slot, customer=newcomer, now=later
            )
        )

    results = concurrently(act, 2)

    live = Booking.objects.filter(status__in=[BookingStatus.HOLD, BookingStatus.CONFIRMED])
    assert live.count() == 1, results
    assert sum(isinstance(r, Booking) for r in results) == 1, results
