"""What the console's order templates ask the ordering domain: `order|actions` is
ordering.order_actions (the template never re-encodes the state machine)."""

from django import template

from tapgo.ordering import services as ordering

register = template.Library()


@register.filter
def actions(order) -> list:
    return ordering.order_actions(order)
