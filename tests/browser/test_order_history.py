"""The order history in a real browser, in English and in Simplified Chinese: the owner finds
yesterday's order by its pickup number and refunds an item from its page.

Yesterday's order A001 (a latte and a croissant, paid through the sandbox) shares its number
with today's A001, as pickup numbers start again each day. The owner signs in, opens
"Orders" from the console's navigation, searches "A001", sees both, opens the one placed
yesterday, refunds the latte, and sees the refund on the order's timeline and in the list.
No page may log an error, throw, break its Content-Security-Policy or get a 4xx/5xx answer.
"""

import re
import uuid
from dataclasses import dataclass
from datetime import timedelta

import pytest
from playwright.sync_api import expect
from tests.browser.helpers import console_sign_in
from tests.browser.watch import Watch

LATTE, CROISSANT = 2600, 1800
CJK = re.compile(r"[\u3400-\u9fff]")


@dataclass(frozen=True)
class Lang:
    code: str  # what <html lang> says
    locale: str
    accept: str
    orders: str  # the navigation's link to the history
    show: str  # the filter form's button
    refund: str  # the refund-by-items form's button
    refunded: str  # the start of the message after a refund


LANGS = [
    Lang("en", "en-US", "en-US,en;q=0.9", "Orders", "Show orders",
         "Refund the chosen items", "Refunded"),
    Lang("zh-hans", "zh-CN", "zh-Hans,zh;q=0.9", "订单", "显示订单",
         "为所选商品退款", "已退款"),
]  # fmt: skip


def money(amount: int) -> str:
    return f"{amount // 100}.{amount % 100:02d}"


def paid_order(app, products) -> object:
    from tapgo.identity.services import customer_create_guest
    from tapgo.ordering import services as ordering
    from tapgo.ordering.models import Order
    from tapgo.payments.tests.sandbox_helpers import pay_by_sandbox

    customer = customer_create_guest()
    for product in products:
        ordering.cart_add(customer=customer, app=app, product_public_id=product.public_id)
    order = ordering.order_place(
        customer=customer,
        app=app,
        checkout_key=uuid.uuid4().hex,
        fulfilment="pickup",
        pickup_name="Ann",
    )
    pay_by_sandbox(order)
    return Order.objects.get(pk=order.pk)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("lang", LANGS, ids=[lang.code for lang in LANGS])
def test_the_owner_finds_yesterdays_order_by_its_number_and_refunds_an_item(
    live, browser, merchant, owner, app, category, product, lang: Lang
):
    from django.utils import timezone

    from tapgo.flows.checks import verify_books
    from tapgo.flows.listings import product_create
    from tapgo.ordering.models import Order, OrderStatus, PickupCounter
    from tapgo.payments.models import Refund

    croissant = product_create(
        merchant=merchant, category=category, name="Croissant", price=CROISSANT, stock=10
    )
    yesterday = paid_order(app, [product, croissant])
    when = yesterday.created_at - timedelta(days=1)
    day = timezone.localtime(when, merchant_store(merchant).tz).date()
    Order.objects.filter(pk=yesterday.pk).update(created_at=when, business_date=day)
    PickupCounter.objects.update(business_date=day)  # today's numbers start again
    today = paid_order(app, [product])
    assert yesterday.number == today.number == "A001"
    assert yesterday.status == today.status == OrderStatus.PAID

    watch = Watch()
    desktop = browser.new_context(
        viewport={"width": 1280, "height": 900},
        locale=lang.locale,
        extra_http_headers={"Accept-Language": lang.accept},
    )
    try:
        m = watch.page(desktop, "owner")
        console_sign_in(m, live.url, owner.email, next_path=f"/console/{merchant.public_id}/board/")
        expect(m).to_have_url(re.compile(rf"/console/{merchant.public_id}/board/$"))
        expect(m.locator("html")).to_have_attribute("lang", lang.code)

        # --- the history, from the navigation; search by the pickup number --------------------
        m.locator("nav.tabs").get_by_role("link", name=lang.orders, exact=True).click()
        expect(m).to_have_url(re.compile(rf"/console/{merchant.public_id}/orders/$"))
        expect(m.get_by_test_id("today-orders")).to_have_text("1")  # today's, not yesterday's
        m.locator("input[name=q]").fill("A001")
        m.get_by_role("button", name=lang.show).click()
        expect(m).to_have_url(re.compile(r"/orders/\?q=A001$"))  # no empty fields
        rows = m.get_by_test_id("history-row")
        expect(rows).to_have_count(2)
        expect(rows.nth(0)).to_have_attribute("id", f"history-{today.public_id}")
        old = m.locator(f"#history-{yesterday.public_id}")
        expect(old).to_contain_text(day.isoformat())
        expect(old).to_contain_text(money(LATTE + CROISSANT))
        if lang.code == "zh-hans":
            assert CJK.search(old.inner_text()), "the row is not in Chinese"

        # --- its page: refund the latte ------------------------------------------------------
        old.get_by_role("link", name="A001").click()
        expect(m).to_have_url(
            re.compile(rf"/console/{merchant.public_id}/orders/{yesterday.public_id}/$")
        )
        timeline = m.get_by_test_id("timeline-entry")
        expect(timeline.and_(m.locator("[data-kind=step]"))).to_have_count(2)  # placed, paid
        latte_line = yesterday.lines.get(product=product)
        form = m.locator("#refund-items")
        form.locator(f"input[name=line_{latte_line.pk}]").fill("1")
        form.locator("input[name=reason]").fill("The latte was cold")
        form.get_by_role("button", name=lang.refund).click()

        expect(m.locator("#messages")).to_contain_text(
            re.compile(rf"{lang.refunded}\s*\D*{money(LATTE)}")
        )
        refund_entry = m.locator("[data-testid=timeline-entry][data-kind=refund]")
        expect(refund_entry).to_have_count(1)
        expect(refund_entry).to_contain_text(money(LATTE))
        expect(refund_entry).to_contain_text("The latte was cold")
        expect(refund_entry).to_contain_text(owner.email)

        # --- back in the list, the row shows what was refunded -------------------------------
        m.locator("nav.tabs").get_by_role("link", name=lang.orders, exact=True).click()
        expect(m.locator(f"#history-{yesterday.public_id}")).to_contain_text(money(LATTE))
        refund = Refund.objects.get()
        assert refund.amount == LATTE and refund.lines == {str(latte_line.pk): 1}
        assert verify_books() == []
        assert watch.problems == []
    finally:
        desktop.close()


def merchant_store(merchant):
    from tapgo.merchants.services import merchant_store as store_of

    return store_of(merchant)
