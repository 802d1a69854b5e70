"""Background work for bookings: holds whose five minutes ran out expire, freeing their time.

A booking of the same time expires a run-out hold itself (services/cells.py), so the sweep
only tidies; the task lets the worker's sweep (cli.py) or a deployment schedule it."""

from django.tasks import task

from tapgo.bookings.services.holding import bookings_expire_due


@task()
def expire_holds() -> int:
    return bookings_expire_due()
