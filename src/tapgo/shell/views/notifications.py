"""The customer's notifications: asking at the right moment (an order, an official account),
the inbox, what they allowed and on which devices, Web Push subscriptions, the service worker,
following a message's link, and one-click unsubscribe.

Thin: each view reads the request, calls tapgo.messaging and renders. Guests have consents,
messages and devices too (the guest cookie's customer); signing in moves them to the account.

With JavaScript (static/shell/notify.js), an ask button first asks the browser's permission,
registers /sw.js, subscribes to push and POSTs the subscription to /me/push/subscribe, then
sends the form; without it (or with permission refused) the same form gives the consent and
messages arrive in the inbox (and by email, if chosen).
"""

import json
from functools import cache
from pathlib import Path
from urllib.parse import urlencode

from django.contrib import messages as flash
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tapgo.core.ids import is_public_id
from tapgo.core.scenes import Scene
from tapgo.flows import orders as order_flows
from tapgo.identity.middleware import current_customer, ensure_customer
from tapgo.messaging import email as email_channel
from tapgo.messaging import push as push_channel
from tapgo.messaging import services as messaging
from tapgo.messaging import texts as template_texts
from tapgo.messaging.keys import TemplateKey
from tapgo.messaging.models import Consent, ConsentSubject, Template
from tapgo.miniapps import services as miniapps
from tapgo.miniapps.models import MiniApp
from tapgo.ordering import services as ordering
from tapgo.shell import page
from tapgo.shell import state as shell_state
from tapgo.shell.views.base import customer_order

INBOX_PAGE_SIZE = 25
MAX_SUBSCRIPTION_BYTES = 4096
SERVICE_WORKER = Path(__file__).resolve().parent.parent / "static" / "shell" / "sw.js"


# --- asking: the order page and the official account ------------------------------------


def _email_offer(customer) -> str:
    """The address a consent may also email, for a signed-in customer ("" for a guest)."""
    return customer.email if customer is not None and customer.email else ""


def _ask_text(template: Template) -> str:
    return template_texts.text_for(template.texts, translation.get_language())["ask"]


def order_ask(request, order) -> dict | None:
    """The order page's card: "tell me when my order is ready", or that we will, while the
    order is in the kitchen and the app sends that notification; None otherwise."""
    if not ordering.order_awaits_ready(order):
        return None
    key = order_flows.ready_key(order)  # brought to the table, or collected at the counter
    template = messaging.template_offered(app=order.app, key=key)
    if template is None:
        return None
    customer = current_customer(request)
    covered = messaging.consent_covers(
        customer=customer,
        app=order.app,
        key=key,
        subject=ConsentSubject(Template.Subject.ORDER, order.public_id),
    )
    return {
        "covered": covered,
        "covered_text": _("We'll tell you when it's ready."),
        "text": _ask_text(template),
        "action": reverse("shell:order_notify", args=[order.app.slug, order.public_id]),
        "email": _email_offer(customer),
        "push_key": push_channel.public_key(),
    }


@require_POST
def order_notify(request, slug: str, order_id: str):
    """Tell me when my order is ready: a one-time consent for this order (a double submit is
    one consent). `push` says what the page's script managed: "on", "denied", or nothing."""
    order = customer_order(request, slug, order_id)
    back = reverse("shell:order", args=[slug, order.public_id])
    if not ordering.order_awaits_ready(order):
        flash.info(request, _("This order is past that point: its status is on this page."))
        return redirect(back)
    customer = current_customer(request)
    assert customer is not None  # customer_order found this customer's own order
    try:
        consent = messaging.consent_give(
            customer=customer,
            app=order.app,
            key=order_flows.ready_key(order),
            subject=ConsentSubject(Template.Subject.ORDER, order.public_id),
            email=request.POST.get("email") == "1" and bool(_email_offer(customer)),
        )
    except messaging.MessagingError as exc:
        flash.error(request, str(exc))
        return redirect(back)
    push = request.POST.get("push", "")
    if push == "on":
        said = _("We'll tell you when it's ready, on this phone and in your inbox.")
    elif push == "denied":
        said = _(
            "Notifications are blocked for this site in this browser, so we'll tell you in "
            "your inbox when it's ready."
        )
    else:
        said = _("We'll tell you in your inbox when it's ready.")
    if consent.email:
        said += " " + _("And by email.")
    flash.success(request, said)
    return redirect(back)


