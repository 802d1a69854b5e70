"""Holding, confirming, moving, cancelling and expiring bookings: the cells and day counts
follow every change (the conftest checks them after each test), and a refusal writes nothing."""

from datetime import time, timedelta

import pytest
from django.utils.timezone import now as django_now

from tapgo.bookings import services as bookings
from tapgo.bookings.models import Booking, BookingEvent, BookingStatus, Occupancy
from tapgo.core.actors import CUSTOMER, Actor, ActorKind
from tapgo.identity.services import customer_create_guest

pytestmark = pytest.mark.django_db

STAFF = Actor(ActorKind.STAFF, None, "Front desk")


@pytest.fixture
def hold(app, service, person, policy, now, shanghai, customer):
    def make(hour=10, minute=0, **kwargs):
        kwargs.setdefault("services", [service])
        kwargs.setdefault("customer", customer)
        kwargs.setdefault("now", now)
        return bookings.booking_hold(
            app=app, starts_at=shanghai(2027, 3, 2, hour, minute), **kwargs
        )

    return make


def test_a_hold_has_its_cells_items_prices_and_policy(
    app, hold, make_service, person, now, shanghai
):
    wash = make_service(
        name="Wash",
        duration_minutes=30,
        price=5000,
        deposit_kind="percent",
        deposit_value=20,
        buffer_after_minutes=10,
    )
    person.services.add(wash)
    booking = hold(services=[person.services.get(name="Haircut"), wash])
    assert booking.status == BookingStatus.HOLD
    assert booking.hold_expires_at == now + timedelta(minutes=5)
    assert booking.starts_at == shanghai(2027, 3, 2, 10, 0)
    assert booking.ends_at == shanghai(2027, 3, 2, 11, 30)
    assert booking.occupied_until == shanghai(2027, 3, 2, 11, 40)
    assert (booking.price, booking.deposit, booking.currency) == (15000, 1000, "CNY")
    assert booking.policy["min_notice_minutes"] == 60
    assert booking.policy["time_zone"] == "Asia/Shanghai"
    items = list(booking.items.values_list("name", "starts_at", "ends_at"))
    assert [i[0] for i in items] == ["Haircut", "Wash"]
    assert items[1][1] == shanghai(2027, 3, 2, 11, 0)
    assert Occupancy.objects.filter(booking=booking).count() == 20  # 100 minutes
    assert booking.actor_kind == ActorKind.CUSTOMER


