"""The customer's side of notifications in the shell: asking on the order page and on the
official account, /me/notifications, Web Push subscriptions, the inbox and its unread badge,
following a message's link, and the service worker."""

import json
import re
import time

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation
from tests.push_endpoint import Device

from tapgo.core.actors import SYSTEM
from tapgo.flows import orders as order_flows
from tapgo.identity.models import Customer
from tapgo.messaging import push
from tapgo.messaging import services as messaging
from tapgo.messaging.models import Consent, ConsentSubject, Message, PushSubscription, Template
from tapgo.miniapps.models import EntryCode, Visit
from tapgo.ordering.models import Order, OrderStatus
from tapgo.shell import front, page

CHROME_ANDROID = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Mobile Safari/537.36"
)


@pytest.fixture(autouse=True)
def _fresh_process_caches():
    page._unread.clear()
    front._headers.clear()
    front._app_states.clear()


def text(response) -> str:
    return response.content.decode()


def visit(client, app) -> Customer:
    """Open the app from a table's code; the browser gets a guest customer."""
    entry = EntryCode.objects.get(app=app, kind="table", table_label="1")
    assert client.get(reverse("shell:scan", args=[entry.code])).status_code == 200
    return Customer.objects.order_by("-id").first()


def place_order(client, app, product) -> Order:
    client.post(reverse("shell:cart_add", args=[app.slug]), {"item": product.public_id})
    client.post(
        reverse("shell:checkout", args=[app.slug]),
        {"checkout_key": f"key-{Order.objects.count()}", "fulfilment": "dine_in"},
    )
    return Order.objects.order_by("-id").first()


def paid_order(client, app, product) -> Order:
    visit(client, app)
    order = place_order(client, app, product)
    assert order_flows.order_mark_paid(order=order, amount=order.total, currency=order.currency)
    order.refresh_from_db()
    return order


def order_url(order) -> str:
    return reverse("shell:order", args=[order.app.slug, order.public_id])


def notify_url(order) -> str:
    return reverse("shell:order_notify", args=[order.app.slug, order.public_id])


def grant_of(order) -> Consent:
    return Consent.objects.get(kind=Consent.Kind.GRANT, subject=f"order:{order.public_id}")


def badge(html: str) -> int:
    return int(re.search(r'data-testid="inbox-badge" data-unread="(\d+)"', html)[1])


def send_article(customer, app, capture, title="Autumn menu", dedupe="a1") -> Message:
    """A new_article message to a follower, delivered (the task backend runs at once)."""
    with capture(execute=True):
        message = messaging.notify(
            customer=customer,
            app=app,
            key="new_article",
            values={"app": app.name, "title": title},
            link=f"/m/{app.slug}/a/",
            dedupe=dedupe,
        )
    message.refresh_from_db()
    assert message.delivered_at is not None
    return message


def follower(customer, app) -> Consent:
    return messaging.consent_give(customer=customer, app=app, key="new_article", standing=True)


# --- the order page asks ------------------------------------------------------------------


def test_a_paid_order_says_it_will_tell_and_offers_this_phone(client, app, product):
    order = paid_order(client, app, product)
    html = text(client.get(order_url(order)))
    assert (
        'data-testid="notify-covered"' in html
        and "We&#x27;ll tell you when it&#x27;s ready" in html
    )
    assert 'data-testid="notify-ask"' not in html  # paying granted the message already
    device = re.search(r"<form [^>]*data-notify-device[^>]*>", html)[0]
    assert "hidden" in device  # shown by notify.js only where push works
    key = re.search(r'data-push-key="([^"]+)"', html)[1]
    assert key == push.public_key()
    assert re.search(r'<script src="[^"]*/shell/notify[^"]*\.js" defer></script>', html)


def test_the_ask_button_shows_when_nothing_covers_the_order(client, app, product):
    order = paid_order(client, app, product)
    customer = order.customer
    assert messaging.consent_revoke(customer=customer, public_id=grant_of(order).public_id)
    html = text(client.get(order_url(order)))
    button = re.search(r'<button [^>]*data-testid="notify-ask"[^>]*>([^<]+)</button>', html)
    assert button[1] == "Tell me when my order is ready"
    assert f'action="{notify_url(order)}"' in html
    assert 'name="email"' not in html  # a guest has no address to email
    client.cookies["django_language"] = "zh-hans"
    html = text(client.get(order_url(order)))
    assert "订单做好时通知我" in html


