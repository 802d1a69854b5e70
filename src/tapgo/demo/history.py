"""Thirty days of a demo business's life, so that what a newcomer opens is not empty: visits
through every door, orders in every status, paid through the sandbox's signed webhooks (and
some from a stored-value card topped up at the counter), with the ledger's postings.

Each customer's story runs through the real services and flows, now; then every row it made
(visits, the order, its events, payments, refunds, ledger transactions, messages, top-ups)
is moved back to the story's moment by one shift of all its timestamps. Nothing about money
changes in the shift, so `tapgo ledger verify` stays clean.
"""

import random
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.db.models import F
from django.utils import timezone, translation

from tapgo.catalog import services as catalog
from tapgo.core.actors import Actor
from tapgo.core.scenes import Scene
from tapgo.flows import orders as order_flows
from tapgo.flows import paying, payment_events
from tapgo.identity.models import Customer, User
from tapgo.identity.services import customer_create_guest
from tapgo.membership.models import PointsEntry
from tapgo.messaging.models import Consent, Message
from tapgo.miniapps import services as miniapps
from tapgo.miniapps.models import EntryCode, MiniApp, ShareLink, Visit
from tapgo.ordering import services as ordering
from tapgo.ordering.models import Order, OrderEvent
from tapgo.payments import providers, stored_value
from tapgo.payments import services as payments
from tapgo.payments.models import (
    LedgerAccount,
    LedgerTransaction,
    PaymentIntent,
    Refund,
    SandboxOutbox,
    TopUp,
    WebhookEvent,
)
from tapgo.payments.providers import sandbox

DAYS = 30
DOORS = [(Scene.SCAN, 10), (Scene.SHARE, 2), (Scene.SEARCH, 2), (Scene.NEARBY, 2),
         (Scene.RECENT, 3), (Scene.DIRECT, 1)]  # fmt: skip
ENDINGS = [("completed", 80), ("expired", 7), ("cancelled", 4), ("rejected", 3), ("left", 6)]
NAMES = ["Amy", "Ben", "小王", "Chen", "李雷", "Dora", "韩梅梅", "Eli", "Fang", "Grace"]


def history(app: MiniApp, *, staff: User, per_day: tuple[int, int], days: int = DAYS) -> int:
    """The app's last `days` days (and today's morning), unless it has orders already
    (idempotent); the number of customers' stories told."""
    if Order.objects.for_merchant(app.merchant).exists():
        return 0
    rnd = random.Random(f"tapgo-demo-{app.slug}")
    products = [p for p in catalog.products_of(app.merchant) if p.available]
    tables = list(EntryCode.objects.filter(app=app, kind=EntryCode.Kind.TABLE))
    shares = list(ShareLink.objects.filter(app=app))
    members = _members(app)
    tz = app.store.tz
    now = timezone.now()
    today = timezone.localtime(now, tz).replace(hour=0, minute=0, second=0, microsecond=0)
    told = 0
    for days_ago in range(days, -1, -1):
        day = today - timedelta(days=days_ago)
        for _ in range(rnd.randint(*per_day)):
            at = day + timedelta(hours=rnd.uniform(7.5, 19.5))
            if at >= now - timedelta(minutes=30):
                continue
            _story(app, staff, rnd, at, products, tables, shares, members, recent=days_ago == 0)
            told += 1
    return told


def _members(app: MiniApp) -> list[Customer]:
    """A few customers who signed in with their email (members with a stored-value card)."""
    return [
        Customer.objects.get_or_create(email=f"member{n}@{app.slug}.demo")[0] for n in range(1, 6)
    ]


