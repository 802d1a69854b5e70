"""Small helpers over Django's tasks API shared by the domains' tasks.py."""

import logging
from datetime import datetime

log = logging.getLogger(__name__)


def enqueue_at(task, when: datetime, *args) -> bool:
    """Run task(*args) at `when`, if the backend can defer; False when it cannot.

    The immediate backend (tests) cannot: callers rely on a sweep or a later retry instead.
    """
    if not task.get_backend().supports_defer:
        return False
    try:
        task.using(run_after=when).enqueue(*args)
    except Exception:
        log.exception("could not schedule %s", task.name)
        return False
    return True