@pytest.mark.parametrize("status", ["pending", "ready", "completed", "cancelled"])
def test_no_card_once_the_order_is_final_or_not_paid(client, app, product, status):
    if status == "pending":
        visit(client, app)
        order = place_order(client, app, product)
    else:
        order = paid_order(client, app, product)
        order_flows.order_accept(actor=SYSTEM, order=order)
        if status == "cancelled":
            order_flows.order_cancel(actor=SYSTEM, order=order, reason="Out of milk")
        else:
            order_flows.order_mark_ready(actor=SYSTEM, order=order)
            if status == "completed":
                order_flows.order_complete(actor=SYSTEM, order=order)
    order.refresh_from_db()
    assert order.status != OrderStatus.ACCEPTED
    html = text(client.get(order_url(order)))
    assert 'data-testid="notify-card"' not in html


def test_an_accepted_order_still_asks(client, app, product):
    order = paid_order(client, app, product)
    order_flows.order_accept(actor=SYSTEM, order=order)
    assert 'data-testid="notify-card"' in text(client.get(order_url(order)))


def test_no_card_when_the_app_does_not_send_it(client, app, product):
    order = paid_order(client, app, product)
    template = messaging.template_offered(app=app, key="order_ready_table")
    messaging.app_template_switch(app=app, template=template, on=False)
    assert 'data-testid="notify-card"' not in text(client.get(order_url(order)))
    # and the form's endpoint refuses with a message, not an error
    response = client.post(notify_url(order), follow=True)
    assert response.status_code == 200
    assert "This mini app does not send this notification." in text(response)


def test_asking_twice_is_one_consent_and_the_message_uses_it(
    client, app, product, django_capture_on_commit_callbacks
):
    order = paid_order(client, app, product)
    customer = order.customer
    messaging.consent_revoke(customer=customer, public_id=grant_of(order).public_id)
    for _ in range(2):
        response = client.post(notify_url(order), {"push": "", "email": "1"})
        assert response.status_code == 302 and response.url == order_url(order)
    asked = Consent.objects.get(customer=customer, template__key="order_ready_table")
    assert asked.kind == Consent.Kind.ONE_TIME and asked.subject == f"order:{order.public_id}"
    assert asked.email is False  # a guest's "email" means nothing
    html = text(client.get(order_url(order)))
    assert "We&#x27;ll tell you in your inbox when it&#x27;s ready." in html
    assert 'data-testid="notify-covered"' in html
    order_flows.order_accept(actor=SYSTEM, order=order)
    with django_capture_on_commit_callbacks(execute=True):
        order_flows.order_mark_ready(actor=SYSTEM, order=order)
    assert Message.objects.get(customer=customer).consent_id == asked.pk


def test_what_the_page_says_follows_what_the_browser_did(client, app, product):
    order = paid_order(client, app, product)
    messaging.consent_revoke(customer=order.customer, public_id=grant_of(order).public_id)
    html = text(client.post(notify_url(order), {"push": "denied"}, follow=True))
    assert "Notifications are blocked for this site in this browser" in html
    Consent.objects.filter(template__key="order_ready_table").delete()
    html = text(client.post(notify_url(order), {"push": "on"}, follow=True))
    assert "on this phone and in your inbox" in html


def test_a_signed_in_customer_may_add_email(client, app, product):
    order = paid_order(client, app, product)
    customer = order.customer
    Customer.objects.filter(pk=customer.pk).update(email="ann@example.com")
    messaging.consent_revoke(customer=customer, public_id=grant_of(order).public_id)
    html = text(client.get(order_url(order)))
    assert "Also by email to ann@example.com" in html and 'data-testid="notify-email"' in html
    html = text(client.post(notify_url(order), {"email": "1"}, follow=True))
    assert "And by email." in html
    assert Consent.objects.get(template__key="order_ready_table").email is True


