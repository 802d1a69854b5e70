"""Notifications in a real browser: a customer allows them, the merchant marks the order ready,
the push arrives and the service worker shows it, and the inbox has it unread.

A customer on a phone orders and pays on the sandbox provider's page; paying grants one
message about the order, so the order page says it will tell them, and offers "Also on this
phone". Tapping it runs the real notify.js: the browser's permission, the real /sw.js
registered, the subscription POSTed to /me/push/subscribe. Only
`PushManager.prototype.subscribe` is replaced (SUBSCRIBE_STUB): this Chromium has no route to
a real push service, so the subscription it gives is a `tests.push_endpoint.Device` whose
endpoint is a loopback `PushEndpoint`.

The merchant marks the order ready on the console's live board. The message's delivery runs
after the console's transaction commits (the task backend is immediate), and Tapgo POSTs the
encrypted push to the loopback endpoint; the Device decrypts it, and the test hands the
plain payload to the browser's service worker as a push service would, through the DevTools
protocol (ServiceWorker.deliverPushMessage). The worker must show it. The inbox then has one
unread message; opening it opens the order with scene `notification` and the badge goes.

Then permission refused: the page says notifications are blocked and the inbox will carry
the message; asked again (the grant turned off), the consent is still given, and no push is
sent. No page may log an error, throw, break its Content-Security-Policy or get a 4xx/5xx.
"""

import json
import re
import time

import pytest
from playwright.sync_api import BrowserContext, Page, expect
from tests.browser.helpers import console_sign_in
from tests.browser.watch import Watch
from tests.push_endpoint import Device

from tapgo.core.actors import SYSTEM
from tapgo.flows import orders as order_flows

LIVE = 15_000  # ms: how long something live (a webhook, a stream, a push) may take

# In every page before its scripts: CSP violations become console errors, and the push
# service's part of PushManager.subscribe() is played by `device` (its subscription as
# PushSubscription.toJSON() gives it). What the page asked for is kept in window.__subscribed.
SUBSCRIBE_STUB = """
((device) => {
  document.addEventListener("securitypolicyviolation", (e) => {
    console.error("CSP violation: " + e.violatedDirective + " blocked " + e.blockedURI);
  });
  if (!window.PushManager) return;
  const unb64 = (text) => {
    const raw = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
    return Uint8Array.from(raw, (c) => c.charCodeAt(0)).buffer;
  };
  const b64 = (buffer) =>
    btoa(String.fromCharCode(...new Uint8Array(buffer.buffer || buffer)))
      .replace(/\\+/g, "-").replace(/\\//g, "_").replace(/=+$/, "");
  window.__subscribed = [];
  PushManager.prototype.subscribe = function (options) {
    window.__subscribed.push({
      userVisibleOnly: options.userVisibleOnly,
      applicationServerKey: b64(options.applicationServerKey),
    });
    const key = options.applicationServerKey;
    return Promise.resolve({
      endpoint: device.endpoint,
      expirationTime: null,
      options: { userVisibleOnly: true, applicationServerKey: key.buffer || key },
      getKey: (name) => unb64(device.keys[name]),
      unsubscribe: () => Promise.resolve(true),
      toJSON: () => ({ endpoint: device.endpoint, expirationTime: null,
                       keys: { p256dh: device.keys.p256dh, auth: device.keys.auth } }),
    });
  };
})(%s);
"""

# The notifications the service worker shows, as the page sees them.
SHOWN_JS = """async () => {
  const registration = await navigator.serviceWorker.ready;
  const shown = await registration.getNotifications();
  return shown.map((n) => ({
    title: n.title, body: n.body, tag: n.tag, url: n.data && n.data.url,
  }));
}"""


def until(page: Page, what: str, check, timeout: float = LIVE / 1000):
    """Call check() until it returns something truthy; fail saying `what` after timeout.
    It waits in the page, so Playwright goes on handing over events (DevTools', console
    messages) meanwhile: a plain time.sleep() would hold them back."""
    deadline = time.monotonic() + timeout
    while True:
        got = check()
        if got or time.monotonic() > deadline:
            assert got, f"waited {timeout} s for {what}: {got!r}"
            return got
        page.wait_for_timeout(100)