def follow_ask(request, app: MiniApp) -> dict | None:
    """The official account's Follow: a standing consent for new articles, when the app
    sends them; None when it does not."""
    template = messaging.template_offered(app=app, key=TemplateKey.NEW_ARTICLE)
    if template is None or not template.standing:
        return None
    customer = current_customer(request)
    following = (
        messaging.consents_of(customer)
        .filter(app=app, template=template, kind=Consent.Kind.STANDING)
        .exists()
    )
    action = reverse("shell:follow", args=[app.slug])
    return {
        "covered": following,
        "covered_text": _("Following"),
        "undo_action": action,
        "undo_text": _("Unfollow"),
        "undo_testid": "unfollow",
        "text": _ask_text(template),
        "testid": "follow",
        "action": action,
        "fields": [("follow", "1")],
        "email": _email_offer(customer),
        "push_key": push_channel.public_key(),
    }


@require_POST
def follow(request, slug: str):
    """Follow (follow=1) or unfollow (follow=0) an app's official account."""
    app = miniapps.live_app(slug)
    back = reverse("shell:articles", args=[app.slug])
    if request.POST.get("follow") == "0":
        customer = current_customer(request)
        if customer is None:  # a first-time visitor follows nothing
            return redirect(back)
        consents = messaging.consents_of(customer).filter(
            app=app, template__key=TemplateKey.NEW_ARTICLE, kind=Consent.Kind.STANDING
        )
        turned_off = [
            messaging.consent_revoke(customer=customer, public_id=c.public_id) for c in consents
        ]
        if any(turned_off):
            flash.success(request, _("You no longer follow %(app)s.") % {"app": app.name})
        return redirect(back)
    customer = ensure_customer(request)
    try:
        consent = messaging.consent_give(
            customer=customer,
            app=app,
            key=TemplateKey.NEW_ARTICLE,
            standing=True,
            email=request.POST.get("email") == "1" and bool(_email_offer(customer)),
        )
    except messaging.MessagingError as exc:
        flash.error(request, str(exc))
        return redirect(back)
    if request.POST.get("push") == "on":
        said = _("You follow %(app)s: new articles come to this phone and your inbox.")
    elif request.POST.get("push") == "denied":
        said = _(
            "You follow %(app)s. Notifications are blocked for this site in this browser, "
            "so new articles come to your inbox."
        )
    else:
        said = _("You follow %(app)s: new articles come to your inbox.")
    said %= {"app": app.name}
    if consent.email:
        said += " " + _("And by email.")
    flash.success(request, said)
    return redirect(back)


# --- the inbox ---------------------------------------------------------------------------


def unread_for(request) -> int:
    """The unread count for a page Django renders: one indexed COUNT (and the count app pages
    show from then on, for this customer and stamp)."""
    if request is None:
        return 0
    st = shell_state.of(request)
    if st.customer_id:
        return page.unread_of(st, fresh=True)
    customer = current_customer(request)
    return messaging.unread_count(customer.pk) if customer is not None else 0


@require_GET
def inbox(request):
    """Delivered messages, newest first, in the current language; unread ones marked."""
    customer = current_customer(request)
    found = Paginator(
        messaging.inbox_of(customer).select_related("app__store"), INBOX_PAGE_SIZE
    ).get_page(request.GET.get("page"))
    rows = []
    for message in found:
        title, body = messaging.message_text(message)
        rows.append(
            {
                "message": message,
                "title": title,
                "body": body,
                "unread": message.read_at is None,
                "tz": message.app.store.time_zone,
            }
        )
    unread = unread_for(request)
    context = {"rows": rows, "page": found, "unread": unread, "unread_count": unread}
    return render(request, "shell/inbox.html", context)


@require_POST
@shell_state.keeps
def inbox_read(request):
    """Mark all read."""
    customer = current_customer(request)
    marked = messaging.inbox_read_all(customer=customer) if customer is not None else 0
    if marked:
        page.lists_changed(shell_state.of(request))  # every page counts afresh
        flash.success(request, _("All messages are marked read."))
    return redirect("shell:inbox")