def test_another_customers_order_or_app_is_404(client, app, product, other_merchant):
    order = paid_order(client, app, product)
    stranger = Client()
    visit(stranger, app)
    assert stranger.get(order_url(order)).status_code == 404
    assert stranger.post(notify_url(order)).status_code == 404
    assert (
        client.post(reverse("shell:order_notify", args=["bakery", order.public_id])).status_code
        == 404
    )
    assert (
        client.post(reverse("shell:order_notify", args=["nope", order.public_id])).status_code
        == 404
    )
    assert client.post(reverse("shell:order_notify", args=[app.slug, "x" * 16])).status_code == 404
    assert not Consent.objects.filter(template__key="order_ready_table").exists()


def test_asking_after_the_order_is_ready_changes_nothing(client, app, product):
    order = paid_order(client, app, product)
    order_flows.order_accept(actor=SYSTEM, order=order)
    order_flows.order_mark_ready(actor=SYSTEM, order=order)
    html = text(client.post(notify_url(order), follow=True))
    assert "past that point" in html
    assert not Consent.objects.filter(template__key="order_ready_table").exists()


# --- following an official account ----------------------------------------------------------


def test_follow_and_unfollow(client, app):
    url = reverse("shell:articles", args=[app.slug])
    html = text(client.get(url))
    assert 'data-testid="follow"' in html and "Follow: tell me about new articles" in html
    follow_url = reverse("shell:follow", args=[app.slug])
    for _ in range(2):
        assert client.post(follow_url, {"follow": "1"}).status_code == 302
    consent = Consent.objects.get(template__key="new_article")
    assert consent.kind == Consent.Kind.STANDING and consent.status == Consent.Status.ACTIVE
    html = text(client.get(url))
    assert "Following" in html and 'data-testid="unfollow"' in html
    assert 'data-testid="follow"' not in html
    client.post(follow_url, {"follow": "0"})
    consent.refresh_from_db()
    assert consent.status == Consent.Status.REVOKED
    assert 'data-testid="follow"' in text(client.get(url))


def test_no_follow_when_the_app_does_not_send_articles(client, app):
    template = messaging.template_offered(app=app, key="new_article")
    messaging.app_template_switch(app=app, template=template, on=False)
    html = text(client.get(reverse("shell:articles", args=[app.slug])))
    assert 'data-testid="follow"' not in html
    assert client.post(reverse("shell:follow", args=["nope"]), {"follow": "1"}).status_code == 404


# --- /me/notifications ------------------------------------------------------------------------


def test_notifications_lists_and_turns_off(client, app, product):
    order = paid_order(client, app, product)
    customer = order.customer
    follower(customer, app)
    html = text(client.get(reverse("shell:notifications")))
    assert html.count('data-testid="consent"') == 2
    assert "New article" in html and "Until you turn it off" in html
    assert "One message about an order you paid" in html and f"Order {order.number}" in html
    assert 'data-testid="consent-email"' not in html  # a guest has no address
    standing = Consent.objects.get(template__key="new_article")
    response = client.post(reverse("shell:consent_off", args=[standing.public_id]), follow=True)
    assert "Turned off." in text(response)
    assert text(response).count('data-testid="consent"') == 1
    with pytest.raises(messaging.NoConsent):
        messaging.notify(
            customer=customer,
            app=app,
            key="new_article",
            values={"app": app.name, "title": "Hi"},
            link=f"/m/{app.slug}/a/",
        )
    again = client.post(reverse("shell:consent_off", args=[standing.public_id]), follow=True)
    assert "That was turned off already." in text(again)
    assert client.post(reverse("shell:consent_off", args=["bad"])).status_code == 404


@pytest.mark.parametrize("end", ["complete", "cancel"])
def test_an_order_that_is_over_leaves_the_list(client, app, product, end):
    order = paid_order(client, app, product)
    messaging.consent_give(
        customer=order.customer,
        app=app,
        key="order_cancelled",
        subject=ConsentSubject(Template.Subject.ORDER, order.public_id),
    )
    follower(order.customer, app)
    assert text(client.get(reverse("shell:notifications"))).count('data-testid="consent"') == 3
    order_flows.order_accept(actor=SYSTEM, order=order)
    if end == "complete":
        order_flows.order_mark_ready(actor=SYSTEM, order=order)
        order_flows.order_complete(actor=SYSTEM, order=order)
    else:
        order_flows.order_cancel(actor=SYSTEM, order=order, reason="Closed early")
    html = text(client.get(reverse("shell:notifications")))
    assert html.count('data-testid="consent"') == 1  # following the account goes on
    assert f"Order {order.number}" not in html and "New article" in html
    assert Consent.objects.filter(status=Consent.Status.ENDED).exists()


