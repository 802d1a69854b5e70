"""Property-based: whatever the hours, the service and the bookings already made, in a zone
with clock changes or without, every slot the engine offers lies within the resource's hours
and overlaps no booking or time off with the buffers of both, and can be held.
Derandomized like the other property tests; to explore:

    TAPGO_PROPERTY_RANDOM=1 TAPGO_PROPERTY_EXAMPLES=300 uv run pytest -q -n0 \\
        src/tapgo/bookings/tests/test_properties.py --hypothesis-seed=$RANDOM
"""

import os
from datetime import UTC, date, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from tapgo.bookings import services as bookings
from tapgo.bookings.models import OCCUPYING, Booking, Resource, TimeOff
from tapgo.bookings.services.slots import wall_bound
from tapgo.core.actors import Actor, ActorKind
from tapgo.merchants.models import Store

pytestmark = pytest.mark.django_db

EXAMPLES = int(os.environ.get("TAPGO_PROPERTY_EXAMPLES", "25"))
STAFF = Actor(ActorKind.STAFF, None, "Desk")
ZONES = ["America/New_York", "Europe/Berlin", "Asia/Shanghai"]
DAYS = [
    date(2027, 3, 14),
    date(2027, 3, 28),
    date(2027, 10, 31),
    date(2027, 11, 7),
    date(2027, 6, 9),
]

grid = st.integers(min_value=0, max_value=24 * 12 - 1).map(lambda n: n * 5)  # minutes


@st.composite
def spans(draw):
    cuts = sorted(set(draw(st.lists(grid, min_size=2, max_size=6))))
    if len(cuts) % 2:
        cuts = cuts[:-1]
    return [
        (time(a // 60, a % 60), time(b // 60, b % 60))
        for a, b in zip(cuts[::2], cuts[1::2], strict=True)
    ]


@hypothesis_settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=not os.environ.get("TAPGO_PROPERTY_RANDOM"),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    zone_name=st.sampled_from(ZONES),
    day=st.sampled_from(DAYS),
    hours=spans(),
    duration=st.integers(min_value=1, max_value=24).map(lambda n: n * 5),
    before=st.integers(min_value=0, max_value=6).map(lambda n: n * 5),
    after=st.integers(min_value=0, max_value=6).map(lambda n: n * 5),
    step=st.sampled_from([5, 10, 15, 30, 60]),
    taken=st.lists(grid, max_size=6),
    off=st.lists(st.tuples(grid, st.integers(min_value=1, max_value=24)), max_size=2),
    pick=st.integers(min_value=0),
)
def test_every_slot_is_within_hours_free_and_holdable(
    merchant, app, zone_name, day, hours, duration, before, after, step, taken, off, pick
):
    with transaction.atomic():
        Store.objects.filter(merchant=merchant).update(time_zone=zone_name)
        tz = ZoneInfo(zone_name)
        service = bookings.service_create(
            merchant=merchant,
            terms=bookings.ServiceTerms(
                name="S",
                duration_minutes=duration,
                buffer_before_minutes=before,
                buffer_after_minutes=after,
            ),
        )
        person = bookings.resource_create(merchant=merchant, name="P", services=[service])
        bookings.weekly_hours_set(resource=person, weekday=day.weekday(), spans=hours)
        bookings.policy_update(
            app=app, min_notice_minutes=0, slot_step_minutes=step, max_days_ahead=366
        )
        now = wall_bound(day - timedelta(days=3), time(12), tz)
        for minutes in taken:  # staff bookings wherever they fit
            start = wall_bound(day, time(minutes // 60, minutes % 60), tz)
            try:
                bookings.booking_hold(
                    app=app,
                    services=[service],
                    resource=person,
                    starts_at=start,
                    actor=STAFF,
                    now=now,
                )
            except bookings.BookingError:
                pass
        for minutes, cells in off:
            start = wall_bound(day, time(minutes // 60, minutes % 60), tz)
            bookings.time_off_add(
                merchant=merchant,
                resource=person,
                starts_at=start,
                ends_at=start + timedelta(minutes=5 * cells),
            )

        slots = bookings.slots(app=app, services=[service], day=day, now=now)

        busy = [
            (b.occupied_from, b.occupied_until)
            for b in Booking.objects.filter(resource=person, status__in=OCCUPYING)
        ] + [(t.starts_at, t.ends_at) for t in TimeOff.objects.filter(resource=person)]
        windows = [(wall_bound(day, a, tz), wall_bound(day, b, tz)) for a, b in hours]
        length = timedelta(minutes=duration)
        for slot in slots:
            assert slot.tzinfo is not None and slot.astimezone(tz).date() == day
            assert any(a <= slot and slot + length <= b for a, b in windows), slot
            since = slot - timedelta(minutes=before)
            until = slot + length + timedelta(minutes=after)
            assert not any(b0 < until and since < b1 for b0, b1 in busy), slot
        walls = [s.strftime("%H:%M") for s in slots]
        assert len(walls) == len(set(walls))
        if slots:
            chosen = slots[pick % len(slots)]
            held = bookings.booking_hold(app=app, services=[service], starts_at=chosen, now=now)
            assert held.starts_at == chosen.astimezone(UTC)
            assert held.resource_id == person.pk
        assert bookings.verify_occupancy() == []
        transaction.set_rollback(True)
    assert not Resource.objects.exists()
