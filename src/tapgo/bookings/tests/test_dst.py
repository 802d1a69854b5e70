"""Slots on the store's wall clock around daylight-saving changes: America/New_York and
Europe/Berlin, clocks going forward and back, and Asia/Shanghai (no change).

A wall time that does not exist offers no slot; one that happens twice is its first
occurrence; a visit lasts its real duration; notice is counted in real time."""

from datetime import UTC, date, datetime, time, timedelta

import pytest

from tapgo.bookings import services as bookings
from tapgo.bookings.models import BookingStatus

pytestmark = pytest.mark.django_db

# (zone, the change day, the offset before and after it, hours)
CHANGES = {
    "new-york-forward": ("America/New_York", date(2027, 3, 14), -5, -4),
    "new-york-back": ("America/New_York", date(2027, 11, 7), -4, -5),
    "berlin-forward": ("Europe/Berlin", date(2027, 3, 28), 1, 2),
    "berlin-back": ("Europe/Berlin", date(2027, 10, 31), 2, 1),
}


FORWARD = [key for key, (_z, _d, before, after) in CHANGES.items() if after > before]


@pytest.fixture(params=list(CHANGES))
def change(request, zone, app, make_service, make_person):
    return _change(request.param, zone, app, make_service, make_person)


@pytest.fixture(params=FORWARD)
def forward_change(request, zone, app, make_service, make_person):
    """A change that skips an hour (clocks going forward)."""
    return _change(request.param, zone, app, make_service, make_person)


def _change(key, zone, app, make_service, make_person):
    name, day, before, after = CHANGES[key]
    at = zone(name)
    service = make_service(duration_minutes=60)
    person = make_person(services=[service], hours=[(time(0), time(6)), (time(9), time(18))])
    bookings.policy_update(app=app, min_notice_minutes=0, slot_step_minutes=30, max_days_ahead=60)
    return {
        "at": at,
        "day": day,
        "before": timedelta(hours=before),
        "after": timedelta(hours=after),
        "service": service,
        "person": person,
        "forward": after > before,
        "key": key,
    }


def _wall(slots):
    return [s.strftime("%H:%M") for s in slots]


def test_a_1300_start_on_the_change_day(change, app, customer):
    at, day, service = change["at"], change["day"], change["service"]
    week = day - timedelta(days=7)
    now = at(week.year, week.month, week.day, 9, 0)
    slots = bookings.slots(app=app, services=[service], day=day, now=now)
    one_pm = [s for s in slots if s.strftime("%H:%M") == "13:00"]
    assert len(one_pm) == 1 and one_pm[0].utcoffset() == change["after"]
    booking = bookings.booking_hold(
        app=app, services=[service], starts_at=one_pm[0], customer=customer, now=now
    )
    assert (
        booking.starts_at
        == datetime(day.year, day.month, day.day, 13, tzinfo=UTC) - change["after"]
    )
    assert booking.ends_at - booking.starts_at == timedelta(hours=1)
    assert booking.day == day