def test_someone_elses_consent_cannot_be_turned_off(client, app):
    owner = Client()
    visit(owner, app)
    consent = follower(Customer.objects.order_by("-id").first(), app)
    visit(client, app)
    client.post(reverse("shell:consent_off", args=[consent.public_id]))
    consent.refresh_from_db()
    assert consent.status == Consent.Status.ACTIVE


def test_the_email_toggle(client, app):
    customer = visit(client, app)
    consent = follower(customer, app)
    url = reverse("shell:consent_email", args=[consent.public_id])
    html = text(client.post(url, {"email": "1"}, follow=True))
    assert "Sign in with your email" in html
    consent.refresh_from_db()
    assert consent.email is False
    Customer.objects.filter(pk=customer.pk).update(email="ann@example.com")
    html = text(client.get(reverse("shell:notifications")))
    assert "Email: off" in html and "Also email ann@example.com" in html
    client.post(url, {"email": "1"})
    consent.refresh_from_db()
    assert consent.email is True
    assert "Email: on" in text(client.get(reverse("shell:notifications")))
    client.post(url, {"email": "0"})
    consent.refresh_from_db()
    assert consent.email is False


def test_a_visitor_without_a_cookie_sees_empty_lists(client, db):
    html = text(client.get(reverse("shell:notifications")))
    assert 'data-testid="consents-empty"' in html and 'data-testid="devices-empty"' in html
    assert 'data-testid="inbox-empty"' in text(client.get(reverse("shell:inbox")))


# --- devices: Web Push subscriptions --------------------------------------------------------


def subscribe(client, body, **headers):
    return client.post(
        reverse("shell:push_subscribe"),
        data=body if isinstance(body, str) else json.dumps(body),
        content_type="application/json",
        headers=headers,
    )


def test_a_device_subscribes_once_per_endpoint(client, app, push_endpoint):
    customer = visit(client, app)
    phone = Device(push_endpoint.url("/phone"))
    for _ in range(2):
        response = subscribe(client, phone.subscription(), user_agent=CHROME_ANDROID)
        assert response.status_code == 200 and response.json()["ok"] is True
    device = PushSubscription.objects.get()
    assert device.customer_id == customer.pk and device.endpoint == phone.endpoint
    assert device.label == "Chrome · Android"
    html = text(client.get(reverse("shell:notifications")))
    assert html.count('data-testid="device"') == 1 and "Chrome · Android" in html
    response = client.post(
        reverse("shell:push_unsubscribe"),
        data=json.dumps({"endpoint": phone.endpoint}),
        content_type="application/json",
    )
    assert response.json() == {"ok": True, "removed": True}
    assert not PushSubscription.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        "[1, 2]",
        {"endpoint": "https://push.example.com/x"},
        {"endpoint": "https://push.example.com/x", "keys": "p256dh"},
        {"endpoint": "https://push.example.com/x", "keys": {"p256dh": "AAAA", "auth": "AAAA"}},
        {"endpoint": 5, "keys": {"p256dh": None, "auth": []}},
        {"endpoint": "x" * 5000, "keys": {}},
    ],
)
def test_a_bad_subscription_is_400_with_a_message(client, db, body):
    response = subscribe(client, body)
    assert response.status_code == 400
    assert response.json()["ok"] is False and response.json()["error"]
    assert not PushSubscription.objects.exists()
    assert not Customer.objects.exists()  # no guest made for nothing


def test_an_http_or_local_endpoint_is_refused(client, db, settings):
    settings.PUSH_ALLOW_LOCAL = False
    keys = Device("https://push.example.com/a").subscription()["keys"]
    response = subscribe(client, {"endpoint": "http://push.example.com/a", "keys": keys})
    assert (
        response.status_code == 400
        and response.json()["error"] == "A push endpoint must use https."
    )
    response = subscribe(client, {"endpoint": "https://127.0.0.1/a", "keys": keys})
    assert response.status_code == 400 and "internet" in response.json()["error"]
    response = subscribe(client, {"endpoint": "https://push.example.com/a", "keys": keys})
    assert response.status_code == 200


