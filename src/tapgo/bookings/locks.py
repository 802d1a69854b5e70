"""Row locks of the bookings domain (docs/architecture.md, "Lock order"): a booking's row, so
its transitions (confirmed by a payment, moved, cancelled by staff at the same moment) queue
one behind the other. What decides a slot is never a lock: the occupancy cells' unique
constraint does, and a per-day count is one conditional UPDATE."""

from tapgo.bookings.models import Booking


def lock_booking(booking_id: int) -> Booking:
    """Lock one booking for this transaction and return it as it now is."""
    return Booking.objects.select_for_update().get(pk=booking_id)
