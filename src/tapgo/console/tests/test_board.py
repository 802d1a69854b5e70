import json
import secrets

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tapgo.console.tests.conftest import paid_order
from tapgo.core.actors import SYSTEM
from tapgo.flows import orders as order_flows
from tapgo.identity.services import customer_create_guest
from tapgo.merchants.models import Merchant
from tapgo.ordering import services as ordering


def _board(merchant):
    return reverse("console:board", args=[merchant.public_id])


def _act(client, merchant, order, action, **data):
    url = reverse("console:order_action", args=[merchant.public_id, order.public_id, action])
    return client.post(url, data, follow=True)


def test_board_shows_active_orders_as_cards(owner_client, merchant, app, product, sized_product):
    dine_in = paid_order(app, product, table="2", quantity=2, note="No sugar")
    pickup = paid_order(app, product, pickup_name="Mei")
    unpaid_customer = customer_create_guest()
    ordering.cart_add(customer=unpaid_customer, app=app, product_public_id=product.public_id)
    ordering.cart_set_table(customer=unpaid_customer, app=app, table_label="3")
    unpaid = ordering.order_place(
        customer=unpaid_customer, app=app, checkout_key="k", fulfilment="dine_in"
    )
    html = owner_client.get(_board(merchant)).content.decode()
    assert f'id="order-{dine_in.public_id}"' in html
    assert f'id="order-{pickup.public_id}"' in html
    assert f'id="order-{unpaid.public_id}"' not in html
    assert dine_in.number in html and "Table 2" in html and "Mei" in html
    assert "2 ×</span> Latte" in html
    assert "No sugar" in html
    assert "52.00" in html  # 2 × 26.00
    assert "Accept" in html and "Reject" in html
    assert 'style="' not in html and "<script>" not in html
    assert "console/console.js" in html


def test_buttons_move_an_order_through_its_states(owner_client, merchant, app, product):
    order = paid_order(app, product)
    _act(owner_client, merchant, order, "accept")
    order.refresh_from_db()
    assert order.status == "accepted"
    assert "Ready" in owner_client.get(_board(merchant)).content.decode()
    _act(owner_client, merchant, order, "ready")
    order.refresh_from_db()
    assert order.status == "ready"
    response = _act(owner_client, merchant, order, "complete")
    order.refresh_from_db()
    assert order.status == "completed"
    assert f'id="order-{order.public_id}"' not in response.content.decode()


def test_reject_needs_a_reason_and_gives_stock_back(owner_client, merchant, app, product):
    order = paid_order(app, product, quantity=3)
    product.refresh_from_db()
    assert product.stock == 17
    response = _act(owner_client, merchant, order, "reject", reason="  ")
    assert "Give the customer a reason" in response.content.decode()
    order.refresh_from_db()
    assert order.status == "paid"
    _act(owner_client, merchant, order, "reject", reason="Out of milk")
    order.refresh_from_db()
    assert (order.status, order.reason) == ("rejected", "Out of milk")
    product.refresh_from_db()
    assert product.stock == 20


def test_cancel_with_a_reason(owner_client, merchant, app, product):
    order = paid_order(app, product)
    order_flows.order_accept(actor=SYSTEM, order=order)
    _act(owner_client, merchant, order, "cancel", reason="Machine broke")
    order.refresh_from_db()
    assert order.status == "cancelled"


def test_impossible_moves_are_messages_not_errors(owner_client, merchant, app, product):
    order = paid_order(app, product)
    response = _act(owner_client, merchant, order, "complete")
    assert response.status_code == 200
    assert "cannot become" in response.content.decode()
    order.refresh_from_db()
    assert order.status == "paid"
    url = reverse("console:order_action", args=[merchant.public_id, order.public_id, "fly"])
    assert owner_client.post(url).status_code == 404
    assert (
        owner_client.get(
            reverse("console:order_action", args=[merchant.public_id, order.public_id, "accept"])
        ).status_code
        == 405
    )


def test_buttons_answer_json_for_the_board_script(owner_client, merchant, app, product):
    order = paid_order(app, product)
    url = reverse("console:order_action", args=[merchant.public_id, order.public_id, "accept"])
    response = owner_client.post(url, HTTP_ACCEPT="application/json")
    body = response.json()
    assert body["ok"] and body["status"] == "accepted"
    assert f'id="order-{order.public_id}"' in body["html"]
    again = owner_client.post(url, HTTP_ACCEPT="application/json")
    assert again.status_code == 409
    assert "cannot become" in again.json()["error"]
    complete = reverse("console:order_action", args=[merchant.public_id, order.public_id, "ready"])
    owner_client.post(complete, HTTP_ACCEPT="application/json")
    done = reverse("console:order_action", args=[merchant.public_id, order.public_id, "complete"])
    assert owner_client.post(done, HTTP_ACCEPT="application/json").json()["html"] == ""


def test_board_has_no_n_plus_one(
    owner_client, merchant, app, product, django_assert_max_num_queries
):
    paid_order(app, product)
    with CaptureQueriesContext(connection) as one:
        assert owner_client.get(_board(merchant)).status_code == 200
    for n in range(9):
        paid_order(app, product, table=str(n % 3 + 1))
    with django_assert_max_num_queries(len(one)):
        html = owner_client.get(_board(merchant)).content.decode()
    assert html.count('class="card order') == 10
    assert len(one) <= 10


