"""Fixtures of the bookings tests: the test café's store as a salon in a chosen time zone, a
service, a person working every day 09:00–18:00, and a fixed "now" on the store's clock.

After every test that uses the database, each booking has exactly its cells and each day
count is its bookings' number (services.verify_occupancy)."""

from datetime import datetime, time

import pytest

from tapgo.bookings import services as bookings
from tapgo.merchants.models import Store

DAY = [(time(9), time(18))]


@pytest.fixture(autouse=True)
def occupancy_sound(request):
    names = request.fixturenames
    database = "transactional_db" if "transactional_db" in names else "db"
    if database not in names and "concurrently" not in names:
        yield
        return
    request.getfixturevalue(database)
    yield
    assert bookings.verify_occupancy() == []


@pytest.fixture
def zone(merchant):
    """Set the store's time zone; returns a function making aware local datetimes."""
    from zoneinfo import ZoneInfo

    def set_zone(name: str):
        Store.objects.filter(merchant=merchant).update(time_zone=name)
        tz = ZoneInfo(name)

        def at(*args, fold=0):
            return datetime(*args, tzinfo=tz, fold=fold)

        return at

    return set_zone


@pytest.fixture
def make_service(merchant):
    def make(**terms):
        terms.setdefault("name", "Haircut")
        terms.setdefault("duration_minutes", 60)
        terms.setdefault("price", 10000)
        return bookings.service_create(merchant=merchant, terms=bookings.ServiceTerms(**terms))

    return make


@pytest.fixture
def make_person(merchant):
    def make(name="Ann", *, services=(), hours=DAY, days=range(7), **fields):
        person = bookings.resource_create(merchant=merchant, name=name, services=services, **fields)
        for weekday in days:
            bookings.weekly_hours_set(resource=person, weekday=weekday, spans=hours)
        return person

    return make


@pytest.fixture
def service(make_service):
    return make_service()


@pytest.fixture
def person(make_person, service):
    return make_person(services=[service])


@pytest.fixture
def shanghai(zone):
    return zone("Asia/Shanghai")


@pytest.fixture
def now(shanghai):
    """Monday 1 March 2027, 08:00 in Shanghai."""
    return shanghai(2027, 3, 1, 8, 0)


@pytest.fixture
def policy(app):
    return bookings.policy_update(
        app=app, min_notice_minutes=60, slot_step_minutes=30, max_days_ahead=30
    )
