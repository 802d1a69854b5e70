"""The attributes by which an app's page follows the app live (shell.js): where to ask, how
often, and whether ordering is paused as the page is rendered."""

from django import template
from django.conf import settings
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe

register = template.Library()


@register.simple_tag
def app_live_attrs(app, merchant) -> str:
    return format_html(
        ' data-live-state="{}" data-live-every="{}"{}',
        reverse("shell:app_live", args=[app.slug]),
        int(settings.SHELL_LIVE_STATE_SECONDS * 1000),
        mark_safe(" data-paused") if getattr(merchant, "ordering_paused", False) else "",  # noqa: S308
    )