def test_subscribing_needs_the_csrf_header(app, push_endpoint):
    browser = Client(enforce_csrf_checks=True)
    visit(browser, app)
    body = Device(push_endpoint.url("/p")).subscription()
    assert subscribe(browser, body).status_code == 403
    token = browser.cookies["csrftoken"].value
    assert subscribe(browser, body, x_csrftoken=token).status_code == 200


def test_a_device_is_removed_from_the_settings(client, app, push_endpoint):
    visit(client, app)
    subscribe(client, Device(push_endpoint.url("/phone")).subscription())
    device = PushSubscription.objects.get()
    other = Client()
    visit(other, app)
    other.post(reverse("shell:device_remove", args=[device.public_id]))
    assert PushSubscription.objects.exists()  # not theirs
    html = text(client.post(reverse("shell:device_remove", args=[device.public_id]), follow=True))
    assert "no more notifications" in html and not PushSubscription.objects.exists()


def test_device_labels():
    from tapgo.shell.views.notifications import device_label

    assert device_label(CHROME_ANDROID) == "Chrome · Android"
    iphone = (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
    )
    assert device_label(iphone) == "Safari · iPhone"
    edge = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/126.0 Safari/537.36 Edg/126.0"
    assert device_label(edge) == "Edge · Windows"
    assert device_label("Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Firefox/128.0") == (
        "Firefox · Linux"
    )
    assert device_label("curl/8.5") == ""
    assert device_label("") == ""
    # Stored, so in no language: the same whatever language the customer subscribed in.
    with translation.override("zh-hans"):
        assert device_label(CHROME_ANDROID) == "Chrome · Android"


def test_a_device_without_a_label_shows_as_a_browser_in_the_customer_s_language(
    client, app, push_endpoint
):
    visit(client, app)
    subscribe(client, Device(push_endpoint.url("/phone")).subscription(), user_agent="curl/8")
    assert PushSubscription.objects.get().label == ""
    html = text(client.get(reverse("shell:notifications")))
    assert re.search(r'data-testid="device".*?<strong>A browser</strong>', html, re.S)
    client.cookies["django_language"] = "zh-hans"
    with translation.override("en"):  # the middleware's zh-hans ends with the block
        html = text(client.get(reverse("shell:notifications")))
    assert re.search(r'data-testid="device".*?<strong>浏览器</strong>', html, re.S)


# --- signing out takes this phone's subscription away from the account ------------------------


def signed_in(client, app) -> Customer:
    """A customer with an address, as signing in leaves one (the cookie is theirs)."""
    customer = visit(client, app)
    Customer.objects.filter(pk=customer.pk).update(email="ann@example.com")
    customer.refresh_from_db()
    return customer


def test_the_sign_out_form_is_marked_for_the_script_and_works_without_it(client, app):
    signed_in(client, app)
    html = text(client.get(reverse("shell:signin")))
    form = re.search(r'<form [^>]*action="/me/signout"[^>]*>', html)[0]
    assert "data-notify-signout" in form
    assert f'data-push-unsubscribe="{reverse("shell:push_unsubscribe")}"' in form
    assert re.search(r'<script src="[^"]*/shell/notify[^"]*\.js" defer></script>', html)
    # Without JavaScript the form is sent as it is: signed out all the same.
    response = client.post(reverse("shell:signout"))
    assert response.status_code == 302 and response.url == reverse("shell:home")
    assert "You are signed in" not in text(client.get(reverse("shell:signin")))


def test_signing_out_with_the_script_leaves_the_account_without_this_phone(
    client, app, push_endpoint
):
    account = signed_in(client, app)
    phone, tablet = Device(push_endpoint.url("/phone")), Device(push_endpoint.url("/tablet"))
    for device in (phone, tablet):
        assert subscribe(client, device.subscription()).status_code == 200
    assert messaging.devices_of(account).count() == 2

    # What notify.js does on the phone before sending the sign-out form.
    response = client.post(
        reverse("shell:push_unsubscribe"),
        data=json.dumps({"endpoint": phone.endpoint}),
        content_type="application/json",
    )
    assert response.json() == {"ok": True, "removed": True}
    assert client.post(reverse("shell:signout")).status_code == 302

    assert [d.endpoint for d in messaging.devices_of(account)] == [tablet.endpoint]
    follower(account, app)
    message = messaging.notify(
        customer=account,
        app=app,
        key="new_article",
        values={"app": app.name, "title": "Hi"},
        link=f"/m/{app.slug}/a/",
    )
    pushed = message.deliveries.filter(channel="push").values_list("subscription_id", flat=True)
    assert list(pushed) == [messaging.devices_of(account).get().pk]


