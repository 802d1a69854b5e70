"""The free-slot engine: hours, breaks, other hours, time off, buffers, bookings and holds,
notice, horizon, step, daily limits and "anyone", in a fixed number of queries."""

from datetime import date, time, timedelta

import pytest

from tapgo.bookings import services as bookings
from tapgo.core.actors import Actor, ActorKind

pytestmark = pytest.mark.django_db

MONDAY = date(2027, 3, 1)
TUESDAY = date(2027, 3, 2)


def hours(slots):
    return [s.strftime("%H:%M") for s in slots]


def test_a_day_of_hours_in_steps(app, service, person, policy, now):
    got = bookings.slots(app=app, services=[service], day=TUESDAY, now=now)
    assert hours(got) == [f"{h:02d}:{m:02d}" for h in range(9, 17) for m in (0, 30)] + ["17:00"]
    assert all(s.tzinfo is not None and s.utcoffset() == timedelta(hours=8) for s in got)


def test_breaks_and_other_hours(app, service, person, policy, now):
    bookings.weekly_hours_set(
        resource=person, weekday=1, spans=[(time(9), time(12)), (time(13), time(15))]
    )
    got = bookings.slots(app=app, services=[service], day=TUESDAY, now=now)
    assert hours(got) == ["09:00", "09:30", "10:00", "10:30", "11:00", "13:00", "13:30", "14:00"]
    bookings.day_hours_set(resource=person, day=TUESDAY, spans=[(time(16), time(18))])
    got = bookings.slots(app=app, services=[service], day=TUESDAY, now=now)
    assert hours(got) == ["16:00", "16:30", "17:00"]


def test_time_off_of_one_person_and_of_the_store(app, service, person, policy, now, shanghai):
    bookings.time_off_add(
        merchant=app.merchant,
        resource=person,
        starts_at=shanghai(2027, 3, 2, 10, 0),
        ends_at=shanghai(2027, 3, 2, 16, 0),
    )
    got = bookings.slots(app=app, services=[service], day=TUESDAY, now=now)
    assert hours(got) == ["09:00", "16:00", "16:30", "17:00"]
    bookings.time_off_add(
        merchant=app.merchant,
        starts_at=shanghai(2027, 3, 2, 0, 0),
        ends_at=shanghai(2027, 3, 3, 0, 0),
        reason="Holiday",
    )
    assert bookings.slots(app=app, services=[service], day=TUESDAY, now=now) == []


def test_a_booking_with_buffers_takes_its_time_and_the_buffers(
    app, make_service, make_person, policy, now, shanghai, customer
):
    colour = make_service(name="Colour", buffer_before_minutes=15, buffer_after_minutes=30)
    make_person(services=[colour])
    bookings.booking_hold(
        app=app,
        services=[colour],
        starts_at=shanghai(2027, 3, 2, 12, 0),
        customer=customer,
        now=now,
    )
    got = hours(bookings.slots(app=app, services=[colour], day=TUESDAY, now=now))
    # Taken 11:45–13:30; a new one takes 15 minutes before and 30 after of its own:
    # 10:00 takes 09:45–11:30, 10:30 would take 10:15–12:00, 13:30 13:15–15:00.
    assert "10:00" in got and "10:30" not in got and "13:30" not in got
    assert "14:00" in got


def test_notice_and_horizon(app, service, person, now):
    bookings.policy_update(app=app, min_notice_minutes=150, slot_step_minutes=30, max_days_ahead=3)
    # Now is 08:00: 150 minutes' notice makes 10:30 the first.
    got = bookings.slots(app=app, services=[service], day=MONDAY, now=now)
    assert hours(got)[0] == "10:30"
    assert bookings.slots(app=app, services=[service], day=date(2027, 3, 4), now=now)
    assert bookings.slots(app=app, services=[service], day=date(2027, 3, 5), now=now) == []
    assert bookings.slots(app=app, services=[service], day=date(2027, 2, 28), now=now) == []


def test_several_services_back_to_back_need_one_person_for_all(
    app, make_service, make_person, policy, now
):
    cut = make_service(name="Cut", duration_minutes=30)
    wash = make_service(name="Wash", duration_minutes=30)
    make_person("Ann", services=[cut])
    make_person("Bob", services=[cut, wash], hours=[(time(14), time(16))])
    got = bookings.slots(app=app, services=[cut, wash], day=TUESDAY, now=now)
    assert hours(got) == ["14:00", "14:30", "15:00"]


def test_anyone_is_every_qualified_person_and_a_limit_closes_a_day(
    app, service, make_person, policy, now, shanghai, customer
):
    ann = make_person("Ann", services=[service], hours=[(time(9), time(11))], daily_limit=1)
    make_person("Bob", services=[service], hours=[(time(15), time(17))])
    got = bookings.slots(app=app, services=[service], day=TUESDAY, now=now)
    assert hours(got) == ["09:00", "09:30", "10:00", "15:00", "15:30", "16:00"]
    assert hours(
        bookings.slots(app=app, services=[service], resource=ann, day=TUESDAY, now=now)
    ) == ["09:00", "09:30", "10:00"]
    bookings.booking_hold(
        app=app,
        services=[service],
        resource=ann,
        starts_at=shanghai(2027, 3, 2, 9, 0),
        customer=customer,
        now=now,
    )
    got = bookings.slots(app=app, services=[service], day=TUESDAY, now=now)
    assert hours(got) == ["15:00", "15:30", "16:00"]


def test_an_expired_hold_shows_free_a_live_one_does_not(
    app, service, person, policy, now, shanghai, customer
):
    bookings.booking_hold(
        app=app,
        services=[service],
        starts_at=shanghai(2027, 3, 2, 9, 0),
        customer=customer,
        now=now,
    )
    assert "09:00" not in hours(bookings.slots(app=app, services=[service], day=TUESDAY, now=now))
    later = now + timedelta(minutes=6)
    assert "09:00" in hours(bookings.slots(app=app, services=[service], day=TUESDAY, now=later))


def test_a_day_is_a_fixed_number_of_queries(
    app, service, make_person, policy, now, shanghai, django_assert_max_num_queries
):
    people = [make_person(f"P{i}", services=[service], daily_limit=8) for i in range(10)]
    staff = Actor(ActorKind.STAFF, None, "Front desk")
    for i, who in enumerate(people):
        bookings.booking_hold(
            app=app,
            services=[service],
            resource=who,
            actor=staff,
            now=now,
            starts_at=shanghai(2027, 3, 2, 9 + i % 8, 0),
        )
    # Policy, store, resources, hours, busy, day counts.
    with django_assert_max_num_queries(6):
        got = bookings.slots(app=app, services=[service], day=TUESDAY, now=now)
    assert len(got) == 17


def test_setup_refuses_what_is_off_the_grid(merchant, person):
    with pytest.raises(bookings.BookingError):
        bookings.service_create(
            merchant=merchant, terms=bookings.ServiceTerms(name="Odd", duration_minutes=7)
        )
    with pytest.raises(bookings.BookingError):
        bookings.weekly_hours_set(resource=person, weekday=0, spans=[(time(9, 2), time(12))])
    with pytest.raises(bookings.BookingError):
        bookings.weekly_hours_set(
            resource=person, weekday=0, spans=[(time(9), time(12)), (time(11), time(13))]
        )
    with pytest.raises(bookings.BookingError):
        bookings.service_create(
            merchant=merchant,
            terms=bookings.ServiceTerms(
                name="Odd", duration_minutes=30, deposit_kind="percent", deposit_value=120
            ),
        )
