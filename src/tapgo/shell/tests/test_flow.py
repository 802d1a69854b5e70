"""The customer's flow through the shell, with Django's test client."""

import re

import pytest
from django.core.cache import cache
from django.urls import reverse

from tapgo.miniapps.models import EntryCode, Visit
from tapgo.ordering.models import CartLine, Order, OrderStatus
from tapgo.payments.models import IntentStatus, PaymentIntent, Purpose, SandboxOutbox
from tapgo.payments.providers import sandbox


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()


def table_code(app, label="1"):
    return EntryCode.objects.get(app=app, kind="table", table_label=label)


def deliver_sandbox_webhooks(client):
    """Play the sandbox provider: POST each queued webhook, signed, to the endpoint."""
    url = reverse("payments:webhook", args=["sandbox"])
    for item in SandboxOutbox.objects.filter(delivered_at__isnull=True):
        body = item.body.encode()
        response = client.post(
            url,
            data=body,
            content_type="application/json",
            headers={sandbox.HEADER: sandbox.sign(body)},
        )
        assert response.status_code == 200, response.content


def order_and_pay(client, app, product, *, approve=True):
    client.get(reverse("shell:scan", args=[table_code(app).code]))
    client.post(reverse("shell:cart_add", args=[app.slug]), {"item": product.public_id})
    page = client.get(reverse("shell:cart", args=[app.slug])).content.decode()
    key = re.search(r'name="checkout_key" value="([^"]+)"', page)[1]
    response = client.post(
        reverse("shell:checkout", args=[app.slug]),
        {"checkout_key": key, "fulfilment": "dine_in"},
    )
    order = Order.objects.get()
    assert response.url == reverse("shell:order_pay", args=[app.slug, order.public_id])
    response = client.post(response.url)
    intent = PaymentIntent.objects.get(purpose=Purpose.ORDER, purpose_id=order.pk)
    assert response.url == reverse("payments:sandbox_page", args=[intent.public_id])
    client.post(response.url, {"decision": "approve" if approve else "decline"})
    return order, intent