@pytest.fixture(autouse=True)
def _fresh_process_caches():
    """The shell's per-process caches (unread counts, app states) start empty: the database
    of the test before is gone, and its ids may come back."""
    from tapgo.shell import front, page

    page._unread.clear()
    page._recent.clear()
    front._headers.clear()
    front._app_states.clear()


@pytest.fixture
def live(transactional_db, live, push_endpoint):
    """The live server (conftest). `push_endpoint` lets Tapgo push to loopback
    (PUSH_ALLOW_LOCAL) in this process, which is the live server's too; the push's link is on
    PUBLIC_URL."""
    return live


def phone_context(browser, playwright) -> BrowserContext:
    pixel_7 = dict(playwright.devices["Pixel 7"])  # a phone: viewport, touch, mobile UA
    pixel_7.pop("default_browser_type")
    return browser.new_context(**pixel_7)


def order_and_pay(c: Page, url: str, app, product):
    """The customer orders a latte for pickup and pays on the sandbox's page; returns the
    order, on its page, paid."""
    from tapgo.ordering.models import Order

    c.goto(f"{url}/m/{app.slug}/")
    c.locator(f"#p-{product.public_id} button.add").tap()
    expect(c.locator("#cart-count")).to_have_text("1")
    c.get_by_test_id("cart-link").tap()
    expect(c.get_by_test_id("cart-line")).to_have_count(1)
    c.fill("input[name=pickup_name]", "Ann")
    c.get_by_test_id("place-order").tap()
    expect(c).to_have_url(re.compile(r"/payments/sandbox/[^/]+/$"))
    c.locator("button[name=decision][value=approve]").tap()
    expect(c).to_have_url(re.compile(rf"/m/{app.slug}/orders/[^/]+/$"))
    expect(c.get_by_test_id("order-status")).to_have_attribute("data-status", "paid", timeout=LIVE)
    order = Order.objects.get()
    assert order.public_id in c.url
    return order


def worker_registration(page: Page, registrations: list[dict], scope: str) -> str:
    """The id DevTools gives the service worker registration of `scope` (from the
    ServiceWorker.workerRegistrationUpdated events collected in `registrations`)."""
    found = until(
        page,
        f"a service worker registration for {scope}",
        lambda: [r for r in registrations if r["scopeURL"] == scope and not r["isDeleted"]],
    )
    return found[-1]["registrationId"]


def push_until(page: Page, cdp, registrations, scope, payload: dict, what: str, check):
    """Hand a push to the service worker as the push service would, until check() holds.
    A push service delivers at least once, and so does this: a push handed over while the
    browser is busy starting the worker can be lost, so it is handed over again every few
    seconds, to the registration DevTools names last (the notification's tag makes repeats
    one notification)."""
    deadline = time.monotonic() + 3 * LIVE / 1000
    while True:
        cdp.send(
            "ServiceWorker.deliverPushMessage",
            {
                "origin": scope.rstrip("/"),
                "registrationId": worker_registration(page, registrations, scope),
                "data": json.dumps(payload),
            },
        )
        try:
            return until(page, what, check, timeout=3)
        except AssertionError:
            if time.monotonic() > deadline:
                raise


