"""Background work for membership: points that are due expire; levels follow the window.

The worker's sweep runs both (cli.py); the tasks let a deployment schedule them on its own."""

from django.tasks import task

from tapgo.membership.services.levels import levels_sweep
from tapgo.membership.services.points import points_expire_due


@task()
def expire_points() -> int:
    return len(points_expire_due())


@task()
def recompute_levels() -> int:
    """Levels alone: flows.tasks.recompute_levels also issues the coupons of levels reached."""
    return levels_sweep()