def test_a_slot_across_two_to_three(change, app, customer):
    at, day, service = change["at"], change["day"], change["service"]
    week = day - timedelta(days=7)
    now = at(week.year, week.month, week.day, 9, 0)
    slots = bookings.slots(app=app, services=[service], day=day, now=now)
    night = [s for s in slots if s.hour < 9]
    walls = _wall(night)
    assert len(walls) == len(set(walls)), "a wall time offered twice"
    assert [s.astimezone(UTC) for s in night] == sorted(s.astimezone(UTC) for s in night)
    # Every slot ends by 06:00 on the wall, an hour of real time after it starts.
    six = at(day.year, day.month, day.day, 6, 0)
    assert all(s + timedelta(hours=1) <= six for s in night)
    if change["forward"]:
        # The skipped hour offers nothing; 01:30 runs an hour into 03:30 of the new time.
        skipped = ["02:00", "02:30"] if change["key"].startswith("new-york") else ["02:00", "02:30"]
        assert not set(skipped) & set(walls)
        assert walls == [
            "00:00",
            "00:30",
            "01:00",
            "01:30",
            "03:00",
            "03:30",
            "04:00",
            "04:30",
            "05:00",
        ]
        across = night[walls.index("01:30")]
        booking = bookings.booking_hold(
            app=app, services=[service], starts_at=across, customer=customer, now=now
        )
        assert booking.ends_at.astimezone(across.tzinfo).strftime("%H:%M") == "03:30"
        # 03:00 on the wall is 30 minutes after 01:30's start in real time: taken now.
        after = _wall(bookings.slots(app=app, services=[service], day=day, now=now))
        assert "03:00" not in after and "03:30" in after
    else:
        # The repeated hour: its wall times are their first occurrence (summer time).
        repeated = "01:00" if change["key"].startswith("new-york") else "02:00"
        first = night[walls.index(repeated)]
        assert first.utcoffset() == change["before"]
        booking = bookings.booking_hold(
            app=app, services=[service], starts_at=first, customer=customer, now=now
        )
        # An hour of real time later the wall reads the same hour again (winter time).
        end = booking.ends_at.astimezone(first.tzinfo)
        assert end.strftime("%H:%M") == repeated and end.utcoffset() == change["after"]
        # The day has 25 hours: 06:00 is 7 real hours after midnight.
        midnight = at(day.year, day.month, day.day, 0, 0)
        assert six.astimezone(UTC) - midnight.astimezone(UTC) == timedelta(hours=7)


def test_hours_ending_in_the_skipped_hour_end_when_the_clocks_jump(forward_change, app):
    change = forward_change
    at, day, service, person = change["at"], change["day"], change["service"], change["person"]
    bookings.day_hours_set(resource=person, day=day, spans=[(time(0), time(2, 30))])
    week = day - timedelta(days=7)
    now = at(week.year, week.month, week.day, 9, 0)
    walls = _wall(bookings.slots(app=app, services=[service], day=day, now=now))
    # 02:30 does not exist: the span ends at the jump (03:00 of the new time), so 01:00
    # (ending at the jump) is the last start.
    assert walls == ["00:00", "00:30", "01:00"]


def test_the_minimum_notice_lands_on_the_change_day(change, app, customer):
    at, day, service = change["at"], change["day"], change["service"]
    bookings.policy_update(app=app, min_notice_minutes=6 * 60)
    eve = day - timedelta(days=1)
    now = at(eve.year, eve.month, eve.day, 22, 0)
    slots = bookings.slots(app=app, services=[service], day=day, now=now)
    # Six real hours after 22:00 the evening before: the wall reads 05:00 when the clocks
    # went forward in the night, 03:00 when they went back (never the naive 04:00).
    expected = "05:00" if change["forward"] else "03:00"
    assert _wall(slots)[0] == expected
    assert slots[0].astimezone(UTC) == now.astimezone(UTC) + timedelta(hours=6)
    # At hold time the notice is counted again: half an hour later the first is too soon.
    with pytest.raises(bookings.BookingError, match="too soon"):
        bookings.booking_hold(
            app=app,
            services=[service],
            starts_at=slots[0],
            customer=customer,
            now=now + timedelta(minutes=30),
        )
    held = bookings.booking_hold(
        app=app, services=[service], starts_at=slots[0], customer=customer, now=now
    )
    assert held.status == BookingStatus.HOLD


def test_shanghai_has_one_offset_all_year(zone, app, make_service, make_person, customer):
    at = zone("Asia/Shanghai")
    service = make_service(duration_minutes=60)
    make_person(services=[service])
    bookings.policy_update(app=app, min_notice_minutes=0, slot_step_minutes=60)
    for day in (date(2027, 3, 14), date(2027, 3, 28), date(2027, 10, 31), date(2027, 11, 7)):
        week = day - timedelta(days=7)
        now = at(week.year, week.month, week.day, 9, 0)
        slots = bookings.slots(app=app, services=[service], day=day, now=now)
        assert _wall(slots) == [f"{h:02d}:00" for h in range(9, 18)]
        assert {s.utcoffset() for s in slots} == {timedelta(hours=8)}
    booking = bookings.booking_hold(
        app=app, services=[service], starts_at=slots[4], customer=customer, now=now
    )
    assert booking.starts_at == datetime(2027, 11, 7, 5, 0, tzinfo=UTC)
