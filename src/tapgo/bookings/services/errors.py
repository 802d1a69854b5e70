"""The bookings domain's error: its message is for the customer or staff, and nothing was
changed when it is raised."""


class BookingError(ValueError):
    pass