@pytest.mark.django_db(transaction=True)
def test_allow_on_this_phone_then_ready_is_pushed_and_in_the_inbox(
    live, push_endpoint, browser, playwright, merchant, owner, app, product
):
    from tapgo.messaging import push
    from tapgo.messaging.models import Consent, Delivery, Message, PushSubscription
    from tapgo.miniapps.models import Visit

    url = live.url
    phone_device = Device(push_endpoint.url("/phone"))
    watch = Watch(scripts=(SUBSCRIBE_STUB % json.dumps(phone_device.subscription()),))
    desktop = browser.new_context(viewport={"width": 1280, "height": 900})
    phone = phone_context(browser, playwright)
    phone.grant_permissions(["notifications"], origin=url)
    try:
        # --- 1. the customer orders and pays: the order page says it will tell them -------
        c = watch.page(phone, "customer")
        order = order_and_pay(c, url, app, product)
        grant = Consent.objects.get(kind=Consent.Kind.GRANT, subject=f"order:{order.public_id}")
        assert grant.status == Consent.Status.ACTIVE
        expect(c.get_by_test_id("notify-covered")).to_contain_text("We'll tell you when it's ready")
        expect(c.get_by_test_id("notify-ask")).to_have_count(0)  # paying allowed it already

        # DevTools follows the site's service worker registrations from here on.
        cdp = phone.new_cdp_session(c)
        registrations: list[dict] = []
        cdp.on(
            "ServiceWorker.workerRegistrationUpdated",
            lambda event: registrations.extend(event["registrations"]),
        )
        cdp.send("ServiceWorker.enable")

        # --- 2. "Also on this phone": permission, /sw.js, subscribe, POSTed --------------
        device_button = c.get_by_test_id("notify-device")
        expect(device_button).to_be_visible()  # notify.js shows it: push works, none yet
        device_button.tap()
        expect(c.locator("[data-notify-status]")).to_have_text(
            "This device will show notifications."
        )
        expect(device_button).to_be_hidden()
        assert c.evaluate("() => window.__subscribed") == [
            {"userVisibleOnly": True, "applicationServerKey": push.public_key()}
        ]
        scope = c.evaluate("async () => (await navigator.serviceWorker.ready).scope")
        assert scope == url + "/"
        assert (
            c.evaluate(
                "() => navigator.serviceWorker.getRegistration('/').then((r) => r.active.scriptURL)"
            )
            == url + "/sw.js"
        )
        kept = PushSubscription.objects.get()
        assert kept.customer_id == order.customer_id
        assert (kept.endpoint, kept.p256dh, kept.auth) == (
            phone_device.endpoint,
            phone_device.subscription()["keys"]["p256dh"],
            phone_device.subscription()["keys"]["auth"],
        )
        assert kept.label == "Chrome · Android"
        worker_registration(c, registrations, scope)  # DevTools knows it
        assert push_endpoint.received() == []
        assert not Message.objects.exists()

        # --- 3. the merchant accepts the order and marks it ready on the live board ------
        m = watch.page(desktop, "merchant")
        console_sign_in(m, url, owner.email, next_path=f"/console/{merchant.public_id}/board/")
        expect(m).to_have_url(re.compile(rf"/console/{merchant.public_id}/board/$"))
        card = m.locator(f'#board .column[data-status="paid"] #order-{order.public_id}')
        expect(card).to_be_visible()
        card.locator('form[action$="/accept"] button').click()
        card = m.locator(f'#board .column[data-status="accepted"] #order-{order.public_id}')
        expect(card).to_be_visible()
        assert push_endpoint.received() == []  # accepting sends nothing
        card.locator('form[action$="/ready"] button').click()
        expect(
            m.locator(f'#board .column[data-status="ready"] #order-{order.public_id}')
        ).to_be_visible()
        expect(c.get_by_test_id("order-status")).to_have_attribute(
            "data-status", "ready", timeout=LIVE
        )

        # --- 4. the push reaches the push service, encrypted for this phone -------------
        (pushed,) = push_endpoint.wait_for(1, "/phone", timeout=LIVE / 1000)
        assert pushed.headers["content-encoding"] == "aes128gcm"
        assert pushed.headers["authorization"].startswith("vapid t=")
        assert f"k={push.public_key()}" in pushed.headers["authorization"]
        payload = phone_device.decrypt(pushed.body)
        message = Message.objects.get()
        assert payload["title"] == "Your order is ready"
        assert order.number in payload["body"], payload
        assert payload["tag"] == message.public_id
        # signed: opening it from the notification counts even without the cookie
        assert payload["url"].startswith(f"{url}/me/n/{message.public_id}?k=")
        assert payload["app"] == app.name
        grant.refresh_from_db()
        assert (message.consent_id, grant.status) == (grant.pk, Consent.Status.USED)
        until(
            c,
            "both deliveries recorded as sent",
            lambda: (
                sorted(
                    Delivery.objects.filter(
                        message=message, status=Delivery.Status.SENT
                    ).values_list("channel", flat=True)
                )
                == ["inbox", "push"]
            ),
        )

        # --- 5. ... and the browser's service worker shows it ---------------------------
        assert c.evaluate(SHOWN_JS) == []
        shown = push_until(
            c, cdp, registrations, scope, payload, "the service worker to show the push",
            lambda: c.evaluate(SHOWN_JS),
        )  # fmt: skip
        assert shown == [
            {
                "title": "Your order is ready",
                "body": payload["body"],
                "tag": message.public_id,
                "url": payload["url"],
            }
        ]
        # The message pushed again (delivery is at least once) replaces it on the screen, by
        # its tag: a changed body tells the second from the first.
        again = {**payload, "body": payload["body"] + " (again)"}
        push_until(
            c, cdp, registrations, scope, again, "the second push to replace the first",
            lambda: [n["body"] for n in c.evaluate(SHOWN_JS)] == [again["body"]],
        )  # fmt: skip

        # --- 6. the inbox: one unread message, the badge says 1 ---------------------------
        # (App pages trust a counted badge for page.UNREAD_SECONDS; the inbox counts afresh.)
        c.get_by_test_id("inbox-badge").tap()
        expect(c).to_have_url(f"{url}/me/inbox")
        badge = c.get_by_test_id("inbox-badge")
        expect(badge).to_have_attribute("data-unread", "1")
        expect(badge.locator(".count")).to_have_text("1")
        rows = c.get_by_test_id("inbox-row")
        expect(rows).to_have_count(1)
        expect(rows.first).to_have_class(re.compile(r"\bunread\b"))
        expect(rows.first).to_contain_text("Your order is ready")
        expect(rows.first).to_contain_text(order.number)
        visits_before = Visit.objects.filter(scene="notification").count()

        # --- 7. opening it opens the order, from the door `notification`; read now -------
        rows.first.tap()
        expect(c).to_have_url(f"{url}/m/{app.slug}/orders/{order.public_id}/?scene=notification")
        expect(c.get_by_test_id("order-status")).to_have_attribute("data-status", "ready")
        expect(c.get_by_test_id("inbox-badge")).to_have_attribute("data-unread", "0")
        expect(c.get_by_test_id("inbox-badge").locator(".count")).to_have_count(0)
        visits = Visit.objects.filter(scene="notification")
        assert visits.count() == visits_before + 1
        visit = visits.latest("created_at")
        assert (visit.app_id, visit.customer_id) == (app.pk, order.customer_id)
        message.refresh_from_db()
        assert message.read_at is not None and message.opened_at is not None

        c.goto(f"{url}/me/inbox")
        expect(rows).to_have_count(1)
        expect(rows.first).not_to_have_class(re.compile(r"\bunread\b"))
        expect(c.get_by_test_id("inbox-badge")).to_have_attribute("data-unread", "0")

        # /me/notifications lists this phone.
        c.goto(f"{url}/me/notifications")
        expect(c.get_by_test_id("device")).to_have_count(1)
        expect(c.get_by_test_id("device")).to_contain_text("Chrome · Android")

        # --- 8. one push only; no errors, no CSP violations, no failed requests ----------
        c.wait_for_timeout(500)  # a late push or console message still counts
        assert len(push_endpoint.received()) == 1
        assert watch.problems == []
    finally:
        desktop.close()
        phone.close()