def test_board_opens_the_stream_after_the_last_event_it_rendered(
    owner_client, merchant, app, product
):
    paid_order(app, product)
    last = ordering.last_event_id(merchant=merchant)
    assert last > 0
    html = owner_client.get(_board(merchant)).content.decode()
    events = reverse("console:board_events", args=[merchant.public_id])
    assert f'data-events="{events}?after={last}"' in html


def _read_stream(response) -> list[dict]:
    body = b"".join(response.streaming_content).decode()
    frames = []
    for block in body.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if "event" in fields:
            frames.append({"id": int(fields["id"]), "event": fields["event"],
                           "data": json.loads(fields["data"])})  # fmt: skip
    return frames


@pytest.mark.django_db(transaction=True)
def test_events_stream_a_newly_paid_order_with_its_card(
    client, owner, merchant, app, product, settings
):
    settings.LIVE_STREAM_SECONDS = 1
    settings.LIVE_POLL_SECONDS = 0.05
    client.force_login(owner)
    after = ordering.last_event_id(merchant=merchant)
    order = paid_order(app, product, table="3")
    url = reverse("console:board_events", args=[merchant.public_id])
    response = client.get(url, {"after": after})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/event-stream"
    frames = _read_stream(response)
    assert [f["data"]["event"] for f in frames] == ["pending_payment", "paid"]
    paid = frames[-1]
    assert paid["event"] == "order"
    assert paid["data"]["order"] == order.public_id
    assert paid["data"]["status"] == "paid"
    assert f'id="order-{order.public_id}"' in paid["data"]["html"]
    assert "Table 3" in paid["data"]["html"]
    # reconnecting with Last-Event-ID resumes after it: nothing twice
    order_flows.order_accept(actor=SYSTEM, order=order)
    again = _read_stream(client.get(url, {"after": after}, HTTP_LAST_EVENT_ID=str(paid["id"])))
    assert [(f["data"]["event"], f["data"]["status"]) for f in again] == [("accepted", "accepted")]
    # another merchant's events never show
    assert all(f["data"]["order"] == order.public_id for f in frames + again)


def test_events_of_another_merchant_are_404(owner_client, other_merchant):
    url = reverse("console:board_events", args=[other_merchant.public_id])
    assert owner_client.get(url).status_code == 404


def test_pause_ordering_with_a_reason(owner_client, merchant, app, product):
    customer = customer_create_guest()
    ordering.cart_add(customer=customer, app=app, product_public_id=product.public_id)
    url = reverse("console:board_pause", args=[merchant.public_id])
    owner_client.post(url, {"paused": "on", "reason": "Back at 5pm"})
    merchant = Merchant.objects.get(pk=merchant.pk)
    assert merchant.ordering_paused and merchant.pause_reason == "Back at 5pm"
    html = owner_client.get(_board(merchant)).content.decode()
    assert "Resume ordering" in html and "Back at 5pm" in html
    app.merchant.refresh_from_db()
    with pytest.raises(ordering.OrderingError, match="Back at 5pm"):  # nor adding to a cart
        ordering.cart_add(customer=customer, app=app, product_public_id=product.public_id)
    with pytest.raises(ordering.OrderingError, match="Back at 5pm"):
        ordering.order_place(
            customer=customer,
            app=app,
            checkout_key=secrets.token_hex(4),
            fulfilment="pickup",
            pickup_name="A",
        )
    too_long = owner_client.post(url, {"paused": "on", "reason": "x" * 300}, follow=True)
    assert "at most 200" in too_long.content.decode()
    owner_client.post(url, {})
    merchant.refresh_from_db()
    assert not merchant.ordering_paused and merchant.pause_reason == ""


def test_order_detail_shows_lines_status_and_history(owner_client, merchant, app, product):
    order = paid_order(app, product, quantity=2, note="Extra hot")
    order_flows.order_accept(actor=SYSTEM, order=order)
    url = reverse("console:order", args=[merchant.public_id, order.public_id])
    html = owner_client.get(url).content.decode()
    assert order.number in html and "Latte" in html and "Extra hot" in html
    assert "52.00" in html
    for label in ("Placed", "Paid", "Accepted"):
        assert label in html
    # a button on the detail page comes back to the detail page
    response = owner_client.post(
        reverse("console:order_action", args=[merchant.public_id, order.public_id, "ready"]),
        {"next": url},
    )
    assert response["Location"] == url
    evil = owner_client.post(
        reverse("console:order_action", args=[merchant.public_id, order.public_id, "complete"]),
        {"next": "https://evil.example/"},
    )
    assert evil["Location"] == _board(merchant)


def test_times_show_in_the_store_time_zone(owner_client, merchant, app, product):
    from django.utils import timezone

    order = paid_order(app, product)
    local = timezone.localtime(
        order.paid_at, timezone=__import__("zoneinfo").ZoneInfo("Asia/Shanghai")
    )
    html = owner_client.get(_board(merchant)).content.decode()
    assert local.strftime("%H:%M") in html


@pytest.mark.parametrize("next_url", ["board", "//evil.example/x"])
def test_an_order_action_with_a_bad_next_goes_to_the_board(
    owner_client, merchant, app, product, next_url
):
    order = paid_order(app, product)
    url = reverse("console:order_action", args=[merchant.public_id, order.public_id, "accept"])
    response = owner_client.post(url, {"next": next_url})
    assert response.status_code == 302
    assert response.url == reverse("console:board", args=[merchant.public_id])
    order.refresh_from_db()
    assert order.status == "accepted"
