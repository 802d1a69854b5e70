"""Bookings: a merchant's bookable services, the people and resources (a chair, a room) that
perform them with their weekly hours, days of other hours and time off, each mini app's
booking policy, and the bookings themselves: held for a few minutes, confirmed, moved,
cancelled, completed or missed.

No double booking is decided by the database on SQLite and PostgreSQL alike: a booking takes
one row per five-minute cell it covers (with its buffers) under a unique (resource, cell)
constraint, in its own transaction (docs/decisions/0019-bookings.md). The free-slot engine
(`services/slots.py`) reads a day in a fixed number of queries, on the store's wall clock.

What a deposit payment, a refund, a reminder or the console's calendar does with a booking is
a flow's or an interface's call (flows/, console/, shell/), never this domain reaching into
payments or messaging."""