def test_only_the_device_s_own_customer_can_unsubscribe_it(client, app, push_endpoint):
    account = signed_in(client, app)
    phone = Device(push_endpoint.url("/phone"))
    subscribe(client, phone.subscription())
    stranger = Client()
    visit(stranger, app)
    response = stranger.post(
        reverse("shell:push_unsubscribe"),
        data=json.dumps({"endpoint": phone.endpoint}),
        content_type="application/json",
    )
    assert response.json() == {"ok": True, "removed": False}
    nobody = Client().post(
        reverse("shell:push_unsubscribe"),
        data=json.dumps({"endpoint": phone.endpoint}),
        content_type="application/json",
    )
    assert nobody.json() == {"ok": True, "removed": False}
    assert messaging.devices_of(account).count() == 1


# --- the inbox and the unread badge ---------------------------------------------------------


def test_the_inbox_lists_newest_first_and_marks_all_read(
    client, app, django_capture_on_commit_callbacks
):
    customer = visit(client, app)
    follower(customer, app)
    first = send_article(customer, app, django_capture_on_commit_callbacks, "Autumn", "a1")
    second = send_article(customer, app, django_capture_on_commit_callbacks, "Winter", "a2")
    messaging.message_read(customer=customer, public_id=first.public_id)
    html = text(client.get(reverse("shell:inbox")))
    rows = re.findall(
        r'<a class="card inbox-row( unread)?" href="([^"]+)" data-testid="inbox-row">', html
    )
    assert rows == [
        (" unread", reverse("shell:message_open", args=[second.public_id])),
        ("", reverse("shell:message_open", args=[first.public_id])),
    ]
    assert html.index("Winter") < html.index("Autumn") and "New from Test Café" in html
    assert badge(html) == 1
    response = client.post(reverse("shell:inbox_read"), follow=True)
    html = text(response)
    assert "All messages are marked read." in html and badge(html) == 0
    assert html.count('data-testid="inbox-row"') == 2 and "inbox-row unread" not in html
    assert messaging.unread_count(customer.pk) == 0


def test_the_inbox_speaks_the_customers_language(client, app, django_capture_on_commit_callbacks):
    customer = visit(client, app)
    follower(customer, app)
    send_article(customer, app, django_capture_on_commit_callbacks)
    client.cookies["django_language"] = "zh-hans"
    assert "Test Café 发布了新文章" in text(client.get(reverse("shell:inbox")))


def test_the_inbox_pages(client, app, django_capture_on_commit_callbacks):
    from tapgo.shell.views.notifications import INBOX_PAGE_SIZE

    customer = visit(client, app)
    follower(customer, app)
    for n in range(INBOX_PAGE_SIZE + 2):
        send_article(customer, app, django_capture_on_commit_callbacks, f"N{n}", f"k{n}")
    first = text(client.get(reverse("shell:inbox")))
    assert first.count('data-testid="inbox-row"') == INBOX_PAGE_SIZE and "?page=2" in first
    second = text(client.get(reverse("shell:inbox"), {"page": "2"}))
    assert second.count('data-testid="inbox-row"') == 2
    assert text(client.get(reverse("shell:inbox"), {"page": "x"})).count("inbox-row") > 0


def test_the_badge_on_app_pages_and_me_pages(
    client, app, product, django_capture_on_commit_callbacks
):
    customer = visit(client, app)
    follower(customer, app)
    menu = reverse("shell:app", args=[app.slug])
    assert badge(text(client.get(menu))) == 0
    send_article(customer, app, django_capture_on_commit_callbacks)
    for url in (reverse("shell:my_orders"), reverse("shell:home"), reverse("shell:inbox")):
        html = text(client.get(url))
        assert badge(html) == 1, url
        assert f'href="{reverse("shell:inbox")}"' in html
    # An app page shows the count this process read (fresh from /me just now).
    html = text(client.get(menu, headers={"Referer": "http://testserver/"}))
    assert badge(html) == 1 and 'class="inbox-link unread"' in html
    assert 'aria-label="Inbox: 1 unread"' in html
    # Reading shows at once (a new stamp), on every app page.
    client.post(reverse("shell:inbox_read"))
    assert badge(text(client.get(menu, headers={"Referer": "http://testserver/"}))) == 0
    assert badge(text(client.get(reverse("shell:cart", args=[app.slug])))) == 0


