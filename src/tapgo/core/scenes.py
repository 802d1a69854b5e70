"""How a customer came in. Every visit records one; analytics and attribution read them."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Scene(models.TextChoices):
    SCAN = "scan", _("Scanned a code")
    SHARE = "share", _("Shared link")
    SEARCH = "search", _("Search")
    NEARBY = "nearby", _("Nearby")
    RECENT = "recent", _("Recently used")
    ACCOUNT = "account", _("Official account")
    NOTIFICATION = "notification", _("Notification")
    APP = "app", _("Another mini app")
    DIRECT = "direct", _("Direct")