@require_GET
@shell_state.keeps
def message_open(request, public_id: str):
    """A message's link (inbox, push, email): counts it opened (for its customer: their
    cookie or the link's signature), then opens its page in the mini app with scene
    `notification`."""
    if not is_public_id(public_id):
        raise Http404
    message = messaging.message_open(
        public_id=public_id, customer=current_customer(request), token=request.GET.get("k", "")
    )
    if message is None:
        raise Http404
    page.lists_changed(shell_state.of(request))  # read now: the badge counts afresh
    query = urlencode({"scene": Scene.NOTIFICATION})
    joint = "&" if "?" in message.link else "?"
    return HttpResponseRedirect(f"{message.link}{joint}{query}")


# --- what the customer allowed, and where ------------------------------------------------


def _kind_text(consent: Consent) -> str:
    if consent.kind == Consent.Kind.STANDING:
        return _("Until you turn it off")
    if consent.kind == Consent.Kind.GRANT:
        return _("One message about an order you paid")
    return _("One message")


@require_GET
def notifications(request):
    """Every consent in force (turn off, email on/off) and the customer's devices."""
    customer = current_customer(request)
    consents = list(messaging.consents_of(customer))
    about = {c.pk: ConsentSubject.parse(c.subject) for c in consents}
    order_ids = [s.public_id for s in about.values() if s and s.kind == Template.Subject.ORDER]
    orders = {}
    if order_ids:
        orders = {
            o.public_id: o
            for o in ordering.orders_of_customer(customer).filter(public_id__in=order_ids)
        }
    rows = [
        {
            "consent": c,
            "name": messaging.template_name(c.template) if c.template else _("Order updates"),
            "kind": _kind_text(c),
            "order": orders.get(about[c.pk].public_id) if about[c.pk] else None,
        }
        for c in consents
    ]
    context = {
        "customer": customer,
        "email": _email_offer(customer),
        "rows": rows,
        "devices": list(messaging.devices_of(customer)),
        "device_ask": {
            "covered": True,
            "device_text": _("Turn on notifications on this device"),
            "explain": True,
            "reload": True,
            "push_key": push_channel.public_key(),
        },
    }
    return render(request, "shell/notifications.html", context)


def _settings_back():
    return redirect("shell:notifications")


@require_POST
def consent_off(request, public_id: str):
    if not is_public_id(public_id):
        raise Http404
    customer = current_customer(request)
    if customer is not None and messaging.consent_revoke(customer=customer, public_id=public_id):
        flash.success(request, _("Turned off."))
    else:
        flash.info(request, _("That was turned off already."))
    return _settings_back()


@require_POST
def consent_email(request, public_id: str):
    if not is_public_id(public_id):
        raise Http404
    customer = current_customer(request)
    wanted = request.POST.get("email") == "1"
    if wanted and not _email_offer(customer):
        flash.error(request, _("Sign in with your email to get notifications by email."))
        return _settings_back()
    if customer is None or not messaging.consent_set_email(
        customer=customer, public_id=public_id, email=wanted
    ):
        flash.info(request, _("That was turned off already."))
    elif wanted:
        flash.success(request, _("These notifications will be emailed to you too."))
    else:
        flash.success(request, _("No more emails for these notifications."))
    return _settings_back()


@require_POST
def device_remove(request, public_id: str):
    if not is_public_id(public_id):
        raise Http404
    customer = current_customer(request)
    if customer is not None and messaging.push_unsubscribe(customer=customer, public_id=public_id):
        flash.success(request, _("That device will show no more notifications."))
    else:
        flash.info(request, _("That device was removed already."))
    return _settings_back()


# --- devices: Web Push subscriptions (JSON, from notify.js) --------------------------------

_BROWSERS = (
    (("SamsungBrowser/",), "Samsung Internet"),
    (("Edg/", "EdgA/", "EdgiOS/"), "Edge"),
    (("OPR/", "Opera"), "Opera"),
    (("Firefox/", "FxiOS/"), "Firefox"),
    (("CriOS/", "Chrome/", "Chromium/"), "Chrome"),
    (("Safari/",), "Safari"),
)
_SYSTEMS = (
    (("Android",), "Android"),
    (("iPhone", "iPod"), "iPhone"),
    (("iPad",), "iPad"),
    (("CrOS",), "ChromeOS"),
    (("Windows",), "Windows"),
    (("Macintosh", "Mac OS X"), "macOS"),
    (("Linux",), "Linux"),
)