@pytest.mark.django_db(transaction=True)
def test_permission_refused_the_inbox_still_gets_it_and_nothing_is_pushed(
    live, push_endpoint, browser, playwright, merchant, app, product
):
    from tapgo.messaging.models import Consent, Delivery, Message, PushSubscription

    url = live.url
    phone_device = Device(push_endpoint.url("/phone"))
    watch = Watch(scripts=(SUBSCRIBE_STUB % json.dumps(phone_device.subscription()),))
    phone = phone_context(browser, playwright)  # no permission granted: the browser refuses
    try:
        c = watch.page(phone, "customer")
        order = order_and_pay(c, url, app, product)
        order_page = c.url

        # "Also on this phone": the browser says no; the page says the inbox will have it.
        device_button = c.get_by_test_id("notify-device")
        device_button.tap()
        expect(c.locator("[data-notify-status]")).to_have_text(
            "Notifications are blocked for this site in this browser; messages still arrive "
            "in your inbox."
        )
        assert c.evaluate("() => Notification.permission") == "denied"
        assert c.evaluate("() => window.__subscribed") == []  # never asked the push service
        c.reload()
        expect(device_button).to_be_hidden()  # blocked: nothing to offer here

        # The customer turns the paid order's grant off, then asks again on the order page:
        # the ask button. Refused again, the form still gives the consent.
        c.goto(f"{url}/me/notifications")
        expect(c.get_by_test_id("consent")).to_have_count(1)
        expect(c.get_by_test_id("consent")).to_contain_text("One message about an order you paid")
        c.get_by_test_id("consent-off").tap()
        expect(c.get_by_test_id("consents-empty")).to_be_visible()
        c.goto(order_page)
        ask = c.get_by_test_id("notify-ask")
        expect(ask).to_be_visible()
        ask.tap()
        expect(c).to_have_url(order_page)
        expect(c.locator("body")).to_contain_text(
            "Notifications are blocked for this site in this browser, so we'll tell you in "
            "your inbox when it's ready."
        )
        expect(c.get_by_test_id("notify-covered")).to_contain_text("We'll tell you when it's ready")
        consent = Consent.objects.get(status=Consent.Status.ACTIVE)
        assert (consent.kind, consent.subject, consent.email) == (
            Consent.Kind.ONE_TIME,
            f"order:{order.public_id}",
            False,
        )
        assert not PushSubscription.objects.exists()

        # The merchant marks it ready (the board's own services): the inbox has it, no push.
        order = order_flows.order_accept(actor=SYSTEM, order=order)
        order_flows.order_mark_ready(actor=SYSTEM, order=order)
        expect(c.get_by_test_id("order-status")).to_have_attribute(
            "data-status", "ready", timeout=LIVE
        )
        message = Message.objects.get()
        assert message.consent_id == consent.pk
        assert list(Delivery.objects.filter(message=message).values_list("channel", "status")) == [
            ("inbox", Delivery.Status.SENT)
        ]
        c.goto(f"{url}/me/inbox")
        expect(c.get_by_test_id("inbox-row")).to_have_count(1)
        expect(c.get_by_test_id("inbox-row")).to_contain_text("Your order is ready")
        expect(c.get_by_test_id("inbox-badge")).to_have_attribute("data-unread", "1")
        # No service worker was registered here, so nothing can show a notification.
        assert c.evaluate("() => navigator.serviceWorker.getRegistration('/')") is None

        c.wait_for_timeout(500)  # a late push or console message still counts
        assert push_endpoint.received() == []
        assert watch.problems == []
    finally:
        phone.close()


