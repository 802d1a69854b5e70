"""The console's Sharing page: a merchant's top sharers and what their links brought.

A thin view like the rest of the console: it reads the period from the query string and asks
analytics.sharing.share_report, which aggregates in SQL (three queries whatever the number of
sharers). No customer's email, phone or id is shown: a sharer is an opaque label derived from
their link's token, and whether they are signed in.
"""

from datetime import timedelta

from django.contrib import messages
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from tapgo.analytics.sharing import share_report
from tapgo.console.views.base import merchant_view, render_console
from tapgo.miniapps.services import ATTRIBUTION_WINDOW

PERIODS = (7, 30, 90)  # days
DEFAULT_PERIOD = 30
TOP_SHARERS = 50


@merchant_view()
@require_GET
def sharing(request, merchant):
    asked = request.GET.get("days")
    days = DEFAULT_PERIOD
    if asked is not None:
        if asked in {str(p) for p in PERIODS}:
            days = int(asked)
        else:
            messages.error(
                request,
                _("Choose a period of %(periods)s days; showing the last %(days)d days.")
                % {"periods": ", ".join(str(p) for p in PERIODS), "days": DEFAULT_PERIOD},
            )
    report = share_report(
        merchant=merchant, since=timezone.now() - timedelta(days=days), limit=TOP_SHARERS
    )
    return render_console(
        request,
        "console/sharing.html",
        {
            "report": report,
            "days": days,
            "periods": PERIODS,
            "window": ATTRIBUTION_WINDOW.days,
        },
    )
