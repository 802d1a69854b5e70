"""Customers come back, in a real browser, in English and in Simplified Chinese: the whole loop
of the membership card and a coupon.

The owner creates an offer ("¥5 off ¥30") in the console and prints its campaign code; a real
decoder (zxing) reads the code off the console's page and a phone opens what it says. The
customer claims the coupon as a guest, joins the card (signing in by an emailed code: one tap
on "Join"), orders a latte and a croissant, sees the coupon chosen and its discount, pays
through the sandbox and earns points on what was paid. The owner refunds the latte from the
order's page; the card shows the points taken back in proportion and the balance left.

No page may log an error, throw, break its Content-Security-Policy or get a 4xx/5xx answer;
the books and the points ledger must check out at the end.
"""

import re
import time

import pytest
import zxingcpp
from PIL import Image
from playwright.sync_api import expect
from tests.browser.helpers import (
    LANGS,
    console_sign_in,
    desktop_context,
    in_language,
    money,
    phone_context,
)
from tests.browser.watch import Watch

EMAIL = "mei@example.com"
LATTE, CROISSANT = 2600, 1800  # fen
OFF, SPEND = 500, 3000  # ¥5 off ¥30


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("lang", LANGS, ids=[lang.code for lang in LANGS])
def test_join_claim_from_a_campaign_code_order_earn_and_see_a_refund_take_points_back(
    live, browser, playwright, merchant, owner, app, category, product, mailoutbox, tmp_path, lang
):
    from tapgo.coupons.models import Batch, Coupon, CouponState
    from tapgo.flows.checks import verify_books
    from tapgo.flows.listings import product_create
    from tapgo.identity.models import Customer
    from tapgo.membership import services as membership
    from tapgo.membership.models import EntryKind, Member
    from tapgo.ordering.models import Order, OrderStatus

    url, m_id, slug = live.url, merchant.public_id, app.slug
    croissant = product_create(
        merchant=merchant, category=category, name="Croissant", price=CROISSANT, stock=10
    )
    latte = product
    gross = LATTE + CROISSANT
    assert gross >= SPEND

    watch = Watch()
    desktop = desktop_context(browser, locale=lang.locale, accept=lang.accept)
    phone = phone_context(browser, playwright, locale=lang.locale, accept=lang.accept)
    try:
        # --- 1. the owner creates the offer and shows its campaign code -----------------------
        m = watch.page(desktop, "owner")
        console_sign_in(m, url, owner.email, next_path=f"/console/{m_id}/coupons/")
        expect(m).to_have_url(re.compile(rf"/console/{m_id}/coupons/$"))
        in_language(m, lang)
        m.fill("input[name=name]", "¥5 off ¥30")
        m.check("input[name=kind][value=threshold]")
        m.fill("input[name=amount]", money(OFF))
        m.fill("input[name=min_spend]", money(SPEND))
        m.fill("input[name=valid_days]", "30")
        m.fill("input[name=total_cap]", "100")
        m.locator("form.stack button.primary").click()
        batch = Batch.objects.get(merchant=merchant)
        expect(m).to_have_url(re.compile(rf"/console/{m_id}/coupons/{batch.public_id}/$"))
        shot = tmp_path / "campaign-code.png"
        m.locator(".qr").screenshot(path=shot)
        found = zxingcpp.read_barcodes(Image.open(shot).convert("L"))
        assert len(found) == 1, "the campaign code cannot be read"
        campaign_url = found[0].text
        assert campaign_url.startswith(url) and f"/m/{slug}/c/{batch.public_id}/" in campaign_url
        assert "scene=scan" in campaign_url

        # --- 2. a phone scans it and claims the coupon as a guest -----------------------------
        c = watch.page(phone, "customer")
        c.goto(campaign_url)
        in_language(c, lang)
        c.get_by_test_id("claim").tap()
        expect(c).to_have_url(re.compile(rf"/m/{slug}/coupons/$"))
        expect(c.get_by_test_id("my-coupon")).to_have_count(1)
        in_language(c, lang)
        coupon = Coupon.objects.get(batch=batch)
        assert (coupon.state, coupon.scene) == (CouponState.AVAILABLE, "scan")

        # --- 3. one tap joins the card: sign in by an emailed code, back to the card, joined --
        c.goto(f"{url}/m/{slug}/card/")
        c.get_by_test_id("card-join").tap()
        sent = len(mailoutbox)
        c.fill("input[name=email]", EMAIL)
        c.press("input[name=email]", "Enter")
        expect(c.locator("input[name=code]")).to_be_visible()
        assert len(mailoutbox) == sent + 1
        code = re.search(r"\b(\d{6})\b", mailoutbox[-1].body)[1]
        c.fill("input[name=code]", code)
        c.press("input[name=code]", "Enter")
        expect(c).to_have_url(re.compile(rf"/m/{slug}/card/$"))
        expect(c.get_by_test_id("membership")).to_be_visible()
        expect(c.get_by_test_id("member-points")).to_have_text("0")
        in_language(c, lang)
        customer = Customer.objects.get(email=EMAIL)
        member = Member.objects.get(merchant=merchant, customer=customer)
        coupon.refresh_from_db()
        assert coupon.customer_id == customer.pk  # the guest's coupon came along

        # --- 4. order with the coupon and pay -------------------------------------------------
        c.goto(f"{url}/m/{slug}/")
        for item in (latte, croissant):
            count = int(c.locator("#cart-count").inner_text() or 0)
            c.locator(f"#p-{item.public_id} button.add").tap()
            expect(c.locator("#cart-count")).to_have_text(str(count + 1))
        c.get_by_test_id("cart-link").tap()
        expect(c.get_by_test_id("cart-line")).to_have_count(2)
        option = c.get_by_test_id("coupon-option")
        expect(option).to_have_count(1)
        expect(option).to_be_checked()  # the best coupon is chosen
        expect(c.get_by_test_id("coupon-choice")).to_contain_text(money(OFF))
        in_language(c, lang)
        c.fill("input[name=pickup_name]", "Mei")
        c.get_by_test_id("place-order").tap()
        expect(c).to_have_url(re.compile(r"/payments/sandbox/[^/]+/$"))
        expect(c.get_by_test_id("pay-amount")).to_contain_text(money(gross - OFF))
        c.locator("button[name=decision][value=approve]").tap()
        expect(c).to_have_url(re.compile(rf"/m/{slug}/orders/[^/]+/$"))
        expect(c.get_by_test_id("order-status")).to_have_attribute("data-status", "paid")
        expect(c.get_by_test_id("order-discount")).to_contain_text(money(OFF))
        expect(c.get_by_test_id("order-total")).to_contain_text(money(gross - OFF))
        order = Order.objects.get(customer=customer)
        assert (order.total, order.discount, order.status) == (gross - OFF, OFF, OrderStatus.PAID)
        coupon.refresh_from_db()
        assert coupon.state == CouponState.USED and coupon.order_id == order.pk

        earned = (gross - OFF) // 100  # the default programme: a point per ¥1 paid
        c.goto(f"{url}/m/{slug}/card/")
        expect(c.get_by_test_id("member-points")).to_have_text(str(earned))
        expect(c.get_by_test_id("points-history")).to_have_count(1)

        # --- 5. the owner refunds the latte; the card shows the points taken back -------------
        m.goto(f"{url}/console/{m_id}/orders/{order.public_id}/")
        in_language(m, lang)
        latte_line = order.lines.get(product=latte)
        paid_for_latte = latte_line.subtotal - latte_line.discount
        assert 0 < latte_line.discount < OFF  # the discount is shared over both lines
        form = m.locator("#refund-items")
        form.locator(f"input[name=line_{latte_line.pk}]").fill("1")
        form.locator("input[name=reason]").fill("Spilt")
        form.locator("button").last.click()
        refund_entry = m.locator("[data-testid=timeline-entry][data-kind=refund]")
        expect(refund_entry).to_have_count(1)
        expect(refund_entry).to_contain_text(money(paid_for_latte))

        kept = earned * (order.total - paid_for_latte) // order.total
        c.reload()
        expect(c.get_by_test_id("member-points")).to_have_text(str(kept))
        history = c.get_by_test_id("points-history")
        expect(history).to_have_count(2)
        expect(history.first).to_contain_text(f"-{earned - kept}")
        in_language(c, lang)
        reversal = member.entries.get(kind=EntryKind.REVERSE)
        assert reversal.points == kept - earned
        coupon.refresh_from_db()
        assert coupon.state == CouponState.USED  # a partial refund keeps the coupon used

        time.sleep(0.5)  # a late console message still counts
        assert watch.problems == []
    finally:
        desktop.close()
        phone.close()

    assert membership.verify_balances() == []
    assert verify_books() == []