def _story(app, staff, rnd, at: datetime, products, tables, shares, members, *, recent) -> None:
    mark = timezone.now()
    member = rnd.random() < 0.15 and members
    customer = rnd.choice(members) if member else customer_create_guest()
    scene = rnd.choices([d for d, _w in DOORS], [w for _d, w in DOORS])[0]
    table = None
    if scene == Scene.SCAN and tables:
        table = rnd.choice(tables)
        miniapps.visit_record(app=app, customer=customer, scene=scene, code=table)
    elif scene == Scene.SHARE and shares:
        miniapps.visit_record(app=app, customer=customer, scene=scene, share=rnd.choice(shares))
    else:
        miniapps.visit_record(app=app, customer=customer, scene=scene)
    if rnd.random() < 0.25:  # looked at the menu and left
        _shift(mark, at)
        return
    language = rnd.choices(["en", "zh-hans"], [3, 2])[0]
    with translation.override(language):  # the order's lines keep the names it read
        for product in rnd.sample(products, k=min(len(products), rnd.choice((1, 1, 2, 3)))):
            variants = list(product.variants.all())
            ordering.cart_add(
                customer=customer,
                app=app,
                product_public_id=product.public_id,
                variant_public_id=rnd.choice(variants).public_id if variants else None,
                quantity=rnd.choice((1, 1, 1, 2)),
            )
        if table is not None:
            ordering.cart_set_table(customer=customer, app=app, table_label=table.table_label)
        order = ordering.order_place(
            customer=customer,
            app=app,
            checkout_key=secrets.token_hex(8),
            fulfilment="dine_in" if table is not None else "pickup",
            pickup_name="" if table is not None else rnd.choice(NAMES),
        )
    ending = rnd.choices([e for e, _w in ENDINGS], [w for _e, w in ENDINGS])[0]
    if recent:
        ending = rnd.choice(["paid", "accepted", "ready", "completed", "pending"])
    if ending in ("expired", "pending"):
        if ending == "expired":
            Order.objects.filter(pk=order.pk).update(expires_at=timezone.now())
            order.refresh_from_db()
            order_flows.order_expire(order=order)
        _shift(mark, at)
        return
    if member:  # tops up at the counter when the card runs low, then pays from it
        if stored_value.balance(app.merchant, customer) < order.total:
            stored_value.topup_counter(
                merchant=app.merchant,
                customer=customer,
                amount=max(10000, order.total),
                key=secrets.token_hex(8),
                by=staff,
            )
        paying.pay_from_card(order=order, customer=customer)
    else:
        _pay_by_sandbox(order)
    actor = Actor.staff(staff)
    order.refresh_from_db()
    if ending == "rejected":
        order_flows.order_reject(order=order, reason="Sold out of milk, sorry.", actor=actor)
        _refunds_paid(mark)
    elif ending == "cancelled":
        order_flows.order_accept(order=order, actor=actor)
        order_flows.order_cancel(order=order, reason="The customer asked to cancel.", actor=actor)
        _refunds_paid(mark)
    elif ending != "paid":
        order_flows.order_accept(order=order, actor=actor)
        if ending in ("ready", "completed"):
            order_flows.order_mark_ready(order=order, actor=actor)
        if ending == "completed":
            order_flows.order_complete(order=order, actor=actor)
    _shift(mark, at)


def _refunds_paid(mark: datetime) -> None:
    """The story's refunds sent to the sandbox and its signed answers landed (the worker's
    and the sandbox's parts, played at once; the tasks already queued then find them done)."""
    for refund in Refund.objects.filter(created_at__gte=mark).select_related("intent__merchant"):
        payments.refund_send(refund=refund)
    for item in SandboxOutbox.objects.filter(created_at__gte=mark, delivered_at__isnull=True):
        body = item.body.encode()
        payment_events.webhook_receive(
            provider=sandbox.NAME, body=body, headers={sandbox.HEADER: sandbox.sign(body)}
        )
        SandboxOutbox.objects.filter(pk=item.pk).update(delivered_at=timezone.now())


def _pay_by_sandbox(order: Order) -> None:
    """The customer approves on the sandbox's page; its signed webhook lands (as the worker
    would deliver it)."""
    intent = paying.intent_for_order(order=order)
    body = sandbox.event_body(
        event_id="evt_" + secrets.token_hex(12),
        kind=providers.PAYMENT_SUCCEEDED,
        intent_public_id=intent.public_id,
        amount=intent.amount,
        currency=intent.currency,
    )
    payment_events.webhook_receive(
        provider=sandbox.NAME, body=body, headers={sandbox.HEADER: sandbox.sign(body)}
    )


# What a story writes, each found by its creation time (the story runs alone, now; every
# earlier story has been moved into the past already).
STORY_ROWS = [
    (Visit, "created_at"), (Order, "created_at"), (OrderEvent, "created_at"),
    (PaymentIntent, "created_at"), (Refund, "created_at"), (LedgerTransaction, "created_at"),
    (LedgerAccount, "created_at"), (TopUp, "created_at"), (WebhookEvent, "received_at"),
    (Message, "created_at"), (Consent, "created_at"), (SandboxOutbox, "created_at"),
    (PointsEntry, "created_at"),
]  # fmt: skip


def _shift(mark: datetime, at: datetime) -> None:
    """Move every row the story made (since `mark`) back by `mark - at`, all its date-time
    columns alike; an order's business date and payment deadline follow its new time."""
    delta = at - mark
    orders = []
    for model, made in STORY_ROWS:
        rows = model._default_manager.filter(**{f"{made}__gte": mark})
        if model is Order:
            orders = list(rows.values_list("pk", flat=True))
        names = [
            f.attname for f in model._meta.concrete_fields if isinstance(f, models.DateTimeField)
        ]
        rows.update(**{name: F(name) + delta for name in names})
    for order in Order.objects.filter(pk__in=orders).select_related("store"):
        Order.objects.filter(pk=order.pk).update(
            business_date=timezone.localtime(order.created_at, order.store.tz).date(),
            expires_at=order.created_at + timedelta(seconds=settings.ORDER_PAYMENT_SECONDS),
        )
