"""The membership card at the counter and at checkout, in a real browser, in English and in
Simplified Chinese.

At the counter (the owner on a desktop, the customer's card on a phone): the owner types the
member code the phone shows, lands on the member's counter page, records a purchase (points
earned said), uses the member's coupon on a sale, and takes an amount from the card with the
code on the card now; the same code again is refused, nothing taken.

At checkout (the customer's phone): a member of a level with a discount, with enough points
for a reward, adds two items; the cart shows the level's discount and the reward to choose;
the order pays on the sandbox and its page lists each offer (coupon, level, reward); the card
shows the points redeemed.

No page may log an error, throw, break its Content-Security-Policy or get a 4xx/5xx answer
(the refusal is a form shown again, not an error answer); the books and the points ledger
must check out at the end.
"""

import re
import time
from datetime import timedelta

import pytest
from django.http import HttpResponse
from django.utils import timezone
from playwright.sync_api import expect
from tests.browser.helpers import (
    LANGS,
    Lang,
    console_sign_in,
    desktop_context,
    in_language,
    money,
    phone_context,
)
from tests.browser.watch import Watch

EMAIL = "mei@example.com"
LATTE, CROISSANT = 2600, 1800  # fen


def said(lang: Lang, text: str, values: dict | None = None) -> str:
    """A message as the server says it in the page's language (money formatted there)."""
    from django.utils import translation
    from django.utils.translation import gettext

    with translation.override(lang.code):
        made = {key: value() if callable(value) else value for key, value in (values or {}).items()}
        return gettext(text) % made if values else gettext(text)


def in_money(lang: Lang, amount: int):
    from tapgo.core.money import format_money

    return lambda: format_money(amount, "CNY")


def signed_in_customer(merchant, app, email: str = EMAIL):
    """A customer signed in with an email (in-process) who joined the card."""
    from tapgo.identity.models import Customer
    from tapgo.membership import services as membership

    customer = Customer.objects.create(email=email)
    member = membership.member_join(merchant=merchant, customer=customer, app=app)
    return customer, member


def as_customer(context, url: str, customer) -> None:
    """The phone is this customer: the shell's signed cookie, as signing in leaves it."""
    from tapgo.identity import middleware

    signed = HttpResponse()
    signed.set_signed_cookie(middleware.COOKIE, customer.public_id, salt=middleware.SALT)
    value = signed.cookies[middleware.COOKIE].value
    context.add_cookies([{"name": middleware.COOKIE, "value": value, "url": url}])


