"""The bookings domain's services, by sub-domain; the public names are all here.

- setup.py: what a merchant sets up: services and categories, resources and the services
  they perform, weekly hours, a day's other hours, time off, each app's policy;
- slots.py: the free-slot engine (a day's start times on the store's wall clock);
- cells.py: the occupancy cells and day counts that decide a booking in the database;
- holding.py: a slot held, confirmed, and run-out holds expired;
- changes.py: a booking moved, cancelled, marked arrived, completed or a no-show;
- selectors.py: bookings found for a customer, a merchant, a calendar day.

What a deposit, a refund, a reminder does with a booking is the flows'.
"""

from tapgo.bookings.services.cells import verify_occupancy
from tapgo.bookings.services.changes import (
    Cancellation,
    booking_cancel,
    booking_mark_arrived,
    booking_mark_completed,
    booking_mark_no_show,
    booking_move,
    can_reschedule,
    cancel_is_late,
    deposit_kept,
)
from tapgo.bookings.services.errors import BookingError
from tapgo.bookings.services.holding import booking_confirm, booking_hold, bookings_expire_due
from tapgo.bookings.services.selectors import (
    booking_of_customer,
    booking_of_merchant,
    bookings_of_customer,
    bookings_of_day,
)
from tapgo.bookings.services.setup import (
    ServiceTerms,
    category_create,
    day_hours_set,
    policy_of,
    policy_update,
    resource_create,
    resource_of,
    resource_set_active,
    resource_set_services,
    service_create,
    service_of,
    service_update,
    time_off_add,
    time_off_remove,
    weekly_hours_set,
)
from tapgo.bookings.services.slots import Visit, day_bounds, slots

__all__ = [
    "BookingError",
    "Cancellation",
    "ServiceTerms",
    "Visit",
    "booking_cancel",
    "booking_confirm",
    "booking_hold",
    "booking_mark_arrived",
    "booking_mark_completed",
    "booking_mark_no_show",
    "booking_move",
    "booking_of_customer",
    "booking_of_merchant",
    "bookings_expire_due",
    "bookings_of_customer",
    "bookings_of_day",
    "can_reschedule",
    "cancel_is_late",
    "category_create",
    "day_bounds",
    "day_hours_set",
    "deposit_kept",
    "policy_of",
    "policy_update",
    "resource_create",
    "resource_of",
    "resource_set_active",
    "resource_set_services",
    "service_create",
    "service_of",
    "service_update",
    "slots",
    "time_off_add",
    "time_off_remove",
    "verify_occupancy",
    "weekly_hours_set",
]