def test_a_new_message_shows_on_app_pages_within_the_cache_time(
    client, app, monkeypatch, django_capture_on_commit_callbacks
):
    customer = visit(client, app)
    follower(customer, app)
    menu = reverse("shell:app", args=[app.slug])
    inside = {"Referer": "http://testserver/"}
    assert badge(text(client.get(menu, headers=inside))) == 0
    send_article(customer, app, django_capture_on_commit_callbacks)
    assert badge(text(client.get(menu, headers=inside))) == 0  # cached, for a while
    real = time.monotonic
    monkeypatch.setattr(page.time, "monotonic", lambda: real() + page.UNREAD_SECONDS + 1)
    assert badge(text(client.get(menu, headers=inside))) == 1


def test_the_menu_page_counts_at_most_once(
    client, app, django_assert_max_num_queries, django_capture_on_commit_callbacks
):
    customer = visit(client, app)
    follower(customer, app)
    send_article(customer, app, django_capture_on_commit_callbacks)
    menu = reverse("shell:app", args=[app.slug])
    inside = {"Referer": "http://testserver/"}
    page._unread.clear()
    with django_assert_max_num_queries(2):  # the app's state and one COUNT
        assert badge(text(client.get(menu, headers=inside))) == 1
    with django_assert_max_num_queries(1):  # the app's state; the count is known
        assert badge(text(client.get(menu, headers=inside))) == 1


def test_the_front_door_shows_the_same_badge(
    client, app, product, monkeypatch, django_capture_on_commit_callbacks
):
    from tapgo.shell.tests.test_serving import _call, _cookies, _environ

    customer = visit(client, app)
    follower(customer, app)
    send_article(customer, app, django_capture_on_commit_callbacks)
    page._unread.clear()
    calls = []
    real = front.django_application

    def counting(environ, start_response):
        calls.append(environ["PATH_INFO"])
        return real(environ, start_response)

    monkeypatch.setattr(front, "django_application", counting)
    path = reverse("shell:app", args=[app.slug])
    status, _headers, django_html = _call(_environ(path, _cookies(client)))
    assert status == "200 OK" and calls == [path] and badge(django_html) == 1
    status, _headers, html = _call(_environ(path, _cookies(client)))
    assert status == "200 OK" and calls == [path]  # the front door answered
    assert badge(html) == 1
    page._unread.clear()  # not known in this process: Django answers
    _call(_environ(path, _cookies(client)))
    assert calls == [path, path]


# --- following a message's link -------------------------------------------------------------


def test_opening_a_message_reads_it_and_records_a_notification_visit(
    client, app, product, django_capture_on_commit_callbacks
):
    order = paid_order(client, app, product)
    order_flows.order_accept(actor=SYSTEM, order=order)
    with django_capture_on_commit_callbacks(execute=True):
        order_flows.order_mark_ready(actor=SYSTEM, order=order)
    message = Message.objects.get()
    assert badge(text(client.get(reverse("shell:inbox")))) == 1
    response = client.get(reverse("shell:message_open", args=[message.public_id]))
    assert response.status_code == 302
    assert response.url == order_url(order) + "?scene=notification"
    visits = Visit.objects.filter(scene="notification").count()
    html = text(client.get(response.url))
    assert Visit.objects.filter(scene="notification").count() == visits + 1
    assert badge(html) == 0
    message.refresh_from_db()
    assert message.read_at is not None and message.opened_at is not None


def _ready_message(client, app, product, capture) -> Message:
    order = paid_order(client, app, product)
    order_flows.order_accept(actor=SYSTEM, order=order)
    with capture(execute=True):
        order_flows.order_mark_ready(actor=SYSTEM, order=order)
    return Message.objects.get()


def _opened(message) -> tuple[bool, bool]:
    message.refresh_from_db()
    return message.read_at is not None, message.opened_at is not None