# This browser's push subscription, as PushManager.getSubscription() gives it (the test made
# it on the server beforehand); unsubscribe() is recorded in localStorage, which outlives the
# page that the sign-out form leaves.
SIGNED_IN_PHONE_STUB = """
((endpoint) => {
  document.addEventListener("securitypolicyviolation", (e) => {
    console.error("CSP violation: " + e.violatedDirective + " blocked " + e.blockedURI);
  });
  if (!window.PushManager) return;
  PushManager.prototype.getSubscription = function () {
    if (localStorage.getItem("unsubscribed")) return Promise.resolve(null);
    return Promise.resolve({
      endpoint: endpoint,
      unsubscribe: () => {
        localStorage.setItem("unsubscribed", "1");
        return Promise.resolve(true);
      },
    });
  };
})(%s);
"""


@pytest.mark.django_db(transaction=True)
def test_signing_out_takes_this_phone_off_the_account(live, push_endpoint, browser, playwright):
    """The phone was subscribed while signed in: the subscription is the account's. Signing
    out there removes it (on the server, then in the browser) before the form goes, so the
    next customer of this phone sees none of the account's notifications; the account's other
    device keeps them."""
    from django.http import HttpResponse

    from tapgo.identity import middleware
    from tapgo.identity.models import Customer
    from tapgo.messaging import services as messaging

    url = live.url
    account = Customer.objects.create(email="ann@example.com")
    phone_device, tablet_device = (
        Device(push_endpoint.url("/phone")),
        Device(push_endpoint.url("/tablet")),
    )
    for device in (phone_device, tablet_device):
        sub = device.subscription()
        messaging.push_subscribe(
            customer=account,
            endpoint=sub["endpoint"],
            p256dh=sub["keys"]["p256dh"],
            auth=sub["keys"]["auth"],
        )
    watch = Watch(scripts=(SIGNED_IN_PHONE_STUB % json.dumps(phone_device.endpoint),))
    phone = phone_context(browser, playwright)
    signed = HttpResponse()  # the guest cookie as signing in leaves it, for the account
    signed.set_signed_cookie(middleware.COOKIE, account.public_id, salt=middleware.SALT)
    cookie = signed.cookies[middleware.COOKIE].value
    phone.add_cookies([{"name": middleware.COOKIE, "value": cookie, "url": url}])
    try:
        c = watch.page(phone, "customer")
        posted: list[str] = []
        c.on("request", lambda r: r.method == "POST" and posted.append(r.url[len(url) :]))
        c.goto(f"{url}/me/signin/")
        expect(c.locator("main")).to_contain_text("You are signed in as ann@example.com.")
        c.evaluate(
            "async () => { await navigator.serviceWorker.register('/sw.js', {scope: '/'});"
            " await navigator.serviceWorker.ready; }"
        )

        c.get_by_test_id("signout").tap()

        expect(c.locator("body")).to_contain_text("You are signed out on this device.")
        assert posted == ["/me/push/unsubscribe", "/me/signout"]
        assert c.evaluate("() => localStorage.getItem('unsubscribed')") == "1"
        assert [d.endpoint for d in messaging.devices_of(account)] == [tablet_device.endpoint]

        # Signed out and without a subscription, the form just goes.
        c.goto(f"{url}/me/signin/")
        expect(c.locator("main")).not_to_contain_text("You are signed in")
        assert watch.problems == []
    finally:
        phone.close()