def device_label(user_agent: str) -> str:
    """A device's name for /me/notifications from its User-Agent: "Chrome · Android". It is
    stored, so it holds names only, in no language; "" (nothing known) shows as "A browser",
    translated when the page is shown."""
    user_agent = user_agent or ""
    browser = next((name for marks, name in _BROWSERS if any(m in user_agent for m in marks)), "")
    system = next((name for marks, name in _SYSTEMS if any(m in user_agent for m in marks)), "")
    return " · ".join(name for name in (browser, system) if name)


def _json_body(request):
    """The request's JSON object, or None (too big, not JSON, not an object)."""
    if len(request.body) > MAX_SUBSCRIPTION_BYTES:
        return None
    try:
        data = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None


def _bad(message: str) -> JsonResponse:
    return JsonResponse({"ok": False, "error": message}, status=400)


@require_POST
def push_subscribe(request):
    """POST {endpoint, keys: {p256dh, auth}} (PushSubscription.toJSON()): keep this device."""
    data = _json_body(request)
    keys = data.get("keys") if data is not None else None
    if not isinstance(keys, dict):
        return _bad(_("This browser sent a subscription we cannot use."))
    try:
        # Checked before a guest is made for it (push_subscribe checks it again).
        push_channel.check_subscription(data.get("endpoint"), keys.get("p256dh"), keys.get("auth"))
        device = messaging.push_subscribe(
            customer=ensure_customer(request),
            endpoint=data.get("endpoint"),
            p256dh=keys.get("p256dh"),
            auth=keys.get("auth"),
            label=device_label(request.headers.get("User-Agent", "")),
        )
    except (push_channel.SubscriptionError, messaging.MessagingError) as exc:
        return _bad(str(exc))
    return JsonResponse({"ok": True, "device": device.public_id, "label": device.label})


@require_POST
def push_unsubscribe(request):
    """POST {endpoint}: this device shows no more notifications."""
    data = _json_body(request)
    endpoint = data.get("endpoint") if data is not None else None
    if not isinstance(endpoint, str) or not endpoint or len(endpoint) > 1000:
        return _bad(_("This browser sent a subscription we cannot use."))
    customer = current_customer(request)
    removed = customer is not None and messaging.push_unsubscribe(
        customer=customer, endpoint=endpoint
    )
    return JsonResponse({"ok": True, "removed": bool(removed)})


@cache
def _service_worker_source() -> str:
    return SERVICE_WORKER.read_text(encoding="utf-8")


@require_GET
def service_worker(request):
    """The service worker, at the site's root so that its scope is the whole site. Its texts
    come first, in the customer's language; the worker is checked for updates on every
    registration (no-cache)."""
    texts = {"fallbackTitle": _("New notification"), "fallbackBody": _("Open your inbox.")}
    body = f"self.tapgoTexts = {json.dumps(texts)};\n{_service_worker_source()}"
    response = HttpResponse(body, content_type="text/javascript; charset=utf-8")
    response["Service-Worker-Allowed"] = "/"
    response["Cache-Control"] = "no-cache"
    response["Vary"] = "Accept-Language, Cookie"
    return response


# --- email: one-click unsubscribe ----------------------------------------------------------


@csrf_exempt  # the signed token is the credential; mail clients POST without a session
@require_http_methods(["GET", "POST"])
def unsubscribe(request, token: str):
    """RFC 8058 one-click unsubscribe: a POST stops these emails at once; a GET (a person, or
    a link scanner) shows a button, so a scanner cannot unsubscribe anyone."""
    target = email_channel.unsubscribe_target(token)
    if target is None:
        return render(request, "shell/unsubscribe.html", {"invalid": True}, status=400)
    customer_id, app_id, template_id = target
    app = MiniApp.objects.filter(pk=app_id).first()
    template = Template.objects.filter(pk=template_id).first()
    if app is None or template is None:
        return render(request, "shell/unsubscribe.html", {"invalid": True}, status=400)
    context = {"app": app, "name": messaging.template_name(template), "token": token}
    if request.method == "POST":
        messaging.email_unsubscribe(customer_id=customer_id, app=app, template=template)
        if request.POST.get("List-Unsubscribe") == "One-Click":
            return HttpResponse(status=204)  # a mail client: nobody reads the page
        context["done"] = True
    return render(request, "shell/unsubscribe.html", context)