def test_an_overlapping_booking_with_buffers_is_refused_and_writes_nothing(
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
    before = (Booking.objects.count(), Occupancy.objects.count())
    with pytest.raises(bookings.BookingError, match="not free"):
        bookings.booking_hold(
            app=app,
            services=[colour],
            starts_at=shanghai(2027, 3, 2, 13, 30),
            customer=customer,
            now=now,
        )
    assert (Booking.objects.count(), Occupancy.objects.count()) == before


def test_the_cells_refuse_an_overlap_the_engine_did_not_see(
    app, service, person, policy, now, shanghai, customer, hold
):
    """The database decides: a booking written behind the engine's back (as a racing
    transaction would) makes the second hold fail on the cells, writing nothing."""
    first = hold(10)
    # The first booking's row says it is cancelled, but its cells are still there (as if
    # another transaction had taken them a moment ago).
    Booking.objects.filter(pk=first.pk).update(status=BookingStatus.CANCELLED)
    with pytest.raises(bookings.BookingError, match="just been taken"):
        hold(10, 30)
    assert Booking.objects.count() == 1
    Booking.objects.filter(pk=first.pk).update(status=BookingStatus.HOLD)


def test_minimum_notice_is_checked_again_when_holding(hold, now):
    # The page showed 10:00 at 08:00; at 09:30 the customer presses "book".
    with pytest.raises(bookings.BookingError, match="too soon"):
        hold(10, 0, now=now + timedelta(days=1, minutes=90))
    assert not Booking.objects.exists()


def test_a_day_too_far_ahead_or_a_time_off_the_step_is_refused(hold, now):
    with pytest.raises(bookings.BookingError, match="too far"):
        hold(10, now=now - timedelta(days=40))
    with pytest.raises(bookings.BookingError, match="not free"):
        hold(10, 15)  # the policy's step is 30 minutes
    with pytest.raises(bookings.BookingError, match="not free"):
        hold(17, 30)  # would end after 18:00


def test_confirm_then_cancel_frees_the_slot(app, service, hold, now):
    booking = hold(10)
    bookings.booking_confirm(booking=booking, now=now)
    assert booking.status == BookingStatus.CONFIRMED and booking.hold_expires_at is None
    assert bookings.booking_confirm(booking=booking, now=now).status == BookingStatus.CONFIRMED
    result = bookings.booking_cancel(booking=booking, actor=CUSTOMER, now=now)
    assert result.booking.status == BookingStatus.CANCELLED
    assert not result.late and not result.deposit_kept
    assert not Occupancy.objects.filter(booking=booking).exists()
    assert hold(10).status == BookingStatus.HOLD
    kinds = list(BookingEvent.objects.filter(booking=booking).values_list("kind", flat=True))
    assert kinds == ["hold", "confirmed", "cancelled"]
    with pytest.raises(bookings.BookingError):
        bookings.booking_confirm(booking=result.booking, now=now)


def test_a_late_cancellation_keeps_the_deposit_as_the_policy_said(
    app, make_service, make_person, policy, now, shanghai, customer
):
    paid = make_service(name="Massage", deposit_kind="fixed", deposit_value=3000)
    make_person(services=[paid])
    booking = bookings.booking_hold(
        app=app,
        services=[paid],
        starts_at=shanghai(2027, 3, 2, 10, 0),
        customer=customer,
        now=now,
    )
    bookings.booking_confirm(booking=booking, now=now)
    # The policy changes after booking: the booking keeps its copy (keep the deposit).
    bookings.policy_update(app=app, late_cancel_deposit="refund")
    result = bookings.booking_cancel(
        booking=booking, actor=CUSTOMER, now=shanghai(2027, 3, 2, 9, 0)
    )
    assert result.late and result.deposit_kept


def test_move_takes_the_new_cells_and_frees_the_old(hold, now, shanghai, app, service):
    booking = hold(10)
    bookings.booking_confirm(booking=booking, now=now)
    old_cells = set(Occupancy.objects.filter(booking=booking).values_list("cell", flat=True))
    # Half an hour later: overlapping its own old time is fine.
    moved = bookings.booking_move(
        booking=booking, starts_at=shanghai(2027, 3, 2, 10, 30), actor=CUSTOMER, now=now
    )
    assert moved.starts_at == shanghai(2027, 3, 2, 10, 30) and moved.sequence == 1
    new_cells = set(Occupancy.objects.filter(booking=booking).values_list("cell", flat=True))
    assert len(new_cells) == 12 and new_cells != old_cells
    assert moved.items.get().starts_at == shanghai(2027, 3, 2, 10, 30)
    # The old 10:00 is free again for someone else? Not while 10:30–11:30 is taken (1 h).
    free = [
        s.strftime("%H:%M")
        for s in bookings.slots(app=app, services=[service], day=moved.day, now=now)
    ]
    assert "09:30" in free and "10:00" not in free and "11:30" in free
    # A stale copy (sequence 0) cannot move it again.
    with pytest.raises(bookings.BookingError, match="changed"):
        bookings.booking_move(
            booking=booking, starts_at=shanghai(2027, 3, 2, 14, 0), actor=CUSTOMER, now=now
        )


def test_move_to_a_taken_time_changes_nothing(hold, now, shanghai, customer):
    first, second = hold(10), hold(14)
    with pytest.raises(bookings.BookingError, match="not free"):
        bookings.booking_move(
            booking=second, starts_at=shanghai(2027, 3, 2, 10, 30), actor=CUSTOMER, now=now
        )
    second.refresh_from_db()
    assert second.starts_at == shanghai(2027, 3, 2, 14, 0) and second.sequence == 0
    assert Occupancy.objects.filter(booking=first).count() == 12


def test_a_customer_cannot_reschedule_inside_the_window_staff_can(hold, now, shanghai):
    booking = hold(10)
    late = shanghai(2027, 3, 1, 20, 0)  # 14 hours before; the window is 24
    with pytest.raises(bookings.BookingError, match="too late"):
        bookings.booking_move(
            booking=booking, starts_at=shanghai(2027, 3, 2, 15, 0), actor=CUSTOMER, now=late
        )
    moved = bookings.booking_move(
        booking=booking, starts_at=shanghai(2027, 3, 2, 15, 5), actor=STAFF, now=late
    )
    assert moved.starts_at == shanghai(2027, 3, 2, 15, 5)
    assert BookingEvent.objects.filter(booking=booking, kind="moved").get().actor_label == (
        "Front desk"
    )


def test_an_expired_hold_frees_the_slot_by_the_sweep(hold, now):
    booking = hold(10)
    assert bookings.bookings_expire_due(now=now + timedelta(minutes=4)) == 0
    assert bookings.bookings_expire_due(now=now + timedelta(minutes=5)) == 1
    booking.refresh_from_db()
    assert booking.status == BookingStatus.EXPIRED
    assert not Occupancy.objects.filter(booking=booking).exists()
    assert hold(10).status == BookingStatus.HOLD


def test_an_expired_hold_gives_its_cells_to_the_next_booking_before_the_sweep(hold, now):
    first = hold(10)
    second = hold(10, now=now + timedelta(minutes=6))
    first.refresh_from_db()
    assert first.status == BookingStatus.EXPIRED and second.status == BookingStatus.HOLD
    # The deposit of the first lands late: its time is someone else's now.
    with pytest.raises(bookings.BookingError, match="taken after the hold ran out"):
        bookings.booking_confirm(booking=first, now=now + timedelta(minutes=7))
    first.refresh_from_db()
    assert first.status == BookingStatus.EXPIRED


def test_a_hold_past_its_time_is_confirmed_while_its_cells_are_its_own(hold, now):
    booking = hold(10)
    late = now + timedelta(minutes=8)
    assert bookings.booking_confirm(booking=booking, now=late).status == BookingStatus.CONFIRMED
    other = hold(11)
    bookings.bookings_expire_due(now=late)
    other.refresh_from_db()
    assert other.status == BookingStatus.EXPIRED
    # Swept, but its time still free: the late payment confirms it, taking its cells again.
    assert bookings.booking_confirm(booking=other, now=late).status == BookingStatus.CONFIRMED
    assert Occupancy.objects.filter(booking=other).count() == 12


def test_a_daily_limit_refuses_the_next_booking_and_anyone_finds_another(
    app, service, make_person, policy, now, shanghai, customer
):
    ann = make_person("Ann", services=[service], daily_limit=1)
    bob = make_person("Bob", services=[service])
    first = bookings.booking_hold(
        app=app,
        services=[service],
        starts_at=shanghai(2027, 3, 2, 10, 0),
        customer=customer,
        now=now,
    )
    assert first.resource == ann  # "anyone": the first qualified, in order
    second = bookings.booking_hold(
        app=app,
        services=[service],
        starts_at=shanghai(2027, 3, 2, 12, 0),
        customer=customer,
        now=now,
    )
    assert second.resource == bob
    with pytest.raises(bookings.BookingError, match="not free"):
        bookings.booking_hold(
            app=app,
            services=[service],
            resource=ann,
            starts_at=shanghai(2027, 3, 2, 14, 0),
            customer=customer,
            now=now,
        )


def test_staff_book_a_walk_in_now_and_mark_it(app, service, person, policy, shanghai):
    now = shanghai(2027, 3, 2, 11, 2)
    booking = bookings.booking_hold(
        app=app,
        services=[service],
        resource=person,
        starts_at=shanghai(2027, 3, 2, 11, 5),
        contact_name="Walk-in",
        actor=STAFF,
        now=now,
    )
    assert booking.actor_kind == ActorKind.STAFF and booking.actor_label == "Front desk"
    bookings.booking_confirm(booking=booking, actor=STAFF, now=now)
    with pytest.raises(bookings.BookingError, match="no-show"):
        bookings.booking_mark_no_show(booking=booking, actor=STAFF, now=now)
    bookings.booking_mark_arrived(booking=booking, actor=STAFF, now=now)
    done = bookings.booking_mark_completed(booking=booking, actor=STAFF, now=now)
    assert done.status == BookingStatus.COMPLETED and done.arrived_at == now
    # Completed bookings keep their time.
    assert Occupancy.objects.filter(booking=booking).count() == 12
    with pytest.raises(bookings.BookingError):
        bookings.booking_cancel(booking=done, actor=STAFF, now=now)


def test_a_service_another_merchant_owns_or_not_done_is_refused(
    app, other_merchant, make_service, person, policy, now, shanghai, customer
):
    theirs = bookings.service_create(
        merchant=other_merchant, terms=bookings.ServiceTerms(name="X", duration_minutes=30)
    )
    with pytest.raises(bookings.BookingError, match="cannot be booked"):
        bookings.booking_hold(
            app=app, services=[theirs], starts_at=shanghai(2027, 3, 2, 10, 0), now=now
        )
    nails = make_service(name="Nails")
    with pytest.raises(bookings.BookingError, match="does not do"):
        bookings.booking_hold(
            app=app,
            services=[nails],
            resource=person,
            starts_at=shanghai(2027, 3, 2, 10, 0),
            now=now,
        )
    with pytest.raises(bookings.BookingError, match="Choose a service"):
        bookings.booking_hold(app=app, services=[], starts_at=shanghai(2027, 3, 2, 10, 0))
    assert not Booking.objects.exists()


def test_hours_of_a_day_other_than_the_week(app, service, person, policy, now, shanghai, customer):
    bookings.day_hours_set(
        resource=person, day=shanghai(2027, 3, 2, 0).date(), spans=[(time(12), time(14))]
    )
    with pytest.raises(bookings.BookingError, match="not free"):
        bookings.booking_hold(
            app=app, services=[service], starts_at=shanghai(2027, 3, 2, 10, 0), now=now
        )
    assert (
        bookings.booking_hold(
            app=app, services=[service], starts_at=shanghai(2027, 3, 2, 12, 30), now=now
        ).status
        == BookingStatus.HOLD
    )


def test_a_booking_moves_within_its_full_day(app, service, make_person, policy, now, shanghai):
    """Its own count is not in its way: a person limited to one booking a day can still have
    that one moved to another time of the day, and to another day."""
    ann = make_person("Ann", services=[service], daily_limit=1)
    booking = bookings.booking_hold(
        app=app, services=[service], resource=ann, starts_at=shanghai(2027, 3, 2, 10, 0), now=now
    )
    moved = bookings.booking_move(
        booking=booking, starts_at=shanghai(2027, 3, 2, 14, 0), actor=CUSTOMER, now=now
    )
    assert moved.starts_at == shanghai(2027, 3, 2, 14, 0)
    moved = bookings.booking_move(
        booking=moved, starts_at=shanghai(2027, 3, 3, 14, 0), actor=CUSTOMER, now=now
    )
    assert str(moved.day) == "2027-03-03"


def test_a_booking_is_found_by_its_customer_and_merchant_only(
    hold, customer, merchant, other_merchant, shanghai
):
    booking = hold(10)
    stranger = customer_create_guest()
    assert bookings.booking_of_customer(customer=customer, public_id=booking.public_id) == booking
    assert bookings.booking_of_customer(customer=stranger, public_id=booking.public_id) is None
    assert bookings.booking_of_merchant(merchant=merchant, public_id=booking.public_id) == booking
    assert (
        bookings.booking_of_merchant(merchant=other_merchant, public_id=booking.public_id) is None
    )
    assert bookings.booking_of_merchant(merchant=merchant, public_id="../x") is None
    assert list(bookings.bookings_of_customer(customer)) == [booking]
    day = shanghai(2027, 3, 2, 0, 0).date()
    assert list(bookings.bookings_of_day(merchant=merchant, day=day)) == [booking]
    assert list(bookings.bookings_of_day(merchant=other_merchant, day=day)) == []


def test_a_visit_lasts_at_most_a_day(app, make_service, now, shanghai):
    long = make_service(name="Retreat", duration_minutes=300)
    with pytest.raises(bookings.BookingError, match="24 hours"):
        bookings.booking_hold(
            app=app, services=[long] * 5, starts_at=shanghai(2027, 3, 2, 0, 0), now=now
        )


def test_the_task_expires_run_out_holds(hold, now):
    from tapgo.bookings.tasks import expire_holds  # the task module, as the worker loads it

    booking = hold(10)
    assert expire_holds.enqueue().return_value == 0  # its five minutes run in 2027
    Booking.objects.filter(pk=booking.pk).update(
        hold_expires_at=django_now() - timedelta(seconds=1)
    )
    assert expire_holds.enqueue().return_value == 1
    booking.refresh_from_db()
    assert booking.status == BookingStatus.EXPIRED