@pytest.mark.django_db(transaction=True)
def test_the_merchant_switches_order_ready_off_and_the_customer_is_not_asked(
    live, push_endpoint, browser, playwright, merchant, owner, app, product
):
    from tapgo.messaging.models import Message

    url = live.url
    watch = Watch()
    desktop = browser.new_context(viewport={"width": 1280, "height": 900})
    phone = phone_context(browser, playwright)
    try:
        # The owner switches "Order ready for pickup" off for the app on the console.
        m = watch.page(desktop, "merchant")
        console_sign_in(
            m, url, owner.email, next_path=f"/console/{merchant.public_id}/notifications/"
        )
        expect(m).to_have_url(re.compile(rf"/console/{merchant.public_id}/notifications/$"))
        templates = m.locator(f'[data-app="{app.public_id}"] [data-testid=template]')
        row = templates.and_(m.locator("[data-key=order_ready]"))
        expect(row).to_have_attribute("data-on", "1")
        row.get_by_test_id("switch-off").click()
        expect(row).to_have_attribute("data-on", "0")

        # The customer pays: the order page offers nothing about "ready".
        c = watch.page(phone, "customer")
        order = order_and_pay(c, url, app, product)
        expect(c.get_by_test_id("notify-card")).to_have_count(0)

        # Ready sends nothing: the app does not send that notification any more.
        order_flows.order_mark_ready(
            actor=SYSTEM, order=order_flows.order_accept(actor=SYSTEM, order=order)
        )
        expect(c.get_by_test_id("order-status")).to_have_attribute(
            "data-status", "ready", timeout=LIVE
        )
        assert not Message.objects.exists()

        # The owner can switch it on again.
        row.get_by_test_id("switch-on").click()
        expect(row).to_have_attribute("data-on", "1")
        c.wait_for_timeout(500)  # a late console message still counts
        assert push_endpoint.received() == []
        assert watch.problems == []
    finally:
        desktop.close()
        phone.close()
