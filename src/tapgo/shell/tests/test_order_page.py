"""The customer's order page after paying (issue 12): the notification card arrives with the
payment on the live stream, without a reload; a dine-in order is brought to the table and a
pickup order is collected at the counter, on the page and in the "ready" message."""

import json
import re

import pytest
from django.core.cache import cache
from django.urls import reverse

from tapgo.core.actors import SYSTEM
from tapgo.flows import orders as order_flows
from tapgo.messaging.models import Message
from tapgo.messaging.services.inbox import message_text
from tapgo.miniapps.models import EntryCode
from tapgo.ordering.models import Order, OrderStatus
from tapgo.shell.tests.test_flow import deliver_sandbox_webhooks


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()


def checkout(client, app, product, fulfilment: str, language: str = "en") -> Order:
    client.cookies["django_language"] = language
    code = EntryCode.objects.get(app=app, kind="table", table_label="2")
    client.get(reverse("shell:scan", args=[code.code]))
    client.post(reverse("shell:cart_add", args=[app.slug]), {"item": product.public_id})
    client.post(
        reverse("shell:checkout", args=[app.slug]),
        {
            "checkout_key": f"k{Order.objects.count()}",
            "fulfilment": fulfilment,
            "pickup_name": "Ann",
        },
    )
    return Order.objects.order_by("-id").first()


def pay(client, order) -> None:
    response = client.post(reverse("shell:order_pay", args=[order.app.slug, order.public_id]))
    client.post(response.url, {"decision": "approve"})
    deliver_sandbox_webhooks(client)


def page(client, order) -> str:
    return client.get(
        reverse("shell:order", args=[order.app.slug, order.public_id])
    ).content.decode()


def stream_events(client, order, after: int) -> list[dict]:
    response = client.get(
        reverse("shell:order_events", args=[order.app.slug, order.public_id]),
        headers={"Last-Event-ID": str(after)},
    )
    body = b"".join(response.streaming_content).decode()
    return [json.loads(data) for data in re.findall(r"^data: (.*)$", body, re.M)]


def last_event(html: str) -> int:
    return int(re.search(r'data-live="[^"]*\?after=(\d+)"', html)[1])


def test_the_notification_card_arrives_with_the_payment_without_a_reload(
    client, app, product, settings
):
    settings.LIVE_STREAM_SECONDS = 0.3
    settings.LIVE_POLL_SECONDS = 0.05
    order = checkout(client, app, product, "dine_in")
    html = page(client, order)
    assert 'data-testid="notify-card"' not in html  # nothing to tell about an unpaid order
    assert '<div id="order-notify"></div>' in html and "shell/notify.js" in html
    seen = last_event(html)
    pay(client, order)
    events = stream_events(client, order, seen)
    assert events[-1]["status"] == "paid"
    card = events[-1]["notify"]
    assert (
        'data-testid="notify-card"' in card and "We&#x27;ll tell you when it&#x27;s ready." in card
    )
    assert "notify.js" not in card  # the page has it already
    assert 'data-testid="notify-card"' in page(client, order)  # as a reload shows it
    seen = last_event(page(client, order))
    order.refresh_from_db()
    order_flows.order_accept(actor=SYSTEM, order=order)
    order_flows.order_mark_ready(actor=SYSTEM, order=order)
    events = stream_events(client, order, seen)
    assert events[-1]["status"] == "ready" and events[-1]["notify"] == ""  # nothing left to ask


@pytest.mark.parametrize(
    ("fulfilment", "language", "on_page", "title", "body"),
    [
        (
            "dine_in",
            "en",
            "Your order is ready. We'll bring it to your table.",
            "Your order is ready",
            "Order {number} is ready: Test Café is bringing it to table 2.",
        ),
        (
            "pickup",
            "en",
            "Your order is ready. Please collect it at the counter.",
            "Your order is ready",
            "Order {number} is ready for pickup at Test Café.",
        ),
        (
            "dine_in",
            "zh-hans",
            "你的餐品已备好，我们马上送到你的餐桌。",
            "您的订单已做好",
            "Test Café 的订单 {number} 已做好，马上为您送到 2 号桌。",
        ),
        (
            "pickup",
            "zh-hans",
            "你的餐品已备好，请到柜台取餐。",
            "您的订单已做好",
            "Test Café 的订单 {number} 已做好，请前往取餐。",
        ),
    ],
)
def test_ready_says_where_the_order_goes(
    client, app, product, django_capture_on_commit_callbacks, fulfilment, language, on_page, title,
    body,
):  # fmt: skip
    order = checkout(client, app, product, fulfilment, language)
    pay(client, order)
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID and order.language == language
    order_flows.order_accept(actor=SYSTEM, order=order)
    with django_capture_on_commit_callbacks(execute=True):
        order_flows.order_mark_ready(actor=SYSTEM, order=order)
    assert on_page in page(client, order)
    message = Message.objects.get(customer_id=order.customer_id)
    assert message_text(message, order.language) == (title, body.format(number=order.number))
