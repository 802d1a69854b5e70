"""The shell's top bar link to the inbox, with the unread count (shell/views/notifications.py)."""

from django import template
from django.utils import translation
from django.utils.safestring import SafeString

from tapgo.shell import page
from tapgo.shell.views.notifications import unread_for

register = template.Library()


@register.simple_tag(takes_context=True)
def inbox_link(context):
    """{% inbox_link %}: the count a view put in the context as `unread_count`, else one
    indexed COUNT for this request's customer (none for a visitor without one)."""
    count = context.get("unread_count")
    if count is None:
        count = unread_for(context.get("request"))
    return SafeString(page.inbox_link(translation.get_language(), count))