def a_coupon(merchant, customer, *, combinable: bool = False):
    """¥5 off ¥30, issued to the customer."""
    from tapgo.coupons import services as coupons

    batch = coupons.batch_create(merchant=merchant, terms=coupons.BatchTerms(
        name="¥5 off ¥30", kind="threshold", value=500, min_spend=3000, valid_days=7,
        valid_from=timezone.now() - timedelta(minutes=1), combinable=combinable,
    ))  # fmt: skip
    return coupons.coupon_issue(batch=batch, customer=customer, source="claimed")


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("lang", LANGS, ids=[lang.code for lang in LANGS])
def test_the_counter_finds_the_member_by_code_records_a_purchase_a_coupon_and_a_card_payment(
    live, browser, playwright, merchant, owner, app, lang
):
    from tapgo.coupons.models import Coupon, CouponState
    from tapgo.flows.checks import verify_books
    from tapgo.membership import services as membership
    from tapgo.membership.models import CounterKind, CounterSale, Member
    from tapgo.payments import stored_value

    url, m_id, slug = live.url, merchant.public_id, app.slug
    customer, member = signed_in_customer(merchant, app)
    stored_value.topup_counter(merchant=merchant, customer=customer, amount=5000,
                               key="top-up-1", by=owner)  # fmt: skip
    coupon = a_coupon(merchant, customer)
    bought, sale, paid = 2340, 4000, 1250
    earned = bought // 100 + (sale - 500) // 100 + paid // 100  # a point per ¥1 paid

    watch = Watch()
    desktop = desktop_context(browser, locale=lang.locale, accept=lang.accept)
    phone = phone_context(browser, playwright, locale=lang.locale, accept=lang.accept)
    as_customer(phone, url, customer)
    try:
        # --- the customer shows the card's code; the owner types it at the counter ------------
        c = watch.page(phone, "customer")
        c.goto(f"{url}/m/{slug}/card/")
        in_language(c, lang)
        expect(c.get_by_test_id("card-balance")).to_contain_text(money(5000))
        code = c.get_by_test_id("membership-code").inner_text().strip()
        assert code.startswith(str(member.number))

        m = watch.page(desktop, "owner")
        console_sign_in(m, url, owner.email, next_path=f"/console/{m_id}/membership/counter/")
        expect(m).to_have_url(re.compile(rf"/console/{m_id}/membership/counter/$"))
        in_language(m, lang)
        form = m.get_by_test_id("counter-form")
        form.locator("input[name=code]").fill(code)
        form.locator("button").click()
        expect(m).to_have_url(re.compile(rf"/console/{m_id}/membership/counter/m/[^/]+/$"))
        in_language(m, lang)
        expect(m.get_by_test_id("counter-points")).to_have_text("0")
        expect(m.get_by_test_id("counter-balance")).to_contain_text(money(5000))

        # --- a purchase earns -----------------------------------------------------------------
        form = m.get_by_test_id("counter-purchase")
        form.locator("input[name=amount]").fill(money(bought))
        form.locator("button").click()
        message = said(lang, "Member %(number)s earned %(points)s points.",
                       {"number": member.number, "points": bought // 100})  # fmt: skip
        expect(m.locator("#messages")).to_contain_text(message)
        expect(m.get_by_test_id("counter-points")).to_have_text(str(bought // 100))

        # --- the member's coupon on a sale ----------------------------------------------------
        form = m.get_by_test_id("counter-coupon")
        form.locator(f"input[name=coupon][value='{coupon.public_id}']").check()
        form.locator("input[name=amount]").fill(money(sale))
        form.locator("button").click()
        message = said(lang, "Coupon used: %(discount)s off %(amount)s, %(paid)s to pay.", {
            "discount": in_money(lang, 500), "amount": in_money(lang, sale),
            "paid": in_money(lang, sale - 500),
        })  # fmt: skip
        expect(m.locator("#messages")).to_contain_text(message)
        expect(m.get_by_test_id("counter-no-coupons")).to_be_visible()
        points = bought // 100 + (sale - 500) // 100
        expect(m.get_by_test_id("counter-points")).to_have_text(str(points))
        coupon.refresh_from_db()
        assert coupon.state == CouponState.USED

        # --- a payment from the card, with the code on the card now ---------------------------
        c.reload()
        code = c.get_by_test_id("membership-code").inner_text().strip()
        form = m.get_by_test_id("counter-card")
        form.locator("input[name=amount]").fill(money(paid))
        form.locator("input[name=code]").fill(code)
        form.locator("button").click()
        message = said(lang, "%(amount)s taken from member %(number)s's card.",
                       {"amount": in_money(lang, paid), "number": member.number})  # fmt: skip
        expect(m.locator("#messages")).to_contain_text(message)
        expect(m.get_by_test_id("counter-balance")).to_contain_text(money(5000 - paid))
        expect(m.get_by_test_id("counter-points")).to_have_text(str(earned))

        # --- the same (spent) code again: refused, nothing taken ------------------------------
        form = m.get_by_test_id("counter-card")
        form.locator("input[name=amount]").fill(money(100))
        form.locator("input[name=code]").fill(code)
        form.locator("button").click()
        refused = said(lang, "That code was used already: ask for the new code on the card.")
        expect(m.get_by_test_id("counter-card")).to_contain_text(refused)
        expect(m.get_by_test_id("counter-balance")).to_contain_text(money(5000 - paid))
        in_language(m, lang)

        # --- the phone shows what the counter did ---------------------------------------------
        c.reload()
        expect(c.get_by_test_id("member-points")).to_have_text(str(earned))
        expect(c.get_by_test_id("card-balance")).to_contain_text(money(5000 - paid))
        expect(c.get_by_test_id("points-history")).to_have_count(3)
        in_language(c, lang)

        time.sleep(0.5)  # a late console message still counts
        assert watch.problems == []
    finally:
        desktop.close()
        phone.close()

    assert stored_value.balance(merchant, customer) == 5000 - paid
    assert Member.objects.get(pk=member.pk).balance == earned
    sales = CounterSale.objects.filter(member=member).order_by("pk")
    assert [(s.kind, s.amount, s.discount, s.card) for s in sales] == [
        (CounterKind.PURCHASE, bought, 0, 0),
        (CounterKind.COUPON, sale, 500, 0),
        (CounterKind.CARD, paid, 0, paid),
    ]
    assert Coupon.objects.get(pk=coupon.pk).state == CouponState.USED
    assert membership.verify_balances() == []
    assert verify_books() == []


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("lang", LANGS, ids=[lang.code for lang in LANGS])
def test_a_member_gets_the_level_discount_and_a_points_reward_and_the_day_report_shows_it(
    live, browser, playwright, merchant, owner, app, category, product, lang
):
    from tapgo.core.actors import SYSTEM
    from tapgo.core.money import allocate
    from tapgo.coupons.models import CouponState
    from tapgo.flows.checks import verify_books
    from tapgo.flows.listings import product_create
    from tapgo.membership import services as membership
    from tapgo.membership.models import EntryKind, Member, RewardKind
    from tapgo.merchants.services import merchant_zone
    from tapgo.ordering.models import DiscountKind, Order, OrderDiscount, OrderStatus

    url, slug = live.url, app.slug
    croissant = product_create(
        merchant=merchant, category=category, name="Croissant", price=CROISSANT, stock=10
    )
    latte = product
    gold = membership.level_save(merchant=merchant, name="Gold", threshold=1, rank=1,
                                 discount_bps=500)  # fmt: skip
    customer, member = signed_in_customer(merchant, app)
    membership.points_adjust(member=member, points=1200, reason="welcome", key="welcome",
                             actor=SYSTEM)  # fmt: skip
    assert Member.objects.get(pk=member.pk).level_id == gold.pk
    reward = membership.reward_save(merchant=merchant, terms=membership.RewardTerms(
        name="¥3 off", points=1000, kind=RewardKind.AMOUNT, amount=300,
    ))  # fmt: skip
    coupon = a_coupon(merchant, customer, combinable=True)
    gross = LATTE + CROISSANT
    # the offers in their order: the coupon, then 5% of what is left of each line (rounded
    # down per line), then the reward
    coupon_parts = allocate(500, [LATTE, CROISSANT])
    left = [line - part for line, part in zip((LATTE, CROISSANT), coupon_parts, strict=True)]
    level_off = sum(part * 500 // 10_000 for part in left)
    assert sum(left) == gross - 500

    watch = Watch()
    desktop = desktop_context(browser, locale=lang.locale, accept=lang.accept)
    phone = phone_context(browser, playwright, locale=lang.locale, accept=lang.accept)
    as_customer(phone, url, customer)
    try:
        c = watch.page(phone, "customer")
        c.goto(f"{url}/m/{slug}/")
        expect(c.locator("html")).to_have_attribute("lang", lang.code)  # the menu: its names
        for item in (latte, croissant):
            count = int(c.locator("#cart-count").inner_text() or 0)
            c.locator(f"#p-{item.public_id} button.add").tap()
            expect(c.locator("#cart-count")).to_have_text(str(count + 1))
        c.get_by_test_id("cart-link").tap()
        expect(c.get_by_test_id("cart-line")).to_have_count(2)
        in_language(c, lang)
        expect(c.get_by_test_id("coupon-option")).to_be_checked()  # it combines with a reward
        level_line = c.get_by_test_id("level-discount")
        expect(level_line).to_contain_text("Gold")
        expect(level_line).to_contain_text(money(level_off))
        choice = c.get_by_test_id("reward-choice")
        expect(choice).to_contain_text("1200")
        expect(c.get_by_test_id("reward-not-combinable")).to_have_count(0)
        option = c.get_by_test_id("reward-option")
        expect(option).to_have_count(1)
        expect(option).to_have_attribute("value", reward.public_id)
        expect(option).not_to_be_checked()  # no reward unless chosen
        option.check()
        c.fill("input[name=pickup_name]", "Mei")
        c.get_by_test_id("place-order").tap()

        expect(c).to_have_url(re.compile(r"/payments/sandbox/[^/]+/$"))
        order = Order.objects.get(customer=customer)
        offers = {d.kind: d.amount for d in OrderDiscount.objects.filter(order=order)}
        assert offers == {DiscountKind.COUPON: 500, DiscountKind.LEVEL: level_off,
                          DiscountKind.REWARD: 300}  # fmt: skip
        discount = 500 + level_off + 300
        assert (order.discount, order.total) == (discount, gross - discount)
        expect(c.get_by_test_id("pay-amount")).to_contain_text(money(gross - discount))
        c.locator("button[name=decision][value=approve]").tap()
        expect(c).to_have_url(re.compile(rf"/m/{slug}/orders/{order.public_id}/$"))
        expect(c.get_by_test_id("order-status")).to_have_attribute("data-status", "paid")
        lines = c.get_by_test_id("order-discount")
        expect(lines).to_have_count(3)
        for kind, name, amount in (
            ("Coupon", "¥5 off ¥30", 500),
            ("Member level", "Gold", level_off),
            ("Points reward", "¥3 off", 300),
        ):
            line = lines.filter(has_text=said(lang, kind))
            expect(line).to_have_count(1)
            expect(line).to_contain_text(name)
            expect(line).to_contain_text(money(amount))
        expect(c.get_by_test_id("order-total")).to_contain_text(money(gross - discount))
        in_language(c, lang)

        earned = (gross - discount) // 100
        c.goto(f"{url}/m/{slug}/card/")
        expect(c.get_by_test_id("member-points")).to_have_text(str(1200 - 1000 + earned))
        history = c.get_by_test_id("points-history")
        expect(history).to_have_count(3)  # the welcome, the reward, the order's points
        expect(history.filter(has_text="-1000")).to_have_count(1)
        expect(history.filter(has_text=f"+{earned}")).to_have_count(1)
        in_language(c, lang)

        # --- the owner's settlement report: the day's page shows the order's three columns ----
        day = timezone.localdate(timezone=merchant_zone(merchant.pk)).isoformat()
        m = watch.page(desktop, "owner")
        console_sign_in(
            m, url, owner.email, next_path=f"/console/{merchant.public_id}/reports/{day}/"
        )
        expect(m).to_have_url(re.compile(rf"/reports/{day}/$"))
        in_language(m, lang)
        row = m.locator(f"[data-testid=sales-row][data-order='{order.public_id}']")
        expect(row).to_have_count(1)
        expect(row.get_by_test_id("sales-gross")).to_contain_text(money(gross))
        expect(row.get_by_test_id("sales-discount")).to_contain_text(money(discount))
        expect(row.get_by_test_id("sales-net")).to_contain_text(money(gross - discount))

        time.sleep(0.5)  # a late console message still counts
        assert watch.problems == []
    finally:
        desktop.close()
        phone.close()

    order = Order.objects.get(customer=customer)
    assert order.status == OrderStatus.PAID
    assert order.total == sum(line.subtotal - line.discount for line in order.lines.all())
    coupon.refresh_from_db()
    assert coupon.state == CouponState.USED and coupon.order_id == order.pk
    redeemed = member.entries.get(kind=EntryKind.REDEEM)
    assert redeemed.points == -1000
    assert Member.objects.get(pk=member.pk).balance == 1200 - 1000 + earned
    assert membership.verify_balances() == []
    assert verify_books() == []