def test_scan_renders_the_app_with_the_table_and_records_the_visit(client, app, product):
    response = client.get(reverse("shell:scan", args=[table_code(app, "2").code]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Latte" in html and "Table 2" in html
    visit = Visit.objects.get()
    assert (visit.scene, visit.table_label) == ("scan", "2")
    assert "tg_guest" in response.cookies


def test_unknown_and_disabled_codes_get_a_friendly_page(client, app):
    response = client.get(reverse("shell:scan", args=["nope"]))
    assert response.status_code == 404 and b"not active" in response.content
    assert not Visit.objects.exists()
    # A disabled code of a live app: a friendly page leading to the app, the scan recorded
    # as such (more in shell/tests/test_codes_scan.py).
    entry = table_code(app)
    entry.enabled = False
    entry.save()
    response = client.get(reverse("shell:scan", args=[entry.code]))
    assert response.status_code == 200
    assert reverse("shell:app", args=[app.slug]).encode() in response.content
    assert Visit.objects.get().code_state == "disabled"


def test_the_whole_order_is_paid_only_by_the_webhook(client, app, product):
    order, intent = order_and_pay(client, app, product)
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING_PAYMENT  # the page's decision alone is not enough
    page = client.get(reverse("shell:order", args=[app.slug, order.public_id]))
    assert b"Confirming your payment" in page.content
    deliver_sandbox_webhooks(client)
    order.refresh_from_db()
    intent.refresh_from_db()
    assert order.status == OrderStatus.PAID and intent.status == IntentStatus.SUCCEEDED
    assert order.number == "A001" and order.table_label == "1" and order.total == 2600
    page = client.get(reverse("shell:order", args=[app.slug, order.public_id])).content.decode()
    assert 'data-status="paid"' in page
    mine = client.get(reverse("shell:my_orders")).content.decode()
    assert order.number in mine


def test_declined_payment_leaves_the_order_payable(client, app, product):
    order, intent = order_and_pay(client, app, product, approve=False)
    deliver_sandbox_webhooks(client)
    intent.refresh_from_db()
    assert intent.status == IntentStatus.FAILED
    page = client.get(reverse("shell:order", args=[app.slug, order.public_id])).content.decode()
    assert "declined" in page and 'data-testid="pay"' in page
    # Paying again makes a new attempt.
    client.post(reverse("shell:order_pay", args=[app.slug, order.public_id]))
    assert PaymentIntent.objects.filter(purpose=Purpose.ORDER, purpose_id=order.pk).count() == 2


def test_refreshing_the_pay_step_reuses_the_intent(client, app, product):
    client.get(reverse("shell:scan", args=[table_code(app).code]))
    client.post(reverse("shell:cart_add", args=[app.slug]), {"item": product.public_id})
    client.post(
        reverse("shell:checkout", args=[app.slug]),
        {"checkout_key": "k" * 20, "fulfilment": "dine_in"},
    )
    # A double-clicked "place order" sends the same key again: still one order.
    client.post(
        reverse("shell:checkout", args=[app.slug]),
        {"checkout_key": "k" * 20, "fulfilment": "dine_in"},
    )
    order = Order.objects.get()
    pay = reverse("shell:order_pay", args=[app.slug, order.public_id])
    first, second = client.post(pay), client.post(pay)
    assert first.url == second.url
    assert PaymentIntent.objects.count() == 1


def test_another_customer_cannot_see_an_order(client, app, product, django_user_model):
    order, _intent = order_and_pay(client, app, product)
    client.cookies.clear()
    assert client.get(reverse("shell:order", args=[app.slug, order.public_id])).status_code == 404
    assert (
        client.post(reverse("shell:order_pay", args=[app.slug, order.public_id])).status_code == 404
    )


def test_bad_cart_input_changes_nothing(client, app, product):
    client.get(reverse("shell:scan", args=[table_code(app).code]))
    add = reverse("shell:cart_add", args=[app.slug])
    for data in (
        {"item": product.public_id, "quantity": "0"},
        {"item": product.public_id, "quantity": "10000"},
        {"item": product.public_id, "quantity": "lots"},
        {"item": "doesnotexist"},
        {},
    ):
        response = client.post(add, data, follow=True)
        assert response.status_code == 200
    assert b"Added to your cart" not in response.content
    from tapgo.ordering.models import CartLine

    assert not CartLine.objects.exists()
    update = reverse("shell:cart_update", args=[app.slug])
    assert client.post(update, {"line": "x", "quantity": "y"}).status_code == 302
    checkout = reverse("shell:checkout", args=[app.slug])
    response = client.post(checkout, {"checkout_key": "a", "fulfilment": "dine_in"}, follow=True)
    assert b"Your cart is empty" in response.content
    assert not Order.objects.exists()


def test_paused_ordering_shows_the_reason_and_refuses(client, app, product):
    from tapgo.merchants.services import ordering_pause

    client.get(reverse("shell:scan", args=[table_code(app).code]))
    client.post(reverse("shell:cart_add", args=[app.slug]), {"item": product.public_id})
    ordering_pause(merchant=app.merchant, paused=True, reason="Kitchen is full, back at 3pm")
    page = client.get(reverse("shell:cart", args=[app.slug]))
    assert b"Kitchen is full" in page.content
    # Adding is refused too, with the reason, and changes nothing.
    added = client.post(
        reverse("shell:cart_add", args=[app.slug]), {"item": product.public_id}, follow=True
    )
    assert b"Kitchen is full" in added.content
    assert CartLine.objects.get().quantity == 1
    response = client.post(
        reverse("shell:checkout", args=[app.slug]),
        {"checkout_key": "x" * 10, "fulfilment": "dine_in"},
        follow=True,
    )
    assert b"Kitchen is full" in response.content
    assert not Order.objects.exists()


def test_unpublished_app_is_not_found(client, app):
    from tapgo.flows.listings import app_set_published

    app_set_published(app=app, published=False)
    assert client.get(reverse("shell:app", args=[app.slug])).status_code == 404
    assert client.get(reverse("shell:scan", args=[table_code(app).code])).status_code == 404


def test_recently_used_lists_apps_most_recent_first(client, app, other_merchant):
    from tapgo.miniapps.models import MiniApp

    bakery = MiniApp.objects.get(slug="bakery")
    client.get(reverse("shell:app", args=[app.slug]))
    client.get(reverse("shell:app", args=[bakery.slug]) + "?scene=share")
    home = client.get(reverse("shell:home")).content.decode()
    assert home.index("Bakery") < home.index("Test Café")
    assert list(Visit.objects.order_by("id").values_list("scene", flat=True)) == ["direct", "share"]


def test_moving_inside_the_app_records_no_new_visit(client, app):
    url = reverse("shell:app", args=[app.slug])
    client.get(url)
    client.get(url, headers={"Referer": "http://testserver" + url})
    assert Visit.objects.count() == 1


def test_order_events_stream_the_new_status(client, app, product, settings):
    settings.LIVE_STREAM_SECONDS = 0.3
    settings.LIVE_POLL_SECONDS = 0.05
    order, _intent = order_and_pay(client, app, product)
    deliver_sandbox_webhooks(client)
    response = client.get(reverse("shell:order_events", args=[app.slug, order.public_id]))
    assert response["Content-Type"] == "text/event-stream"
    body = b"".join(response.streaming_content).decode()
    assert "event: status" in body and '"status": "paid"' in body
    last = int(re.findall(r"^id: (\d+)$", body, re.M)[-1])
    # Reconnecting with Last-Event-ID gets nothing twice.
    again = client.get(
        reverse("shell:order_events", args=[app.slug, order.public_id]),
        headers={"Last-Event-ID": str(last)},
    )
    assert "event: status" not in b"".join(again.streaming_content).decode()


def test_sign_in_moves_the_guest_orders_to_the_account(client, app, product, mailoutbox):
    order, _intent = order_and_pay(client, app, product)
    signin = reverse("shell:signin")
    page = client.post(signin, {"step": "email", "email": "Ann@Example.com"}).content.decode()
    token = re.search(r'name="token" value="([^"]+)"', page)[1]
    code = re.search(r"\b(\d{6})\b", mailoutbox[-1].body)[1]
    wrong = client.post(
        signin, {"step": "code", "token": token, "code": "000000" if code != "000000" else "111111"}
    )
    assert b"not right" in wrong.content
    client.post(signin, {"step": "code", "token": token, "code": code})
    # A new device: sign in again and find the order.
    client.cookies.clear()
    page = client.post(signin, {"step": "email", "email": "ann@example.com"}).content.decode()
    token = re.search(r'name="token" value="([^"]+)"', page)[1]
    code = re.search(r"\b(\d{6})\b", mailoutbox[-1].body)[1]
    client.post(signin, {"step": "code", "token": token, "code": code})
    assert order.number in client.get(reverse("shell:my_orders")).content.decode()


def test_menu_page_and_cart_do_not_grow_queries_with_the_menu(
    client, app, merchant, category, django_assert_max_num_queries
):
    from tapgo.catalog.services import VariantInput
    from tapgo.flows.listings import product_create

    for n in range(12):
        product_create(
            merchant=merchant,
            category=category,
            name=f"Item {n}",
            price=1000 + n,
            variants=[VariantInput("S", 1000), VariantInput("L", 1200)] if n % 2 else None,
        )
    url = reverse("shell:scan", args=[table_code(app).code])
    client.get(url)  # first visit creates the guest
    cache.clear()
    with django_assert_max_num_queries(12):
        assert client.get(url).status_code == 200
    from tapgo.catalog.models import Product

    for product in Product.objects.filter(merchant=merchant)[:12]:
        variant = product.variants.first()
        client.post(
            reverse("shell:cart_add", args=[app.slug]),
            {"item": product.public_id, "variant": variant.public_id if variant else ""},
        )
    with django_assert_max_num_queries(10):
        page = client.get(reverse("shell:cart", args=[app.slug]))
    assert page.content.decode().count('data-testid="cart-line"') == 12
    with django_assert_max_num_queries(6):
        client.get(
            reverse("shell:app", args=[app.slug]), headers={"Referer": "http://testserver/m/"}
        )


@pytest.mark.parametrize("next_url", ["x", "board", "//evil.example/", "https://evil.example/"])
def test_a_bad_next_falls_back_to_the_menu(client, app, product, next_url):
    client.get(reverse("shell:scan", args=[table_code(app).code]))
    response = client.post(
        reverse("shell:cart_add", args=[app.slug]), {"item": product.public_id, "next": next_url}
    )
    assert response.status_code == 302
    assert response.url.startswith(reverse("shell:app", args=[app.slug]))


def test_text_with_a_nul_is_refused_and_changes_nothing(client, app, product):
    client.get(reverse("shell:scan", args=[table_code(app).code]))
    client.post(reverse("shell:cart_add", args=[app.slug]), {"item": product.public_id})
    response = client.post(reverse("shell:cart_update", args=[app.slug]), {"note": "a\x00b"})
    assert response.status_code == 302
    checkout = reverse("shell:checkout", args=[app.slug])
    for data in (
        {"checkout_key": "k\x00", "fulfilment": "pickup", "pickup_name": "Ann"},
        {"checkout_key": "k" * 10, "fulfilment": "pickup", "pickup_name": "A\x00"},
        {"checkout_key": "k" * 11, "fulfilment": "dine_in", "note": "\x00"},
    ):
        assert client.post(checkout, data).status_code == 302
    assert not Order.objects.exists()
    assert client.get("/s/a%00b").status_code == 404
