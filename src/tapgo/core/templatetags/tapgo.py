from django import template
from django.conf import settings
from django.utils.safestring import mark_safe

from tapgo.core import translations
from tapgo.core.csp import inline_style
from tapgo.core.money import format_money
from tapgo.core.text import format_distance

register = template.Library()


@register.filter
def money(amount, currency):
    """{{ product.price|money:merchant.currency }} → ¥26.00 / CN¥26.00 by language."""
    if amount is None or amount == "":
        return ""
    return format_money(int(amount), currency)


@register.filter
def distance(metres):
    """{{ zone.radius_m|distance }} → 800 m / 2.5 km."""
    if metres is None or metres == "":
        return ""
    return format_distance(float(metres))


@register.filter
def media(name):
    """URL of an uploaded file by its storage name."""
    return settings.MEDIA_URL + name if name else ""


@register.simple_tag
def inline_css(path):
    """A stylesheet inlined in <style>; its hash is in the CSP (see tapgo.core.csp)."""
    return mark_safe("<style>" + inline_style(path) + "</style>")  # noqa: S308 (our own file)


@register.filter
def tr(obj, field):
    """{{ product|tr:"name" }}: the merchant's text in the customer's language, else in the
    merchant's default language (core/translations.py)."""
    if obj is None or obj == "":
        return ""
    return translations.of(obj, field)
