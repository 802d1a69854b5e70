"""Sharing in templates (shell/views/sharing.py): rich previews for chat apps with
{% og_app app %}, {% og_product app product %} and {% og_article app article %}, and
{% share_endpoint app.slug path %}, where a page's share button goes."""

from django import template

from tapgo.shell import page
from tapgo.shell.views import sharing

register = template.Library()


@register.inclusion_tag("shell/_og.html")
def og_app(app):
    return {"og": sharing.og_for_app(app)}


@register.inclusion_tag("shell/_og.html")
def og_product(app, product):
    return {"og": sharing.og_for_product(app, product)}


@register.inclusion_tag("shell/_og.html")
def og_article(app, article):
    return {"og": sharing.og_for_article(app, article)}


@register.simple_tag
def share_endpoint(slug: str, path: str) -> str:
    """The share endpoint for the page at `path` (already escaped for an attribute)."""
    return page.share_endpoint(slug, path)
