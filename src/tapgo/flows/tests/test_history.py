"""The history's reads across domains: an order's whole timeline (its steps, its refunds and
what the customer was told), and the ways to pay the filter offers."""

import pytest

from tapgo.core.actors import SYSTEM, Actor
from tapgo.core.money import format_money
from tapgo.flows import history
from tapgo.flows import orders as order_flows
from tapgo.flows import refunds as refund_flows
from tapgo.payments import providers
from tapgo.payments import services as payments
from tapgo.payments.models import Refund
from tapgo.payments.tests.sandbox_helpers import pay_by_sandbox


@pytest.fixture
def paid(order):
    pay_by_sandbox(order)
    order.refresh_from_db()
    return order


def test_the_timeline_tells_the_whole_story_oldest_first(paid, owner):
    order_flows.order_accept(order=paid, actor=Actor.staff(owner))
    order_flows.order_mark_ready(order=paid, actor=SYSTEM)  # tells the customer: it is ready
    line = paid.lines.get()
    refund_flows.order_refund(order=paid, lines={line.pk: 1}, restock=True, reason="Cold", by=owner)

    entries = history.order_timeline(paid)
    assert [(e.kind, e.label) for e in entries] == [
        ("step", "Placed"),
        ("step", "Paid"),
        ("step", "Accepted"),
        ("step", "Ready"),
        ("message", entries[4].label),
        ("refund", f"Refunded {format_money(2600, 'CNY')}"),
    ]
    assert entries[0].by == "The customer" and entries[2].by == "owner@cafe.test"
    assert entries[4].label.startswith("Told the customer: ")
    assert "Inbox: " in entries[4].details[0]
    assert entries[5].by == "owner@cafe.test"
    status = Refund.objects.get().get_status_display()  # pending until the sandbox answers
    assert entries[5].details == ["Cold", "Sandbox (test payments)", status, "back in stock"]
    assert [e.at for e in entries] == sorted(e.at for e in entries)


def test_an_unpaid_order_has_only_its_placing(order):
    assert [(e.kind, e.label) for e in history.order_timeline(order)] == [("step", "Placed")]


def test_every_way_to_pay_is_offered_with_its_label():
    names = [name for name, _label in payments.method_choices()]
    assert names == [p.name for p in providers.all_providers()] + [providers.WALLET]
    assert {"sandbox", "stripe", "wechatpay", "wallet"} <= set(names)
    assert payments.method_label("wallet") == "Stored value"
    assert payments.method_label("stripe") == "Stripe (cards)"
    assert payments.method_label("gone") == "gone"  # a provider no longer installed