def test_another_guest_following_the_link_marks_nothing_but_gets_there(
    client, app, product, django_capture_on_commit_callbacks
):
    message = _ready_message(client, app, product, django_capture_on_commit_callbacks)
    stranger = Client()
    visit(stranger, app)
    response = stranger.get(reverse("shell:message_open", args=[message.public_id]))
    assert response.status_code == 302
    assert response.url == f"{message.link}?scene=notification"
    assert _opened(message) == (False, False)
    # The page itself checks who may see it: the order is not theirs.
    assert stranger.get(response.url).status_code == 404
    assert badge(text(client.get(reverse("shell:inbox")))) == 1  # still unread for its owner
    # Nor does a visitor with no cookie at all.
    assert Client().get(reverse("shell:message_open", args=[message.public_id])).status_code == 302
    assert _opened(message) == (False, False)


def test_the_signed_link_marks_it_without_the_cookie(
    client, app, product, django_capture_on_commit_callbacks
):
    """A push opened in another browser, or an email read on a computer: no cookie, but the
    link's signature says it is the message's own link."""
    message = _ready_message(client, app, product, django_capture_on_commit_callbacks)
    url = reverse("shell:message_open", args=[message.public_id])
    token = messaging.open_token(message)
    response = Client().get(url, {"k": token})
    assert response.status_code == 302 and response.url == f"{message.link}?scene=notification"
    assert _opened(message) == (True, True)


@pytest.mark.parametrize("wrong", ["x", "", "another-message", "A" * 500, "k", "é"])
def test_a_wrong_signature_marks_nothing(
    client, app, product, django_capture_on_commit_callbacks, wrong
):
    message = _ready_message(client, app, product, django_capture_on_commit_callbacks)
    if wrong == "another-message":
        other = Message(public_id="b" * len(message.public_id))
        wrong = messaging.open_token(other)
    elif wrong == "k":
        wrong = messaging.open_token(message)[:-1]  # one character short
    url = reverse("shell:message_open", args=[message.public_id])
    response = Client().get(url, {"k": wrong})
    assert response.status_code == 302
    assert _opened(message) == (False, False)
    # Its owner's cookie still marks it (a wrong ?k= does not spoil the cookie).
    client.get(url, {"k": wrong})
    assert _opened(message) == (True, True)


def test_a_link_with_a_query_keeps_it(client, app, django_capture_on_commit_callbacks):
    customer = visit(client, app)
    follower(customer, app)
    with django_capture_on_commit_callbacks(execute=True):
        message = messaging.notify(
            customer=customer,
            app=app,
            key="new_article",
            values={"app": app.name, "title": "Hi"},
            link=f"/m/{app.slug}/a/?page=2",
        )
    response = client.get(reverse("shell:message_open", args=[message.public_id]))
    assert response.url == f"/m/{app.slug}/a/?page=2&scene=notification"


def test_an_unknown_message_is_404(client, db):
    assert client.get(reverse("shell:message_open", args=["a" * 12])).status_code == 404
    assert client.get(reverse("shell:message_open", args=["short"])).status_code == 404


# --- the service worker ---------------------------------------------------------------------


def test_the_service_worker_is_served_for_the_whole_site(client, db):
    response = client.get("/sw.js")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert response["Service-Worker-Allowed"] == "/"
    assert response["Cache-Control"] == "no-cache"
    body = text(response)
    assert body.startswith("self.tapgoTexts = ")
    texts = json.loads(body.split("\n", 1)[0][len("self.tapgoTexts = ") : -1])
    assert texts["fallbackTitle"] == "New notification"
    for needed in (
        'addEventListener("push"',
        "showNotification",
        "notificationclick",
        "openWindow",
    ):
        assert needed in body
    assert client.post("/sw.js").status_code == 405


def test_the_policy_lets_the_scripts_and_the_worker_run(client, app, product):
    order = paid_order(client, app, product)
    response = client.get(order_url(order))
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "worker-src" not in policy or "worker-src 'self'" in policy
    assert "connect-src 'self'" in policy
    html = text(response)
    assert "<script>" not in html  # no inline script
    notify_js = re.search(r'<script src="([^"]+notify[^"]*\.js)" defer></script>', html)[1]
    assert client.get(notify_js).status_code == 200
